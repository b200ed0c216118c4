// Port-forward over WebSocket (berthd serves portforward as binary channels: data on 0, errors on
// 1, each opened by the port number). A WebSocket session carries one connection per port, so each
// accepted local connection gets a session (and a PortForward URL) of its own. The protocol has no
// "data channel closed" message: a local client's half-close cannot reach the pod, and the session
// ends when either side closes completely.
import { createServer, type Server, type Socket } from 'node:net';
import type WebSocket from 'ws';
import { CliError, EXIT } from '../errors';
import { openWebSocket } from './connect';
import { PORTFORWARD_PROTOCOL, PortPrefixReader, decodeFrame, encodeFrame } from './protocol';

const DATA = 0;
const ERROR = 1;

export interface PortSpec {
  /** 0: any free port. */
  local: number;
  remote: number;
}

function portNumber(text: string, what: string, allowZero: boolean): number {
  if (!/^\d{1,5}$/.test(text)) throw new CliError(`invalid ${what} "${text}"`, EXIT.usage);
  const n = Number(text);
  if (n > 65535 || (n === 0 && !allowZero)) throw new CliError(`invalid ${what} "${text}": ports are 1-65535`, EXIT.usage);
  return n;
}

/** kubectl's forms: "80" (same port here), "8080:80", ":80" (any free port here). */
export function parsePortSpec(spec: string): PortSpec {
  const parts = spec.split(':');
  if (parts.length === 1) {
    const p = portNumber(parts[0], 'port', false);
    return { local: p, remote: p };
  }
  if (parts.length !== 2) throw new CliError(`invalid port mapping "${spec}": use [localPort:]remotePort`, EXIT.usage);
  return { local: parts[0] === '' ? 0 : portNumber(parts[0], 'local port', true), remote: portNumber(parts[1], 'remote port', false) };
}

function asBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * Copies between `local` and the pod's port through one PortForward URL (made for that one port)
 * until one side closes.
 * Rejects with berthd's message when it could not connect to the port.
 */
export async function forwardConnection(url: string, local: Socket): Promise<void> {
  local.pause();
  try {
    return await openWebSocket(url, PORTFORWARD_PROTOCOL, (ws) => copyBothWays(ws, local));
  } catch (e) {
    local.destroy();
    throw e;
  }
}

function copyBothWays(ws: WebSocket, local: Socket): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const data = new PortPrefixReader();
    const errs = new PortPrefixReader();
    const errorText: Buffer[] = [];
    let localGone = false;

    ws.on('message', (raw) => {
      const f = decodeFrame(asBuffer(raw), false);
      if (!f || f.kind !== 'data') return;
      if (f.channel === DATA) {
        const payload = data.push(f.data);
        if (payload.length && !local.destroyed && !local.write(payload)) {
          ws.pause();
          local.once('drain', () => ws.resume());
        }
      } else if (f.channel === ERROR) {
        const payload = errs.push(f.data);
        if (payload.length) errorText.push(payload);
      }
    });

    local.on('data', (chunk: Buffer) => {
      if (ws.readyState !== ws.OPEN) return;
      local.pause();
      ws.send(encodeFrame(DATA, chunk), { binary: true }, (err) => {
        if (!err && !local.destroyed) local.resume();
      });
    });
    local.on('error', () => undefined); // a reset by the local client: 'close' follows
    local.once('close', () => {
      localGone = true;
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000);
    });
    local.resume();

    ws.on('error', () => undefined); // 'close' follows
    ws.once('close', () => {
      const message = Buffer.concat(errorText).toString('utf8').trim();
      if (message) {
        local.destroy();
        return reject(new CliError(message));
      }
      if (!localGone) local.end();
      resolve();
    });
  });
}

export interface Forwarding {
  local: number;
  remote: number;
}

/** Listens on local ports and forwards each connection through a PortForward URL of its own. */
export class PortForwarder {
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();

  constructor(
    /** A fresh PortForward URL for the pod (one CRI PortForward call). */
    private readonly newUrl: (remote: number) => Promise<string>,
    private readonly events: { connection?: (f: Forwarding) => void; error?: (f: Forwarding, message: string) => void } = {},
    private readonly host = '127.0.0.1',
  ) {}

  /** Starts listening on every spec's local port; all or none. Returns the ports bound. */
  async listen(specs: readonly PortSpec[]): Promise<Forwarding[]> {
    const out: Forwarding[] = [];
    try {
      for (const spec of specs) out.push(await this.listenOne(spec));
    } catch (e) {
      await this.close();
      throw e;
    }
    return out;
  }

  private listenOne(spec: PortSpec): Promise<Forwarding> {
    return new Promise((resolve, reject) => {
      const srv = createServer({ pauseOnConnect: true });
      srv.once('error', (e: NodeJS.ErrnoException) => {
        const why = e.code === 'EADDRINUSE' ? 'the address is in use' : e.code === 'EACCES' ? 'permission denied' : e.message;
        reject(new CliError(`cannot listen on ${this.host}:${spec.local}: ${why}`));
      });
      srv.listen(spec.local, this.host, () => {
        const addr = srv.address();
        const f: Forwarding = { local: typeof addr === 'object' && addr ? addr.port : spec.local, remote: spec.remote };
        this.servers.push(srv);
        srv.on('connection', (sock: Socket) => this.handle(f, sock));
        resolve(f);
      });
    });
  }

  private handle(f: Forwarding, sock: Socket): void {
    this.sockets.add(sock);
    sock.once('close', () => this.sockets.delete(sock));
    this.events.connection?.(f);
    void this.newUrl(f.remote)
      .then((url) => forwardConnection(url, sock))
      .catch((e: unknown) => {
        sock.destroy();
        this.events.error?.(f, (e as Error).message);
      });
  }

  /** Stops listening and ends every forwarded connection. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
