// Port forwarding (kubernetes "portforward"). Over SPDY, each forwarded connection is a pair of
// client streams (data and error) tied by a requestID header; many run at once on one connection.
// Over WebSocket, the ports are fixed up front: channel 2i carries port i's data, 2i+1 its errors,
// and each channel starts with the port number (u16 little-endian).
import { setMaxListeners } from 'node:events';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { errorMessage } from '../util/errors';
import { logger } from '../util/log';
import { HDR_PORT, HDR_REQUEST_ID, HDR_STREAM_TYPE, STREAM_TYPE } from './protocols';
import { SpdyConnection, type FlowControlMode, type SpdyStream } from './spdy/connection';
import type { StreamingRuntime } from './types';
import { WsChannels } from './ws-channels';

const log = logger('streaming');

export function parsePort(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return n >= 1 && n <= 65535 ? n : undefined;
}

function validatePortForwardStream(h: Map<string, string>): string | undefined {
  const port = h.get(HDR_PORT);
  if (port === undefined) return `"${HDR_PORT}" header is required`;
  if (parsePort(port) === undefined) return `invalid port ${JSON.stringify(port)}`;
  const type = h.get(HDR_STREAM_TYPE.toLowerCase());
  if (type === undefined) return `"${HDR_STREAM_TYPE}" header is required`;
  if (type !== STREAM_TYPE.data && type !== STREAM_TYPE.error) return `invalid stream type ${JSON.stringify(type)}`;
  return undefined;
}

/** Whether an error leaves the connection usable (the target reset or stopped reading). */
function isConnectionLevelOk(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EPIPE' || code === 'ECONNRESET';
}

interface Pair {
  requestId: string;
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

/** Serve port-forward requests on an upgraded SPDY connection until the client closes it. */
export function serveSpdyPortForward(
  socket: Socket,
  head: Buffer,
  podSandboxId: string,
  runtime: StreamingRuntime,
  opts: { streamCreationTimeoutMs: number; flowControl: FlowControlMode; serverStop: AbortSignal },
): SpdyConnection {
  const conn = new SpdyConnection(socket, { flowControl: opts.flowControl, acceptStream: validatePortForwardStream }, head);
  const pairs = new Map<string, Pair>();
  const ctl = new AbortController();
  setMaxListeners(0, ctl.signal); // one listener per forwarded connection
  const abort = () => ctl.abort();
  opts.serverStop.addEventListener('abort', abort);
  conn.on('close', () => {
    opts.serverStop.removeEventListener('abort', abort);
    ctl.abort();
    for (const p of pairs.values()) clearTimeout(p.timer);
    pairs.clear();
  });

  conn.on('stream', (st: SpdyStream) => {
    const type = st.header(HDR_STREAM_TYPE)!;
    let requestId = st.header(HDR_REQUEST_ID);
    if (requestId === undefined) {
      // Clients too old to send requestID open error then data with consecutive odd ids.
      requestId = String(type === STREAM_TYPE.error ? st.id : st.id - 2);
    }
    let p = pairs.get(requestId);
    if (!p) {
      const rid = requestId;
      p = {
        requestId: rid,
        timer: setTimeout(() => {
          const q = pairs.get(rid);
          if (!q) return;
          pairs.delete(rid);
          const msg = `timed out waiting for streams of port-forward request ${rid}`;
          log.warn({ podSandboxId, requestId: rid }, msg);
          if (q.error) q.error.end(msg);
          q.data?.reset();
        }, opts.streamCreationTimeoutMs),
      };
      pairs.set(requestId, p);
    }
    const slot = type === STREAM_TYPE.data ? 'data' : 'error';
    if (p[slot]) {
      const msg = `error processing stream for request ${requestId}: ${slot} stream already assigned`;
      if (p.error) p.error.write(msg);
      st.reset();
      return;
    }
    p[slot] = st;
    if (!p.data || !p.error) return;
    clearTimeout(p.timer);
    pairs.delete(requestId);
    void forwardPair(p.data, p.error, requestId);
  });

  async function forwardPair(data: SpdyStream, error: SpdyStream, requestId: string): Promise<void> {
    error.resume(); // clients write nothing on it, but a FIN must be consumed
    const port = parsePort(data.header(HDR_PORT))!;
    try {
      await runtime.portForward(podSandboxId, port, data, ctl.signal);
    } catch (e) {
      const message = `error forwarding port ${port} to pod ${podSandboxId}, uid : ${errorMessage(e)}`;
      log.info({ podSandboxId, port, requestId, err: errorMessage(e) }, 'port forward failed');
      if (!error.destroyed) error.write(JSON.stringify({ closeConnection: !isConnectionLevelOk(e), message }) + '\n');
    } finally {
      if (!data.destroyed && !data.writableEnded) data.end();
      if (!error.destroyed && !error.writableEnded) error.end();
    }
  }

  return conn;
}

/** Serve a WebSocket port-forward for a fixed list of ports; closes the socket when all are done. */
export function serveWebSocketPortForward(
  ws: WebSocket,
  protocol: string,
  podSandboxId: string,
  ports: number[],
  runtime: StreamingRuntime,
  serverStop: AbortSignal,
): Promise<void> {
  const ch = new WsChannels(ws, protocol);
  const ctl = new AbortController();
  const abort = () => ctl.abort();
  serverStop.addEventListener('abort', abort);
  ws.on('close', abort);
  const runs = ports.map(async (port, i) => {
    const dataCh = 2 * i;
    const errCh = dataCh + 1;
    const portBytes = Buffer.alloc(2);
    portBytes.writeUInt16LE(port);
    ch.send(dataCh, portBytes);
    ch.send(errCh, portBytes);
    const stream = Duplex.from({ readable: ch.reader(dataCh), writable: ch.writer(dataCh) });
    stream.on('error', () => undefined);
    try {
      await runtime.portForward(podSandboxId, port, stream, ctl.signal);
    } catch (e) {
      const message = `error forwarding port ${port} to pod ${podSandboxId}, uid : ${errorMessage(e)}`;
      log.info({ podSandboxId, port, err: errorMessage(e) }, 'port forward failed');
      await new Promise<void>((resolve) => ch.send(errCh, Buffer.from(message), () => resolve()));
    }
  });
  return Promise.all(runs).then(() => {
    serverStop.removeEventListener('abort', abort);
    if (ws.readyState === ws.OPEN) ws.close(1000);
  });
}
