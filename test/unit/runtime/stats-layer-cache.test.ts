// StatsCollector walks a container's writable layer at most once per LAYER_USAGE_MAX_AGE_MS, shares
// a walk between concurrent calls, and forgets removed containers.
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { LAYER_USAGE_MAX_AGE_MS, StatsCollector } from '../../../src/runtime/stats';
import type { ContainerManager } from '../../../src/runtime/container-manager';
import type { OverlaySnapshotter } from '../../../src/snapshot/overlay';
import type { ContainerRecord } from '../../../src/runtime/types';

test('one walk per interval, shared by concurrent calls; removed containers are forgotten', async () => {
  mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
  try {
    const walks: string[] = [];
    let bytes = 4096;
    const snapshots = {
      usage: async (id: string) => {
        walks.push(id);
        return { bytes, inodes: 1 };
      },
    } as unknown as OverlaySnapshotter;
    const recs = new Map<string, ContainerRecord>([['c1', { id: 'c1', state: 'exited', rootfs: '/x/rootfs' } as ContainerRecord]]);
    const containers = {
      get: (id: string) => recs.get(id),
      require: (id: string) => recs.get(id)!,
      list: () => [...recs.values()],
    } as unknown as ContainerManager;
    const stats = new StatsCollector(containers, snapshots, 'cgroupfs', 'v1');

    const [a, b] = await Promise.all([stats.byId('c1'), stats.byId('c1')]);
    assert.equal(walks.length, 1, 'concurrent calls share one walk');
    assert.equal(a.writableLayer?.usedBytes, 4096);
    assert.equal(b.writableLayer?.timestampNs, 1_000_000n * 1_000_000n, 'the sample carries the time of its walk');

    bytes = 8192;
    mock.timers.tick(LAYER_USAGE_MAX_AGE_MS - 1);
    assert.equal((await stats.byId('c1')).writableLayer?.usedBytes, 4096);
    assert.equal(walks.length, 1, 'a fresh sample is reused');
    mock.timers.tick(1);
    assert.equal((await stats.byId('c1')).writableLayer?.usedBytes, 8192);
    assert.equal(walks.length, 2, 'an old sample is walked again');

    recs.clear();
    recs.set('c2', { id: 'c2', state: 'exited', rootfs: '/y/rootfs' } as ContainerRecord);
    await stats.list({});
    recs.set('c1', { id: 'c1', state: 'exited', rootfs: '/x/rootfs' } as ContainerRecord);
    await stats.byId('c1');
    assert.deepEqual(walks, ['c1', 'c1', 'c2', 'c1'], 'c1 was forgotten while gone, so it is walked anew');
  } finally {
    mock.timers.reset();
  }
});
