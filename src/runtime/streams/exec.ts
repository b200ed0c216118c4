// Streaming exec: `runc exec` in the foreground with the client's streams. Without a terminal runc's
// stdio are pipes to the client's stdin/stdout/stderr; with one, runc's stdio is the slave of a pty
// berthd opens, and the client talks to its master (runc copies between it and the container's
// terminal, and resizes that one when it gets SIGWINCH).
import { closeSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import type { Readable, Writable } from 'node:stream';
import type { ExecIO, ExecRequest, TerminalSize } from '../../streaming/types';
import type { ExecProcess, OciRuntime } from '../../oci/runc';
import { errorMessage, internal } from '../../util/errors';
import { logger } from '../../util/log';
import { openPty, setWinsize } from '../sys-streams';

const log = logger('exec');

/** End of transmission: what a terminal's stdin closing means to the program reading it. */
const EOT = Buffer.from([4]);

export async function streamExec(runtime: OciRuntime, containerId: string, req: ExecRequest, io: ExecIO): Promise<{ exitCode: number }> {
  const ctx = { containerId, cmd: req.cmd };
  if (io.signal.aborted) throw internal('client went away before the exec started', ctx);
  return req.tty ? execTty(runtime, containerId, req, io) : execPipes(runtime, containerId, req, io);
}

/** Resolves with the exit code, after the output is passed on; kills the process if the client leaves. */
async function supervise(proc: ExecProcess, io: ExecIO, outputDone: Promise<unknown>, ctx: Record<string, unknown>): Promise<{ exitCode: number }> {
  const onAbort = () => {
    log.info(ctx, 'exec client went away; killing the process');
    void proc.kill();
  };
  io.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const exitCode = await proc.exited;
    await outputDone;
    if (!io.signal.aborted) {
      const err = await proc.runtimeError();
      if (err) throw internal(`exec failed: ${err}`, ctx);
    }
    log.debug({ ...ctx, exitCode }, 'exec finished');
    return { exitCode };
  } finally {
    io.signal.removeEventListener('abort', onAbort);
    await proc.cleanup();
  }
}

/** Copies `from` into `to` (respecting backpressure) until `from` ends; never ends `to`. */
function copyInto(from: Readable, to: Writable | undefined, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const finish = () => {
      from.removeListener('data', onData);
      to?.removeListener('drain', onDrain);
      signal.removeEventListener('abort', finish);
      resolve();
    };
    const onDrain = () => from.resume();
    const onData = (chunk: Buffer) => {
      if (!to || to.destroyed) return;
      if (!to.write(chunk)) from.pause();
    };
    from.on('data', onData);
    to?.on('drain', onDrain);
    from.once('end', finish);
    from.once('close', finish);
    from.once('error', finish);
    signal.addEventListener('abort', () => {
      from.resume(); // keep draining: the process must not block on a full pipe while it is killed
      finish();
    }, { once: true });
  });
}

