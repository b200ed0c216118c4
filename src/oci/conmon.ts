// Driver for conmon (Debian's conmon 2.1.x): it runs `<runtime> create` for a container and then
// stays alive as the container's monitor, writing its stdout/stderr to the CRI log file, serving
// the attach socket and recording the exit code. conmon double-forks and calls setsid(), so the
// monitor outlives berthd restarts.
//
// Protocol with conmon (from its source, API version 1):
// - fd 3 (`_OCI_SYNCPIPE`): conmon writes one JSON line once the runtime's create finished:
//   `{"data": <container pid>}` on success, `{"data": -1, "message": "<runtime stderr>"}` on
//   failure. If conmon dies first, the pipe just closes.
// - fd 4 (`_OCI_STARTPIPE`): conmon blocks reading it before forking, which lets us move it
//   into a cgroup first.
// - When the container exits conmon writes the exit status as decimal text to
//   `<exitDir>/<id>` (and `<persistDir>/exit` when given): the exit code, or 128+signal when
//   the process was killed by a signal. The file appears atomically (written then renamed).
// - `<bundle>/attach` is the attach socket (SOCK_SEQPACKET), reached as `<socketDir>/<id>/attach`
//   through a symlink `<socketDir>/<id>` -> bundle that keeps the path under 108 bytes. conmon
//   removes the socket on exit but not the symlink: call removeAttachLink() after delete.
//   `<bundle>/ctl` and `<bundle>/winsz` are the control FIFOs (resize: `1 <height> <width>\n` to ctl).
import { promises as fsp } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { deadlineExceeded, errorMessage, internal, unavailable } from '../util/errors';
import { logger } from '../util/log';
import { spawnProcess, type SpawnedProcess } from '../util/spawn';

const log = logger('conmon');

export const DEFAULT_CONMON_PATH = '/usr/bin/conmon';

export type ConmonLogLevel = 'trace' | 'debug' | 'info' | 'warning' | 'error' | 'fatal';

export interface ConmonStartOptions {
  /** Container id (conmon's --cid and --cuuid). */
  id: string;
  /** Container name, for conmon's own logs. */
  name?: string;
  /** Bundle directory holding config.json; also where conmon puts attach/ctl/winsz. */
  bundle: string;
  /** OCI runtime binary. */
  runtimePath: string;
  /** Runtime global flags, e.g. OciRuntime.globalArgs(): [`--root=/run/berth/runc`]. */
  runtimeArgs?: string[];
  /** CRI log file (written in the CRI format by conmon's k8s-file driver). */
  logPath: string;
  /** Rotate-by-truncation limit for the log file (conmon --log-size-max); unset → unlimited. */
  logSizeMax?: number;
  /** Directory where conmon writes `<id>` with the exit code. Must exist. */
  exitDir: string;
  /** Optional directory for `exit` (another copy of the exit code). Must exist. */
  persistDir?: string;
  /** Directory for the short symlink to the bundle used by the attach socket. Must exist. */
  socketDir: string;
  /** Where the runtime writes the container's init PID. */
  pidFile: string;
  /** Where conmon writes its own (daemonized) PID. */
  conmonPidFile: string;
  terminal?: boolean;
  stdin?: boolean;
  /** With stdin: close the container's stdin when the first attach session ends. */
  stdinOnce?: boolean;
  /** Container uses the systemd cgroup driver (conmon passes --systemd-cgroup to create). */
  systemdCgroup?: boolean;
  /** cgroup.procs files conmon is moved into before it forks (its cgroup, per hierarchy on v1). */
  cgroupProcs?: string[];
  /** Let conmon log to syslog; default false. */
  syslog?: boolean;
  logLevel?: ConmonLogLevel;
  /** Default /usr/bin/conmon. */
  conmonPath?: string;
  /** Time allowed for `runtime create`; default 120 s. */
  timeoutMs?: number;
}

export interface ConmonStartResult {
  /** Host PID of the container's init process (created, not yet started). */
  pid: number;
  /** PID of the daemonized conmon monitoring it. */
  conmonPid: number;
}

/** conmon's command line for `opts` (exported for tests and debugging). */
export function conmonArgs(opts: ConmonStartOptions): string[] {
  const args = [
    '--api-version',
    '-c', opts.id,
    '-u', opts.id,
    '-n', opts.name ?? opts.id,
    '-r', opts.runtimePath,
    '-b', opts.bundle,
    '-p', opts.pidFile,
    '-P', opts.conmonPidFile,
    '-l', `k8s-file:${opts.logPath}`,
    '--exit-dir', opts.exitDir,
    '--socket-dir-path', opts.socketDir,
    '--log-level', opts.logLevel ?? 'info',
  ];
  for (const a of opts.runtimeArgs ?? []) args.push(`--runtime-arg=${a}`);
  if (opts.logSizeMax !== undefined && opts.logSizeMax > 0) args.push('--log-size-max', String(opts.logSizeMax));
  if (opts.persistDir) args.push('-0', opts.persistDir);
  if (opts.terminal) args.push('-t');
  if (opts.stdin) {
    args.push('-i');
    if (!opts.stdinOnce) args.push('--leave-stdin-open');
  }
  if (opts.systemdCgroup) args.push('-s');
  if (opts.syslog) args.push('--syslog');
  return args;
}

interface SyncMessage {
  data: number;
  message?: string;
}

/**
 * Creates the container through conmon and returns once the runtime's `create` finished: the
 * container exists (status "created"), its init PID is known, and conmon is detached. Start it
 * with OciRuntime.start(). Throws with the runtime's error text if create failed.
 */
