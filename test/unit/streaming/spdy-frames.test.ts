// SPDY/3.1 codec against frames recorded from a reference implementation (moby/spdystream's
// framer, the one kubernetes uses; bytes recorded once, not generated here) and hand-computed
// frames from the SPDY/3 draft's layouts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SPDY3_DICTIONARY } from '../../../src/streaming/spdy/dictionary';
import { FrameParser, RstStatus, encodeFrame, type Frame } from '../../../src/streaming/spdy/frames';
import { HeaderCompressor, HeaderDecompressor, decodeHeaderPairs, encodeHeaderPairs } from '../../../src/streaming/spdy/header-block';

// Recorded from spdystream's spdy.Framer (one framer, so the header blocks share one zlib stream):
// SYN_STREAM 1 {streamType: error}, SYN_STREAM 3 {streamType: data, port: 8080, requestID: 0},
// DATA 3 FIN "hello", WINDOW_UPDATE 3 +4096, GOAWAY last=5 OK, RST_STREAM 3 CANCEL, PING 1,
// SETTINGS {INITIAL_WINDOW_SIZE: 65536}, SYN_REPLY 1 {}.
const REF = {
  syn1: '80030001000000290000000100000000000078f9e3c6a7c26260606004a7b392a2d4c45c6851c29a0a0a6800000000ffff',
  syn3: '800300010000002f0000000300000000000002a5470c295029930829b08bc079c3c2c0c280818181b30812c199a084cf6800000000ffff',
  data: '000000030100000568656c6c6f',
  wu: '80030009000000080000000300001000',
  goaway: '80030007000000080000000500000000',
  rst: '80030003000000080000000300000005',
  ping: '800300060000000400000001',
  settings: '800300040000000c000000010000000700010000',
  reply: '800300020000000e000000016260606000000000ffff',
};
const hex = (s: string) => Buffer.from(s, 'hex');

function adler32(b: Buffer): number {
  let a = 1;
  let c = 0;
  for (const x of b) {
    a = (a + x) % 65521;
    c = (c + a) % 65521;
  }
  return ((c << 16) | a) >>> 0;
}

describe('SPDY/3 dictionary', () => {
  it('has the size and zlib dictionary id the reference streams carry', () => {
    assert.equal(SPDY3_DICTIONARY.length, 1423);
    // The FDICT id in the reference SYN_STREAM's zlib header (bytes 2..5 after 78 f9).
    const idInFrame = hex(REF.syn1).readUInt32BE(20);
    assert.equal(adler32(SPDY3_DICTIONARY), idInFrame);
    assert.equal(idInFrame, 0xe3c6a7c2);
  });
});

describe('frame encoding matches the reference bytes', () => {
  const cases: Array<[keyof typeof REF, Frame]> = [
    ['data', { kind: 'data', streamId: 3, flags: 1, data: Buffer.from('hello') }],
    ['wu', { kind: 'window_update', flags: 0, streamId: 3, delta: 4096 }],
    ['goaway', { kind: 'goaway', flags: 0, lastGoodStreamId: 5, status: 0 }],
    ['rst', { kind: 'rst_stream', flags: 0, streamId: 3, status: RstStatus.CANCEL }],
    ['ping', { kind: 'ping', flags: 0, id: 1 }],
    ['settings', { kind: 'settings', flags: 0, entries: [{ flags: 0, id: 7, value: 65536 }] }],
  ];
  for (const [name, frame] of cases) {
    it(name, () => {
      assert.equal(encodeFrame(frame).toString('hex'), REF[name]);
      assert.deepEqual(new FrameParser().push(hex(REF[name])), [frame]);
    });
  }

  it('SYN_STREAM fixed fields by hand: id, associated id, priority in the top 3 bits, slot', () => {
    const f = encodeFrame({ kind: 'syn_stream', flags: 2, streamId: 5, associatedStreamId: 1, priority: 7, slot: 9, headerBlock: Buffer.from('HB') });
    assert.equal(f.toString('hex'), '8003' + '0001' + '02' + '00000c' + '00000005' + '00000001' + 'e0' + '09' + '4842');
  });
});

