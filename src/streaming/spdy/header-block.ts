// SPDY/3 header blocks: the name/value encoding and the per-direction zlib contexts.
// Every header block on a connection, in each direction, is one continuous zlib stream primed with
// the SPDY dictionary and cut with a sync flush after each block, so the order of compression must
// equal the order of frames on the wire. Node has no public synchronous streaming zlib (the *Sync
// helpers close their context after one call), so each context serializes its work on a promise chain.
import zlib from 'node:zlib';
import { SPDY3_DICTIONARY } from './dictionary';
import { SpdyProtocolError } from './frames';

/** Header names are lowercase on the wire; a value may hold several values separated by NUL. */
export type HeaderMap = Map<string, string>;

/** Encode name/value pairs (names lowercased), uncompressed. */
export function encodeHeaderPairs(headers: Iterable<[string, string]>): Buffer {
  const parts: Buffer[] = [];
  let count = 0;
  for (const [name, value] of headers) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(value, 'utf8');
    if (n.length === 0) throw new RangeError('empty SPDY header name');
    const nl = Buffer.allocUnsafe(4);
    nl.writeUInt32BE(n.length);
    const vl = Buffer.allocUnsafe(4);
    vl.writeUInt32BE(v.length);
    parts.push(nl, n, vl, v);
    count++;
  }
  const c = Buffer.allocUnsafe(4);
  c.writeUInt32BE(count);
  return Buffer.concat([c, ...parts]);
}

/** Decode an uncompressed name/value block. Duplicate names are a protocol error (SPDY/3 2.6.10). */
export function decodeHeaderPairs(b: Buffer): HeaderMap {
  const out: HeaderMap = new Map();
  if (b.length < 4) throw new SpdyProtocolError('header block too short');
  const count = b.readUInt32BE(0);
  let off = 4;
  const read = (what: string): string => {
    if (off + 4 > b.length) throw new SpdyProtocolError(`header block truncated at ${what} length`);
    const len = b.readUInt32BE(off);
    off += 4;
    if (off + len > b.length) throw new SpdyProtocolError(`header block truncated in ${what}`);
    const s = b.toString('utf8', off, off + len);
    off += len;
    return s;
  };
  for (let i = 0; i < count; i++) {
    const name = read('name');
    const value = read('value');
    if (name.length === 0) throw new SpdyProtocolError('empty header name');
    const key = name.toLowerCase();
    if (out.has(key)) throw new SpdyProtocolError(`duplicate header ${key}`);
    out.set(key, value);
  }
  if (off !== b.length) throw new SpdyProtocolError(`${b.length - off} stray bytes after header block`);
  return out;
}

const ZLIB_BUFFER = 16 * 1024 * 1024;
// zlib passes stream options through to its Transform; @types/node's ZlibOptions omits them.
const BIG_READABLE = { readableHighWaterMark: ZLIB_BUFFER } as zlib.ZlibOptions;

/** One direction's zlib context. */
class ZlibContext {
  private chain: Promise<unknown> = Promise.resolve();
  private failed: Error | undefined;

  constructor(private readonly z: zlib.Deflate | zlib.Inflate) {
    z.on('error', (e: Error) => {
      this.failed = e;
    });
  }

  run(input: Buffer): Promise<Buffer> {
    const p = this.chain.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          if (this.failed) return reject(this.failed);
          const onError = (e: Error) => reject(e);
          this.z.once('error', onError);
          this.z.write(input);
          // The flush callback runs once the output of everything written before it sits in the
          // (paused) readable side, so reading now yields exactly this block. The readable side's
          // high-water mark is above any block we accept, or the callback would wait for a read.
          this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
            this.z.removeListener('error', onError);
            if (this.failed) return reject(this.failed);
            const chunks: Buffer[] = [];
            let c: Buffer | null;
            while ((c = this.z.read() as Buffer | null) !== null) chunks.push(c);
            resolve(Buffer.concat(chunks));
          });
        }),
    );
    this.chain = p.catch(() => undefined);
    return p;
  }

  close(): void {
    this.z.close();
  }
}

/** Compresses header blocks we send. */
export class HeaderCompressor {
  private readonly ctx = new ZlibContext(zlib.createDeflate({ dictionary: SPDY3_DICTIONARY, ...BIG_READABLE }));
  compress(headers: Iterable<[string, string]>): Promise<Buffer> {
    return this.ctx.run(encodeHeaderPairs(headers));
  }
  close(): void {
    this.ctx.close();
  }
}

/** Decompresses header blocks we receive. */
export class HeaderDecompressor {
  /** Bound on one inflated block: a small compressed block must not be able to balloon memory. */
  constructor(private readonly maxBlock = 256 * 1024) {}
  private readonly ctx = new ZlibContext(
    zlib.createInflate({ dictionary: SPDY3_DICTIONARY, maxOutputLength: ZLIB_BUFFER, ...BIG_READABLE }),
  );
  async decompress(block: Buffer): Promise<HeaderMap> {
    let raw: Buffer;
    try {
      raw = await this.ctx.run(block);
    } catch (e) {
      throw new SpdyProtocolError(`header block does not decompress: ${(e as Error).message}`);
    }
    if (raw.length > this.maxBlock) throw new SpdyProtocolError(`header block of ${raw.length} bytes exceeds ${this.maxBlock}`);
    return decodeHeaderPairs(raw);
  }
  close(): void {
    this.ctx.close();
  }
}
