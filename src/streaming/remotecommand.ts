// exec and attach sessions (kubernetes "remotecommand"): gather the client's streams over SPDY or
// WebSocket, hand them to the runtime, then report the outcome on the error stream.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { WebSocket } from 'ws';
import { errorMessage } from '../util/errors';
import { logger } from '../util/log';
import {
  CH_ERROR, CH_RESIZE, CH_STDERR, CH_STDIN, CH_STDOUT, HDR_STREAM_TYPE, RC_V1, RC_V2, RC_V3, RC_V4, RC_V5,
  STREAM_TYPE, WS_V4_BASE64, WS_V4_BINARY, WS_V5_BINARY,
} from './protocols';
import { ResizeQueue } from './resize';
import { SpdyConnection, type FlowControlMode, type SpdyStream } from './spdy/connection';
import {
  encodeStatusV1, encodeStatusV4, exitCodeStatus, internalErrorStatus, successStatus, type K8sStatus,
} from './status';
import type { AttachRequest, ExecIO, ExecRequest, StreamingRuntime } from './types';
import { WsChannels } from './ws-channels';

const log = logger('streaming');

export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** The client's side of one session, whatever the transport. */
export interface RemoteCommandStreams {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  resize?: Readable;
  writeStatus(s: K8sStatus): Promise<void>;
  /** Graceful end of the session once everything is written. */
  finish(): void;
  /** Aborted when the client goes away. */
  gone: AbortSignal;
}

export type RemoteCommand =
  | { kind: 'exec'; req: ExecRequest }
  | { kind: 'attach'; req: AttachRequest };

/** Run one exec/attach over connected streams and report its outcome. */
export async function runRemoteCommand(cmd: RemoteCommand, runtime: StreamingRuntime, s: RemoteCommandStreams, serverStop: AbortSignal): Promise<void> {
  const ctl = new AbortController();
  const abort = () => ctl.abort();
  s.gone.addEventListener('abort', abort);
  serverStop.addEventListener('abort', abort);
  if (s.gone.aborted || serverStop.aborted) ctl.abort();
  let resize: ResizeQueue | undefined;
  if (s.resize) {
    resize = new ResizeQueue();
    resize.feedFrom(s.resize);
  }
  const io: ExecIO = { stdin: s.stdin, stdout: s.stdout, stderr: s.stderr, resize, signal: ctl.signal };
  const containerId = cmd.req.containerId;
  let status: K8sStatus;
  try {
    if (cmd.kind === 'exec') {
      const { exitCode } = await runtime.exec(cmd.req, io);
      status = exitCode === 0 ? successStatus() : exitCodeStatus(exitCode);
    } else {
      await runtime.attach(cmd.req, io);
      status = successStatus();
    }
  } catch (e) {
    const what = cmd.kind === 'exec' ? 'error executing command in container' : 'error attaching to container';
    log.warn({ containerId, err: errorMessage(e) }, `${cmd.kind} failed`);
    status = internalErrorStatus(`${what}: ${errorMessage(e)}`);
  } finally {
    resize?.end();
    s.gone.removeEventListener('abort', abort);
    serverStop.removeEventListener('abort', abort);
  }
  if (s.gone.aborted) return;
  // Output first, status last: the client takes the status as the end of the session.
  await Promise.all([endWritable(s.stdout), endWritable(s.stderr)]);
  if (s.gone.aborted) return;
  try {
    await s.writeStatus(status);
  } catch (e) {
    log.debug({ containerId, err: errorMessage(e) }, 'could not write exec status');
  }
  s.finish();
}

async function endWritable(w: Writable | undefined): Promise<void> {
  if (!w || w.destroyed) return;
  if (!w.writableEnded) w.end();
  try {
    await finished(w, { readable: false });
  } catch {
    // a client that went away; nothing more to do
  }
}

// ---- SPDY ----

/** Number of streams the client opens for these options (error stream included). */
export function expectedSpdyStreams(protocol: string, o: StreamOptions): number {
  const resizeCapable = protocol === RC_V3 || protocol === RC_V4 || protocol === RC_V5;
  return 1 + Number(o.stdin) + Number(o.stdout) + Number(o.stderr) + Number(o.tty && resizeCapable);
}

const KNOWN_TYPES = new Set<string>([STREAM_TYPE.error, STREAM_TYPE.stdin, STREAM_TYPE.stdout, STREAM_TYPE.stderr, STREAM_TYPE.resize]);

/**
 * Wait on an upgraded SPDY connection for the client's streams (identified by their streamType
 * header); resolve once all expected ones exist, or undefined after the timeout or a disconnect.
 */
