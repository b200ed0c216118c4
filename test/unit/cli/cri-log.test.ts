import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CriLogDecoder, LogFileReader, parseCriLogLine, renderMessage, tail } from '../../../src/cli/cri-log';

const T = '2024-05-01T12:00:00.123456789Z';

describe('parseCriLogLine', () => {
  it('splits time, stream, tag and content', () => {
    const r = parseCriLogLine(Buffer.from(`${T} stdout F hello world`))!;
    assert.equal(r.time, T);
    assert.equal(r.timeMs, Date.parse(T));
    assert.equal(r.stream, 'stdout');
    assert.equal(r.partial, false);
    assert.equal(r.content.toString(), 'hello world');
    const p = parseCriLogLine(Buffer.from(`${T} stderr P part`))!;
    assert.equal(p.stream, 'stderr');
    assert.equal(p.partial, true);
    assert.equal(parseCriLogLine(Buffer.from(`${T} stdout F `))!.content.length, 0);
    assert.equal(parseCriLogLine(Buffer.from(`${T} stdout F`))!.content.length, 0);
  });
  it('rejects malformed lines', () => {
    assert.equal(parseCriLogLine(Buffer.from('garbage')), undefined);
    assert.equal(parseCriLogLine(Buffer.from(`${T} stdin F x`)), undefined);
    assert.equal(parseCriLogLine(Buffer.from('')), undefined);
  });
});

describe('CriLogDecoder', () => {
  it('joins partial records per stream across chunk boundaries, bytes intact', () => {
    const euro = Buffer.from('€'); // 3 bytes, split across two partial records below
    const file = Buffer.concat([
      Buffer.from(`${T} stdout P ab`),
      euro.subarray(0, 1),
      Buffer.from(`\n${T} stderr F err line\n${T} stdout F `),
      euro.subarray(1),
      Buffer.from(`cd\n${T} stdout F next\n${T} stdout P unfinished`),
    ]);
    const d = new CriLogDecoder();
    const msgs = [];
    // Feed one byte at a time: the worst case for line splitting.
    for (let i = 0; i < file.length; i++) msgs.push(...d.push(file.subarray(i, i + 1)));
    assert.deepEqual(
      msgs.map((m) => [m.stream, m.content.toString()]),
      [
        ['stderr', 'err line\n'],
        ['stdout', 'ab€cd\n'],
        ['stdout', 'next\n'],
      ],
    );
    assert.deepEqual(d.flush().map((m) => m.content.toString()), ['unfinished']);
  });
  it('applies --since and -t', () => {
    const [m] = new CriLogDecoder().push(Buffer.from(`${T} stdout F x\n`));
    assert.equal(renderMessage(m, {})!.toString(), 'x\n');
    assert.equal(renderMessage(m, { timestamps: true })!.toString(), `${T} x\n`);
    assert.equal(renderMessage(m, { sinceMs: Date.parse(T) + 1 }), undefined);
    assert.ok(renderMessage(m, { sinceMs: Date.parse(T) - 1 }));
  });
  it('tail', () => {
    assert.deepEqual(tail([1, 2, 3], 2), [2, 3]);
    assert.deepEqual(tail([1, 2, 3], -1), [1, 2, 3]);
    assert.deepEqual(tail([1, 2, 3], 0), []);
    assert.deepEqual(tail([1, 2, 3], 5), [1, 2, 3]);
  });
});

describe('LogFileReader', () => {
  it('reads what was appended since the last read, and starts over after truncation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-cli-log-'));
    try {
      const f = join(dir, 'c.log');
      const r = new LogFileReader(f);
      assert.deepEqual(await r.read(), [], 'a missing file is empty');
      writeFileSync(f, `${T} stdout F one\n${T} stdout F tw`);
      assert.deepEqual((await r.read()).map((m) => m.content.toString()), ['one\n']);
      appendFileSync(f, `o\n${T} stdout F three\n`);
      assert.deepEqual((await r.read()).map((m) => m.content.toString()), ['two\n', 'three\n']);
      assert.deepEqual(await r.read(), []);
      writeFileSync(f, `${T} stderr F rotated\n`);
      assert.deepEqual((await r.read()).map((m) => [m.stream, m.content.toString()]), [['stderr', 'rotated\n']]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
