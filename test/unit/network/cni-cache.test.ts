// The CNI result cache: round trip, removal, and how a lost (empty) or corrupt entry reads.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CniResultCache } from '../../../src/network/cni-cache';
import { isBerthError } from '../../../src/util/errors';

const dir = mkdtempSync(join(tmpdir(), 'berth-cni-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const network = { name: 'n', cniVersion: '1.0.0', disableCheck: false, plugins: [{ type: 'bridge' }] };

test('put, get, list and remove', async () => {
  const cache = new CniResultCache(dir);
  await cache.put({ runtime: { containerId: 'pod1', netnsPath: '/x', ifName: 'eth0' }, network, result: { cniVersion: '1.0.0', ips: [] } });
  const rec = await cache.get('pod1');
  assert.equal(rec?.network.name, 'n');
  assert.deepEqual(rec?.result, { cniVersion: '1.0.0', ips: [] });
  assert.deepEqual(await cache.list(), ['pod1']);
  await cache.remove('pod1');
  await cache.remove('pod1'); // idempotent
  assert.equal(await cache.get('pod1'), undefined);
});

test('an empty entry (a write lost to a power cut) reads as absent; a garbled one is an error', async () => {
  const cache = new CniResultCache(dir);
  await cache.put({ runtime: { containerId: 'pod2', netnsPath: '/x', ifName: 'eth0' }, network });
  writeFileSync(join(cache.dir, 'pod2.json'), '');
  assert.equal(await cache.get('pod2'), undefined);
  writeFileSync(join(cache.dir, 'pod2.json'), '{"format": 1, "runt');
  await assert.rejects(cache.get('pod2'), (e: unknown) => isBerthError(e, 'internal'));
});