export function collectSpdyStreams(
  socket: Socket,
  head: Buffer,
  protocol: string,
  o: StreamOptions,
  timeoutMs: number,
  flowControl: FlowControlMode,
): Promise<{ conn: SpdyConnection; streams: RemoteCommandStreams } | undefined> {
  const conn = new SpdyConnection(socket, {
    flowControl,
    acceptStream: (h) => (KNOWN_TYPES.has(h.get(HDR_STREAM_TYPE.toLowerCase()) ?? '') ? undefined : 'unexpected stream type'),
  }, head);
  const byType = new Map<string, SpdyStream>();
  const expected = expectedSpdyStreams(protocol, o);
  const gone = new AbortController();
  conn.on('close', () => gone.abort());
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      log.warn({ got: [...byType.keys()], expected }, 'timed out waiting for client to create streams');
      conn.destroy();
      resolve(undefined);
    }, timeoutMs);
    conn.on('close', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    let count = 0;
    conn.on('stream', (st: SpdyStream) => {
      const type = st.header(HDR_STREAM_TYPE)!;
      if (byType.has(type) || count >= expected) {
        st.reset();
        return;
      }
      byType.set(type, st);
      count++;
      if (count < expected) return;
      clearTimeout(timer);
      const errorStream = byType.get(STREAM_TYPE.error);
      const pick = (t: string, wanted: boolean) => {
        const x = byType.get(t);
        if (x && !wanted) x.resume(); // opened but not asked for: drain and ignore
        return wanted ? x : undefined;
      };
      const streams: RemoteCommandStreams = {
        stdin: pick(STREAM_TYPE.stdin, o.stdin),
        stdout: pick(STREAM_TYPE.stdout, o.stdout),
        stderr: pick(STREAM_TYPE.stderr, o.stderr),
        resize: pick(STREAM_TYPE.resize, o.tty),
        writeStatus: async (status) => {
          if (!errorStream) return;
          errorStream.resume();
          const v4 = protocol === RC_V4 || protocol === RC_V5;
          const body = v4 ? encodeStatusV4(status) : encodeStatusV1(status);
          if (body.length) errorStream.write(body);
          errorStream.end();
          await finished(errorStream, { readable: false }).catch(() => undefined);
        },
        finish: () => conn.close(),
        gone: gone.signal,
      };
      if (!errorStream) {
        log.warn({ protocol }, 'client opened no error stream');
      }
      resolve({ conn, streams });
    });
  });
}

/** SPDY remotecommand protocols, newest first. */
export const SPDY_RC_SUPPORTED = [RC_V5, RC_V4, RC_V3, RC_V2, RC_V1];

// ---- WebSocket ----

/** WebSocket protocols for exec/attach ('' = client named none: binary, v1 status). */
export const WS_RC_SUPPORTED = [WS_V5_BINARY, WS_V4_BINARY, WS_V4_BASE64, 'channel.k8s.io', 'base64.channel.k8s.io'];

export function websocketStreams(ws: WebSocket, protocol: string, o: StreamOptions): RemoteCommandStreams {
  const ch = new WsChannels(ws, protocol);
  const gone = new AbortController();
  let finishing = false;
  ws.on('close', () => {
    if (!finishing) gone.abort();
  });
  const stdin = o.stdin ? ch.reader(CH_STDIN) : undefined;
  const resize = o.tty ? ch.reader(CH_RESIZE) : undefined;
  const stdout = o.stdout ? ch.writer(CH_STDOUT) : undefined;
  const stderr = o.stderr ? ch.writer(CH_STDERR) : undefined;
  // Tell the client the session is up: an empty message on the lowest channel it reads.
  ch.send(o.stdout ? CH_STDOUT : o.stderr ? CH_STDERR : CH_ERROR, Buffer.alloc(0));
  const v4 = protocol === WS_V4_BINARY || protocol === WS_V4_BASE64 || protocol === WS_V5_BINARY;
  return {
    stdin,
    stdout,
    stderr,
    resize,
    writeStatus: (status) =>
      new Promise<void>((resolve) => {
        const body = v4 ? encodeStatusV4(status) : encodeStatusV1(status);
        if (!body.length) return resolve();
        ch.send(CH_ERROR, body, () => resolve());
      }),
    finish: () => {
      finishing = true;
      ws.close(1000);
    },
    gone: gone.signal,
  };
}

/** Stream options of a request. */
export function streamOptions(r: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }): StreamOptions {
  // A terminal has no separate stderr.
  return { stdin: r.stdin, stdout: r.stdout, stderr: r.stderr && !r.tty, tty: r.tty };
}

export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}
