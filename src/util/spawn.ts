// Starting external programs without forking berthd (see native/berth_spawn.c for why): the
// addon's posix_spawn plus a waiter thread per child, wrapped in a small ChildProcess-like object.
// Used on the hot paths (CNI plugins, unshare, conmon, runc); anything else may keep node's spawn.
import { EventEmitter } from 'node:events';
import { accessSync, constants as fsConstants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { errnoError, loadAddon } from './native-addon';

/**
 * What the child's fd i is: 'pipe' (fd 0: the child reads, others: the child writes), 'pipe-in'
 * (the child reads) or 'pipe-out' (the child writes) give the parent the other end as a stream;
 * 'ignore' is /dev/null; a number is a parent fd passed as is.
 */
export type StdioSpec = 'pipe' | 'pipe-in' | 'pipe-out' | 'ignore' | number;

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Default: every fd 'ignore' (0, 1 and 2). */
  stdio?: StdioSpec[];
  /** Own session and process group (setsid), so a group kill reaches what it starts. */
  detached?: boolean;
  /** false: a running child does not keep the event loop alive (ChildProcess.unref()). Default true. */
  keepAlive?: boolean;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(osConstants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
);

let devNull: number | undefined;

/**
 * A started child. Events as ChildProcess: 'exit' (code, signal) once reaped, 'close' (code,
 * signal) once reaped and every parent-side stdout/stderr-like stream has ended.
 */
export class SpawnedProcess extends EventEmitter {
  readonly stdio: (Readable | Writable | null)[];
  exitStatus: ExitStatus | undefined;
  /** Resolves when the child has exited (and been reaped). */
  readonly exited: Promise<ExitStatus>;
  /** Resolves when the child has exited and its output streams have ended. */
  readonly closed: Promise<ExitStatus>;

  constructor(
    readonly pid: number,
    stdio: (Readable | Writable | null)[],
    keepAlive: boolean,
  ) {
    super();
    this.stdio = stdio;
    const readables = stdio.filter((s): s is Readable => s !== null && 'read' in s && (s as Socket).readable);
    const ended = Promise.all(readables.map((s) => new Promise<void>((r) => s.once('close', () => r()))));
    this.exited = new Promise<ExitStatus>((resolve) => {
      const rc = loadAddon().waitExit(pid, (code, sig, err) => {
        // err: waitpid failed (ECHILD: someone else reaped it); the status is unknown.
        const status: ExitStatus = { code: err === 0 && code >= 0 ? code : null, signal: sig > 0 ? (SIGNAL_NAMES.get(sig) ?? null) : null };
        this.exitStatus = status;
        resolve(status);
        this.emit('exit', status.code, status.signal);
      }, keepAlive);
      if (rc < 0) throw errnoError(rc, 'waitpid', String(pid));
    });
    this.closed = this.exited.then(async (status) => {
      await ended;
      this.emit('close', status.code, status.signal);
      return status;
    });
    // A waiter that could not be started rejects both; whoever awaits them sees it, nobody else must.
    this.exited.catch(() => undefined);
    this.closed.catch(() => undefined);
  }

  get stdin(): Writable | null {
    return (this.stdio[0] as Writable | null) ?? null;
  }
  get stdout(): Readable | null {
    return (this.stdio[1] as Readable | null) ?? null;
  }
  get stderr(): Readable | null {
    return (this.stdio[2] as Readable | null) ?? null;
  }

  /** Signals the child unless it has been reaped (its PID may then belong to another process). */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    if (this.exitStatus) return false;
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/** Resolves `file` in the child's PATH as libuv does; a name with a slash is used as is. */
export function resolveExecutable(file: string, env: NodeJS.ProcessEnv): string {
  if (file.includes('/')) return file;
  for (const dir of (env.PATH ?? process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, file);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  const e: NodeJS.ErrnoException = new Error(`spawn ${file} ENOENT`);
  e.code = 'ENOENT';
  e.errno = -2;
  e.syscall = `spawn ${file}`;
  e.path = file;
  throw e;
}

/**
 * Starts `file` with `args`. Throws (like node's spawn would emit 'error') when the program cannot
 * be executed: not found, not executable, bad cwd.
 */
export function spawnProcess(file: string, args: string[], opts: SpawnOptions = {}): SpawnedProcess {
  const addon = loadAddon();
  const env = opts.env ?? process.env;
  const path = resolveExecutable(file, env);
  const envp = Object.entries(env)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  const specs = opts.stdio ?? ['ignore', 'ignore', 'ignore'];
  const childFds: number[] = [];
  const parentEnds: (number | null)[] = [];
  const directions: ('in' | 'out' | null)[] = [];
  const toClose: number[] = [];
  try {
    specs.forEach((spec, i) => {
      if (typeof spec === 'number') {
        childFds.push(spec);
        parentEnds.push(null);
        directions.push(null);
      } else if (spec === 'ignore') {
        devNull ??= openSync('/dev/null', 'r+');
        childFds.push(devNull);
        parentEnds.push(null);
        directions.push(null);
      } else {
        const pair = addon.socketpair();
        if (typeof pair === 'number') throw errnoError(pair, 'socketpair', file);
        childFds.push(pair[0]);
        toClose.push(pair[0]);
        parentEnds.push(pair[1]);
        directions.push(spec === 'pipe-in' || (spec === 'pipe' && i === 0) ? 'in' : 'out');
      }
    });
    const pid = addon.spawn(path, [file, ...args], envp, opts.cwd ?? null, childFds, opts.detached ?? false);
    if (pid < 0) {
      const e = errnoError(pid, `spawn ${file}`, path);
      e.message = `spawn ${file} ${e.code}`;
      throw e;
    }
    // The child has its copies; the parent keeps only its own ends.
    for (const fd of toClose.splice(0)) addon.closeFd(fd);
    const stdio = parentEnds.map((fd, i) => {
      if (fd === null) return null;
      // The child reads ('in'): our end is writable, and vice versa.
      const s = directions[i] === 'in' ? new Socket({ fd, readable: false, writable: true }) : new Socket({ fd, readable: true, writable: false });
      if (opts.keepAlive === false) s.unref();
      return s;
    });
    parentEnds.length = 0;
    return new SpawnedProcess(pid, stdio, opts.keepAlive ?? true);
  } finally {
    for (const fd of toClose) addon.closeFd(fd);
    for (const fd of parentEnds) if (fd !== null) addon.closeFd(fd);
  }
}
