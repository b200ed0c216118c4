// `berth run` and `berth create`: a pod of one container, made over CRI.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Command } from 'commander';
import type { Connection } from '../connection';
import type { Ctx } from '../context';
import type { ContainerStatus__Output } from '../../cri/proto';
import { containerStatus, removeContainer, streamLogs, waitForExit } from '../container-ops';
import { CliError, EXIT } from '../errors';
import { withBerth } from './image-transfer';
import { collect, type PublishedPort } from '../flags';
import { generateName, NAME_RE } from '../names';
import { print, warn } from '../output';
import { listContainerViews, listPods, podDisplayName, type ContainerView } from '../resolve';
import { buildRunSpec, parseRunOptions, type RunOptions } from '../run-spec';
import { imageStatus, pullImage } from './images';
import { attachSession, exitCodeAfterAttach, requireTerminalStdin, warnDetached } from './interactive';
import { parseDetachKeys } from '../streaming/detach-keys';

/** A free port on the node, for -p with no host port (docker picks one the same way). */
function freePort(host: string, protocol: string): Promise<number> {
  if (protocol !== 'tcp') return Promise.reject(new CliError(`-p without a host port works for tcp only; give a host port for ${protocol}`, EXIT.runFailed));
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host || '0.0.0.0', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Where a failed create/start came from: docker's 126/127 for a command that cannot run. */
function startFailureCode(message: string): number {
  if (/executable file not found|no such file or directory/i.test(message)) return EXIT.commandNotFound;
  if (/permission denied/i.test(message)) return EXIT.cannotInvoke;
  return EXIT.runFailed;
}

function addRunOptions(cmd: Command): Command {
  return cmd
    // -h is --hostname here, as with docker run.
    .helpOption('--help', 'display help for command')
    .argument('<image>', 'image to run')
    .argument('[command...]', 'command and arguments (replace the image\'s Cmd)')
    .option('-d, --detach', 'run in the background and print the container id')
    .option('-i, --interactive', 'send stdin to the container')
    .option('-t, --tty', 'allocate a terminal')
    .option('--rm', 'remove the container and its pod when it exits')
    .option('--name <name>', 'container name (default: generated)')
    .option('-h, --hostname <name>', 'pod hostname (default: from the name)')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (KEY alone: take it from here)', collect)
    .option('--env-file <file>', 'read environment variables from a file', collect)
    .option('-p, --publish <[ip:]hostPort:ctrPort[/proto]>', 'publish a container port on the node', collect)
    .option('-v, --volume <host:ctr[:ro]|name:ctr[:ro]>', 'bind mount a host path, or a named volume (made on first use)', collect)
    .option('--entrypoint <cmd>', 'replace the image\'s entrypoint')
    .option('-w, --workdir <dir>', 'working directory in the container')
    .option('-u, --user <uid[:gid]|name[:gid]>', 'user to run as')
    .option('--network <mode>', '"host" for the node\'s network (default: a pod network)')
    .option('-m, --memory <bytes>', 'memory limit, e.g. 512m')
    .option('--cpus <n>', 'CPU limit, e.g. 1.5')
    .option('-l, --label <key=value>', 'container label', collect)
    .option('--runtime <handler>', 'runtime handler (berthd\'s [runtime.runtimes.<name>])')
    .option('--pull <policy>', 'missing (default), always or never')
    .passThroughOptions();
}

interface Created {
  id: string;
  podId: string;
  name: string;
}

/** Everything up to a created container. Failures are CliErrors with docker's 125. */
async function createFromFlags(ctx: Ctx, image: string, args: string[], o: RunOptions): Promise<Created> {
  const conn = ctx.conn();
  let parsed;
  let envTexts: string[] = [];
  try {
    envTexts = await Promise.all((o.envFile ?? []).map((f) => readFile(f, 'utf8')));
    parsed = parseRunOptions(o, envTexts);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError((e as Error).message, EXIT.runFailed);
  }
  const policy = o.pull ?? 'missing';
  if (!['missing', 'always', 'never'].includes(policy)) throw new CliError(`invalid --pull "${policy}": use missing, always or never`, EXIT.runFailed);

  const views = await listContainerViews(conn);
  const pods = await listPods(conn);
  const taken = new Set([...views.map((v) => v.name), ...pods.map(podDisplayName)]);
  let name = o.name;
  if (name !== undefined) {
    if (!NAME_RE.test(name)) throw new CliError(`invalid container name "${name}": use letters, digits, '_', '.' and '-'`, EXIT.runFailed);
    const clash = views.find((v) => v.name === name);
    if (clash) throw new CliError(`the container name "${name}" is already in use by container ${clash.ctr.id.slice(0, 12)}`, EXIT.runFailed);
    if (taken.has(name)) throw new CliError(`the name "${name}" is already in use by a pod`, EXIT.runFailed);
  } else name = generateName(taken);

  const present = policy !== 'always' && (await imageStatus(conn, image)).image;
  if (!present) {
    if (policy === 'never') throw new CliError(`image ${image} is not present and --pull is never`, EXIT.runFailed);
    if (policy === 'missing') process.stderr.write(`Unable to find image '${image}' locally\n`);
    try {
      await pullImage(conn, image);
    } catch (e) {
      throw new CliError((e as Error).message, EXIT.runFailed);
    }
  }

  // Named volumes: berthd makes them (if new) and says where they are.
  if (parsed.mounts.some((m) => m.volume !== undefined)) {
    await withBerth(ctx, async (b) => {
      for (const m of parsed.mounts) {
        if (m.volume === undefined) continue;
        try {
          m.hostPath = (await b.createVolume({ name: m.volume })).mountpoint;
        } catch (e) {
          throw new CliError(`volume ${m.volume}: ${(e as Error).message}`, EXIT.runFailed);
        }
      }
    });
  }

  const ports: PublishedPort[] = [];
  for (const p of parsed.ports) ports.push(p.hostPort ? p : { ...p, hostPort: await freePort(p.hostIp, p.protocol) });
  const spec = buildRunSpec({ name, image, args, options: o, parsed, ports });

  let podId = '';
  try {
    podId = (await conn.runtime('RunPodSandbox', { config: spec.pod, runtimeHandler: spec.runtimeHandler }, 180_000)).podSandboxId;
    const { containerId } = await conn.runtime('CreateContainer', { podSandboxId: podId, config: spec.container, sandboxConfig: spec.pod }, 180_000);
    return { id: containerId, podId, name };
  } catch (e) {
    if (podId) await conn.runtime('RemovePodSandbox', { podSandboxId: podId }, 120_000).catch(() => undefined);
    const msg = (e as Error).message;
    throw new CliError(msg, startFailureCode(msg));
  }
}

export function registerRunCommands(program: Command, ctx: Ctx): void {
  addRunOptions(program.command('create').description('Create a container (in a pod of its own) without starting it')).action(
    ctx.action(async (image: string, args: string[], o: RunOptions) => {
      const c = await createFromFlags(ctx, image, args, o);
      print(c.id);
    }),
  );

  const run = addRunOptions(program.command('run').description('Run a command in a new container (in a pod of its own)'))
    .option('--detach-keys <keys>', 'with -it: keys that detach, leaving the container running', 'ctrl-p,ctrl-q');
  run.action(
    ctx.action(async (image: string, args: string[], o: RunOptions & { detachKeys: string }) => {
      // Refuse before anything is made.
      if (o.interactive && o.tty && !o.detach) requireTerminalStdin();
      parseDetachKeys(o.detachKeys);
      const conn = ctx.conn();
      const c = await createFromFlags(ctx, image, args, o);
      const view = async (): Promise<ContainerView> => (await listContainerViews(conn)).find((v) => v.ctr.id === c.id)!;
      try {
        await conn.runtime('StartContainer', { containerId: c.id }, 60_000);
      } catch (e) {
        const msg = (e as Error).message;
        const v = await view().catch(() => undefined);
        if (v) await removeContainer(conn, v).catch(() => undefined);
        throw new CliError(msg, startFailureCode(msg));
      }
      if (o.detach) {
        print(c.id);
        return;
      }
      // Ctrl-C stops the container (grace period 10 s) and the run ends with its exit code; a second
      // Ctrl-C leaves it running and returns at once. (With -it, Ctrl-C is a key for the container.)
      let interrupts = 0;
      const leave = new AbortController();
      const onSignal = () => {
        interrupts++;
        if (interrupts === 1) {
          warn(`stopping ${c.name} (Ctrl-C again to leave it running)`);
          void conn.runtime('StopContainer', { containerId: c.id, timeout: 10 }, 60_000).catch((e) => warn((e as Error).message));
        } else leave.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        let st: ContainerStatus__Output;
        if (o.tty) {
          const r = await runAttachedTty(conn, c, o, leave.signal);
          if (r === 'detached') {
            warnDetached(c.name, !!o.rm);
            return EXIT.ok;
          }
          if (r === 'left') return EXIT.error;
          st = r;
        } else if (o.interactive) {
          st = await runWithStdin(conn, c, () => interrupts > 1, leave.signal);
        } else {
          st = await streamLogs(conn, c.id, { follow: true, stopped: () => interrupts > 1 });
        }
        if (interrupts > 1) return EXIT.error;
        if (o.rm) {
          const v = await view();
          if (v) await removeContainer(conn, v);
        }
        return st.exitCode;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    }),
  );
}

/**
 * run -t: the container's terminal through an attach (stdin too with -i). Output written before the
 * attach connected is not shown (a shell redraws its prompt on the resize that follows); a container
 * that exited before then has its whole log printed instead.
 */
async function runAttachedTty(conn: Connection, c: Created, o: RunOptions & { detachKeys: string }, leave: AbortSignal): Promise<ContainerStatus__Output | 'detached' | 'left'> {
  const cfg = { stdin: !!o.interactive, tty: true };
  let end: Awaited<ReturnType<typeof attachSession>> | undefined;
  try {
    end = await attachSession(conn, c.id, cfg, { stdin: !!o.interactive, detachKeys: o.detachKeys, endOnSignals: false, signal: leave });
  } catch (e) {
    // Attach refuses a container that is no longer running: fall back to its log below.
    if (!(e instanceof CliError)) throw e;
    const { status } = await containerStatus(conn, c.id);
    if (status.state !== 'CONTAINER_EXITED') throw e;
    return streamLogs(conn, c.id, {});
  }
  if (end.kind === 'detached') return 'detached';
  if (end.kind === 'aborted') return 'left';
  if (end.kind === 'failed') {
    const { status } = await containerStatus(conn, c.id);
    if (status.state !== 'CONTAINER_EXITED') throw new CliError(end.message);
    return streamLogs(conn, c.id, {});
  }
  const code = await exitCodeAfterAttach(conn, c.id);
  if (code === undefined) return 'detached';
  return waitForExit(conn, c.id);
}

/**
 * run -i without -t: stdin through an attach that carries only stdin, output from the log file (it
 * has everything from the start, stdout and stderr in order). The container's stdin closes when
 * ours ends (stdinOnce).
 */
async function runWithStdin(conn: Connection, c: Created, stopped: () => boolean, leave: AbortSignal): Promise<ContainerStatus__Output> {
  const done = new AbortController();
  const onLeave = () => done.abort();
  leave.addEventListener('abort', onLeave, { once: true });
  const feeding = attachSession(conn, c.id, { stdin: true, tty: false }, { stdin: true, noOutput: true, endOnSignals: false, signal: done.signal }).then(
    (end) => {
      if (end.kind === 'failed') warn(`sending stdin to ${c.name}: ${end.message}`);
    },
    async (e: unknown) => {
      // A container that exited before the attach had no use for stdin.
      const { status } = await containerStatus(conn, c.id).catch(() => ({ status: undefined }));
      if (status?.state !== 'CONTAINER_EXITED') warn(`sending stdin to ${c.name}: ${(e as Error).message}`);
    },
  );
  try {
    return await streamLogs(conn, c.id, { follow: true, stopped });
  } finally {
    done.abort();
    leave.removeEventListener('abort', onLeave);
    await feeding;
  }
}
