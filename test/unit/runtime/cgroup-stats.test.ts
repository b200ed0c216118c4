import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import {
  CpuRateTracker,
  cgroupDirs,
  cgroupProcsFiles,
  cgroupRelativePath,
  ensureCgroup,
  expandSlice,
  parseFlatKeyed,
  readContainerStats,
  removeCgroup,
} from '../../../src/runtime/cgroup-stats';
import { isBerthError } from '../../../src/util/errors';
import { setRootLogger } from '../../../src/util/log';

setRootLogger(pino({ level: 'silent' }));

const invalid = (e: unknown) => isBerthError(e, 'invalid-argument');

function writeFiles(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
}

describe('cgroup paths', () => {
  it('expands systemd slice names like systemd does', () => {
    assert.equal(expandSlice('-.slice'), '/');
    assert.equal(expandSlice('system.slice'), '/system.slice');
    assert.equal(expandSlice('kubepods-burstable-pod12.slice'), '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12.slice');
    for (const bad of ['kubepods', 'a--b.slice', '-a.slice', 'a-.slice', '.slice', 'a/b.slice'])
      assert.throws(() => expandSlice(bad), invalid, bad);
  });

  it('maps OCI cgroupsPath values to hierarchy-relative paths', () => {
    assert.equal(cgroupRelativePath('/kubepods/pod1/berth-c1', 'cgroupfs'), '/kubepods/pod1/berth-c1');
    assert.equal(cgroupRelativePath('/a//b/', 'cgroupfs'), '/a/b');
    assert.equal(cgroupRelativePath('kubepods-besteffort.slice:berth:c1', 'systemd'), '/kubepods.slice/kubepods-besteffort.slice/berth-c1.scope');
    assert.equal(cgroupRelativePath(':berth:c1', 'systemd'), '/system.slice/berth-c1.scope');
    assert.equal(cgroupRelativePath('kubepods.slice::kubepods-pod1.slice', 'systemd'), '/kubepods.slice/kubepods-pod1.slice');
    for (const bad of ['relative/x', '/a/../b']) assert.throws(() => cgroupRelativePath(bad, 'cgroupfs'), invalid, bad);
    for (const bad of ['/a/b', 'a.slice:b', 'a.slice:b:', 'a.slice:b:c/d']) assert.throws(() => cgroupRelativePath(bad, 'systemd'), invalid, bad);
  });

  it('gives per-controller dirs on v1 and one dir on v2', () => {
    assert.deepEqual(cgroupDirs('/p/c', 'cgroupfs', 'v1', '/cg'), { mode: 'v1', cpu: '/cg/cpuacct/p/c', memory: '/cg/memory/p/c', pids: '/cg/pids/p/c' });
    assert.deepEqual(cgroupDirs('x.slice:berth:c', 'systemd', 'v2', '/cg'), {
      mode: 'v2',
      cpu: '/cg/x.slice/berth-c.scope',
      memory: '/cg/x.slice/berth-c.scope',
      pids: '/cg/x.slice/berth-c.scope',
    });
  });
});

describe('CpuRateTracker', () => {
  it('gives nano-cores from the previous sample and nothing on the first or after a reset', () => {
    const t = new CpuRateTracker();
    assert.equal(t.update('c1', 1_000_000_000n, 5_000_000_000n), undefined);
    // 0.5 s of CPU in 2 s → 250 millicores.
    assert.equal(t.update('c1', 3_000_000_000n, 5_500_000_000n), 250_000_000n);
    assert.equal(t.update('c2', 3_000_000_000n, 1n), undefined, 'per id');
    assert.equal(t.update('c1', 4_000_000_000n, 100n), undefined, 'counter went backwards (new cgroup)');
    assert.equal(t.update('c1', 4_000_000_000n, 200n), undefined, 'no time passed');
    t.forget('c1');
    assert.equal(t.update('c1', 9_000_000_000n, 300n), undefined);
    assert.equal(t.size, 2);
  });

  it('parses flat keyed files', () => {
    assert.deepEqual([...parseFlatKeyed('usage_usec 12\nuser_usec 5\n\nbogus\nname x\n')], [['usage_usec', 12n], ['user_usec', 5n]]);
  });
});

