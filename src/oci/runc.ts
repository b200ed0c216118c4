// Driver for the OCI runtime binary (runc; crun takes the same commands and flags).
// Container creation goes through conmon (conmon.ts), which runs `<runtime> create` itself;
// this module covers every other lifecycle command.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { promises as fsp, writeFileSync } from 'node:fs';
import { tmpdir, constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BerthError, deadlineExceeded, failedPrecondition, internal, invalidArgument, notFound, unavailable } from '../util/errors';
import { logger } from '../util/log';
import { run as runProgram } from '../util/run';
import { spawnProcess, type SpawnedProcess } from '../util/spawn';
import type { OciLinuxResources, OciProcess } from './runtime-spec';

const log = logger('oci-runtime');

export interface OciRuntimeOptions {
  /** Absolute path of the runtime binary, e.g. /usr/sbin/runc. */
  path: string;
  /** The runtime's state directory (`--root`). */
  root: string;
  /** Pass `--systemd-cgroup` (containers whose cgroupsPath is `slice:prefix:name`). */
  systemdCgroup?: boolean;
  /** Per-command timeout; default 30 s. */
  timeoutMs?: number;
}

export type RuntimeStatus = 'creating' | 'created' | 'running' | 'stopped' | 'paused' | 'pausing';

/** `runc state` output (also the elements of `runc list --format json`). */
export interface RuntimeState {
  ociVersion: string;
  id: string;
  /** 0 once the container has stopped. */
  pid: number;
  status: RuntimeStatus;
  bundle: string;
  rootfs?: string;
  created?: string;
  annotations?: Record<string, string>;
  owner?: string;
}

const MAX_OUTPUT = 4 << 20;

export class OciRuntime {
  readonly path: string;
  readonly root: string;
  readonly systemdCgroup: boolean;
  private readonly timeoutMs: number;

