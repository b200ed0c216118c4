// Stats from a real cgroup: create one under every hierarchy, move a shell into it, make it burn
// CPU and hold memory, read the stats, then kill the shell and remove the cgroup.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pino from 'pino';
import {
  CGROUP_ROOT,
  CpuRateTracker,
  cgroupDirs,
  cgroupProcsFiles,
  detectCgroupMode,
  ensureCgroup,
  readContainerStats,
  removeCgroup,
} from '../../src/runtime/cgroup-stats';
import { isBerthError } from '../../src/util/errors';
import { setRootLogger } from '../../src/util/log';

setRootLogger(pino({ level: 'silent' }));

const MiB = 1024 * 1024;
// After the go line: hold a 4 MiB string, spin a while, report, then block until killed.
const SCRIPT = 'read go; v=$(head -c 4194304 /dev/zero | tr "\\0" a); i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo done; read never';

describe('cgroup stats on the real kernel', { timeout: 60_000 }, () => {
  const path = `/berth-test-${randomBytes(4).toString('hex')}`;
  let child: ChildProcessWithoutNullStreams | undefined;

  before(async () => {
    const mode = await detectCgroupMode();
    const rootType = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === CGROUP_ROOT)?.split(' - ')[1]?.split(' ')[0];
    assert.equal(mode, rootType === 'cgroup2' ? 'v2' : 'v1', `mode matches the ${CGROUP_ROOT} mount (${rootType})`);
  });
  after(async () => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      process.kill(child.pid, 'SIGKILL');
      await exited;
    }
    await removeCgroup(path, 'cgroupfs', await detectCgroupMode()).catch(() => undefined);
  });

  it('reports CPU, memory and pids of the processes in the cgroup', async () => {
    const mode = await detectCgroupMode();
    const dirs = await ensureCgroup(path, 'cgroupfs', mode);
    assert.ok(dirs.length >= (mode === 'v1' ? 3 : 1));
    for (const d of dirs) assert.ok(existsSync(join(d, 'cgroup.procs')), `${d} is a cgroup`);
    if (mode === 'v1') {
      const cpuset = dirs.find((d) => d.startsWith(join(CGROUP_ROOT, 'cpuset')));
      if (cpuset)
        assert.equal(readFileSync(join(cpuset, 'cpuset.cpus'), 'utf8'), readFileSync(join(CGROUP_ROOT, 'cpuset', 'cpuset.cpus'), 'utf8'));
      writeFileSync(join(CGROUP_ROOT, 'memory', path, 'memory.limit_in_bytes'), String(256 * MiB));
    } else {
      writeFileSync(join(CGROUP_ROOT, path, 'memory.max'), String(256 * MiB));
    }

    child = spawn('/bin/sh', ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    const pid = child.pid!;
    for (const procs of await cgroupProcsFiles(path, mode)) writeFileSync(procs, String(pid));
    const statDirs = cgroupDirs(path, 'cgroupfs', mode);
    const tracker = new CpuRateTracker();
    const s1 = await readContainerStats(statDirs, { tracker, id: 'c' });
    assert.equal(s1.cpu.usageNanoCores, undefined, 'no rate on the first sample');
    assert.equal(s1.pids, 1);

    const done = new Promise<void>((resolve) => child!.stdout.on('data', (b: Buffer) => b.toString().includes('done') && resolve()));
    child.stdin.write('go\n');
    await done;
    const s2 = await readContainerStats(statDirs, { tracker, id: 'c' });
    assert.ok(s2.cpu.usageCoreNanoSeconds > s1.cpu.usageCoreNanoSeconds + 10_000_000n, `CPU time grew: ${s1.cpu.usageCoreNanoSeconds} → ${s2.cpu.usageCoreNanoSeconds}`);
    assert.ok(s2.cpu.usageNanoCores !== undefined && s2.cpu.usageNanoCores > 0n && s2.cpu.usageNanoCores <= 2_100_000_000n, `rate ${s2.cpu.usageNanoCores}`);
    assert.ok(s2.timestampNs > s1.timestampNs);
    const m = s2.memory;
    assert.ok(m.usageBytes >= 4 * MiB, `usage ${m.usageBytes}`);
    assert.ok(m.rssBytes >= 4 * MiB, `rss ${m.rssBytes}`);
    assert.ok(m.workingSetBytes >= 4 * MiB && m.workingSetBytes <= m.usageBytes, `working set ${m.workingSetBytes}`);
    assert.ok(m.pageFaults > 0);
    assert.equal(m.availableBytes, 256 * MiB - m.workingSetBytes);
    assert.equal(s2.pids, 1, 'head and tr have exited, the shell remains');

    await assert.rejects(removeCgroup(path, 'cgroupfs', mode), (e: unknown) => isBerthError(e, 'failed-precondition'), 'busy while the shell is in it');

    const exited = new Promise((r) => child!.once('exit', r));
    process.kill(pid, 'SIGKILL');
    await exited;
    await removeCgroup(path, 'cgroupfs', mode);
    for (const d of dirs) assert.equal(existsSync(d), false, `${d} removed`);
    await assert.rejects(readContainerStats(statDirs), (e: unknown) => isBerthError(e, 'not-found'));
    await removeCgroup(path, 'cgroupfs', mode); // idempotent
  });
});