describe('readContainerStats', () => {
  let root = '';
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'berth-cgstats-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('reads v1 files with the kubelet definitions (hierarchical totals, unlimited limit)', async () => {
    const v1 = join(root, 'v1');
    writeFiles(join(v1, 'cpuacct/pod/c1'), { 'cpuacct.usage': '123456789012\n' });
    writeFiles(join(v1, 'memory/pod/c1'), {
      'memory.usage_in_bytes': '10485760\n',
      'memory.stat': 'cache 1\nrss 2\ninactive_file 3\npgfault 4\npgmajfault 5\ntotal_rss 4194304\ntotal_inactive_file 2097152\ntotal_pgfault 900\ntotal_pgmajfault 7\n',
      'memory.limit_in_bytes': '9223372036854771712\n',
    });
    writeFiles(join(v1, 'pids/pod/c1'), { 'pids.current': '3\n' });
    const dirs = cgroupDirs('/pod/c1', 'cgroupfs', 'v1', v1);
    const before = BigInt(Date.now()) * 1_000_000n;
    const s = await readContainerStats(dirs);
    assert.ok(s.timestampNs >= before - 5_000_000n && s.timestampNs <= BigInt(Date.now() + 5) * 1_000_000n, 'wall-clock timestamp');
    assert.deepEqual(s.cpu, { usageCoreNanoSeconds: 123456789012n });
    assert.deepEqual(s.memory, { workingSetBytes: 10485760 - 2097152, usageBytes: 10485760, rssBytes: 4194304, pageFaults: 900, majorPageFaults: 7 });
    assert.equal(s.pids, 3);

    writeFileSync(join(v1, 'memory/pod/c1/memory.limit_in_bytes'), '16777216\n');
    writeFileSync(join(v1, 'memory/pod/c1/memory.stat'), 'total_inactive_file 20971520\n');
    rmSync(join(v1, 'pids/pod/c1/pids.current'));
    const s2 = await readContainerStats(dirs);
    assert.equal(s2.memory.workingSetBytes, 0, 'inactive file larger than usage clamps to 0');
    assert.equal(s2.memory.availableBytes, 16777216);
    assert.equal(s2.pids, undefined);
  });

  it('reads v2 files and computes the CPU rate across samples', async () => {
    const v2 = join(root, 'v2');
    const dir = join(v2, 'kubepods.slice/berth-c2.scope');
    writeFiles(dir, {
      'cpu.stat': 'usage_usec 2000000\nuser_usec 1500000\nsystem_usec 500000\n',
      'memory.current': '8388608\n',
      'memory.stat': 'anon 3145728\nfile 4194304\ninactive_file 1048576\npgfault 1234\npgmajfault 2\n',
      'memory.max': 'max\n',
      'pids.current': '1\n',
    });
    const dirs = cgroupDirs('kubepods.slice:berth:c2', 'systemd', 'v2', v2);
    const tracker = new CpuRateTracker();
    const s1 = await readContainerStats(dirs, { tracker, id: 'c2' });
    assert.deepEqual(s1.cpu, { usageCoreNanoSeconds: 2_000_000_000n });
    assert.deepEqual(s1.memory, { workingSetBytes: 8388608 - 1048576, usageBytes: 8388608, rssBytes: 3145728, pageFaults: 1234, majorPageFaults: 2 });
    assert.equal(s1.pids, 1);

    writeFileSync(join(dir, 'cpu.stat'), 'usage_usec 2500000\n');
    writeFileSync(join(dir, 'memory.max'), '10485760\n');
    await new Promise((r) => setTimeout(r, 20));
    const s2 = await readContainerStats(dirs, { tracker, id: 'c2' });
    const expected = ((s2.cpu.usageCoreNanoSeconds - s1.cpu.usageCoreNanoSeconds) * 1_000_000_000n) / (s2.timestampNs - s1.timestampNs);
    assert.equal(s2.cpu.usageNanoCores, expected);
    assert.ok(expected > 0n);
    assert.equal(s2.memory.availableBytes, 10485760 - (8388608 - 1048576));
  });

  it('reports a missing cgroup as not-found and a missing controller file as failed-precondition', async () => {
    const v2 = join(root, 'v2b');
    await assert.rejects(readContainerStats(cgroupDirs('/gone', 'cgroupfs', 'v2', v2)), (e: unknown) => isBerthError(e, 'not-found'));
    writeFiles(join(v2, 'nocpu'), { 'memory.current': '1\n', 'memory.stat': '' });
    await assert.rejects(readContainerStats(cgroupDirs('/nocpu', 'cgroupfs', 'v2', v2)), (e: unknown) => isBerthError(e, 'failed-precondition'));
    writeFiles(join(v2, 'garbage'), { 'cpu.stat': 'usage_usec 1\n', 'memory.current': 'lots\n', 'memory.stat': '' });
    await assert.rejects(readContainerStats(cgroupDirs('/garbage', 'cgroupfs', 'v2', v2)), (e: unknown) => isBerthError(e, 'internal'));
  });
});