  constructor(opts: OciRuntimeOptions) {
    this.path = opts.path;
    this.root = opts.root;
    this.systemdCgroup = opts.systemdCgroup === true;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** Global flags, in the form conmon forwards with --runtime-arg. */
  globalArgs(): string[] {
    return [`--root=${this.root}`, ...(this.systemdCgroup ? ['--systemd-cgroup'] : [])];
  }

  async start(id: string): Promise<void> {
    await this.run(['start', id], id);
  }

  async state(id: string): Promise<RuntimeState> {
    const out = await this.run(['state', id], id);
    return parseJson<RuntimeState>(out, id);
  }

  /** Sends `signal` (name like SIGTERM or number) to the init process, or to all with `all`. */
  async kill(id: string, signal: string | number = 'SIGTERM', all = false): Promise<void> {
    await this.run(['kill', ...(all ? ['--all'] : []), id, String(signal)], id);
  }

  async delete(id: string, force = false): Promise<void> {
    await this.run(['delete', ...(force ? ['--force'] : []), id], id);
  }

  async list(): Promise<RuntimeState[]> {
    const out = await this.run(['list', '--format', 'json']);
    return parseJson<RuntimeState[] | null>(out) ?? [];
  }

  async pause(id: string): Promise<void> {
    await this.run(['pause', id], id);
  }

  async resume(id: string): Promise<void> {
    await this.run(['resume', id], id);
  }

  /** Applies new cgroup limits to a running container. */
  async update(id: string, resources: OciLinuxResources): Promise<void> {
    const file = join(tmpdir(), `berth-resources-${id.slice(0, 32)}-${randomBytes(6).toString('hex')}.json`);
    await fsp.writeFile(file, JSON.stringify(resources), { mode: 0o600 });
    try {
      await this.run(['update', '--resources', file, id], id);
    } finally {
      await fsp.rm(file, { force: true });
    }
  }

  /**
   * Runs `args` in the running container and waits for it (CRI ExecSync), with `runc exec`
   * directly: the process inherits the container's process settings (user, env, caps, cwd).
   * On timeout the exec'd process (by its host PID) and runc's process group are SIGKILLed.
   * stdout/stderr are each kept up to `maxOutputBytes` (default 16 MiB); the rest is dropped.
   */
  async execSync(id: string, args: string[], opts: ExecSyncOptions = {}): Promise<ExecSyncResult> {
    if (args.length === 0) throw invalidArgument('exec needs a command', { container: id });
    const tag = `${id.slice(0, 32)}-${randomBytes(6).toString('hex')}`;
    const pidFile = join(tmpdir(), `berth-exec-${tag}.pid`);
    const logFile = join(tmpdir(), `berth-exec-${tag}.log`);
    const limit = opts.maxOutputBytes ?? 16 << 20;
    const proc = execProcessArgs(id, args, { tty: false, process: opts.process }, tag);
    const argv = [...this.globalArgs(), `--log=${logFile}`, '--log-format=json', 'exec', '--pid-file', pidFile, ...proc.argv];
    const ctx = { runtime: this.path, command: 'exec', container: id };
    try {
      let child: SpawnedProcess;
      try {
        child = spawnProcess(this.path, argv, { detached: true, stdio: [opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
      } catch (e) {
        throw unavailable(`OCI runtime ${this.path} cannot run: ${(e as Error).message}`, ctx, e);
      }
      const stdout = new BoundedBuffer(limit);
      const stderr = new BoundedBuffer(limit);
      child.stdout!.on('data', (b: Buffer) => stdout.push(b));
      child.stderr!.on('data', (b: Buffer) => stderr.push(b));
      if (opts.input) child.stdin!.end(opts.input);
      let timedOut = false;
      let killing: Promise<void> | undefined;
      let forceTimer: NodeJS.Timeout | undefined;
      // On timeout kill the exec'd process first and let runc reap it and exit: killing runc at the
      // same moment would leave the process a zombie under the container's init, which may never
      // reap it. runc itself is killed only if it has not exited after a grace period.
      const timer =
        opts.timeoutMs && opts.timeoutMs > 0
          ? setTimeout(() => {
              timedOut = true;
              killing = killExecProcess(pidFile).then(() => undefined);
              forceTimer = setTimeout(() => killProcessGroup(child.pid), EXEC_KILL_GRACE_MS);
            }, opts.timeoutMs)
          : undefined;
      const code = await child.closed.then(({ code: c, signal: sig }) => c ?? 128 + signalNumber(sig)).finally(() => {
        clearTimeout(timer);
        clearTimeout(forceTimer);
      });
      await killing;
      // runc only logs errors when it fails, and then it exits non-zero: skip the read otherwise.
      if (!timedOut && code !== 0) {
        const runtimeError = await readRuntimeLogErrors(logFile);
        if (runtimeError) throw classify(`exec: ${runtimeError}`, ctx);
      }
      return { exitCode: code, stdout: stdout.value(), stderr: stderr.value(), timedOut };
    } finally {
      await Promise.all([unlinkIfPresent(pidFile), unlinkIfPresent(logFile), ...(proc.file ? [unlinkIfPresent(proc.file)] : [])]);
    }
  }

  /**
   * Starts `args` in the running container with `runc exec` in the foreground and returns at once
   * (streaming exec): runc's exit status is the process's exit code. `stdio` is given to runc as is;
   * with `tty` runc makes a terminal in the container and copies between it and its own stdio, which
   * must then be a terminal (runc 1.1 accepts --console-socket only with --detach, and a detached
   * process's exit status would be lost), so callers pass the slave of a pty of their own.
   */
  execStreaming(id: string, args: string[], opts: ExecStreamingOptions): ExecProcess {
    if (args.length === 0) throw invalidArgument('exec needs a command', { container: id });
    const tag = `${id.slice(0, 32)}-${randomBytes(6).toString('hex')}`;
    const pidFile = join(tmpdir(), `berth-exec-${tag}.pid`);
    const logFile = join(tmpdir(), `berth-exec-${tag}.log`);
    const proc = execProcessArgs(id, args, opts, tag);
    const argv = [...this.globalArgs(), `--log=${logFile}`, '--log-format=json', 'exec', ...(opts.tty ? ['--tty'] : []), '--pid-file', pidFile, ...proc.argv];
    const ctx = { runtime: this.path, command: 'exec', container: id };
    // Own session and process group: berthd's signals never reach it, and it can be killed as a group.
    const child = spawn(this.path, argv, { detached: true, stdio: opts.stdio });
    const exited = new Promise<number>((resolve, reject) => {
      child.once('error', (e) => reject(unavailable(`OCI runtime ${this.path} cannot run: ${e.message}`, ctx, e)));
      child.once('exit', (c, sig) => resolve(c ?? 128 + signalNumber(sig)));
    });
    exited.catch(() => undefined);
    let done = false;
    void exited.then(() => (done = true), () => (done = true));
    let killing: Promise<void> | undefined;
    return {
      child,
      exited,
      // Kill the exec'd process and let runc reap it and exit (see execSync); runc's group only if it lingers.
      kill: () =>
        (killing ??= (async () => {
          const end = Date.now() + EXEC_KILL_GRACE_MS;
          while (!done) {
            if (await killExecProcess(pidFile)) break;
            if (Date.now() > end) break;
            await new Promise((r) => setTimeout(r, 20));
          }
          const grace = new Promise<void>((r) => setTimeout(r, EXEC_KILL_GRACE_MS).unref());
          await Promise.race([exited.catch(() => undefined), grace]);
          if (!done) killProcessGroup(child.pid);
        })()),
      runtimeError: () => readRuntimeLogErrors(logFile),
      cleanup: async () => {
        await fsp.rm(pidFile, { force: true });
        await fsp.rm(logFile, { force: true });
        if (proc.file) await fsp.rm(proc.file, { force: true });
      },
    };
  }

  private async run(args: string[], id?: string): Promise<string> {
    const argv = [...this.globalArgs(), ...args];
    const ctx = { runtime: this.path, command: args[0], ...(id ? { container: id } : {}) };
    let r;
    try {
      r = await runProgram(this.path, { args: argv, timeoutMs: this.timeoutMs, maxOutputBytes: MAX_OUTPUT });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw unavailable(`OCI runtime ${this.path} not found`, ctx, e);
      throw unavailable(`OCI runtime ${this.path} cannot run: ${(e as Error).message}`, ctx, e);
    }
    if (r.timedOut) throw deadlineExceeded(`${args[0]} timed out after ${this.timeoutMs} ms`, ctx);
    if (r.code === 0) return r.stdout;
    const message = runtimeMessage(r.stderr) || `exit ${r.code ?? r.signal}`;
    log.debug({ ...ctx, message }, 'runtime command failed');
    throw classify(`${args[0]}: ${message}`, ctx);
  }
}

export interface ExecSyncOptions {
  /** Kill the process after this long; 0/undefined = no timeout. */
  timeoutMs?: number;
  maxOutputBytes?: number;
  /** Written to the process's stdin, which is then closed. */
  input?: Buffer | string;
  /** Process overrides (runc exec --user/--cwd/--env); unset = the container's own. */
  process?: ExecProcessOverrides;
}

/** What `berth exec -u/-w/-e` may change for one exec'd process. */
export interface ExecProcessOverrides {
  /** `uid[:gid]`, numeric (resolve names before). */
  user?: string;
  /**
   * With `base`: the exec'd process's supplementary groups, replacing the container's (runc's
   * --additional-gids only adds to them, so a user change goes through a full process spec).
   */
  additionalGids?: number[];
  cwd?: string;
  /** `KEY=value` entries added to (or replacing in) the container's environment. */
  env?: string[];
  /** The container's own process (its bundle's config.json): exec from a full spec based on it. */
  base?: OciProcess;
}

function processOverrideArgs(o: ExecProcessOverrides | undefined): string[] {
  if (!o) return [];
  return [...(o.user ? ['--user', o.user] : []), ...(o.cwd ? ['--cwd', o.cwd] : []), ...(o.env ?? []).flatMap((e) => ['--env', e])];
}

/** The full process spec for `runc exec --process`: the container's, with the overrides applied. */
export function execProcessSpec(
  base: OciProcess,
  args: string[],
  tty: boolean,
  o: ExecProcessOverrides,
  consoleSize?: OciProcess['consoleSize'],
): OciProcess {
  const [uid, gid] = (o.user ?? `${base.user.uid}:${base.user.gid}`).split(':').map(Number);
  const keyOf = (e: string) => e.slice(0, e.indexOf('='));
  const overridden = new Set((o.env ?? []).map(keyOf));
  const { consoleSize: _containers, ...rest } = base;
  return {
    ...rest,
    terminal: tty,
    ...(tty && consoleSize ? { consoleSize } : {}),
    args,
    user: { ...base.user, uid: uid!, gid: gid ?? uid!, additionalGids: o.additionalGids ?? base.user.additionalGids },
    cwd: o.cwd ?? base.cwd,
    env: [...base.env.filter((e) => !overridden.has(keyOf(e))), ...(o.env ?? [])],
  };
}

/** runc exec arguments for the process: a spec file (returned for removal) or flags plus args. */
function execProcessArgs(
  id: string,
  args: string[],
  opts: { tty: boolean; process?: ExecProcessOverrides; consoleSize?: OciProcess['consoleSize'] },
  tag: string,
): { argv: string[]; file?: string } {
  const o = opts.process;
  if (!o?.base) return { argv: [...processOverrideArgs(o), id, ...args] };
  const file = join(tmpdir(), `berth-exec-${tag}.process.json`);
  writeFileSync(file, JSON.stringify(execProcessSpec(o.base, args, opts.tty, o, opts.consoleSize)), { mode: 0o600 });
  return { argv: ['--process', file, id], file };
}

export interface ExecStreamingOptions {
  /** Allocate a terminal in the container (runc --tty); stdio must then be a terminal. */
  tty: boolean;
  /** runc's stdin, stdout, stderr (child_process stdio). */
  stdio: StdioOptions;
  /** With `process.base`: the exec'd process runs from a full spec (needed for consoleSize). */
  process?: ExecProcessOverrides;
  /** The terminal size the process starts with (tty only; takes effect with `process.base`). */
  consoleSize?: OciProcess['consoleSize'];
}

export interface ExecProcess {
  child: ChildProcess;
  /** The exec'd process's exit code (128+signal when killed), once runc exited. */
  exited: Promise<number>;
  /** SIGKILL the exec'd process (by its pid file); runc's process group too if it does not exit. */
  kill(): Promise<void>;
  /** Errors runc logged (empty if none): read after exit to tell a failed exec from an exit code. */
  runtimeError(): Promise<string>;
  /** Remove the pid and log files (after exit). */
  cleanup(): Promise<void>;
}

export interface ExecSyncResult {
  /** The process's exit code (128+signal when killed). */
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
}

class BoundedBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}
  push(b: Buffer): void {
    const room = this.limit - this.size;
    if (room <= 0) return;
    const part = b.length > room ? b.subarray(0, room) : b;
    this.chunks.push(part);
    this.size += part.length;
  }
  value(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function signalNumber(sig: NodeJS.Signals | null): number {
  return sig ? (osConstants.signals[sig] ?? 0) : 0;
}

const EXEC_KILL_GRACE_MS = 2000;

/** unlink(2) that tolerates a missing file (one syscall; fs.rm would stat twice first). */
async function unlinkIfPresent(path: string): Promise<void> {
  await fsp.unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}

/** SIGKILLs the pid in `pidFile`; false when runc has not written it (yet). */
async function killExecProcess(pidFile: string): Promise<boolean> {
  const pid = Number((await fsp.readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (Number.isInteger(pid) && pid > 0) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already exited
    }
    return true;
  }
  return false;
}

function killProcessGroup(runtimePid: number | undefined): void {
  if (!runtimePid) return;
  try {
    process.kill(-runtimePid, 'SIGKILL'); // runc runs in its own process group (detached)
  } catch {
    // already exited
  }
}

/** Error messages runc wrote to its JSON log (`--log-format=json`). */
async function readRuntimeLogErrors(file: string): Promise<string> {
  const text = await fsp.readFile(file, 'utf8').catch(() => '');
  const errors: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if ((entry.level === 'error' || entry.level === 'fatal') && entry.msg) errors.push(entry.msg);
    } catch {
      // not JSON (crun writes plain text): ignore
    }
  }
  return errors.join('; ');
}

/** The error text from runc/crun stderr (runc: `time=... level=error msg="..."`, crun: plain). */
export function runtimeMessage(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const msgs = lines.map((l) => {
    const m = /\bmsg="((?:[^"\\]|\\.)*)"/.exec(l);
    return m ? m[1].replace(/\\"/g, '"').replace(/\\\\/g, '\\') : l;
  });
  return msgs.join('; ');
}

function classify(message: string, ctx: Record<string, unknown>): BerthError {
  if (/does not exist|not found|no such container/i.test(message)) return notFound(message, ctx);
  if (/not running|is stopped|stopped container|not paused|is paused|container .* is not/i.test(message)) {
    return failedPrecondition(message, ctx);
  }
  return internal(message, ctx);
}

function parseJson<T>(text: string, id?: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw internal('unparseable output from the OCI runtime', { container: id, output: text.slice(0, 200) }, e);
  }
}
