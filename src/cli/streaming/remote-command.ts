// One exec or attach session over WebSocket (remotecommand v5): stdin out on channel 0 (its end as
// the close signal), stdout/stderr in on 1/2, terminal sizes out on 4, and the outcome as a Status
// on 3, which berthd writes after all output, just before it closes the socket.
import type { Readable, Writable } from 'node:stream';
import type WebSocket from 'ws';
import { CliError } from '../errors';
import { openWebSocket } from './connect';
import { DetachKeyFilter } from './detach-keys';
import { CHANNEL, REMOTECOMMAND_PROTOCOL, decodeFrame, encodeClose, encodeFrame, encodeResize, parseStatus } from './protocol';

export interface TerminalSize {
  columns: number;
  rows: number;
}

/** Where terminal sizes come from: the size now, and a way to hear of changes. */
export interface SizeSource {
  size(): TerminalSize | undefined;
  /** Calls `onChange` on every change; returns the unsubscribe function. */
  watch(onChange: () => void): () => void;
}

export interface RemoteCommandIO {
  /** Sent to the process; its end is sent as "stdin closed". Absent: the session has no stdin. */
  stdin?: Readable;
  stdout?: Writable;
  /** Absent for terminal sessions (a terminal has one output). */
  stderr?: Writable;
  /** Terminal sessions: the initial size and every change go to the process's terminal. */
  sizes?: SizeSource;
  /** Typing this sequence on stdin ends the session without ending the process (attach). */
  detachKeys?: Buffer;
  /** Aborting ends the session from this side (berthd then kills an exec'd process). */
  signal?: AbortSignal;
}

export type SessionEnd =
  /** The process ended (exec) or the attach ended, with this code (0 for attach). */
  | { kind: 'exit'; exitCode: number }
  /** berthd reported a failure (the command could not run, the container went away...). */
  | { kind: 'failed'; message: string }
  /** The detach keys were typed. */
  | { kind: 'detached' }
  /** `signal` aborted the session. */
  | { kind: 'aborted' };

function asBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Resolves once everything written to `w` so far has been handed to the OS. */
function flushed(w: Writable | undefined): Promise<void> {
  if (!w || w.destroyed || w.writableEnded) return Promise.resolve();
  return new Promise((resolve) => w.write(Buffer.alloc(0), () => resolve()));
}

/** Connects to an Exec or Attach URL and runs the session to its end. */
export async function runRemoteCommand(url: string, io: RemoteCommandIO): Promise<SessionEnd> {
  if (io.signal?.aborted) return { kind: 'aborted' };
  return openWebSocket(url, REMOTECOMMAND_PROTOCOL, (ws) => runOnSocket(ws, io));
}

/** The session on a socket that has just opened. */
function runOnSocket(ws: WebSocket, io: RemoteCommandIO): Promise<SessionEnd> {
  return new Promise<SessionEnd>((resolve, reject) => {
    const status: Buffer[] = [];
    let ending: 'detached' | 'aborted' | undefined;
    let lastError: Error | undefined;
    let blocked = 0; // outputs waiting for 'drain'

    const send = (frame: Buffer, cb?: (err?: Error) => void) => {
      if (ws.readyState !== ws.OPEN) return cb?.(new Error('closed'));
      ws.send(frame, { binary: true }, cb);
    };

    // ---- output ----
    const write = (w: Writable | undefined, data: Buffer) => {
      if (!w || w.destroyed || data.length === 0) return;
      if (!w.write(data)) {
        // Slow terminal or pipe: stop reading the socket until it drains.
        if (blocked++ === 0) ws.pause();
        w.once('drain', () => {
          if (--blocked === 0) ws.resume();
        });
      }
    };
    ws.on('message', (raw) => {
      const f = decodeFrame(asBuffer(raw));
      if (!f || f.kind === 'close') return; // berthd closes no channel we read before the end
      if (f.channel === CHANNEL.stdout) write(io.stdout, f.data);
      else if (f.channel === CHANNEL.stderr) write(io.stderr, f.data);
      else if (f.channel === CHANNEL.error) status.push(f.data);
    });

    // ---- terminal sizes ----
    let lastSize = '';
    const sendSize = () => {
      const s = io.sizes?.size();
      if (!s || s.columns <= 0 || s.rows <= 0) return;
      const msg = encodeResize(s);
      if (msg.toString() === lastSize) return;
      lastSize = msg.toString();
      send(encodeFrame(CHANNEL.resize, msg));
    };
    const unwatch = io.sizes?.watch(sendSize);
    sendSize();

    // ---- input ----
    const stdin = io.stdin;
    const filter = io.detachKeys?.length ? new DetachKeyFilter(io.detachKeys) : undefined;
    const end = (why: 'detached' | 'aborted') => {
      if (ending) return;
      ending = why;
      // Queued input goes first; the close frame follows it on the socket.
      ws.close(1000);
    };
    const onData = (chunk: Buffer | string) => {
      let data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (filter) data = filter.push(data);
      if (data.length) {
        stdin!.pause();
        send(encodeFrame(CHANNEL.stdin, data), (err) => {
          if (!err && !ending && ws.readyState === ws.OPEN) stdin!.resume();
        });
      }
      if (filter?.detached) end('detached');
    };
    const onEnd = () => send(encodeClose(CHANNEL.stdin));
    if (stdin?.readableEnded) onEnd();
    else if (stdin) {
      stdin.on('data', onData);
      stdin.once('end', onEnd);
      stdin.resume();
    }

    const onAbort = () => end('aborted');
    io.signal?.addEventListener('abort', onAbort, { once: true });

    ws.on('error', (e) => {
      lastError = e;
    });
    ws.once('close', (code: number) => {
      unwatch?.();
      io.signal?.removeEventListener('abort', onAbort);
      if (stdin) {
        stdin.removeListener('data', onData);
        stdin.removeListener('end', onEnd);
        stdin.pause();
      }
      void Promise.all([flushed(io.stdout), flushed(io.stderr)]).then(() => {
        if (ending) return resolve({ kind: ending });
        if (status.length) {
          const outcome = parseStatus(Buffer.concat(status).toString('utf8'));
          return resolve(outcome.kind === 'exit' ? outcome : { kind: 'failed', message: outcome.message });
        }
        const why = lastError ? `: ${lastError.message}` : code !== 1000 ? ` (WebSocket close code ${code})` : '';
        reject(new CliError(`lost the connection to berthd's streaming server before the session ended${why}`));
      });
    });
  });
}
