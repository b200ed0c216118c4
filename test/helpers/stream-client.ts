// Test clients for the streaming server, speaking SPDY/3.1 and WebSocket the way kubectl/crictl
// (client-go) do. Deliberately a second, independent implementation of the client side: it does
// not use src/streaming's codec, so a shared misunderstanding would have to be made twice.
// Only the SPDY/3 dictionary (a spec constant, checked against reference frames in the unit
// tests) is shared.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { Socket } from 'node:net';
import zlib from 'node:zlib';
import WebSocket from 'ws';
import { SPDY3_DICTIONARY } from '../../src/streaming/spdy/dictionary';

// ---------------- SPDY ----------------

function ctrl(type: number, flags: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = 0x80;
  h[1] = 3;
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(payload.length, 4);
  h[4] = flags;
  return Buffer.concat([h, payload]);
}

function u32s(...ns: number[]): Buffer {
  const b = Buffer.alloc(4 * ns.length);
  ns.forEach((n, i) => b.writeUInt32BE(n >>> 0, 4 * i));
  return b;
}

/** Serialized zlib work on one context (flush callbacks deliver exactly one block). */
class Zctx {
  private q: Promise<unknown> = Promise.resolve();
  private out: Buffer[] = [];
  private failed: Error | undefined;
  constructor(private z: zlib.Inflate | zlib.Deflate) {
    z.on('data', (c: Buffer) => this.out.push(c));
    z.on('error', (e) => (this.failed = e));
  }
  run(b: Buffer): Promise<Buffer> {
    const p = this.q.then(
      () =>
        new Promise<Buffer>((res, rej) => {
          if (this.failed) return rej(this.failed);
          this.z.write(b);
          this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
            // 'data' events for this flush fire before the callback in flowing mode; wait one
            // turn of the event loop to be sure they have all arrived.
            setImmediate(() => {
              const r = Buffer.concat(this.out);
              this.out = [];
              res(r);
            });
          });
        }),
    );
    this.q = p.catch(() => undefined);
    return p;
  }
}

function headerBlock(h: Record<string, string>): Buffer {
  const parts: Buffer[] = [u32s(Object.keys(h).length)];
  for (const [k, v] of Object.entries(h)) {
    const kb = Buffer.from(k.toLowerCase());
    const vb = Buffer.from(v);
    parts.push(u32s(kb.length), kb, u32s(vb.length), vb);
  }
  return Buffer.concat(parts);
}

export interface ClientStream extends EventEmitter {
  id: number;
  chunks: Buffer[];
  received: number;
  ended: boolean;
  reset?: number;
  replied: Promise<void>;
  write(b: Buffer | string): Promise<void>;
  end(): void;
  /** All data until FIN (or reset/close). */
  done(): Promise<Buffer>;
}

export interface SpdyClientOptions {
  /** 'windowed': send WINDOW_UPDATEs and respect the server's window (a SPDY/3.1 client).
   *  'none': like spdystream (kubectl/crictl): never send WINDOW_UPDATE, ignore the server's. */
  flowControl?: 'windowed' | 'none';
  /** Consume-callback for incoming data instead of buffering it (for large transfers). */
  onData?: (streamId: number, chunk: Buffer) => void;
}

export class SpdyClient extends EventEmitter {
  private nextId = 1;
  private buf = Buffer.alloc(0);
  private streams = new Map<number, ClientStream>();
  private deflate = new Zctx(zlib.createDeflate({ dictionary: SPDY3_DICTIONARY }));
  private inflate = new Zctx(zlib.createInflate({ dictionary: SPDY3_DICTIONARY }));
  private chain: Promise<unknown> = Promise.resolve();
  private sendQ: Promise<unknown> = Promise.resolve();
  private sendWindows = new Map<number, number>();
  private sessionWindow = 65536;
  private windowWaiters: Array<() => void> = [];
  readonly frameCounts = new Map<string, number>();
  goaway: number | undefined;
  closed = false;
  readonly closedPromise: Promise<void>;

