// Pod commands: pod ls, pod inspect, pod stop, pod rm.
import type { Command } from 'commander';
import type { Connection } from '../connection';
import type { Ctx } from '../context';
import { CliError, EXIT } from '../errors';
import { ago, isoTime, nsToMs, shortId } from '../format';
import { eachRef, outputFormat, print, printJson, requireJsonFormat, warn } from '../output';
import { findPod, listPods, podDisplayName } from '../resolve';
import { renderTable } from '../table';

export async function inspectPod(conn: Connection, ref: string): Promise<unknown> {
  const pod = await findPod(conn, ref);
  const res = await conn.runtime('PodSandboxStatus', { podSandboxId: pod.id, verbose: true });
  let info: unknown = {};
  if (res.info?.info) {
    try {
      info = JSON.parse(res.info.info);
    } catch {
      info = res.info.info;
    }
  }
  const { containers } = await conn.runtime('ListContainers', { filter: { podSandboxId: pod.id } });
  const s = res.status;
  return {
    Type: 'pod',
    Id: pod.id,
    Name: podDisplayName(pod),
    Metadata: s?.metadata ?? pod.metadata,
    State: (s?.state ?? pod.state) === 'SANDBOX_READY' ? 'ready' : 'notready',
    Created: isoTime(nsToMs(s?.createdAt ?? pod.createdAt)),
    Network: s?.network ?? null,
    Namespaces: s?.linux?.namespaces?.options ?? null,
    Labels: s?.labels ?? pod.labels,
    Annotations: s?.annotations ?? pod.annotations,
    RuntimeHandler: s?.runtimeHandler ?? pod.runtimeHandler,
    Containers: containers.map((c) => ({ Id: c.id, Name: c.metadata?.name ?? '', State: c.state })),
    Info: info,
  };
}

export function registerPodCommands(program: Command, ctx: Ctx): void {
  const pod = program.command('pod').description('Manage pods');

  pod
    .command('ls')
    .alias('ps')
    .description('List pods')
    .option('-q, --quiet', 'print only pod ids')
    .option('--no-trunc', 'do not shorten ids')
    .option('--format <format>', 'table or json')
    .action(
      ctx.action(async (o: { quiet?: boolean; trunc: boolean; format?: string }) => {
        const fmt = outputFormat(o.format);
        const conn = ctx.conn();
        const [pods, ctrs] = await Promise.all([listPods(conn), conn.runtime('ListContainers', {})]);
        pods.sort((a, b) => nsToMs(b.createdAt) - nsToMs(a.createdAt));
        const count = (id: string) => ctrs.containers.filter((c) => c.podSandboxId === id).length;
        const id = (s: string) => (o.trunc ? shortId(s) : s);
        if (o.quiet) return print(pods.map((p) => id(p.id)).join('\n'));
        if (fmt === 'json') {
          return printJson(
            pods.map((p) => ({
              ID: p.id,
              Name: p.metadata?.name ?? '',
              Namespace: p.metadata?.namespace ?? '',
              State: p.state === 'SANDBOX_READY' ? 'ready' : 'notready',
              CreatedAt: isoTime(nsToMs(p.createdAt)),
              Containers: count(p.id),
              Runtime: p.runtimeHandler,
              Labels: p.labels,
            })),
          );
        }
        const body = pods.map((p) => [
          id(p.id),
          p.metadata?.name ?? '',
          p.metadata?.namespace ?? '',
          p.state === 'SANDBOX_READY' ? 'Ready' : 'NotReady',
          ago(nsToMs(p.createdAt)),
          String(count(p.id)),
          p.runtimeHandler || '(default)',
        ]);
        print(renderTable(['POD ID', 'NAME', 'NAMESPACE', 'STATE', 'CREATED', 'CONTAINERS', 'RUNTIME'], body));
      }),
    );

  pod
    .command('inspect')
    .description('Show details of pods as JSON')
    .argument('<pod...>')
    .option('-f, --format <format>', 'json (the only format)')
    .action(
      ctx.action(async (refs: string[], o: { format?: string }) => {
        requireJsonFormat('pod inspect', o.format);
        const out: unknown[] = [];
        const code = await eachRef(refs, async (ref) => {
          out.push(await inspectPod(ctx.conn(), ref));
        });
        printJson(out);
        return code;
      }),
    );

  pod
    .command('stop')
    .description('Stop pods (kills their containers and releases their network)')
    .argument('<pod...>')
    .action(
      ctx.action(async (refs: string[]) => {
        const code = await eachRef(refs, async (ref) => {
          const p = await findPod(ctx.conn(), ref);
          await ctx.conn().runtime('StopPodSandbox', { podSandboxId: p.id }, 120_000);
          print(ref);
        });
        return code;
      }),
    );

  pod
    .command('rm')
    .description('Remove pods and their containers')
    .argument('<pod...>')
    .option('-f, --force', 'remove ready pods too (their containers are killed)')
    .action(
      ctx.action(async (refs: string[], o: { force?: boolean }) => {
        const code = await eachRef(refs, async (ref) => {
          const p = await findPod(ctx.conn(), ref);
          if (p.state === 'SANDBOX_READY' && !o.force) throw new CliError(`pod ${ref} is ready: stop it first (berth pod stop) or use -f`);
          await ctx.conn().runtime('RemovePodSandbox', { podSandboxId: p.id }, 120_000);
          print(ref);
        });
        return code;
      }),
    );
}
