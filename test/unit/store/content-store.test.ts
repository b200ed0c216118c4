import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ContentStore } from '../../../src/store/content-store';
import { sha256Digest } from '../../../src/store/digest';
import { isBerthError } from '../../../src/util/errors';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'berth-content-'));
}

test('content store: verified write, read back, list, delete', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cs = new ContentStore(dir);
  const data = Buffer.from('hello blob');
  const d = sha256Digest(data);
  const info = await cs.writeBuffer(d, data);
  assert.deepEqual(info, { digest: d, size: data.length });
  assert.ok(cs.has(d));
  assert.deepEqual(await cs.readBuffer(d), data);
  assert.deepEqual(cs.list(), [{ digest: d, size: data.length }]);
  await cs.delete(d);
  assert.equal(cs.has(d), false);
  await assert.rejects(cs.readBuffer(d), (e) => isBerthError(e, 'not-found'));
});

test('content store: digest mismatch is refused and leaves nothing behind', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cs = new ContentStore(dir);
  const claimed = sha256Digest('the real thing');
  await assert.rejects(cs.writeBuffer(claimed, Buffer.from('an impostor')), (e) => isBerthError(e, 'failed-precondition') && /digest mismatch/.test((e as Error).message));
  assert.equal(cs.has(claimed), false);
  assert.deepEqual(readdirSync(cs.ingestDir), []);
  assert.deepEqual(cs.list(), []);
});

test('content store: size overrun and short blobs are refused', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cs = new ContentStore(dir);
  const data = Buffer.from('0123456789');
  const d = sha256Digest(data);
  await assert.rejects(cs.write(d, 5, () => Readable.from([data])), /more than the expected 5 bytes/);
  await assert.rejects(cs.write(d, 20, () => Readable.from([data])), /got 10 bytes, expected 20/);
  assert.equal(cs.has(d), false);
  assert.deepEqual(readdirSync(cs.ingestDir), []);
});

test('content store: concurrent writers of one digest share a single read', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cs = new ContentStore(dir);
  const data = Buffer.alloc(256 * 1024, 7);
  const d = sha256Digest(data);
  let opens = 0;
  const open = () => {
    opens++;
    return Readable.from([data.subarray(0, 1000), data.subarray(1000)]);
  };
  const results = await Promise.all([cs.write(d, data.length, open), cs.write(d, data.length, open), cs.write(d, data.length, open)]);
  assert.equal(opens, 1);
  for (const r of results) assert.equal(r.size, data.length);
  // Already stored: nothing is read again.
  await cs.write(d, data.length, open);
  assert.equal(opens, 1);
});

test('content store: reconcile removes crashed ingests', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cs = new ContentStore(dir);
  writeFileSync(join(cs.ingestDir, 'deadbeef-1234'), 'partial');
  mkdirSync(join(cs.ingestDir, 'olddir'));
  assert.equal(cs.reconcile(), 2);
  assert.deepEqual(readdirSync(cs.ingestDir), []);
});

test('content store: invalid digests are invalid arguments', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cs = new ContentStore(dir);
  assert.throws(() => cs.write('sha256:xyz', 1, () => Readable.from([])), (e) => isBerthError(e, 'invalid-argument'));
  assert.throws(() => cs.path('../../etc/passwd'), (e) => isBerthError(e, 'invalid-argument'));
});