describe('parsing', () => {
  it('reassembles frames fed one byte at a time', () => {
    const all = Buffer.concat(Object.values(REF).map(hex));
    const p = new FrameParser();
    const frames: Frame[] = [];
    for (const b of all) frames.push(...p.push(Buffer.from([b])));
    assert.deepEqual(frames.map((f) => f.kind), ['syn_stream', 'syn_stream', 'data', 'window_update', 'goaway', 'rst_stream', 'ping', 'settings', 'syn_reply']);
    assert.equal(p.pending, 0);
  });

  it('ignores unknown control types and rejects other versions and oversize frames', () => {
    assert.equal(new FrameParser().push(hex('8003000a00000000'))[0].kind, 'unknown');
    assert.throws(() => new FrameParser().push(hex('8002000600000004' + '00000001')), /version 2/);
    assert.throws(() => new FrameParser(100).push(hex('0000000100000065')), /exceeds limit/);
    assert.throws(() => new FrameParser().push(hex('80030003000000040000000 1'.replace(' ', ''))), /too short/);
  });
});

describe('header blocks', () => {
  it('decompresses the reference SYN_STREAMs in one shared context', async () => {
    const d = new HeaderDecompressor();
    const p = new FrameParser();
    const [s1, s3, rep] = p.push(Buffer.concat([hex(REF.syn1), hex(REF.syn3), hex(REF.reply)])) as Array<Frame & { headerBlock: Buffer }>;
    assert.deepEqual([...(await d.decompress(s1.headerBlock))], [['streamtype', 'error']]);
    assert.deepEqual(Object.fromEntries(await d.decompress(s3.headerBlock)), { streamtype: 'data', port: '8080', requestid: '0' });
    assert.equal((await d.decompress(rep.headerBlock)).size, 0);
    d.close();
  });

  it('a continuation block cannot be read without its predecessors', async () => {
    const d = new HeaderDecompressor();
    await assert.rejects(d.decompress(hex(REF.syn3).subarray(18)));
    d.close();
  });

  it('name/value layout by hand: u32 count, u32 length + name, u32 length + value', () => {
    assert.equal(encodeHeaderPairs([['Port', '80']]).toString('hex'), '00000001' + '00000004' + '706f7274' + '00000002' + '3830');
    assert.deepEqual([...decodeHeaderPairs(hex('00000001000000016100000000'))], [['a', '']]);
    assert.throws(() => decodeHeaderPairs(hex('00000002000000016100000000000000016100000000')), /duplicate/);
    assert.throws(() => decodeHeaderPairs(hex('0000000100000005ab')), /truncated/);
  });

  it('round trip: our compressor starts a dictionary stream the reference way and blocks chain', async () => {
    const c = new HeaderCompressor();
    const d = new HeaderDecompressor();
    const first = await c.compress([['streamType', 'error']]);
    assert.equal(first[0], 0x78, 'zlib deflate, 32K window');
    assert.ok(first[1] & 0x20, 'FDICT set');
    assert.equal((first[0] * 256 + first[1]) % 31, 0, 'header check bits');
    assert.equal(first.readUInt32BE(2), 0xe3c6a7c2, 'FDICT id of the SPDY dictionary');
    assert.equal(first.subarray(-4).toString('hex'), '0000ffff', 'sync flush ends each block');
    const blocks = [first];
    for (let i = 0; i < 50; i++) blocks.push(await c.compress([['requestID', String(i)], ['port', '8080'], ['streamtype', 'data']]));
    assert.deepEqual([...(await d.decompress(blocks[0]))], [['streamtype', 'error']]);
    for (let i = 1; i <= 50; i++) assert.equal((await d.decompress(blocks[i])).get('requestid'), String(i - 1));
    assert.ok(blocks[50].length < 20, `repeated headers compress (${blocks[50].length} bytes)`);
    c.close();
    d.close();
  });
});
