// Container lifecycle and inspection over the CRI RuntimeService.
import type { Command } from 'commander';
import type { Connection } from '../connection';
import { DEADLINE } from '../connection';
import type { Ctx } from '../context';
import {
  commandOf,
  containerStatus,
  imageProcess,
  type ImageProcess,
  recreateContainer,
  removeContainer,
  stateWord,
  statusText,
  streamLogs,
  waitForExit,
} from '../container-ops';
import { CliError, EXIT, notYetAvailable } from '../errors';
import { collect, formatPort, parseEnv, parseFilter, type Filter } from '../flags';
import { ago, nsToMs, parseSince, shortId, isoTime } from '../format';
import { eachRef, outputFormat, print, printJson, requireJsonFormat, warn } from '../output';
import { findContainer, isCliPod, listContainerViews, pickContainer, type ContainerView } from '../resolve';
import { portsOf } from '../run-spec';
import { renderTable, truncate } from '../table';
import { imageJson, imageStatus } from './images';
import { attachCommand, execInteractive } from './interactive';
import { withBerth } from './image-transfer';
import type { ProcessOverrides } from '../berth-connection';
import { inspectPod } from './pods';
import { registerPortForwardCommand } from './port-forward';

/** Runs `fn` for each ref, reporting failures one line each; exit 1 if any failed (as docker). */
function shellQuote(args: string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

const PS_FILTERS = ['name', 'label', 'status', 'id', 'ancestor', 'pod'] as const;

interface PsRow {
  view: ContainerView;
  state: string;
  status: string;
  command: string[];
  createdMs: number;
  ports: string[];
}

function matches(row: PsRow, f: Filter): boolean {
  const c = row.view.ctr;
  switch (f.key) {
    case 'name':
      return row.view.name.includes(f.value);
    case 'id':
      return c.id.startsWith(f.value);
    case 'status':
      return row.state === f.value;
    case 'ancestor':
      return c.image?.image === f.value || c.imageRef === f.value || c.imageId === f.value || shortId(c.imageId ?? '') === f.value;
    case 'pod':
      return c.podSandboxId.startsWith(f.value) || row.view.pod?.metadata?.name === f.value;
    case 'label': {
      const eq = f.value.indexOf('=');
      const k = eq < 0 ? f.value : f.value.slice(0, eq);
      if (!(k in (c.labels ?? {}))) return false;
      return eq < 0 || c.labels[k] === f.value.slice(eq + 1);
    }
    default:
      return true;
  }
}

async function psRows(conn: Connection): Promise<PsRow[]> {
  const views = await listContainerViews(conn);
  const now = Date.now();
  // One verbose ImageStatus per image, for the Entrypoint/Cmd of containers that keep them.
  const images = new Map<string, Promise<ImageProcess | undefined>>();
  const imageOf = (ref: string) => {
    if (!images.has(ref)) images.set(ref, imageProcess(conn, ref));
    return images.get(ref)!;
  };
  const rows = await Promise.all(
    views.map(async (view): Promise<PsRow | undefined> => {
      try {
        const { status, info } = await containerStatus(conn, view.ctr.id, true);
        return {
          view,
          state: stateWord(status.state),
          status: statusText(status, now),
          command: commandOf(info, await imageOf(view.ctr.imageId || view.ctr.imageRef)),
          createdMs: nsToMs(view.ctr.createdAt),
          ports: portsOf(view.ctr.annotations).map(formatPort),
        };
      } catch {
        return undefined; // removed while we looked
      }
    }),
  );
  return rows.filter((r): r is PsRow => !!r).sort((a, b) => b.createdMs - a.createdMs);
}

export function registerContainerCommands(program: Command, ctx: Ctx): void {
  const ps = (cmd: Command) =>
    cmd
      .option('-a, --all', 'show all containers (default: running ones)')
      .option('-q, --quiet', 'print only container ids')
      .option('-f, --filter <key=value>', `filter (${PS_FILTERS.join(', ')})`, collect)
      .option('--no-trunc', 'do not shorten ids and commands')
      .option('--format <format>', 'table or json')
      .action(
        ctx.action(async (o: { all?: boolean; quiet?: boolean; filter?: string[]; trunc: boolean; format?: string }) => {
          const fmt = outputFormat(o.format);
          let filters: Filter[];
          try {
            filters = (o.filter ?? []).map((f) => parseFilter(f, PS_FILTERS));
          } catch (e) {
            throw new CliError((e as Error).message, EXIT.usage);
          }
          let rows = await psRows(ctx.conn());
          if (!o.all && !filters.some((f) => f.key === 'status')) rows = rows.filter((r) => r.state === 'running');
          // Same key: any value matches; different keys: all must match (docker's rule).
          const byKey = new Map<string, Filter[]>();
          for (const f of filters) byKey.set(f.key, [...(byKey.get(f.key) ?? []), f]);
          rows = rows.filter((r) => [...byKey.values()].every((fs) => fs.some((f) => matches(r, f))));
          const id = (s: string) => (o.trunc ? shortId(s) : s);
          if (o.quiet) return print(rows.map((r) => id(r.view.ctr.id)).join('\n'));
          if (fmt === 'json') {
            return printJson(
              rows.map((r) => ({
                ID: r.view.ctr.id,
                Names: r.view.name,
                Image: r.view.ctr.image?.image ?? '',
                ImageID: r.view.ctr.imageId ?? '',
                Command: shellQuote(r.command),
                CreatedAt: isoTime(r.createdMs),
                State: r.state,
                Status: r.status,
                Ports: r.ports.join(', '),
                Labels: r.view.ctr.labels,
                PodID: r.view.ctr.podSandboxId,
              })),
            );
          }
          const cmdText = (r: PsRow) => `"${o.trunc ? truncate(shellQuote(r.command), 20) : shellQuote(r.command)}"`;
          const body = rows.map((r) => [id(r.view.ctr.id), r.view.ctr.image?.image ?? '', cmdText(r), ago(r.createdMs), r.status, r.ports.join(', '), r.view.name]);
          print(renderTable(['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'], body));
        }),
      );
  ps(program.command('ps').description('List containers'));

  program
    .command('start')
    .description('Start created containers (an exited container made by berth run/create is made again)')
    .argument('<container...>')
    .action(
      ctx.action(async (refs: string[]) =>
        eachRef(refs, async (ref) => {
          const conn = ctx.conn();
          const v = await findContainer(conn, ref);
          const { status } = await containerStatus(conn, v.ctr.id);
          if (status.state === 'CONTAINER_RUNNING') return print(ref);
          if (status.state === 'CONTAINER_EXITED') await recreateContainer(conn, v);
          else await conn.runtime('StartContainer', { containerId: v.ctr.id }, 60_000);
          print(ref);
        }),
      ),
    );

  const stopTimeout = (t: string | undefined) => {
    const n = t === undefined ? 10 : Number(t);
    if (!Number.isInteger(n) || n < 0) throw new CliError(`invalid --time "${t}": give whole seconds`, EXIT.usage);
    return n;
  };

  program
    .command('stop')
    .description('Stop running containers (stop signal, then SIGKILL after the grace period)')
    .argument('<container...>')
    .option('-t, --time <seconds>', 'grace period before SIGKILL', '10')
    .action(
      ctx.action(async (refs: string[], o: { time?: string }) => {
        const t = stopTimeout(o.time);
        return eachRef(refs, async (ref) => {
          const v = await findContainer(ctx.conn(), ref);
          await ctx.conn().runtime('StopContainer', { containerId: v.ctr.id, timeout: t }, t * 1000 + DEADLINE.stopExtra);
          print(ref);
        });
      }),
    );

  program
    .command('restart')
    .description('Restart containers (stop, then make and start them again)')
    .argument('<container...>')
    .option('-t, --time <seconds>', 'grace period before SIGKILL', '10')
    .action(
      ctx.action(async (refs: string[], o: { time?: string }) => {
        const t = stopTimeout(o.time);
        return eachRef(refs, async (ref) => {
          const conn = ctx.conn();
          const v = await findContainer(conn, ref);
          await conn.runtime('StopContainer', { containerId: v.ctr.id, timeout: t }, t * 1000 + DEADLINE.stopExtra);
          await recreateContainer(conn, v);
          print(ref);
        });
      }),
    );

  program
    .command('kill')
    .description('Send a signal to containers (default SIGKILL)')
    .argument('<container...>')
    .option('-s, --signal <signal>', 'signal name or number', 'KILL')
    .action(
      ctx.action(async (refs: string[], o: { signal: string }) => {
        const sig = o.signal.toUpperCase().replace(/^SIG/, '');
        if (!/^([A-Z0-9]+|\d+)$/.test(sig)) throw new CliError(`invalid signal "${o.signal}"`, EXIT.usage);
        return eachRef(refs, async (ref) => {
          const conn = ctx.conn();
          const v = await findContainer(conn, ref);
          const { status } = await containerStatus(conn, v.ctr.id);
          if (status.state !== 'CONTAINER_RUNNING') throw new CliError(`container ${ref} is not running`);
          if (sig === 'KILL' || sig === '9') {
            // StopContainer with no grace period is SIGKILL, and waits for the exit.
            await conn.runtime('StopContainer', { containerId: v.ctr.id, timeout: 0 }, DEADLINE.stopExtra);
            return print(ref);
          }
          // CRI has no signal call. Containers made by the CLI run their command as PID 1 of their
          // own PID namespace, so `kill` inside the container reaches it (the image needs `kill`).
          if (!isCliPod(v.pod)) throw notYetAvailable(`sending SIG${sig} to a container not made by berth`, 'the berth service');
          const r = await conn.runtime('ExecSync', { containerId: v.ctr.id, cmd: ['kill', `-${sig}`, '1'], timeout: 10 }, 30_000);
          if (r.exitCode !== 0) {
            const why = Buffer.from(r.stderr).toString().trim();
            throw new CliError(`sending SIG${sig} to ${ref} failed${why ? `: ${why}` : ''} (without a kill program in the image only SIGKILL works until the berth service lands)`);
          }
          print(ref);
        });
      }),
    );

  program
    .command('rm')
    .description('Remove containers (and the pods berth run made for them)')
    .argument('<container...>')
    .option('-f, --force', 'kill running containers first')
    .action(
      ctx.action(async (refs: string[], o: { force?: boolean }) =>
        eachRef(refs, async (ref) => {
          const conn = ctx.conn();
          const v = await findContainer(conn, ref);
          if (!o.force && v.ctr.state === 'CONTAINER_RUNNING') throw new CliError(`container ${ref} is running: stop it first or use -f`);
          await removeContainer(conn, v);
          print(ref);
        }),
      ),
    );

  program
    .command('logs')
    .description('Print a container\'s log')
    .argument('<container>')
    .option('-f, --follow', 'keep printing until the container exits')
    .option('-n, --tail <n>', 'only the last n lines ("all" for all)', 'all')
    .option('--since <time>', 'only lines since a time (RFC 3339, unix seconds) or a duration ago (10m)')
    .option('-t, --timestamps', 'prefix each line with its time')
    .action(
      ctx.action(async (ref: string, o: { follow?: boolean; tail: string; since?: string; timestamps?: boolean }) => {
        const n = o.tail === 'all' ? -1 : Number(o.tail);
        if (!Number.isInteger(n) || n < -1) throw new CliError(`invalid --tail "${o.tail}"`, EXIT.usage);
        let sinceMs: number | undefined;
        if (o.since !== undefined) {
          try {
            sinceMs = parseSince(o.since);
          } catch (e) {
            throw new CliError((e as Error).message, EXIT.usage);
          }
        }
        const v = await findContainer(ctx.conn(), ref);
        let stop = false;
        const onSig = () => (stop = true);
        process.on('SIGINT', onSig);
        try {
          await streamLogs(ctx.conn(), v.ctr.id, { follow: o.follow, tail: n, sinceMs, timestamps: o.timestamps, stopped: () => stop });
        } finally {
          process.off('SIGINT', onSig);
        }
      }),
    );

  program
    .command('exec')
    .description('Run a command in a running container (-i: with stdin, -t: in a terminal)')
    .argument('<container>')
    .argument('<command...>')
    .option('-i, --interactive', 'send stdin to the command')
    .option('-t, --tty', 'allocate a terminal')
    .option('-u, --user <user>', 'user to run as: uid[:gid] or name[:group] (from the container\'s /etc/passwd and /etc/group)')
    .option('-w, --workdir <dir>', 'working directory in the container (absolute)')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (KEY alone: take it from here)', collect)
    .option('--timeout <seconds>', 'kill the command after this long (default: none; not with -i/-t)')
    .passThroughOptions()
    .action(
      ctx.action(async (ref: string, cmd: string[], o: { interactive?: boolean; tty?: boolean; user?: string; workdir?: string; env?: string[]; timeout?: string }) => {
        const timeout = o.timeout === undefined ? 0 : Number(o.timeout);
        if (!Number.isInteger(timeout) || timeout < 0) throw new CliError(`invalid --timeout "${o.timeout}"`, EXIT.usage);
        const interactive = !!(o.interactive || o.tty);
        if (interactive && timeout) throw new CliError('--timeout works without -i/-t only', EXIT.usage);
        if (o.user !== undefined && o.user.trim() === '') throw new CliError('invalid --user "": give uid[:gid] or name[:group]', EXIT.usage);
        if (o.workdir !== undefined && !o.workdir.startsWith('/')) throw new CliError(`invalid --workdir "${o.workdir}": the path must be absolute`, EXIT.usage);
        let env: string[];
        try {
          env = (o.env ?? []).map((e) => parseEnv(e)).filter((e) => !!e).map((e) => `${e.key}=${e.value}`);
        } catch (e) {
          throw new CliError((e as Error).message, EXIT.usage);
        }
        const overrides: ProcessOverrides | undefined =
          o.user !== undefined || o.workdir !== undefined || env.length ? { user: o.user ?? '', workdir: o.workdir ?? '', env } : undefined;
        const conn = ctx.conn();
        const v = await findContainer(conn, ref);
        // -u/-w/-e go through berth's own exec: CRI's carries only argv.
        return withBerth(ctx, async (berth) => {
          try {
            if (interactive) return await execInteractive(conn, v, cmd, { stdin: !!o.interactive, tty: !!o.tty, ...(overrides ? { process: { overrides, berth } } : {}) });
            const deadline = timeout ? timeout * 1000 + 30_000 : DEADLINE.exec;
            const r = overrides
              ? await berth.execSync({ containerId: v.ctr.id, cmd, timeout, process: overrides }, deadline)
              : await conn.runtime('ExecSync', { containerId: v.ctr.id, cmd, timeout }, deadline);
            process.stdout.write(r.stdout);
            process.stderr.write(r.stderr);
            return r.exitCode;
          } catch (e) {
            // docker's code for an exec user that does not exist: the command could not be invoked.
            if (e instanceof CliError && /^exec user /.test(e.message)) throw new CliError(e.message, EXIT.cannotInvoke);
            throw e;
          }
        });
      }),
    );

  program
    .command('attach')
    .description('Attach to a running container\'s input and output (detach: ctrl-p ctrl-q)')
    .argument('<container>')
    .option('--no-stdin', 'do not send stdin')
    .option('--detach-keys <keys>', 'keys that detach, leaving the container running', 'ctrl-p,ctrl-q')
    .action(
      ctx.action(async (ref: string, o: { stdin: boolean; detachKeys: string }) => {
        const conn = ctx.conn();
        return attachCommand(conn, await findContainer(conn, ref), { stdin: o.stdin, detachKeys: o.detachKeys });
      }),
    );

  registerPortForwardCommand(program, ctx);

  program
    .command('top')
    .description('Show the processes of a container (runs ps in it)')
    .argument('<container>')
    .argument('[ps-options...]', 'options for ps in the container')
    .passThroughOptions()
    .action(
      ctx.action(async (ref: string, psArgs: string[]) => {
        const conn = ctx.conn();
        const v = await findContainer(conn, ref);
        const r = await conn.runtime('ExecSync', { containerId: v.ctr.id, cmd: ['ps', ...psArgs], timeout: 10 }, 30_000);
        if (r.exitCode !== 0) {
          throw new CliError(`ps in ${ref} failed (exit ${r.exitCode}): ${Buffer.from(r.stderr).toString().trim() || 'the image may have no ps'}`);
        }
        process.stdout.write(r.stdout);
      }),
    );

  program
    .command('port')
    .description('List a container\'s published ports')
    .argument('<container>')
    .argument('[port]', 'only this container port (80 or 80/tcp)')
    .action(
      ctx.action(async (ref: string, port: string | undefined) => {
        const v = await findContainer(ctx.conn(), ref);
        let ports = portsOf(v.ctr.annotations);
        if (port !== undefined) {
          const [num, proto = 'tcp'] = port.split('/');
          ports = ports.filter((p) => String(p.containerPort) === num && p.protocol === proto);
          if (!ports.length) throw new CliError(`no public port ${port} published for ${ref}`);
          return print(ports.map((p) => `${p.hostIp || '0.0.0.0'}:${p.hostPort}`).join('\n'));
        }
        print(ports.map((p) => `${p.containerPort}/${p.protocol} -> ${p.hostIp || '0.0.0.0'}:${p.hostPort}`).join('\n'));
      }),
    );

  program
    .command('wait')
    .description('Wait for containers to exit and print their exit codes')
    .argument('<container...>')
    .action(
      ctx.action(async (refs: string[]) =>
        eachRef(refs, async (ref) => {
          const v = await findContainer(ctx.conn(), ref);
          const st = await waitForExit(ctx.conn(), v.ctr.id);
          print(String(st.exitCode));
        }),
      ),
    );

  program
    .command('inspect')
    .description('Show details of containers, pods or images as JSON')
    .argument('<name-or-id...>')
    .option('--type <type>', 'container, pod or image')
    .option('-f, --format <format>', 'json (the only format)')
    .action(
      ctx.action(async (refs: string[], o: { type?: string; format?: string }) => {
        requireJsonFormat('inspect', o.format);
        if (o.type && !['container', 'pod', 'image'].includes(o.type)) throw new CliError(`invalid --type "${o.type}"`, EXIT.usage);
        const conn = ctx.conn();
        const out: unknown[] = [];
        const code = await eachRef(refs, async (ref) => {
          out.push(await inspectAny(conn, ref, o.type));
        });
        printJson(out);
        return code;
      }),
    );
}

async function inspectAny(conn: Connection, ref: string, type: string | undefined): Promise<unknown> {
  if (!type || type === 'container') {
    try {
      return await inspectContainer(conn, pickContainer(await listContainerViews(conn), ref));
    } catch (e) {
      if (type || !(e instanceof CliError) || !e.message.startsWith('No such')) throw e;
    }
  }
  if (!type || type === 'pod') {
    try {
      return await inspectPod(conn, ref);
    } catch (e) {
      if (type || !(e instanceof CliError) || !e.message.startsWith('No such')) throw e;
    }
  }
  const st = await imageStatus(conn, ref, true);
  if (!st.image) throw new CliError(`No such ${type ?? 'object'}: ${ref}`);
  return { Type: 'image', ...imageJson(st.image, st.info) };
}

export async function inspectContainer(conn: Connection, v: ContainerView): Promise<unknown> {
  const { status, info } = await containerStatus(conn, v.ctr.id, true);
  return {
    Type: 'container',
    Id: v.ctr.id,
    Name: v.name,
    PodId: v.ctr.podSandboxId,
    State: stateWord(status.state),
    Status: statusText(status),
    ExitCode: status.exitCode,
    Created: isoTime(nsToMs(status.createdAt)),
    Started: isoTime(nsToMs(status.startedAt)),
    Finished: isoTime(nsToMs(status.finishedAt)),
    Image: status.image?.image ?? '',
    ImageRef: status.imageRef,
    Command: commandOf(info, await imageProcess(conn, v.ctr.imageId || v.ctr.imageRef)),
    Ports: portsOf(v.ctr.annotations),
    LogPath: status.logPath,
    Labels: status.labels,
    Annotations: status.annotations,
    Mounts: status.mounts,
    Resources: status.resources,
    Reason: status.reason,
    Message: status.message,
    Info: info,
  };
}
