// The streaming server the CRI Exec/Attach/PortForward URLs point at. A CRI call registers its
// request under a single-use token; the client then opens /exec|/attach|/portforward/{token} and
// upgrades to SPDY/3.1 (X-Stream-Protocol-Version negotiation) or WebSocket (subprotocol).
import { setMaxListeners } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { errorMessage, invalidArgument } from '../util/errors';
import { logger } from '../util/log';
import { parsePort, serveSpdyPortForward, serveWebSocketPortForward } from './portforward';
import {
  HEADER_ACCEPTED_PROTOCOL_VERSIONS, HEADER_PROTOCOL_VERSION, RC_V1, SPDY_PORTFORWARD_PROTOCOLS, SPDY_UPGRADE,
  WS_V4_BASE64, WS_V4_BINARY, headerList, negotiate,
} from './protocols';
import {
  SPDY_RC_SUPPORTED, WS_RC_SUPPORTED, collectSpdyStreams, isWebSocketUpgrade, runRemoteCommand, streamOptions,
  websocketStreams, type RemoteCommand,
} from './remotecommand';
import { RequestCache } from './request-cache';
import type { FlowControlMode } from './spdy/connection';
import type { AttachRequest, ExecRequest, PortForwardRequest, StreamingRuntime } from './types';

const log = logger('streaming');

export interface StreamingServerOptions {
  runtime: StreamingRuntime;
  /** Listen address (default 127.0.0.1). */
  address?: string;
  /** Listen port (default 0: any free port). */
  port?: number;
  /** Base of the URLs handed out, e.g. when clients reach the server through another name. */
  baseUrl?: string;
  /** How long a URL stays valid (default 60 s). */
  requestTtlMs?: number;
  /** Most URLs outstanding at once (default 1000). */
  maxInFlightRequests?: number;
  /** How long a SPDY client may take to open its streams (default 30 s). */
  streamCreationTimeoutMs?: number;
  /** SPDY send-side flow control (default 'auto'; see spdy/connection.ts). */
  spdyFlowControl?: FlowControlMode;
}

type Pending =
  | { kind: 'exec'; req: ExecRequest }
  | { kind: 'attach'; req: AttachRequest }
  | { kind: 'portforward'; req: PortForwardRequest };

const WS_PORTFORWARD_SUPPORTED = [WS_V4_BINARY, WS_V4_BASE64];

