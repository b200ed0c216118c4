import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NameRegistry } from '../../../src/runtime/name-registry';
import { isBerthError } from '../../../src/util/errors';

test('a repeated request while the first runs shares its result; no second creation', async () => {
  const r = new NameRegistry('pod');
  let created = 0;
  let release!: () => void;
  const gate = new Promise<void>((res) => (release = res));
  const create = async () => {
    created++;
    await gate;
    return `id-${created}`;
  };
  const a = r.run('n', () => undefined, create);
  const b = r.run('n', () => undefined, create);
  release();
  assert.deepEqual(await Promise.all([a, b]), ['id-1', 'id-1']);
  assert.equal(created, 1);
  assert.equal(r.owner('n'), 'id-1');
});

test('a finished name is refused unless the caller accepts the existing owner', async () => {
  const r = new NameRegistry('container');
  await r.run('n', () => undefined, async () => 'x');
  await assert.rejects(r.run('n', () => undefined, async () => 'y'), (e) => isBerthError(e, 'already-exists') && /in use by x/.test((e as Error).message));
  assert.equal(await r.run('n', (id) => id, async () => 'z'), 'x');
  r.release('n', 'x');
  assert.equal(await r.run('n', () => undefined, async () => 'w'), 'w');
});

test('a failed creation frees the name', async () => {
  const r = new NameRegistry('pod');
  await assert.rejects(r.run('n', () => undefined, async () => Promise.reject(new Error('cni failed'))), /cni failed/);
  assert.equal(r.owner('n'), undefined);
  assert.equal(await r.run('n', () => undefined, async () => 'ok'), 'ok');
});
