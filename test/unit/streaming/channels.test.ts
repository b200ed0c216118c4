// WebSocket channel framing, resize message parsing, the token cache and the Status encoding.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import { RequestCache } from '../../../src/streaming/request-cache';
import { JsonObjectSplitter, ResizeQueue, parseTerminalSize } from '../../../src/streaming/resize';
import { encodeStatusV1, encodeStatusV4, exitCodeStatus, internalErrorStatus, successStatus } from '../../../src/streaming/status';
import { codecFor, decodeChannelMessage, encodeChannelMessage, supportsCloseSignal } from '../../../src/streaming/ws-channels';
import { isBerthError } from '../../../src/util/errors';

describe('WebSocket channel framing', () => {
  it('binary: first byte is the channel', () => {
    assert.deepEqual(encodeChannelMessage('binary', 1, Buffer.from('\n')), Buffer.from([1, 10]));
    assert.deepEqual(decodeChannelMessage('binary', false, Buffer.from([0, 102, 111, 111, 10])), { kind: 'data', channel: 0, data: Buffer.from('foo\n') });
  });

  it('base64: channel digit then base64 text', () => {
    // "foo\n" is Zm9vCg== in base64 (RFC 4648)
    assert.equal(encodeChannelMessage('base64', 0, Buffer.from('foo\n')), '0Zm9vCg==');
    assert.equal(encodeChannelMessage('base64', 3, Buffer.alloc(0)), '3');
    assert.deepEqual(decodeChannelMessage('base64', false, Buffer.from('1Cg==')), { kind: 'data', channel: 1, data: Buffer.from('\n') });
    assert.equal(decodeChannelMessage('base64', false, Buffer.from('0Zm9v!')).kind, 'invalid');
    assert.equal(decodeChannelMessage('base64', false, Buffer.from('xZm9v')).kind, 'invalid');
  });

  it('v5 close signal [255, n], only on v5', () => {
    assert.ok(supportsCloseSignal('v5.channel.k8s.io'));
    assert.ok(!supportsCloseSignal('v4.channel.k8s.io'));
    assert.deepEqual(decodeChannelMessage('binary', true, Buffer.from([255, 0])), { kind: 'close', channel: 0 });
    assert.equal(decodeChannelMessage('binary', true, Buffer.from([255, 0, 1])).kind, 'invalid');
    assert.deepEqual(decodeChannelMessage('binary', false, Buffer.from([255, 0])), { kind: 'data', channel: 255, data: Buffer.from([0]) });
  });

  it('codec per protocol', () => {
    assert.equal(codecFor('v4.base64.channel.k8s.io'), 'base64');
    assert.equal(codecFor('base64.channel.k8s.io'), 'base64');
    assert.equal(codecFor('v4.channel.k8s.io'), 'binary');
    assert.equal(codecFor(''), 'binary');
  });
});

describe('resize messages', () => {
  it('splits concatenated and fragmented JSON objects', () => {
    const s = new JsonObjectSplitter();
    assert.deepEqual(s.push('{"Width":80,"Height":24}{"Width":1'), ['{"Width":80,"Height":24}']);
    assert.deepEqual(s.push('00,"Height":40}\n{"Width":"}{",'), ['{"Width":100,"Height":40}']);
    assert.deepEqual(s.push('"Height":1}'), ['{"Width":"}{","Height":1}']);
  });

  it('bounds one message', () => {
    const s = new JsonObjectSplitter(10);
    assert.throws(() => s.push('{"Width":1234567890'), /longer than 10/);
  });

  it('parses sizes and rejects nonsense', () => {
    assert.deepEqual(parseTerminalSize('{"Width":80,"Height":24}'), { width: 80, height: 24 });
    assert.equal(parseTerminalSize('{"Width":-1,"Height":24}'), undefined);
    assert.equal(parseTerminalSize('{"Width":"80","Height":24}'), undefined);
    assert.equal(parseTerminalSize('nope'), undefined);
  });

  it('queue yields sizes in order and ends with the stream', async () => {
    const q = new ResizeQueue();
    const src = new PassThrough();
    q.feedFrom(src);
    src.write('{"Width":1,"Height":2}');
    src.write('{"Width":3,');
    src.end('"Height":4}');
    const got = [];
    for await (const s of q) got.push(s);
    assert.deepEqual(got, [{ width: 1, height: 2 }, { width: 3, height: 4 }]);
  });
});

describe('request cache', () => {
  it('tokens are single use, random, at least 8 bytes', () => {
    const c = new RequestCache<string>();
    const t = c.insert('a');
    assert.ok(Buffer.from(t, 'base64url').length >= 8);
    assert.notEqual(c.insert('b'), t);
    assert.equal(c.consume(t), 'a');
    assert.equal(c.consume(t), undefined);
  });

  it('expire after the TTL', () => {
    let now = 1000;
    const c = new RequestCache<string>({ ttlMs: 60_000, now: () => now });
    const t = c.insert('a');
    now += 59_999;
    const t2 = c.insert('b');
    assert.equal(c.consume(t), 'a');
    now += 60_000;
    assert.equal(c.consume(t2), undefined);
  });

  it('bounded: resource-exhausted until expired ones can be dropped', () => {
    let now = 0;
    const c = new RequestCache<number>({ maxInFlight: 3, ttlMs: 10, now: () => now });
    c.insert(1); c.insert(2); c.insert(3);
    assert.throws(() => c.insert(4), (e) => isBerthError(e, 'resource-exhausted'));
    now = 11;
    c.insert(4);
    assert.equal(c.size, 1);
  });
});

describe('Status encoding', () => {
  it('success and non-zero exit, as kubernetes encodes metav1.Status', () => {
    assert.equal(encodeStatusV4(successStatus()).toString(), '{"metadata":{},"status":"Success"}');
    assert.equal(
      encodeStatusV4(exitCodeStatus(7)).toString(),
      '{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit status 7",' +
        '"reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"7"}]}}',
    );
  });

  it('internal error and the pre-v4 text form', () => {
    const s = internalErrorStatus('boom');
    assert.equal(encodeStatusV4(s).toString(), '{"metadata":{},"status":"Failure","message":"Internal error occurred: boom","reason":"InternalError","details":{"causes":[{"message":"boom"}]},"code":500}');
    assert.equal(encodeStatusV1(s).toString(), 'Internal error occurred: boom');
    assert.equal(encodeStatusV1(successStatus()).length, 0);
  });
});
