// Minimal HPACK (RFC 7541) decoder, plus a literal-only encoder. Used by the authority front
// (authority-front.ts) to re-encode request header blocks; no general-purpose HPACK library on npm
// is maintained, and the job is small: decode what a client sends, encode it back without indexing.

/** Huffman code lengths of symbols 0..256 (256 = EOS), RFC 7541 Appendix B. The code is canonical,
 *  so the codes themselves follow from the lengths (ordered by length, then symbol). */
const HUFFMAN_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

interface HuffNode {
  sym?: number;
  kids: [HuffNode | undefined, HuffNode | undefined];
}

/** Canonical codes from lengths: (code, length) per symbol. Exported for tests. */
export function huffmanCodes(): { code: number; len: number }[] {
  const order = HUFFMAN_LENGTHS.map((len, sym) => ({ sym, len })).sort((a, b) => a.len - b.len || a.sym - b.sym);
  const out: { code: number; len: number }[] = new Array(HUFFMAN_LENGTHS.length);
  let code = 0;
  let prevLen = order[0].len;
  for (const { sym, len } of order) {
    code = code * 2 ** (len - prevLen);
    prevLen = len;
    out[sym] = { code, len };
    code++;
  }
  return out;
}

const HUFF_ROOT: HuffNode = (() => {
  const root: HuffNode = { kids: [undefined, undefined] };
  huffmanCodes().forEach(({ code, len }, sym) => {
    let n = root;
    for (let i = len - 1; i >= 0; i--) {
      const bit = Math.floor(code / 2 ** i) % 2;
      n = n.kids[bit] ??= { kids: [undefined, undefined] };
    }
    n.sym = sym;
  });
  return root;
})();

export class HpackError extends Error {}

export function huffmanDecode(buf: Uint8Array): Buffer {
  const out: number[] = [];
  let n = HUFF_ROOT;
  let depth = 0;
  let onesOnly = true;
  for (const byte of buf) {
    for (let i = 7; i >= 0; i--) {
      const bit = (byte >> i) & 1;
      const next = n.kids[bit];
      if (!next) throw new HpackError('invalid huffman code');
      onesOnly &&= bit === 1;
      depth++;
      if (next.sym !== undefined) {
        if (next.sym === 256) throw new HpackError('EOS in huffman string');
        out.push(next.sym);
        n = HUFF_ROOT;
        depth = 0;
        onesOnly = true;
      } else n = next;
    }
  }
  // Padding: fewer than 8 bits, all ones (a prefix of EOS).
  if (depth > 7 || !onesOnly) throw new HpackError('invalid huffman padding');
  return Buffer.from(out);
}

const STATIC_TABLE: [string, string][] = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''], ['etag', ''],
  ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''],
  ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''],
  ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
  ['www-authenticate', ''],
];

export type HeaderField = [name: string, value: string];

/** Stateful decoder for one direction of one connection. */
export class HpackDecoder {
  private dynamic: HeaderField[] = [];
  private size = 0;

  constructor(private maxSize = 4096) {}

  private entry(index: number): HeaderField {
    if (index >= 1 && index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1];
    const d = this.dynamic[index - STATIC_TABLE.length - 1];
    if (!d) throw new HpackError(`header index ${index} out of range`);
    return d;
  }

  private add(f: HeaderField): void {
    this.dynamic.unshift(f);
    this.size += f[0].length + f[1].length + 32;
    this.evict();
  }

  private evict(): void {
    while (this.size > this.maxSize && this.dynamic.length > 0) {
      const e = this.dynamic.pop()!;
      this.size -= e[0].length + e[1].length + 32;
    }
  }

  decode(block: Uint8Array): HeaderField[] {
    const out: HeaderField[] = [];
    let pos = 0;
    const int = (prefixBits: number): number => {
      const mask = (1 << prefixBits) - 1;
      let v = block[pos++] & mask;
      if (v < mask) return v;
      let m = 0;
      for (;;) {
        if (pos >= block.length) throw new HpackError('truncated integer');
        const b = block[pos++];
        v += (b & 0x7f) * 2 ** m;
        m += 7;
        if ((b & 0x80) === 0) return v;
        if (m > 28) throw new HpackError('integer too large');
      }
    };
    const str = (): string => {
      if (pos >= block.length) throw new HpackError('truncated string');
      const huff = (block[pos] & 0x80) !== 0;
      const len = int(7);
      if (pos + len > block.length) throw new HpackError('truncated string');
      const raw = block.subarray(pos, pos + len);
      pos += len;
      // Header bytes are octets; latin1 keeps them 1:1 (table sizes count octets).
      return (huff ? huffmanDecode(raw) : Buffer.from(raw)).toString('latin1');
    };
    while (pos < block.length) {
      const b = block[pos];
      if (b & 0x80) {
        out.push(this.entry(int(7)));
      } else if (b & 0x40) {
        const idx = int(6);
        const name = idx ? this.entry(idx)[0] : str();
        const f: HeaderField = [name, str()];
        this.add(f);
        out.push(f);
      } else if (b & 0x20) {
        this.maxSize = int(5);
        this.evict();
      } else {
        const idx = int(4);
        const name = idx ? this.entry(idx)[0] : str();
        out.push([name, str()]);
      }
    }
    return out;
  }
}

function encodeInt(v: number, prefixBits: number, firstByteFlags: number, out: number[]): void {
  const max = (1 << prefixBits) - 1;
  if (v < max) {
    out.push(firstByteFlags | v);
    return;
  }
  out.push(firstByteFlags | max);
  v -= max;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/** Encode fields as literals without indexing and without Huffman: stateless, always valid. */
export function encodeLiteralBlock(fields: HeaderField[]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    const head: number[] = [0x00];
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(value, 'latin1');
    encodeInt(n.length, 7, 0, head);
    parts.push(Buffer.from(head), n);
    const vh: number[] = [];
    encodeInt(v.length, 7, 0, vh);
    parts.push(Buffer.from(vh), v);
  }
  return Buffer.concat(parts);
}