describe('ensureCgroup / removeCgroup on a fake v1 root', () => {
  let root = '';
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'berth-cgfake-'));
    for (const h of ['cpu,cpuacct', 'memory', 'pids', 'systemd', 'unified']) mkdirSync(join(root, h));
    symlinkSync('cpu,cpuacct', join(root, 'cpu'));
    symlinkSync('cpu,cpuacct', join(root, 'cpuacct'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('creates the path in every controller hierarchy once, and removes only the leaf', async () => {
    const dirs = await ensureCgroup('/berth/pod-1', 'cgroupfs', 'v1', root);
    assert.deepEqual(dirs, ['cpu,cpuacct', 'memory', 'pids'].map((h) => join(root, h, 'berth/pod-1')));
    for (const d of dirs) assert.ok(existsSync(d), d);
    assert.ok(!existsSync(join(root, 'systemd/berth')) && !existsSync(join(root, 'unified/berth')), 'named and v2 hierarchies untouched');
    assert.deepEqual(await ensureCgroup('/berth/pod-1', 'cgroupfs', 'v1', root), dirs, 'idempotent');
    assert.deepEqual(await cgroupProcsFiles('/berth/pod-1', 'v1', root), dirs.map((d) => join(d, 'cgroup.procs')));

    await removeCgroup('/berth/pod-1', 'cgroupfs', 'v1', root);
    for (const d of dirs) assert.ok(!existsSync(d), d);
    assert.ok(existsSync(join(root, 'memory/berth')), 'parents stay');
    await removeCgroup('/berth/pod-1', 'cgroupfs', 'v1', root); // idempotent

    writeFileSync(join(root, 'memory/berth/busy'), '');
    await assert.rejects(removeCgroup('/berth', 'cgroupfs', 'v1', root), (e: unknown) => isBerthError(e, 'failed-precondition'));
  });

  it('refuses the root and relative paths, and leaves systemd cgroups to systemd', async () => {
    await assert.rejects(ensureCgroup('/', 'cgroupfs', 'v1', root), invalid);
    await assert.rejects(ensureCgroup('berth', 'cgroupfs', 'v1', root), invalid);
    await assert.rejects(removeCgroup('/', 'cgroupfs', 'v1', root), invalid);
    assert.deepEqual(await ensureCgroup('berth.slice', 'systemd', 'v1', root), []);
    await removeCgroup('berth.slice', 'systemd', 'v1', root);
  });
});
