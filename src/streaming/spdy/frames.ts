// SPDY/3.1 frame codec: the 8-byte frame header, every control frame's fixed fields, and an
// incremental parser. Header blocks are carried here still compressed; header-block.ts owns the
// name/value encoding and the zlib contexts, because their order across frames matters.

export const SPDY_VERSION = 3;

export const FrameType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;
export const FLAG_SETTINGS_CLEAR = 0x01;

export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
  FRAME_TOO_LARGE: 11,
} as const;

export const GoAwayStatus = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

export const SettingsId = {
  UPLOAD_BANDWIDTH: 1,
  DOWNLOAD_BANDWIDTH: 2,
  ROUND_TRIP_TIME: 3,
  MAX_CONCURRENT_STREAMS: 4,
  CURRENT_CWND: 5,
  DOWNLOAD_RETRANS_RATE: 6,
  INITIAL_WINDOW_SIZE: 7,
  CLIENT_CERTIFICATE_VECTOR_SIZE: 8,
} as const;

/** Largest payload a 24-bit length field can carry. */
export const MAX_FRAME_PAYLOAD = 0xffffff;
/** SPDY/3.1 initial flow-control window, per stream and per session. */
export const DEFAULT_INITIAL_WINDOW = 65536;

const STREAM_ID_MASK = 0x7fffffff;

export interface DataFrame { kind: 'data'; streamId: number; flags: number; data: Buffer }
export interface SynStreamFrame {
  kind: 'syn_stream'; flags: number; streamId: number; associatedStreamId: number;
  priority: number; slot: number; headerBlock: Buffer;
}
export interface SynReplyFrame { kind: 'syn_reply'; flags: number; streamId: number; headerBlock: Buffer }
export interface HeadersFrame { kind: 'headers'; flags: number; streamId: number; headerBlock: Buffer }
export interface RstStreamFrame { kind: 'rst_stream'; flags: number; streamId: number; status: number }
export interface SettingsEntry { flags: number; id: number; value: number }
export interface SettingsFrame { kind: 'settings'; flags: number; entries: SettingsEntry[] }
export interface PingFrame { kind: 'ping'; flags: number; id: number }
export interface GoAwayFrame { kind: 'goaway'; flags: number; lastGoodStreamId: number; status: number }
export interface WindowUpdateFrame { kind: 'window_update'; flags: number; streamId: number; delta: number }
/** A control frame of a type this codec does not know; SPDY says to ignore it. */
export interface UnknownControlFrame { kind: 'unknown'; version: number; type: number; flags: number; payload: Buffer }

export type Frame =
  | DataFrame | SynStreamFrame | SynReplyFrame | HeadersFrame | RstStreamFrame | SettingsFrame
  | PingFrame | GoAwayFrame | WindowUpdateFrame | UnknownControlFrame;

export class SpdyProtocolError extends Error {
  constructor(message: string, readonly streamId = 0) {
    super(message);
    this.name = 'SpdyProtocolError';
  }
}

function controlHeader(type: number, flags: number, length: number): Buffer {
  if (length > MAX_FRAME_PAYLOAD) throw new RangeError(`SPDY frame payload too large: ${length}`);
  const h = Buffer.allocUnsafe(8);
  h.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(((flags & 0xff) << 24 | length) >>> 0, 4);
  return h;
}

function u31(n: number): number {
  return (n & STREAM_ID_MASK) >>> 0;
}

/** Header of a DATA frame; the payload follows it on the wire (kept apart to avoid a copy). */
export function encodeDataHeader(streamId: number, flags: number, length: number): Buffer {
  if (length > MAX_FRAME_PAYLOAD) throw new RangeError(`SPDY frame payload too large: ${length}`);
  const h = Buffer.allocUnsafe(8);
  h.writeUInt32BE(u31(streamId), 0);
  h.writeUInt32BE(((flags & 0xff) << 24 | length) >>> 0, 4);
  return h;
}

/** Serialize a frame into one buffer (header blocks must already be compressed). */
export function encodeFrame(f: Frame): Buffer {
  switch (f.kind) {
    case 'data':
      return Buffer.concat([encodeDataHeader(f.streamId, f.flags, f.data.length), f.data]);
    case 'syn_stream': {
      const fixed = Buffer.allocUnsafe(10);
      fixed.writeUInt32BE(u31(f.streamId), 0);
      fixed.writeUInt32BE(u31(f.associatedStreamId), 4);
      fixed[8] = (f.priority & 0x7) << 5;
      fixed[9] = f.slot & 0xff;
      return Buffer.concat([controlHeader(FrameType.SYN_STREAM, f.flags, 10 + f.headerBlock.length), fixed, f.headerBlock]);
    }
    case 'syn_reply':
    case 'headers': {
      const id = Buffer.allocUnsafe(4);
      id.writeUInt32BE(u31(f.streamId), 0);
      const type = f.kind === 'syn_reply' ? FrameType.SYN_REPLY : FrameType.HEADERS;
      return Buffer.concat([controlHeader(type, f.flags, 4 + f.headerBlock.length), id, f.headerBlock]);
    }
    case 'rst_stream': {
      const b = Buffer.allocUnsafe(8);
      b.writeUInt32BE(u31(f.streamId), 0);
      b.writeUInt32BE(f.status >>> 0, 4);
      return Buffer.concat([controlHeader(FrameType.RST_STREAM, f.flags, 8), b]);
    }
    case 'settings': {
      const b = Buffer.allocUnsafe(4 + 8 * f.entries.length);
      b.writeUInt32BE(f.entries.length, 0);
      f.entries.forEach((e, i) => {
        b.writeUInt32BE((((e.flags & 0xff) << 24) | (e.id & 0xffffff)) >>> 0, 4 + 8 * i);
        b.writeUInt32BE(e.value >>> 0, 8 + 8 * i);
      });
      return Buffer.concat([controlHeader(FrameType.SETTINGS, f.flags, b.length), b]);
    }
    case 'ping': {
      const b = Buffer.allocUnsafe(4);
      b.writeUInt32BE(f.id >>> 0, 0);
      return Buffer.concat([controlHeader(FrameType.PING, f.flags, 4), b]);
    }
    case 'goaway': {
      const b = Buffer.allocUnsafe(8);
      b.writeUInt32BE(u31(f.lastGoodStreamId), 0);
      b.writeUInt32BE(f.status >>> 0, 4);
      return Buffer.concat([controlHeader(FrameType.GOAWAY, f.flags, 8), b]);
    }
    case 'window_update': {
      const b = Buffer.allocUnsafe(8);
      b.writeUInt32BE(u31(f.streamId), 0);
      b.writeUInt32BE(u31(f.delta), 4);
      return Buffer.concat([controlHeader(FrameType.WINDOW_UPDATE, f.flags, 8), b]);
    }
    case 'unknown': {
      const h = Buffer.allocUnsafe(8);
      h.writeUInt16BE(0x8000 | f.version, 0);
      h.writeUInt16BE(f.type, 2);
      h.writeUInt32BE(((f.flags & 0xff) << 24 | f.payload.length) >>> 0, 4);
      return Buffer.concat([h, f.payload]);
    }
  }
}

