import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestHeaderRewriter, fixAuthority } from '../../../src/cri/authority-front';
import { HpackDecoder, encodeLiteralBlock, type HeaderField } from '../../../src/cri/hpack';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}
const headers = (stream: number, fields: HeaderField[]) => frame(1, 0x4, stream, encodeLiteralBlock(fields));
const data = (stream: number, body: string) => frame(0, 0x1, stream, Buffer.from(body));
const req = (authority: string): HeaderField[] => [[':method', 'POST'], [':path', '/runtime.v1.RuntimeService/Version'], [':authority', authority], ['content-type', 'application/grpc']];

/** Split the client → server byte stream back into frames, decoding header blocks. */
function parse(bytes: Buffer): { type: number; stream: number; fields?: HeaderField[]; payload: Buffer }[] {
  assert.deepEqual(bytes.subarray(0, PREFACE.length), PREFACE);
  const dec = new HpackDecoder();
  const out = [];
  let b = bytes.subarray(PREFACE.length);
  while (b.length) {
    const len = b.readUIntBE(0, 3);
    const payload = b.subarray(9, 9 + len);
    out.push({ type: b[3], stream: b.readUInt32BE(5), payload, fields: b[3] === 1 ? dec.decode(payload) : undefined });
    b = b.subarray(9 + len);
  }
  return out;
}

test('a connection whose first request has a valid authority passes through byte for byte', () => {
  const input = Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.alloc(0)), headers(1, req('localhost')), data(1, 'x'), headers(3, req('localhost'))]);
  const r = new RequestHeaderRewriter();
  // Fed in small pieces to cross frame boundaries.
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; i += 7) out.push(r.push(input.subarray(i, i + 7)));
  assert.deepEqual(Buffer.concat(out), input);
  assert.equal(r.passthrough, true);
});

test('a socket path as authority is replaced in every header block of the connection', () => {
  const input = Buffer.concat([PREFACE, headers(1, req('/run/berth/berth.sock')), data(1, 'payload'), headers(3, req('/run/berth/berth.sock'))]);
  const r = new RequestHeaderRewriter();
  const out = Buffer.concat([r.push(input.subarray(0, 30)), r.push(input.subarray(30))]);
  assert.equal(r.passthrough, false);
  const frames = parse(out);
  assert.deepEqual(frames.map((f) => [f.type, f.stream]), [[1, 1], [0, 1], [1, 3]]);
  for (const f of frames.filter((x) => x.type === 1)) {
    assert.deepEqual(f.fields, req('localhost'));
  }
  assert.equal(frames[1].payload.toString(), 'payload');
});

test('fixAuthority keeps valid authorities and replaces invalid ones', () => {
  assert.deepEqual(fixAuthority([[':authority', 'example.com:443']]), [[':authority', 'example.com:443']]);
  assert.deepEqual(fixAuthority([[':authority', '/a/b.sock']]), [[':authority', 'localhost']]);
  assert.deepEqual(fixAuthority([['x-other', '/a/b']]), [['x-other', '/a/b']]);
});