export async function startContainer(opts: ConmonStartOptions): Promise<ConmonStartResult> {
  const conmonPath = opts.conmonPath ?? DEFAULT_CONMON_PATH;
  const ctx = { container: opts.id, bundle: opts.bundle };
  const args = conmonArgs(opts);
  log.debug({ ...ctx, args }, 'starting conmon');

  let child: SpawnedProcess;
  try {
    child = spawnProcess(conmonPath, args, {
      cwd: opts.bundle,
      detached: true, // own session: signals to berthd's process group never reach it
      stdio: ['ignore', 'pipe', 'pipe', 'pipe-out', 'pipe-in'],
      env: {
        PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        _OCI_SYNCPIPE: '3',
        _OCI_STARTPIPE: '4',
      },
      // conmon double-forks and its first process exits at once; never hold berthd open for it.
      keepAlive: false,
    });
  } catch (e) {
    throw unavailable(`cannot run conmon ${conmonPath}: ${errorMessage(e)}`, ctx, e);
  }
  const syncPipe = child.stdio[3] as Readable;
  const startPipe = child.stdio[4] as Writable;
  // conmon may die early (bad flags, missing runtime); EPIPE on these must not crash berthd.
  for (const s of [syncPipe, startPipe, child.stdout!, child.stderr!]) s.on('error', () => undefined);
  let output = '';
  const collect = (b: Buffer) => {
    if (output.length < 8192) output += b.toString('utf8');
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);

  const exited = child.exited.then((s) => s.code);
  const message = readSyncMessage(syncPipe);
  const timeoutMs = opts.timeoutMs ?? 120_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });

  let ok = false;
  try {
    for (const procs of opts.cgroupProcs ?? []) {
      try {
        await fsp.writeFile(procs, String(child.pid));
      } catch (e) {
        await killConmon(opts.conmonPidFile, child.pid);
        throw internal(`cannot move conmon into ${procs}: ${errorMessage(e)}`, ctx, e);
      }
    }
    startPipe.end('0');

    const first = await Promise.race([message, timeout]);
    if (first === 'timeout') {
      await killConmon(opts.conmonPidFile, child.pid);
      throw deadlineExceeded(`container create did not finish within ${timeoutMs} ms`, ctx);
    }
    const code = await Promise.race([exited, timeout]);
    if (code === 'timeout') throw deadlineExceeded('conmon did not detach', ctx);
    if (first === undefined) {
      throw internal(`conmon exited without reporting a result (exit ${code}): ${output.trim() || 'no output'}`, ctx);
    }
    if (first.data <= 0) {
      throw internal(`runtime create failed: ${cleanRuntimeError(first.message ?? '') || 'no error message'}`, ctx);
    }
    if (code !== 0) throw internal(`conmon exited with ${code}: ${output.trim()}`, ctx);
    const conmonPid = Number((await fsp.readFile(opts.conmonPidFile, 'utf8')).trim());
    if (!Number.isInteger(conmonPid) || conmonPid <= 0) throw internal('conmon wrote no valid pid file', ctx);
    log.debug({ ...ctx, pid: first.data, conmonPid }, 'container created');
    ok = true;
    return { pid: first.data, conmonPid };
  } finally {
    clearTimeout(timer);
    syncPipe.destroy();
    startPipe.destroy();
    child.stdout?.destroy();
    child.stderr?.destroy();
    if (!ok) await removeAttachLink(opts.socketDir, opts.id).catch(() => undefined);
  }
}

/** The first JSON line conmon writes to the sync pipe, or undefined if it closes first. */
function readSyncMessage(pipe: Readable): Promise<SyncMessage | undefined> {
  return new Promise((resolve) => {
    let buf = '';
    const done = (v: SyncMessage | undefined) => {
      pipe.removeAllListeners('data');
      resolve(v);
    };
    pipe.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      try {
        const parsed = JSON.parse(buf.slice(0, nl)) as SyncMessage;
        done(typeof parsed.data === 'number' ? parsed : { data: -1, message: buf.slice(0, nl) });
      } catch {
        done({ data: -1, message: `unparseable message from conmon: ${buf.slice(0, 200)}` });
      }
    });
    pipe.once('end', () => done(undefined));
    pipe.once('close', () => done(undefined));
    pipe.once('error', () => done(undefined));
  });
}

/** runc's stderr as relayed by conmon: keep the msg="..." parts when present. */
function cleanRuntimeError(s: string): string {
  const msgs = [...s.matchAll(/\bmsg="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\"/g, '"'));
  return (msgs.length > 0 ? msgs.join('; ') : s).trim();
}

async function killConmon(pidFile: string, firstPid: number | undefined): Promise<void> {
  const pid = Number((await fsp.readFile(pidFile, 'utf8').catch(() => '')).trim());
  for (const p of [pid, firstPid]) {
    if (p && Number.isInteger(p) && p > 0) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** Reads `<exitDir>/<id>`: the exit code, or undefined while the container still runs. */
export async function readExitCode(exitDir: string, id: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(`${exitDir}/${id}`, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const n = Number(text.trim());
  return text.trim() !== '' && Number.isInteger(n) ? n : undefined;
}

/** Path of the container's attach socket (valid while conmon runs). */
export function attachSocketPath(socketDir: string, id: string): string {
  return `${socketDir}/${id}/attach`;
}

/** Removes the `<socketDir>/<id>` symlink conmon leaves behind; idempotent. */
export async function removeAttachLink(socketDir: string, id: string): Promise<void> {
  await fsp.rm(`${socketDir}/${id}`, { force: true });
}