function need(p: Buffer, n: number, what: string): void {
  if (p.length < n) throw new SpdyProtocolError(`${what} frame too short (${p.length} < ${n} bytes)`);
}

function decodeControl(version: number, type: number, flags: number, p: Buffer): Frame {
  if (version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${version}`);
  switch (type) {
    case FrameType.SYN_STREAM:
      need(p, 10, 'SYN_STREAM');
      return {
        kind: 'syn_stream', flags,
        streamId: p.readUInt32BE(0) & STREAM_ID_MASK,
        associatedStreamId: p.readUInt32BE(4) & STREAM_ID_MASK,
        priority: p[8] >> 5, slot: p[9], headerBlock: p.subarray(10),
      };
    case FrameType.SYN_REPLY:
      need(p, 4, 'SYN_REPLY');
      return { kind: 'syn_reply', flags, streamId: p.readUInt32BE(0) & STREAM_ID_MASK, headerBlock: p.subarray(4) };
    case FrameType.HEADERS:
      need(p, 4, 'HEADERS');
      return { kind: 'headers', flags, streamId: p.readUInt32BE(0) & STREAM_ID_MASK, headerBlock: p.subarray(4) };
    case FrameType.RST_STREAM:
      need(p, 8, 'RST_STREAM');
      return { kind: 'rst_stream', flags, streamId: p.readUInt32BE(0) & STREAM_ID_MASK, status: p.readUInt32BE(4) };
    case FrameType.SETTINGS: {
      need(p, 4, 'SETTINGS');
      const n = p.readUInt32BE(0);
      if (p.length !== 4 + 8 * n) throw new SpdyProtocolError(`SETTINGS length ${p.length} does not fit ${n} entries`);
      const entries: SettingsEntry[] = [];
      for (let i = 0; i < n; i++) {
        const fid = p.readUInt32BE(4 + 8 * i);
        entries.push({ flags: fid >>> 24, id: fid & 0xffffff, value: p.readUInt32BE(8 + 8 * i) });
      }
      return { kind: 'settings', flags, entries };
    }
    case FrameType.PING:
      need(p, 4, 'PING');
      return { kind: 'ping', flags, id: p.readUInt32BE(0) };
    case FrameType.GOAWAY:
      need(p, 8, 'GOAWAY');
      return { kind: 'goaway', flags, lastGoodStreamId: p.readUInt32BE(0) & STREAM_ID_MASK, status: p.readUInt32BE(4) };
    case FrameType.WINDOW_UPDATE:
      need(p, 8, 'WINDOW_UPDATE');
      return { kind: 'window_update', flags, streamId: p.readUInt32BE(0) & STREAM_ID_MASK, delta: p.readUInt32BE(4) & STREAM_ID_MASK };
    default:
      return { kind: 'unknown', version, type, flags, payload: p };
  }
}

/**
 * Incremental frame parser: feed it socket chunks, get whole frames back. It copies only when a
 * frame spans chunks. `maxPayload` bounds memory for a hostile or broken peer.
 */
export class FrameParser {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxPayload = MAX_FRAME_PAYLOAD) {}

  push(chunk: Buffer): Frame[] {
    if (chunk.length) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const out: Frame[] = [];
    for (;;) {
      if (this.buffered < 8) break;
      const head = this.peek(8);
      const length = head.readUInt32BE(4) & 0xffffff;
      if (length > this.maxPayload) throw new SpdyProtocolError(`frame of ${length} bytes exceeds limit ${this.maxPayload}`);
      if (this.buffered < 8 + length) break;
      const whole = this.take(8 + length);
      const payload = whole.subarray(8);
      const flags = whole[4];
      if (whole[0] & 0x80) {
        out.push(decodeControl(whole.readUInt16BE(0) & 0x7fff, whole.readUInt16BE(2), flags, payload));
      } else {
        out.push({ kind: 'data', streamId: whole.readUInt32BE(0) & STREAM_ID_MASK, flags, data: payload });
      }
    }
    return out;
  }

  /** Bytes held back waiting for the rest of a frame. */
  get pending(): number {
    return this.buffered;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    return Buffer.concat(this.chunks, this.buffered).subarray(0, n);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0];
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.chunks, this.buffered);
      out = all.subarray(0, n);
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.buffered -= n;
    return out;
  }
}
