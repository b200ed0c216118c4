// The CLI streaming client's pure parts: channel frames, the Status on the error channel, the
// port-forward port prefix, port specs and detach keys.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliError } from '../../../src/cli/errors';
import { DetachKeyFilter, parseDetachKeys } from '../../../src/cli/streaming/detach-keys';
import { parsePortSpec } from '../../../src/cli/streaming/port-forward';
import { PortPrefixReader, decodeFrame, encodeClose, encodeFrame, encodeResize, parseStatus } from '../../../src/cli/streaming/protocol';
import { websocketUrl } from '../../../src/cli/streaming/connect';

describe('channel frames', () => {
  it('puts the channel in the first byte', () => {
    assert.deepEqual(encodeFrame(0, Buffer.from('ls\n')), Buffer.from([0, 0x6c, 0x73, 0x0a]));
    assert.deepEqual(encodeFrame(4, Buffer.alloc(0)), Buffer.from([4]));
    assert.deepEqual(decodeFrame(Buffer.from([2, 0x65])), { kind: 'data', channel: 2, data: Buffer.from('e') });
    assert.equal(decodeFrame(Buffer.alloc(0)), undefined);
  });

  it('v5 close signal is [255, channel]; port-forward reads 255 as a channel', () => {
    assert.deepEqual(encodeClose(0), Buffer.from([255, 0]));
    assert.deepEqual(decodeFrame(Buffer.from([255, 1])), { kind: 'close', channel: 1 });
    assert.deepEqual(decodeFrame(Buffer.from([255, 1]), false), { kind: 'data', channel: 255, data: Buffer.from([1]) });
    assert.deepEqual(decodeFrame(Buffer.from([255, 1, 2])), { kind: 'data', channel: 255, data: Buffer.from([1, 2]) });
  });

  it('resize is Go\'s TerminalSize', () => {
    assert.equal(encodeResize({ columns: 132, rows: 43 }).toString(), '{"Width":132,"Height":43}');
  });

  it('streaming URLs become WebSocket URLs', () => {
    assert.equal(websocketUrl('http://127.0.0.1:4000/exec/abc'), 'ws://127.0.0.1:4000/exec/abc');
    assert.equal(websocketUrl('https://node:1/attach/x'), 'wss://node:1/attach/x');
    assert.throws(() => websocketUrl('/exec/abc'), CliError);
  });
});

describe('Status on the error channel', () => {
  it('Success is exit 0', () => {
    assert.deepEqual(parseStatus('{"metadata":{},"status":"Success"}'), { kind: 'exit', exitCode: 0 });
  });

  it('NonZeroExitCode carries the code in its ExitCode cause', () => {
    const s = { metadata: {}, status: 'Failure', message: 'command terminated with non-zero exit code: exit status 42', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '42' }] } };
    assert.deepEqual(parseStatus(JSON.stringify(s)), { kind: 'exit', exitCode: 42 });
  });

  it('other failures are their message; a NonZeroExitCode without a usable code too', () => {
    assert.deepEqual(parseStatus('{"status":"Failure","message":"Internal error occurred: boom","reason":"InternalError","code":500}'), { kind: 'error', message: 'Internal error occurred: boom' });
    assert.deepEqual(parseStatus('{"status":"Failure","message":"m","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"x"}]}}'), { kind: 'error', message: 'm' });
    assert.deepEqual(parseStatus('plain text error\n'), { kind: 'error', message: 'plain text error' });
  });
});

describe('port-forward port prefix', () => {
  it('strips 2 little-endian bytes, split or whole', () => {
    const r = new PortPrefixReader();
    assert.equal(r.push(Buffer.from([0x50])).length, 0);
    assert.equal(r.port, undefined);
    assert.deepEqual(r.push(Buffer.from([0x00, 0x41])), Buffer.from('A'));
    assert.equal(r.port, 80);
    assert.deepEqual(r.push(Buffer.from('BC')), Buffer.from('BC'));
    const whole = new PortPrefixReader();
    assert.deepEqual(whole.push(Buffer.from([0x90, 0x1f])), Buffer.alloc(0));
    assert.equal(whole.port, 8080);
  });
});

describe('port specs', () => {
  it('takes kubectl\'s forms', () => {
    assert.deepEqual(parsePortSpec('80'), { local: 80, remote: 80 });
    assert.deepEqual(parsePortSpec('8080:80'), { local: 8080, remote: 80 });
    assert.deepEqual(parsePortSpec(':80'), { local: 0, remote: 80 });
  });

  it('refuses the rest as usage errors', () => {
    for (const bad of ['0', '70000', 'http', '1:2:3', '80:', '-1:80']) {
      assert.throws(() => parsePortSpec(bad), (e: unknown) => e instanceof CliError && e.exitCode === 2, bad);
    }
  });
});

describe('detach keys', () => {
  const P = 0x10;
  const Q = 0x11;

  it('parses docker\'s syntax', () => {
    assert.deepEqual(parseDetachKeys('ctrl-p,ctrl-q'), Buffer.from([P, Q]));
    assert.deepEqual(parseDetachKeys('ctrl-@,ctrl-[,x'), Buffer.from([0, 27, 0x78]));
    assert.throws(() => parseDetachKeys('ctrl-1'), CliError);
    assert.throws(() => parseDetachKeys('alt-x'), CliError);
  });

  it('detaches on the sequence and forwards what came before it', () => {
    const f = new DetachKeyFilter();
    assert.deepEqual(f.push(Buffer.from([0x61, P, Q, 0x62])), Buffer.from('a'));
    assert.equal(f.detached, true);
    assert.deepEqual(f.push(Buffer.from('more')), Buffer.alloc(0));
  });

  it('holds a partial sequence across chunks and releases it when broken', () => {
    const f = new DetachKeyFilter();
    assert.deepEqual(f.push(Buffer.from([0x61, P])), Buffer.from('a'));
    assert.deepEqual(f.push(Buffer.from([0x62])), Buffer.from([P, 0x62]));
    assert.equal(f.detached, false);
    // ctrl-p twice, then ctrl-q: the first is released, the second starts the sequence.
    assert.deepEqual(f.push(Buffer.from([P, P])), Buffer.from([P]));
    assert.deepEqual(f.push(Buffer.from([Q])), Buffer.alloc(0));
    assert.equal(f.detached, true);
  });

  it('a one-key sequence detaches at once', () => {
    const f = new DetachKeyFilter(parseDetachKeys('ctrl-x'));
    assert.deepEqual(f.push(Buffer.from([0x61, 0x18, 0x62])), Buffer.from('a'));
    assert.equal(f.detached, true);
  });
});