async function execPipes(runtime: OciRuntime, containerId: string, req: ExecRequest, io: ExecIO): Promise<{ exitCode: number }> {
  const ctx = { containerId, cmd: req.cmd };
  const proc = runtime.execStreaming(containerId, req.cmd, {
    tty: false,
    stdio: [io.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    process: req.process,
  });
  const child = proc.child;
  // runc's own stdout/stderr are the process's; a client that did not ask for one gets nothing of it.
  const output = Promise.all([copyInto(child.stdout!, io.stdout, io.signal), copyInto(child.stderr!, io.stderr, io.signal)]);
  if (io.stdin && child.stdin) feedStdin(io.stdin, child.stdin, proc);
  return supervise(proc, io, output, ctx);
}

/** Client stdin → process stdin; ends it when the client's ends; stops (draining) when the process exits. */
function feedStdin(stdin: Readable, to: Writable, proc: ExecProcess): void {
  to.on('error', () => undefined); // EPIPE: the process closed its stdin or exited
  stdin.pipe(to);
  void proc.exited.finally(() => {
    stdin.unpipe(to);
    stdin.resume();
    to.destroy();
  }).catch(() => undefined);
}

async function execTty(runtime: OciRuntime, containerId: string, req: ExecRequest, io: ExecIO): Promise<{ exitCode: number }> {
  const ctx = { containerId, cmd: req.cmd };
  const { master, slave } = openPty();
  // The process starts with the client's first size (runc sets the process spec's consoleSize
  // before exec): wait (briefly) for it, or a command like `stty size` can see 0x0.
  const sizes = io.resize?.[Symbol.asyncIterator]();
  let first: Promise<IteratorResult<TerminalSize>> | undefined = sizes?.next();
  let consoleSize: { height: number; width: number } | undefined;
  if (first) {
    const r = await Promise.race([first, firstSizeWait()]);
    if (r) {
      first = undefined;
      if (!r.done && r.value.width > 0 && r.value.height > 0) {
        consoleSize = { height: r.value.height, width: r.value.width };
        setWinsize(master, r.value.height, r.value.width);
      }
    }
  }
  let proc: ExecProcess;
  try {
    proc = runtime.execStreaming(containerId, req.cmd, { tty: true, stdio: [slave, slave, slave], process: req.process, consoleSize });
  } catch (e) {
    closeSync(master);
    throw e;
  } finally {
    closeSync(slave); // runc has its copies; the master reads EOF (EIO) once runc is gone
  }
  // A libuv TTY handle: non-blocking reads and writes on the master from the event loop.
  const term = new ReadStream(master);
  term.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EIO') log.debug({ ...ctx, err: errorMessage(e) }, 'pty error');
  });
  const runcPid = proc.child.pid;
  const resizing = applyResizes(sizes, first, (s) => {
    try {
      setWinsize(master, s.height, s.width);
      if (runcPid) process.kill(runcPid, 'SIGWINCH');
    } catch (e) {
      log.debug({ ...ctx, err: errorMessage(e) }, 'resize failed');
    }
  });
  const output = copyInto(term, io.stdout, io.signal);
  if (io.stdin) {
    const stdin = io.stdin;
    stdin.on('data', (chunk: Buffer) => {
      if (!term.destroyed && !term.write(chunk)) {
        stdin.pause();
        term.once('drain', () => stdin.resume());
      }
    });
    stdin.once('end', () => {
      if (!term.destroyed) term.write(EOT);
    });
  }
  // runc exits after copying all of the terminal's output; then the master reads EOF.
  void proc.exited.finally(() => {
    io.stdin?.resume();
  }).catch(() => undefined);
  try {
    return await supervise(proc, io, output, ctx);
  } finally {
    void resizing;
    term.destroy();
  }
}

/** Clients send their size right after connecting; only one that never does waits this long. */
const FIRST_SIZE_WAIT_MS = 1000;

/**
 * The wait for the first size. When the timer fires, I/O that arrived meanwhile is read first
 * (setImmediate runs after the poll phase): after the event loop was busy for longer than the wait,
 * the timer would otherwise win over a size already waiting on the socket.
 */
const firstSizeWait = () =>
  new Promise<undefined>((r) => setTimeout(() => setImmediate(() => r(undefined)), FIRST_SIZE_WAIT_MS));

/** Apply sizes as they come (starting with a first one still pending, if any). */
async function applyResizes(
  sizes: AsyncIterator<TerminalSize> | undefined,
  pending: Promise<IteratorResult<TerminalSize>> | undefined,
  apply: (s: TerminalSize) => void,
): Promise<void> {
  if (!sizes) return;
  try {
    for (let next = pending ?? sizes.next(); ; next = sizes.next()) {
      const r = await next;
      if (r.done) return;
      if (r.value.width > 0 && r.value.height > 0) apply(r.value);
    }
  } catch {
    // the client went away
  }
}
