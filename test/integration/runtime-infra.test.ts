// The pod infra process on the real kernel: catatonit as PID 1 of a new PID namespace inside the
// pod's pinned net/ipc/uts namespaces, detached from us, stopped without leftovers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { pinNamespaces, releaseNamespaceDir, unpinNamespaces } from '../../src/network/namespaces';
import { findInfraAfterRestart, isInfraAlive, readProcStat, startInfra, stopInfra } from '../../src/runtime/infra';
import { cgroupProcsFiles, detectCgroupMode, ensureCgroup, removeCgroup } from '../../src/runtime/cgroup-stats';
import { isBerthError } from '../../src/util/errors';
import { setRootLogger } from '../../src/util/log';

setRootLogger(pino({ level: 'silent' }));

const CATATONIT = '/usr/bin/catatonit';
for (const t of ['unshare', 'nsenter', 'ip', 'mount', 'umount', 'hostname']) {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'pipe' });
  } catch {
    throw new Error(`${t} is missing: install util-linux / iproute2 / hostname`);
  }
}
if (!existsSync(CATATONIT)) throw new Error(`${CATATONIT} is missing: install catatonit`);

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)));
}

/** Pids of every process whose parent is `ppid`. */
function childPids(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) out.push(Number(name));
    } catch {
      // exited while scanning
    }
  }
  return out;
}

const sh = (file: string, args: string[]) => execFileSync(file, args, { encoding: 'utf8' }).trim();