  constructor(
    readonly socket: Socket,
    readonly protocol: string,
    readonly opts: SpdyClientOptions = {},
    head?: Buffer,
  ) {
    super();
    socket.on('data', (c: Buffer) => this.onData(c));
    socket.on('error', () => undefined);
    this.closedPromise = new Promise((r) =>
      socket.on('close', () => {
        this.closed = true;
        this.windowWaiters.splice(0).forEach((w) => w());
        // after every frame already received has been handled
        this.chain = this.chain.then(() => {
          for (const s of this.streams.values()) if (!s.ended) { s.ended = true; s.emit('end'); }
          r();
        });
      }),
    );
    if (head?.length) this.onData(head);
  }

  private count(k: string) {
    this.frameCounts.set(k, (this.frameCounts.get(k) ?? 0) + 1);
  }

  private send(b: Buffer | Promise<Buffer>): Promise<void> {
    const p = this.sendQ.then(async () => {
      const x = await b;
      if (!this.socket.destroyed) this.socket.write(x);
    });
    this.sendQ = p.catch(() => undefined);
    return p;
  }

  openStream(headers: Record<string, string>, fin = false): ClientStream {
    const id = this.nextId;
    this.nextId += 2;
    const s = new EventEmitter() as ClientStream;
    s.id = id;
    s.chunks = [];
    s.received = 0;
    s.ended = false;
    let resolveReply!: () => void;
    s.replied = new Promise((r) => (resolveReply = r));
    s.on('reply', () => resolveReply());
    s.write = (b) => this.writeData(id, Buffer.from(b));
    s.end = () => void this.send(this.dataFrame(id, 1, Buffer.alloc(0)));
    s.done = () => new Promise((r) => (s.ended ? r(Buffer.concat(s.chunks)) : s.once('end', () => r(Buffer.concat(s.chunks)))));
    this.streams.set(id, s);
    this.sendWindows.set(id, 65536);
    const fixed = Buffer.alloc(10);
    fixed.writeUInt32BE(id, 0);
    this.send(this.deflate.run(headerBlock(headers)).then((blk) => ctrl(1, fin ? 1 : 0, Buffer.concat([fixed, blk]))));
    return s;
  }

  private dataFrame(id: number, flags: number, data: Buffer): Buffer {
    const h = Buffer.alloc(8);
    h.writeUInt32BE(id, 0);
    h.writeUInt32BE(data.length, 4);
    h[4] = flags;
    return Buffer.concat([h, data]);
  }

  private async writeData(id: number, data: Buffer): Promise<void> {
    while (data.length) {
      let n = Math.min(data.length, 16384);
      if (this.opts.flowControl === 'windowed') {
        n = Math.min(n, this.sendWindows.get(id) ?? 0, this.sessionWindow);
        if (n <= 0) {
          if (this.closed) throw new Error('connection closed');
          await new Promise<void>((r) => this.windowWaiters.push(r));
          continue;
        }
        this.sendWindows.set(id, (this.sendWindows.get(id) ?? 0) - n);
        this.sessionWindow -= n;
      }
      await this.send(this.dataFrame(id, 0, data.subarray(0, n)));
      data = data.subarray(n);
    }
  }

  stream(id: number): ClientStream | undefined {
    return this.streams.get(id);
  }

  ping(id: number): void {
    void this.send(ctrl(6, 0, u32s(id)));
  }

  sendSettingsInitialWindow(v: number): void {
    void this.send(ctrl(4, 0, u32s(1, 7, v)));
  }

  rst(id: number, status = 5): void {
    void this.send(ctrl(3, 0, u32s(id, status)));
  }

  windowUpdate(id: number, delta: number): void {
    void this.send(ctrl(9, 0, u32s(id, delta)));
  }

  goAway(): void {
    void this.send(ctrl(7, 0, u32s(0, 0)));
  }

  private onData(c: Buffer): void {
    this.buf = Buffer.concat([this.buf, c]);
    while (this.buf.length >= 8) {
      const len = this.buf.readUInt32BE(4) & 0xffffff;
      if (this.buf.length < 8 + len) break;
      const f = this.buf.subarray(0, 8 + len);
      this.buf = this.buf.subarray(8 + len);
      // keep order with header inflation
      const frame = Buffer.from(f);
      this.chain = this.chain.then(() => this.handle(frame)).catch((e) => this.emit('error', e));
    }
  }