export class StreamingServer {
  private readonly runtime: StreamingRuntime;
  private readonly cache: RequestCache<Pending>;
  private readonly http: http.Server;
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 });
  private readonly sockets = new Set<Socket>();
  private readonly stopCtl = new AbortController();
  private readonly streamCreationTimeoutMs: number;
  private readonly flowControl: FlowControlMode;
  private base = '';

  constructor(private readonly opts: StreamingServerOptions) {
    this.runtime = opts.runtime;
    this.cache = new RequestCache<Pending>({ ttlMs: opts.requestTtlMs, maxInFlight: opts.maxInFlightRequests });
    this.streamCreationTimeoutMs = opts.streamCreationTimeoutMs ?? 30_000;
    this.flowControl = opts.spdyFlowControl ?? 'auto';
    // Every live session listens on the stop signal.
    setMaxListeners(0, this.stopCtl.signal);
    this.http = http.createServer((req, res) => this.onRequest(req, res));
    this.http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.onUpgrade(req, socket, head));
    this.http.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.http.on('clientError', (_e, socket: Socket) => socket.destroy());
  }

  /** Start listening; resolves once the port is bound. */
  async start(): Promise<void> {
    const host = this.opts.address ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.opts.port ?? 0, host, () => {
        this.http.removeListener('error', reject);
        resolve();
      });
    });
    const a = this.http.address() as AddressInfo;
    const urlHost = a.family === 'IPv6' || a.address.includes(':') ? `[${a.address}]` : a.address;
    this.base = (this.opts.baseUrl ?? `http://${urlHost}:${a.port}`).replace(/\/+$/, '');
    log.info({ url: this.base }, 'streaming server listening');
  }

  /** Stop listening and end every session (runtime calls see their signal abort). */
  async stop(): Promise<void> {
    this.stopCtl.abort();
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    for (const c of this.wss.clients) c.terminate();
    await closed;
  }

  /** Base URL (after start). */
  get url(): string {
    return this.base;
  }

  get port(): number {
    return (this.http.address() as AddressInfo | null)?.port ?? 0;
  }

  getExecUrl(req: ExecRequest): string {
    if (!req.containerId) throw invalidArgument('missing required container_id');
    if (!req.cmd?.length) throw invalidArgument('cmd must not be empty', { containerId: req.containerId });
    validateStreams(req, req.containerId);
    return this.register('exec', { kind: 'exec', req: { ...req, cmd: [...req.cmd] } });
  }

  getAttachUrl(req: AttachRequest): string {
    if (!req.containerId) throw invalidArgument('missing required container_id');
    validateStreams(req, req.containerId);
    return this.register('attach', { kind: 'attach', req: { ...req } });
  }

  getPortForwardUrl(req: PortForwardRequest): string {
    if (!req.podSandboxId) throw invalidArgument('missing required pod_sandbox_id');
    for (const p of req.ports ?? []) {
      if (!Number.isInteger(p) || p < 1 || p > 65535) throw invalidArgument(`invalid port ${p}`, { podSandboxId: req.podSandboxId });
    }
    return this.register('portforward', { kind: 'portforward', req: { ...req, ports: req.ports ? [...req.ports] : undefined } });
  }

  private register(path: string, p: Pending): string {
    if (!this.base) throw new Error('streaming server not started');
    return `${this.base}/${path}/${this.cache.insert(p)}`;
  }

  private route(req: IncomingMessage): { pending: Pending | undefined; known: boolean } {
    const m = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]+)$/.exec((req.url ?? '').split('?')[0]);
    if (!m || (req.method !== 'GET' && req.method !== 'POST')) return { pending: undefined, known: false };
    const p = this.cache.consume(m[2]);
    return { pending: p && p.kind === m[1] ? p : undefined, known: true };
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const { pending } = this.route(req);
    if (!pending) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    res.writeHead(400, { 'Content-Type': 'text/plain' }).end('unable to upgrade: missing upgrade headers in request\n');
  }

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', (e) => log.debug({ err: e.message }, 'streaming socket error'));
    const { pending } = this.route(req);
    if (!pending) return rejectUpgrade(socket, 404, '404 page not found');
    try {
      if (isWebSocketUpgrade(req)) this.upgradeWebSocket(req, socket, head, pending);
      else this.upgradeSpdy(req, socket, head, pending);
    } catch (e) {
      log.warn({ err: errorMessage(e) }, 'streaming upgrade failed');
      rejectUpgrade(socket, 500, errorMessage(e));
    }
  }

  private upgradeSpdy(req: IncomingMessage, socket: Socket, head: Buffer, p: Pending): void {
    const connection = (req.headers.connection ?? '').toLowerCase();
    const upgrade = (req.headers.upgrade ?? '').toLowerCase();
    if (!connection.includes('upgrade') || !upgrade.includes(SPDY_UPGRADE.toLowerCase())) {
      return rejectUpgrade(socket, 400, 'unable to upgrade: missing upgrade headers in request');
    }
    const offered = headerList(req.headers[HEADER_PROTOCOL_VERSION.toLowerCase()]);
    const supported = p.kind === 'portforward' ? SPDY_PORTFORWARD_PROTOCOLS : SPDY_RC_SUPPORTED;
    let protocol = negotiate(offered, supported);
    if (!protocol) {
      if (offered.length) {
        return rejectUpgrade(socket, 403,
          `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server accepts [${supported.join(' ')}]`,
          supported.map((s) => `${HEADER_ACCEPTED_PROTOCOL_VERSIONS}: ${s}`));
      }
      // A client that names no protocol gets the original one.
      protocol = p.kind === 'portforward' ? supported[0] : RC_V1;
    }
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\n' +
      'Connection: Upgrade\r\n' +
      `Upgrade: ${SPDY_UPGRADE}\r\n` +
      (offered.length ? `${HEADER_PROTOCOL_VERSION}: ${protocol}\r\n` : '') +
      '\r\n',
    );
    if (p.kind === 'portforward') {
      serveSpdyPortForward(socket, head, p.req.podSandboxId, this.runtime, {
        streamCreationTimeoutMs: this.streamCreationTimeoutMs,
        flowControl: this.flowControl,
        serverStop: this.stopCtl.signal,
      });
      return;
    }
    const cmd: RemoteCommand = p.kind === 'exec' ? { kind: 'exec', req: p.req } : { kind: 'attach', req: p.req };
    void collectSpdyStreams(socket, head, protocol, streamOptions(p.req), this.streamCreationTimeoutMs, this.flowControl)
      .then(async (r) => {
        if (!r) return;
        await runRemoteCommand(cmd, this.runtime, r.streams, this.stopCtl.signal);
      })
      .catch((e) => {
        log.error({ err: errorMessage(e) }, 'spdy session failed');
        socket.destroy();
      });
  }

  private upgradeWebSocket(req: IncomingMessage, socket: Socket, head: Buffer, p: Pending): void {
    const offered = headerList(req.headers['sec-websocket-protocol']);
    const supported = p.kind === 'portforward' ? WS_PORTFORWARD_SUPPORTED : WS_RC_SUPPORTED;
    const protocol = negotiate(offered, supported);
    if (offered.length && !protocol) {
      return rejectUpgrade(socket, 400, `requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${supported.join(' ')}]`);
    }
    let ports: number[] = [];
    if (p.kind === 'portforward') {
      ports = p.req.ports?.length ? p.req.ports : portsFromQuery(req.url ?? '');
      if (!ports.length) return rejectUpgrade(socket, 400, 'query parameter "port" is required');
    }
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      ws.on('error', (e) => log.debug({ err: e.message }, 'websocket error'));
      // '' (no subprotocol asked) means the binary channel protocol without exit codes.
      const proto = protocol || 'channel.k8s.io';
      if (p.kind === 'portforward') {
        void serveWebSocketPortForward(ws, proto, p.req.podSandboxId, ports, this.runtime, this.stopCtl.signal).catch((e) => {
          log.error({ err: errorMessage(e) }, 'websocket port forward failed');
          ws.terminate();
        });
        return;
      }
      const cmd: RemoteCommand = p.kind === 'exec' ? { kind: 'exec', req: p.req } : { kind: 'attach', req: p.req };
      const streams = websocketStreams(ws, proto, streamOptions(p.req));
      void runRemoteCommand(cmd, this.runtime, streams, this.stopCtl.signal).catch((e) => {
        log.error({ err: errorMessage(e) }, 'websocket session failed');
        ws.terminate();
      });
    });
  }
}

function validateStreams(r: { tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }, containerId: string): void {
  if (r.tty && r.stderr) throw invalidArgument('tty and stderr cannot both be true', { containerId });
  if (!r.stdin && !r.stdout && !r.stderr) throw invalidArgument('one of stdin, stdout, or stderr must be set', { containerId });
}

function portsFromQuery(url: string): number[] {
  const q = new URL(url, 'http://x').searchParams.getAll('port');
  const out: number[] = [];
  for (const v of q.flatMap((s) => s.split(','))) {
    const n = parsePort(v.trim());
    if (n === undefined) return [];
    out.push(n);
  }
  return out;
}

function rejectUpgrade(socket: Socket, code: number, message: string, extraHeaders: string[] = []): void {
  if (socket.destroyed) return;
  const body = message + '\n';
  socket.end(
    `HTTP/1.1 ${code} ${http.STATUS_CODES[code] ?? ''}\r\n` +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    extraHeaders.map((h) => h + '\r\n').join('') +
    'Connection: close\r\n\r\n' + body,
  );
}