describe('pod infra process', { timeout: 60_000 }, () => {
  let tmp = '';
  let nsDir = '';
  const started: number[] = [];
  const cgroup = `/berth-infra-test-${process.pid}`;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-infra-'));
    nsDir = join(tmp, 'ns');
  });
  after(async () => {
    for (const pid of started) {
      const s = await readProcStat(pid);
      if (s) await stopInfra(pid, s.startTime).catch(() => undefined);
    }
    for (const id of ['infra1', 'infra2', 'infra3']) await unpinNamespaces(nsDir, id).catch(() => undefined);
    await releaseNamespaceDir(nsDir).catch(() => undefined);
    await removeCgroup(cgroup, 'cgroupfs', await detectCgroupMode()).catch(() => undefined);
    if (mountsUnder(tmp).length === 0) rmSync(tmp, { recursive: true, force: true });
  });

  it('runs catatonit as PID 1 of a new PID namespace inside the pinned namespaces', async () => {
    const pinned = await pinNamespaces(nsDir, 'infra1', ['net', 'ipc', 'uts'], { hostname: 'infra-test' });
    const pidFile = join(tmp, 'pods', 'infra1', 'infra.pid');
    const mode = await detectCgroupMode();
    await ensureCgroup(cgroup, 'cgroupfs', mode);
    const infra = await startInfra({
      cgroupProcs: await cgroupProcsFiles(cgroup, mode),
      podId: 'infra1',
      netns: pinned.paths.net,
      ipcns: pinned.paths.ipc,
      utsns: pinned.paths.uts,
      catatonit: CATATONIT,
      pidFile,
    });
    started.push(infra.pid);
    assert.equal(readFileSync(pidFile, 'utf8'), `${infra.pid}\n`);
    assert.equal(readlinkSync(`/proc/${infra.pid}/exe`), CATATONIT);
    assert.equal((await readProcStat(infra.pid))?.startTime, infra.startTime);
    const cgroupLines = readFileSync(`/proc/${infra.pid}/cgroup`, 'utf8').trim().split('\n');
    assert.ok(cgroupLines.some((l) => /^\d+:(pids|memory)?:/.test(l) && l.endsWith(`:${cgroup}`)), `moved into ${cgroup}: ${cgroupLines.join(' | ')}`);

    for (const k of ['net', 'ipc', 'uts'] as const) {
      const pinnedIno = statSync(pinned.paths[k]!).ino;
      assert.equal(statSync(`/proc/${infra.pid}/ns/${k}`).ino, pinnedIno, `${k} namespace is the pinned one`);
      assert.notEqual(statSync(`/proc/self/ns/${k}`).ino, pinnedIno);
    }
    assert.notEqual(statSync(`/proc/${infra.pid}/ns/pid`).ino, statSync('/proc/self/ns/pid').ino, 'own pid namespace');
    const nspid = /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${infra.pid}/status`, 'utf8'))![1].trim().split(/\s+/);
    assert.deepEqual(nspid, [String(infra.pid), '1']);
    assert.equal(sh('nsenter', ['--target', String(infra.pid), '--uts', 'hostname']), 'infra-test');
    // A process joining the pid namespace is numbered inside it (catatonit is 1, so a small number).
    const inner = Number(sh('nsenter', ['--target', String(infra.pid), '--pid', '--', '/bin/sh', '-c', 'echo $$']));
    assert.ok(inner > 1 && inner < 100, `pid inside the namespace: ${inner}`);

    // Detached: its own session, not in our process group.
    const sid = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[3]);
    assert.notEqual(sid(infra.pid), sid(process.pid));

    assert.equal(await isInfraAlive(infra.pid, infra.startTime), true);
    assert.equal(await isInfraAlive(infra.pid, infra.startTime + 1), false, 'a different start time is a different process');
    assert.deepEqual(await findInfraAfterRestart(pidFile), infra);
    assert.deepEqual(await findInfraAfterRestart(pidFile, { startTime: infra.startTime }), infra);
    assert.equal(await findInfraAfterRestart(pidFile, { startTime: infra.startTime + 1 }), undefined);

    const parent = (await readProcStat(infra.pid))!.ppid; // the waiting unshare
    await stopInfra(infra.pid, infra.startTime);
    assert.equal(await readProcStat(infra.pid), undefined, 'catatonit is gone');
    for (let i = 0; i < 100 && (await readProcStat(parent)); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await readProcStat(parent), undefined, 'its unshare parent is gone too');
    assert.equal(await isInfraAlive(infra.pid, infra.startTime), false);
    assert.equal(await findInfraAfterRestart(pidFile), undefined);
    await stopInfra(infra.pid, infra.startTime); // idempotent
    assert.equal(await findInfraAfterRestart(join(tmp, 'missing.pid')), undefined);

    await removeCgroup(cgroup, 'cgroupfs', mode);
    await unpinNamespaces(nsDir, 'infra1');
    rmSync(join(tmp, 'pods', 'infra1'), { recursive: true });
  });

  it('rejects unpinned namespaces and a missing catatonit, and cleans up a failed start', async () => {
    const pidFile = join(tmp, 'pods', 'infra2', 'infra.pid');
    mkdirSync(join(tmp, 'pods', 'infra2'), { recursive: true });
    await assert.rejects(
      startInfra({ podId: 'infra2', netns: join(tmp, 'not-a-netns'), pidFile }),
      (e: unknown) => isBerthError(e, 'failed-precondition'),
    );
    await assert.rejects(
      startInfra({ podId: 'infra2', catatonit: join(tmp, 'no-catatonit'), pidFile }),
      (e: unknown) => isBerthError(e, 'unavailable'),
    );
    await assert.rejects(startInfra({ podId: '../x', pidFile }), (e: unknown) => isBerthError(e, 'invalid-argument'));

    // Moving into a cgroup that cannot take it fails the start and kills what was started.
    const pinned = await pinNamespaces(nsDir, 'infra2', ['net']);
    const before = childPids(process.pid);
    await assert.rejects(
      startInfra({ podId: 'infra2', netns: pinned.paths.net, pidFile, cgroupProcs: [join(tmp, 'no-cgroup', 'cgroup.procs')] }),
      (e: unknown) => isBerthError(e, 'internal') && /cannot move the infra process/.test(e.message),
    );
    for (let i = 0; i < 100 && childPids(process.pid).length > before.length; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(childPids(process.pid), before, 'no process left behind');
    assert.equal(existsSync(pidFile), false);
    assert.deepEqual(readdirSync(join(tmp, 'pods', 'infra2')), [], 'no temp files left');
    await unpinNamespaces(nsDir, 'infra2');
  });
  it('outlives the process that started it (a berthd restart) and is found again from its pid file', async () => {
    const pinned = await pinNamespaces(nsDir, 'infra3', ['net', 'uts'], { hostname: 'infra-3' });
    const pidFile = join(tmp, 'pods', 'infra3', 'infra.pid');
    const script = join(tmp, 'start-infra.ts');
    writeFileSync(
      script,
      [
        `import { startInfra } from ${JSON.stringify(resolve(__dirname, '../../src/runtime/infra'))};`,
        `startInfra(${JSON.stringify({ podId: 'infra3', netns: pinned.paths.net, utsns: pinned.paths.uts, pidFile })})`,
        '  .then((i) => { process.stdout.write(JSON.stringify(i)); process.exit(0); });',
      ].join('\n'),
    );
    // The starter exits as soon as startInfra returns, like a berthd that is restarted.
    const out = execFileSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', env: { ...process.env, BERTH_LOG_LEVEL: 'silent' } });
    const infra = JSON.parse(out) as { pid: number; startTime: number };
    started.push(infra.pid);
    assert.equal(await isInfraAlive(infra.pid, infra.startTime), true, 'infra survives its starter');
    assert.deepEqual(await findInfraAfterRestart(pidFile, { startTime: infra.startTime }), infra);
    assert.equal(sh('nsenter', ['--target', String(infra.pid), '--uts', 'hostname']), 'infra-3');
    await stopInfra(infra.pid, infra.startTime);
    assert.equal(await readProcStat(infra.pid), undefined);
    await unpinNamespaces(nsDir, 'infra3');
  });
});