  private async handle(f: Buffer): Promise<void> {
    const flags = f[4];
    const p = f.subarray(8);
    if (!(f[0] & 0x80)) {
      this.count('data');
      const id = f.readUInt32BE(0) & 0x7fffffff;
      const s = this.streams.get(id);
      if (!s) return;
      if (p.length) {
        s.received += p.length;
        if (this.opts.onData) this.opts.onData(id, Buffer.from(p));
        else s.chunks.push(Buffer.from(p));
        s.emit('data', p);
        if (this.opts.flowControl === 'windowed') {
          void this.send(ctrl(9, 0, u32s(id, p.length)));
          void this.send(ctrl(9, 0, u32s(0, p.length)));
        }
      }
      if (flags & 1) {
        s.ended = true;
        s.emit('end');
      }
      return;
    }
    const type = f.readUInt16BE(2);
    switch (type) {
      case 2: {
        this.count('syn_reply');
        const id = p.readUInt32BE(0) & 0x7fffffff;
        await this.inflate.run(p.subarray(4));
        this.streams.get(id)?.emit('reply');
        return;
      }
      case 1:
      case 8:
        this.count(type === 1 ? 'syn_stream' : 'headers');
        await this.inflate.run(p.subarray(type === 1 ? 10 : 4));
        return;
      case 3: {
        this.count('rst_stream');
        const id = p.readUInt32BE(0) & 0x7fffffff;
        const s = this.streams.get(id);
        if (s) {
          s.reset = p.readUInt32BE(4);
          s.emit('rst', s.reset);
          if (!s.ended) { s.ended = true; s.emit('end'); }
        }
        return;
      }
      case 6:
        this.count('ping');
        this.emit('ping', p.readUInt32BE(0));
        if (p.readUInt32BE(0) % 2 === 0) void this.send(ctrl(6, 0, p.subarray(0, 4)));
        return;
      case 7:
        this.count('goaway');
        this.goaway = p.readUInt32BE(4);
        this.emit('goaway', this.goaway);
        return;
      case 9: {
        this.count('window_update');
        const id = p.readUInt32BE(0) & 0x7fffffff;
        const d = p.readUInt32BE(4) & 0x7fffffff;
        if (id === 0) this.sessionWindow += d;
        else this.sendWindows.set(id, (this.sendWindows.get(id) ?? 0) + d);
        this.windowWaiters.splice(0).forEach((w) => w());
        return;
      }
      default:
        this.count(`type${type}`);
    }
  }

  close(): void {
    this.socket.end();
  }
}

export interface UpgradeResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body?: string;
  socket?: Socket;
  head?: Buffer;
}

/** Send an upgrade request; resolve with the 101 socket or the refusal. */
export function upgradeRequest(url: string, headers: Record<string, string | string[]>, method = 'POST'): Promise<UpgradeResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { Connection: 'Upgrade', ...headers } });
    req.on('upgrade', (res, socket, head) => resolve({ status: res.statusCode ?? 0, headers: res.headers, socket, head }));
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

