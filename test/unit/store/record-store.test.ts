import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordStore, decodeKey, encodeKey } from '../../../src/store/record-store';

test('record store: put, reload, delete; keys with : and / round-trip', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-rec-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const s = new RecordStore<{ n: number }>(dir, 'things');
  await s.put('sha256:abc', { n: 1 });
  await s.put('a/b/../c', { n: 2 });
  const again = new RecordStore<{ n: number }>(dir, 'things').loadAll();
  assert.deepEqual([...again.entries()].sort(), [['a/b/../c', { n: 2 }], ['sha256:abc', { n: 1 }]]);
  for (const f of readdirSync(join(dir, 'things'))) assert.ok(!f.includes('/') && !f.startsWith('..'), f);
  await s.delete('sha256:abc');
  assert.deepEqual([...s.loadAll().keys()], ['a/b/../c']);
  assert.equal(decodeKey(encodeKey('x:y/z.w')), 'x:y/z.w');
});

test('record store: interrupted temp files are removed, corrupt records set aside', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-rec-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const s = new RecordStore<{ ok: boolean }>(dir, 'b');
  await s.put('good', { ok: true });
  writeFileSync(join(dir, 'b', '.good.json.tmp-0123456789ab'), '{"ok":');
  writeFileSync(join(dir, 'b', 'bad.json'), '{not json');
  const all = s.loadAll();
  assert.deepEqual([...all.keys()], ['good']);
  const files = readdirSync(join(dir, 'b')).sort();
  assert.deepEqual(files, ['bad.json.corrupt', 'good.json']);
});
