// kubernetes' channel protocols over WebSocket: every message carries one channel's bytes, the
// channel in the first byte (binary protocols) or as an ASCII digit before base64 text (base64
// protocols). v5 adds [255, n]: "channel n is closed" (used for stdin EOF).
import { Readable, Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import { CH_CLOSE, WS_BASE64, WS_V4_BASE64, WS_V5_BINARY } from './protocols';

export type ChannelCodec = 'binary' | 'base64';

export function codecFor(protocol: string): ChannelCodec {
  return protocol === WS_BASE64 || protocol === WS_V4_BASE64 ? 'base64' : 'binary';
}

export function supportsCloseSignal(protocol: string): boolean {
  return protocol === WS_V5_BINARY;
}

export function encodeChannelMessage(codec: ChannelCodec, channel: number, data: Buffer): Buffer | string {
  if (codec === 'binary') {
    const out = Buffer.allocUnsafe(data.length + 1);
    out[0] = channel;
    data.copy(out, 1);
    return out;
  }
  return String.fromCharCode(48 + channel) + data.toString('base64');
}

export type DecodedMessage =
  | { kind: 'data'; channel: number; data: Buffer }
  | { kind: 'close'; channel: number }
  | { kind: 'invalid'; reason: string };

export function decodeChannelMessage(codec: ChannelCodec, closeSignal: boolean, msg: Buffer): DecodedMessage {
  if (msg.length === 0) return { kind: 'invalid', reason: 'empty message' };
  if (codec === 'binary') {
    if (closeSignal && msg[0] === CH_CLOSE) {
      if (msg.length !== 2) return { kind: 'invalid', reason: 'close signal must be 2 bytes' };
      return { kind: 'close', channel: msg[1] };
    }
    return { kind: 'data', channel: msg[0], data: msg.subarray(1) };
  }
  const channel = msg[0] - 48;
  if (channel < 0 || channel > 9) return { kind: 'invalid', reason: `bad channel character ${msg[0]}` };
  const text = msg.toString('latin1', 1);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    return { kind: 'invalid', reason: 'payload is not base64' };
  }
  return { kind: 'data', channel, data: Buffer.from(text, 'base64') };
}

/**
 * Channels multiplexed on one WebSocket. Readable channels are Readables fed by incoming messages;
 * writable channels are Writables that send messages (with backpressure from the socket).
 */
export class WsChannels {
  private readonly readers = new Map<number, Readable>();
  private readonly ended = new Set<number>();
  readonly codec: ChannelCodec;
  readonly closeSignal: boolean;

  constructor(
    readonly ws: WebSocket,
    readonly protocol: string,
  ) {
    this.codec = codecFor(protocol);
    this.closeSignal = supportsCloseSignal(protocol);
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      this.onMessage(buf);
    });
    ws.on('close', () => {
      for (const ch of this.readers.keys()) this.endReader(ch);
    });
  }

  /** A readable channel (client → server). Data for channels without a reader is dropped. */
  reader(channel: number): Readable {
    let r = this.readers.get(channel);
    if (!r) {
      r = new Readable({ read: () => this.ws.readyState === this.ws.OPEN && this.ws.isPaused && this.ws.resume() });
      this.readers.set(channel, r);
    }
    return r;
  }

  /** A writable channel (server → client). end() sends the v5 close signal when the protocol has one. */
  writer(channel: number, opts: { signalClose?: boolean } = {}): Writable {
    return new Writable({
      write: (chunk: Buffer, _enc, cb) => this.send(channel, chunk, cb),
      final: (cb) => {
        if (opts.signalClose && this.closeSignal && this.ws.readyState === this.ws.OPEN) {
          this.ws.send(Buffer.from([CH_CLOSE, channel]), { binary: true }, () => cb());
        } else cb();
      },
    });
  }

  /** Send one message on a channel; cb when the socket took it. */
  send(channel: number, data: Buffer, cb?: (err?: Error) => void): void {
    if (this.ws.readyState !== this.ws.OPEN) {
      cb?.(new Error('websocket is closed'));
      return;
    }
    const msg = encodeChannelMessage(this.codec, channel, data);
    this.ws.send(msg, { binary: this.codec === 'binary' }, (err) => cb?.(err ?? undefined));
  }

  private endReader(channel: number): void {
    const r = this.readers.get(channel);
    if (!r || this.ended.has(channel)) return;
    this.ended.add(channel);
    r.push(null);
  }

  private onMessage(buf: Buffer): void {
    const m = decodeChannelMessage(this.codec, this.closeSignal, buf);
    if (m.kind === 'invalid') return;
    const r = this.readers.get(m.channel);
    if (!r) return;
    if (m.kind === 'close') return this.endReader(m.channel);
    if (this.ended.has(m.channel)) return;
    if (m.data.length && !r.push(m.data)) this.ws.pause();
  }
}
