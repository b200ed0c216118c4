// `berth port-forward <container-or-pod> [local:]remote...`: local ports on 127.0.0.1 forwarded to
// ports in a pod's network namespace (as kubectl port-forward; docker has no such command).
import type { Command } from 'commander';
import type { Connection } from '../connection';
import type { Ctx } from '../context';
import { CliError } from '../errors';
import { print, warn } from '../output';
import { findPod, listContainerViews, pickContainer, podDisplayName } from '../resolve';
import { PortForwarder, parsePortSpec } from '../streaming/port-forward';

/** The pod a name means: a container's pod, else a pod. */
async function podFor(conn: Connection, ref: string): Promise<{ id: string; name: string }> {
  try {
    const v = pickContainer(await listContainerViews(conn), ref);
    return { id: v.ctr.podSandboxId, name: v.name };
  } catch (e) {
    if (!(e instanceof CliError) || !e.message.startsWith('No such')) throw e;
  }
  try {
    const p = await findPod(conn, ref);
    return { id: p.id, name: podDisplayName(p) };
  } catch (e) {
    if (e instanceof CliError && e.message.startsWith('No such')) throw new CliError(`No such container or pod: ${ref}`);
    throw e;
  }
}

export function registerPortForwardCommand(program: Command, ctx: Ctx): void {
  program
    .command('port-forward')
    .description('Forward local ports (on 127.0.0.1) to ports in a container\'s pod until Ctrl-C')
    .argument('<container-or-pod>')
    .argument('<ports...>', '[localPort:]remotePort; ":remotePort" picks a free local port')
    .addHelpText('after', '\nExample: berth port-forward web 8080:80   (then http://127.0.0.1:8080/)')
    .action(
      ctx.action(async (ref: string, portArgs: string[]) => {
        const specs = portArgs.map(parsePortSpec);
        const conn = ctx.conn();
        const pod = await podFor(conn, ref);
        const ready = await conn.runtime('PodSandboxStatus', { podSandboxId: pod.id });
        if (ready.status?.state !== 'SANDBOX_READY') throw new CliError(`the pod of ${pod.name} is not ready`);
        const fwd = new PortForwarder(
          async (remote) => (await conn.runtime('PortForward', { podSandboxId: pod.id, port: [remote] })).url,
          {
            connection: (f) => print(`Handling connection for ${f.local}`),
            error: (f, message) => warn(`port-forward 127.0.0.1:${f.local} -> ${f.remote}: ${message}`),
          },
        );
        const bound = await fwd.listen(specs);
        for (const f of bound) print(`Forwarding from 127.0.0.1:${f.local} -> ${f.remote}`);
        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            resolve();
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
        await fwd.close();
      }),
    );
}
