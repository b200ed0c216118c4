// Go gRPC clients older than the kubelet's fix (crictl/critest 1.26, kubelets before 1.26) send the
// unix socket path as HTTP/2 ":authority". Node's HTTP/2 stack (nghttp2) rejects that as malformed
// and resets every stream. This front accepts the socket's connections, re-encodes each request
// header block with a valid authority, and hands the connection to the gRPC server. Everything
// else (DATA, SETTINGS, server → client bytes) passes through untouched.
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { HpackDecoder, encodeLiteralBlock, type HeaderField } from './hpack';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME_HEADERS = 0x1;
const FRAME_CONTINUATION = 0x9;
const FLAG_END_STREAM = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
/** The smallest SETTINGS_MAX_FRAME_SIZE a peer may use; safe for frames we write. */
const MAX_FRAME = 16384;

/** Characters nghttp2 accepts in an authority (RFC 3986 host [":" port], with userinfo/IPv6 chars). */
const VALID_AUTHORITY = /^[A-Za-z0-9\-._~!$&'()*+,;=:@[\]%]*$/;

export function fixAuthority(fields: HeaderField[]): HeaderField[] {
  return fields.map(([n, v]) => (n === ':authority' && !VALID_AUTHORITY.test(v) ? [n, 'localhost'] : [n, v]));
}

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

/**
 * Rewrites the client → server byte stream of one HTTP/2 connection. The first request decides:
 * a valid authority means the client is well-behaved, and its bytes (that first header block too,
 * so both HPACK tables stay in step) pass through untouched from then on; an invalid one means
 * every header block of the connection is re-encoded.
 */
export class RequestHeaderRewriter {
  private buf: Buffer = Buffer.alloc(0);
  private prefaceSeen = false;
  private mode: 'undecided' | 'rewrite' | 'passthrough' = 'undecided';
  private readonly decoder = new HpackDecoder();
  /** A header block split over HEADERS + CONTINUATION frames. */
  private pending: { streamId: number; flags: number; priority: Buffer; fragments: Buffer[]; raw: Buffer[] } | undefined;

  /** True once the connection needs no more rewriting. */
  get passthrough(): boolean {
    return this.mode === 'passthrough';
  }

  push(chunk: Buffer): Buffer {
    if (this.mode === 'passthrough') return chunk;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Buffer[] = [];
    if (!this.prefaceSeen) {
      if (this.buf.length < PREFACE.length) return Buffer.alloc(0);
      // Not HTTP/2 with prior knowledge: pass everything through and let the server say no.
      this.prefaceSeen = true;
      out.push(this.buf.subarray(0, PREFACE.length));
      this.buf = this.buf.subarray(PREFACE.length);
    }
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) break;
      const type = this.buf[3];
      const flags = this.buf[4];
      const streamId = this.buf.readUInt32BE(5) & 0x7fffffff;
      const whole = this.buf.subarray(0, 9 + len);
      const payload = whole.subarray(9);
      this.buf = this.buf.subarray(9 + len);
      if (type === FRAME_HEADERS) {
        let p = payload;
        let padLen = 0;
        if (flags & FLAG_PADDED) {
          padLen = p[0];
          p = p.subarray(1);
        }
        let priority = Buffer.alloc(0);
        if (flags & FLAG_PRIORITY) {
          priority = Buffer.from(p.subarray(0, 5));
          p = p.subarray(5);
        }
        p = p.subarray(0, p.length - padLen);
        this.pending = { streamId, flags, priority, fragments: [Buffer.from(p)], raw: [Buffer.from(whole)] };
        if (flags & FLAG_END_HEADERS) out.push(this.flush());
      } else if (type === FRAME_CONTINUATION && this.pending) {
        this.pending.fragments.push(Buffer.from(payload));
        this.pending.raw.push(Buffer.from(whole));
        if (flags & FLAG_END_HEADERS) out.push(this.flush());
      } else {
        out.push(Buffer.from(whole));
      }
    }
    return out.length === 1 ? out[0] : Buffer.concat(out);
  }

  private flush(): Buffer {
    const p = this.pending!;
    this.pending = undefined;
    const fields = this.decoder.decode(Buffer.concat(p.fragments));
    if (this.mode === 'undecided') {
      const authority = fields.find(([n]) => n === ':authority')?.[1];
      this.mode = authority === undefined || VALID_AUTHORITY.test(authority) ? 'passthrough' : 'rewrite';
      if (this.mode === 'passthrough') {
        // Everything after this header block goes through as it is.
        const rest = this.buf;
        this.buf = Buffer.alloc(0);
        return Buffer.concat([...p.raw, rest]);
      }
    }
    const block = encodeLiteralBlock(fixAuthority(fields));
    const flags = (p.flags & (FLAG_END_STREAM | FLAG_PRIORITY)) | 0;
    const first = block.subarray(0, MAX_FRAME - p.priority.length);
    const frames: Buffer[] = [];
    let rest = block.subarray(first.length);
    frames.push(frame(FRAME_HEADERS, flags | (rest.length === 0 ? FLAG_END_HEADERS : 0), p.streamId, Buffer.concat([p.priority, first])));
    while (rest.length > 0) {
      const part = rest.subarray(0, MAX_FRAME);
      rest = rest.subarray(part.length);
      frames.push(frame(FRAME_CONTINUATION, rest.length === 0 ? FLAG_END_HEADERS : 0, p.streamId, part));
    }
    return Buffer.concat(frames);
  }
}

/** Wrap an accepted socket: reads are the rewritten request stream, writes go to the client as-is. */
export function authorityFixingStream(socket: Socket): Duplex {
  const rewriter = new RequestHeaderRewriter();
  const d = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end(cb);
    },
    destroy(err, cb) {
      socket.destroy(err ?? undefined);
      cb(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    let out: Buffer;
    try {
      out = rewriter.push(chunk);
    } catch (e) {
      // A header block we cannot decode is a broken peer: drop the connection.
      d.destroy(e as Error);
      return;
    }
    if (out.length && !d.push(out)) socket.pause();
  });
  socket.on('end', () => d.push(null));
  socket.on('error', (e) => d.destroy(e));
  socket.on('close', () => d.destroy());
  return d;
}