export async function spdyConnect(url: string, protocols: string[], opts: SpdyClientOptions = {}): Promise<SpdyClient> {
  const r = await upgradeRequest(url, { Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': protocols });
  if (r.status !== 101 || !r.socket) throw new Error(`upgrade refused: ${r.status} ${r.body ?? ''}`);
  const proto = String(r.headers['x-stream-protocol-version'] ?? '');
  return new SpdyClient(r.socket, proto, opts, r.head);
}

export interface ExecOptions {
  protocols?: string[];
  stdin?: Buffer | string | null; // null: request stdin but never send/close it
  stdout?: boolean;
  stderr?: boolean;
  tty?: boolean;
  resize?: Array<{ Width: number; Height: number }>;
  flowControl?: 'windowed' | 'none';
  /** Hash stdout instead of keeping it. */
  hashStdout?: boolean;
}

export interface ExecResult {
  protocol: string;
  stdout: Buffer;
  stderr: Buffer;
  stdoutSha256?: string;
  stdoutBytes: number;
  /** Raw error stream contents. */
  errorText: string;
  status?: { status: string; reason?: string; message?: string; details?: { causes?: Array<{ reason?: string; message?: string }> } };
  client: SpdyClient;
}

/** Exec or attach over SPDY the way client-go's v4 executor does (error stream first). */
export async function spdyExec(url: string, o: ExecOptions = {}): Promise<ExecResult> {
  const protocols = o.protocols ?? ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];
  const hash = createHash('sha256');
  let outId = -1;
  let outBytes = 0;
  const client = await spdyConnect(url, protocols, {
    flowControl: o.flowControl ?? 'none',
    onData: o.hashStdout
      ? (id, c) => {
          if (id === outId) { hash.update(c); outBytes += c.length; }
          else client.stream(id)?.chunks.push(c);
        }
      : undefined,
  });
  const errorS = client.openStream({ streamType: 'error' });
  let stdinS: ClientStream | undefined;
  if (o.stdin !== undefined) stdinS = client.openStream({ streamType: 'stdin' });
  const stdoutS = o.stdout !== false ? client.openStream({ streamType: 'stdout' }) : undefined;
  if (stdoutS) outId = stdoutS.id;
  const stderrS = o.stderr && !o.tty ? client.openStream({ streamType: 'stderr' }) : undefined;
  const resizeS = o.tty ? client.openStream({ streamType: 'resize' }) : undefined;
  await Promise.all([errorS, stdinS, stdoutS, stderrS, resizeS].filter(Boolean).map((s) => s!.replied));
  if (resizeS) for (const r of o.resize ?? []) await resizeS.write(JSON.stringify(r));
  if (stdinS && o.stdin !== null && o.stdin !== undefined) {
    await stdinS.write(o.stdin);
    stdinS.end();
  }
  const [errBuf, out, err] = await Promise.all([errorS.done(), stdoutS?.done(), stderrS?.done()]);
  const errorText = errBuf.toString();
  let status: ExecResult['status'];
  try { status = errorText ? JSON.parse(errorText) : undefined; } catch { status = undefined; }
  if (!o.hashStdout) outBytes = out?.length ?? 0;
  return {
    protocol: client.protocol,
    stdout: out ?? Buffer.alloc(0),
    stderr: err ?? Buffer.alloc(0),
    stdoutSha256: o.hashStdout ? hash.digest('hex') : undefined,
    stdoutBytes: outBytes,
    errorText,
    status,
    client,
  };
}

// ---------------- WebSocket ----------------

export interface WsMessage { channel: number; data: Buffer; close?: boolean }

/** Channel codec, written independently of src/streaming/ws-channels.ts. */
export function wsEncode(protocol: string, channel: number, data: Buffer): Buffer | string {
  if (protocol.includes('base64')) return String(channel) + data.toString('base64');
  return Buffer.concat([Buffer.from([channel]), data]);
}

export function wsDecode(protocol: string, msg: Buffer): WsMessage {
  if (protocol.includes('base64')) {
    const s = msg.toString('latin1');
    return { channel: Number(s[0]), data: Buffer.from(s.slice(1), 'base64') };
  }
  if (protocol.startsWith('v5.') && msg[0] === 255) return { channel: msg[1], data: Buffer.alloc(0), close: true };
  return { channel: msg[0], data: msg.subarray(1) };
}

export interface WsSession {
  ws: WebSocket;
  protocol: string;
  messages: WsMessage[];
  send(channel: number, data: Buffer | string): void;
  closeChannel(channel: number): void;
  closed: Promise<{ code: number }>;
  channelData(ch: number): Buffer;
}

export function wsConnect(url: string, protocols: string[]): Promise<WsSession> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), protocols);
    const messages: WsMessage[] = [];
    let proto = '';
    const closed = new Promise<{ code: number }>((r) => ws.on('close', (code) => r({ code })));
    ws.on('message', (d: Buffer) => messages.push(wsDecode(proto, Buffer.isBuffer(d) ? d : Buffer.from(d as ArrayBuffer))));
    ws.on('unexpected-response', (_req, res) => reject(new Error(`websocket refused: ${res.statusCode}`)));
    ws.on('error', reject);
    ws.on('open', () => {
      proto = ws.protocol;
      resolve({
        ws,
        protocol: proto,
        messages,
        send: (ch, data) => ws.send(wsEncode(proto, ch, Buffer.from(data))),
        closeChannel: (ch) => ws.send(Buffer.from([255, ch])),
        closed,
        channelData: (ch) => Buffer.concat(messages.filter((m) => m.channel === ch && !m.close).map((m) => m.data)),
      });
    });
  });
}

