import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HpackDecoder, HpackError, encodeLiteralBlock, huffmanCodes, huffmanDecode } from '../../../src/cri/hpack';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('canonical huffman codes derived from lengths match RFC 7541 Appendix B samples', () => {
  const c = huffmanCodes();
  assert.deepEqual(c[48], { code: 0x0, len: 5 }); // '0'
  assert.deepEqual(c[32], { code: 0x14, len: 6 }); // ' '
  assert.deepEqual(c[0], { code: 0x1ff8, len: 13 });
  assert.deepEqual(c[256], { code: 0x3fffffff, len: 30 }); // EOS
  assert.deepEqual(c[255], { code: 0x3ffffee, len: 26 });
});

test('huffman decode: RFC 7541 C.4.1 "www.example.com" and C.4.2 "no-cache"', () => {
  assert.equal(huffmanDecode(hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff')).toString(), 'www.example.com');
  assert.equal(huffmanDecode(hex('a8eb 1064 9cbf')).toString(), 'no-cache');
  assert.throws(() => huffmanDecode(hex('f1e3 c2e5 f23a 6ba0 ab90 f400')), HpackError);
});

test('RFC 7541 C.4: three requests with huffman and a shared dynamic table', () => {
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff')), [
    [':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'],
  ]);
  assert.deepEqual(d.decode(hex('8286 84be 5886 a8eb 1064 9cbf')), [
    [':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache'],
  ]);
  assert.deepEqual(d.decode(hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf')), [
    [':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value'],
  ]);
});

test('literal encoding decodes back to the same fields, long values too', () => {
  const fields: [string, string][] = [[':authority', 'localhost'], ['x-long', 'v'.repeat(300)], ['empty', '']];
  assert.deepEqual(new HpackDecoder().decode(encodeLiteralBlock(fields)), fields);
});

test('malformed blocks are errors, not crashes', () => {
  assert.throws(() => new HpackDecoder().decode(hex('be')), HpackError); // dynamic index on an empty table
  assert.throws(() => new HpackDecoder().decode(hex('4088 25a8')), HpackError); // truncated
});
