// Real containers: spec builder → conmon → runc, on a busybox rootfs. Needs root, runc, conmon
// and busybox-static.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { setRootLogger } from '../../src/util/log';
import { OciRuntime } from '../../src/oci/runc';
import { startContainer, readExitCode, removeAttachLink, DEFAULT_CONMON_PATH } from '../../src/oci/conmon';
import { prepareContainerSpec, detectHostFacts, type HostFacts } from '../../src/oci/spec-prepare';
import type { CriContainerConfig } from '../../src/oci/spec-builder';
import type { ImageConfig } from '../../src/image/oci-types';
import { isBerthError } from '../../src/util/errors';

setRootLogger(pino({ level: 'silent' }));

const RUNC = '/usr/sbin/runc';
const BUSYBOX = '/bin/busybox';

let base: string;
let rootfs: string;
let runtime: OciRuntime;
let facts: HostFacts;
const dirs = { runcRoot: '', exits: '', sockets: '', logs: '', bundles: '' };
const started: { id: string; conmonPid?: number; pid?: number }[] = [];

function requireBinary(path: string, pkg: string): void {
  if (!existsSync(path)) throw new Error(`${path} is missing: install ${pkg} (this integration test needs it)`);
}

before(async () => {
  assert.equal(process.getuid?.(), 0, 'the OCI integration test must run as root');
  requireBinary(RUNC, 'runc');
  requireBinary(DEFAULT_CONMON_PATH, 'conmon');
  requireBinary(BUSYBOX, 'busybox-static');
  base = await fsp.mkdtemp(join(tmpdir(), 'berth-oci-'));
  rootfs = join(base, 'rootfs');
  await fsp.mkdir(join(rootfs, 'bin'), { recursive: true });
  await fsp.copyFile(BUSYBOX, join(rootfs, 'bin/busybox'));
  await fsp.chmod(join(rootfs, 'bin/busybox'), 0o755);
  for (const tool of ['sh', 'echo', 'sleep', 'cat', 'true', 'id', 'touch', 'grep']) await fsp.symlink('busybox', join(rootfs, 'bin', tool));
  await fsp.mkdir(join(rootfs, 'etc'));
  await fsp.writeFile(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  await fsp.writeFile(join(rootfs, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  for (const k of Object.keys(dirs) as (keyof typeof dirs)[]) {
    dirs[k] = join(base, k);
    await fsp.mkdir(dirs[k]);
  }
  runtime = new OciRuntime({ path: RUNC, root: dirs.runcRoot });
  facts = await detectHostFacts();
});

after(async () => {
  // Only what this test started, by id/PID.
  for (const c of started) {
    await runtime.delete(c.id, true).catch(() => undefined);
    for (const pid of [c.pid, c.conmonPid]) if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
  }
  if (base) await fsp.rm(base, { recursive: true, force: true });
});

const image: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  config: { Env: ['PATH=/bin', 'FROM_IMAGE=1'], Cmd: ['/bin/sh'] },
  rootfs: { type: 'layers', diff_ids: [] },
};

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function create(config: CriContainerConfig, tweak?: (spec: Record<string, unknown>) => void, cgroupProcs?: string[]) {
  const id = `t${randomBytes(8).toString('hex')}`;
  const bundle = join(dirs.bundles, id);
  await fsp.mkdir(bundle);
  const spec = await prepareContainerSpec({
    id,
    name: id,
    config: {
      ...config,
      linux: {
        ...config.linux,
        securityContext: {
          namespaceOptions: { network: 'NODE', ipc: 'NODE', pid: 'CONTAINER' },
          seccomp: { profileType: 'RuntimeDefault' },
          ...config.linux?.securityContext,
        },
      },
    },
    image,
    imageName: 'test/busybox:latest',
    rootfs,
    pod: { id: 'pod1', name: 'pod', namespace: 'default', uid: 'uid1', hostname: 'testhost', namespacePaths: {} },
    cgroupDriver: 'cgroupfs',
    cgroupV2: facts.cgroupV2,
    oomScoreAdjFloor: facts.oomScoreAdjFloor,
    hostCapabilities: facts.hostCapabilities,
    swapControllerAvailable: facts.swapControllerAvailable,
  });
  tweak?.(spec as unknown as Record<string, unknown>);
  await fsp.writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
  const entry: (typeof started)[number] = { id };
  started.push(entry);
  const logPath = join(dirs.logs, `${id}.log`);
  const res = await startContainer({
    id,
    bundle,
    runtimePath: RUNC,
    runtimeArgs: runtime.globalArgs(),
    logPath,
    exitDir: dirs.exits,
    socketDir: dirs.sockets,
    pidFile: join(bundle, 'pidfile'),
    conmonPidFile: join(bundle, 'conmon.pid'),
    cgroupProcs,
  });
  entry.conmonPid = res.conmonPid;
  entry.pid = res.pid;
  return { id, bundle, logPath, ...res };
}

function cgroupDirsFor(id: string): string[] {
  const found: string[] = [];
  for (const h of readdirSync('/sys/fs/cgroup')) {
    const p = join('/sys/fs/cgroup', h, `berth-${id}`);
    if (existsSync(p)) found.push(p);
  }
  if (existsSync(join('/sys/fs/cgroup', `berth-${id}`))) found.push(join('/sys/fs/cgroup', `berth-${id}`));
  return found;
}

function processesUnder(path: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(path) && alive(Number(p))) pids.push(Number(p));
    } catch {
      // exited
    }
  }
  return pids;
}

async function assertGone(c: { id: string; bundle: string; conmonPid: number; pid: number }): Promise<void> {
  await waitFor('conmon to exit', () => (alive(c.conmonPid) ? undefined : true), 5000);
  assert.equal(alive(c.pid), false, 'container process still alive');
  assert.deepEqual(cgroupDirsFor(c.id), [], 'container cgroup left behind');
  assert.equal(existsSync(join(dirs.runcRoot, c.id)), false, 'runc state left behind');
  assert.equal(existsSync(join(c.bundle, 'attach')), false, 'attach socket left behind');
  await removeAttachLink(dirs.sockets, c.id);
  assert.equal(existsSync(join(dirs.sockets, c.id)), false);
}

test('a container writes CRI-format logs and its exit code lands in the exit dir', async () => {
  const c = await create({ command: ['/bin/sh', '-c', 'echo hello; echo "env=$FROM_IMAGE"; echo oops >&2; exit 3'] });
  assert.equal((await runtime.state(c.id)).status, 'created');
  assert.ok(cgroupDirsFor(c.id).length > 0, 'runc should have created the container cgroup');
  await runtime.start(c.id);
  const code = await waitFor('exit file', () => readExitCode(dirs.exits, c.id));
  assert.equal(code, 3);

  await waitFor('conmon to exit', () => (alive(c.conmonPid) ? undefined : true), 5000);
  const lines = (await fsp.readFile(c.logPath, 'utf8')).trimEnd().split('\n');
  const re = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+(?:Z|[+-]\d{2}:\d{2})) (stdout|stderr) ([FP]) (.*)$/;
  const parsed = lines.map((l) => {
    const m = re.exec(l);
    assert.ok(m, `not a CRI log line: ${JSON.stringify(l)}`);
    return { stream: m[2], tag: m[3], text: m[4] };
  });
  assert.deepEqual(parsed.filter((p) => p.stream === 'stdout').map((p) => `${p.tag} ${p.text}`), ['F hello', 'F env=1']);
  assert.deepEqual(parsed.filter((p) => p.stream === 'stderr').map((p) => `${p.tag} ${p.text}`), ['F oops']);

  assert.equal((await runtime.state(c.id)).status, 'stopped');
  await runtime.delete(c.id);
  await assert.rejects(runtime.state(c.id), (e) => isBerthError(e, 'not-found'));
  await assertGone(c);
});

test('a long-running container: exec, update, SIGTERM via runc kill, exit recorded', async () => {
  const c = await create({ command: ['/bin/sh', '-c', 'trap "exit 143" TERM; sleep 1000 & wait'] });
  await runtime.start(c.id);
  const st = await runtime.state(c.id);
  assert.equal(st.status, 'running');
  assert.equal(st.pid, c.pid);
  assert.ok((await runtime.list()).some((s) => s.id === c.id));

  const ex = await runtime.execSync(c.id, ['/bin/sh', '-c', 'echo out-$FROM_IMAGE; echo err >&2; exit 7']);
  assert.deepEqual(
    { code: ex.exitCode, out: ex.stdout.toString(), err: ex.stderr.toString(), timedOut: ex.timedOut },
    { code: 7, out: 'out-1\n', err: 'err\n', timedOut: false },
  );
  const t0 = Date.now();
  const slow = await runtime.execSync(c.id, ['/bin/sleep', '100'], { timeoutMs: 300 });
  assert.equal(slow.timedOut, true);
  assert.ok(Date.now() - t0 < 10_000, 'exec timeout did not stop the process');
  await waitFor('the timed-out exec to die', () => (processesUnder('/bin/sleep\u0000100\u0000').length === 0 ? true : undefined), 3000);

  await runtime.update(c.id, { cpu: { shares: 512 } });
  if (!facts.cgroupV2) {
    assert.equal(readFileSync(`/sys/fs/cgroup/cpu/berth-${c.id}/cpu.shares`, 'utf8').trim(), '512');
  }

  await runtime.pause(c.id);
  assert.equal((await runtime.state(c.id)).status, 'paused');
  await runtime.resume(c.id);

  await runtime.kill(c.id, 'SIGTERM');
  const code = await waitFor('exit file', () => readExitCode(dirs.exits, c.id));
  assert.equal(code, 143);
  await runtime.delete(c.id);
  await assertGone(c);
});

test('SIGKILL is recorded as 128+9', async () => {
  const c = await create({ command: ['/bin/sleep', '1000'] });
  await runtime.start(c.id);
  await runtime.kill(c.id, 'KILL');
  assert.equal(await waitFor('exit file', () => readExitCode(dirs.exits, c.id)), 137);
  await runtime.delete(c.id);
  await assertGone(c);
});

test('a failing runtime create reports the runtime error and leaves nothing behind', async () => {
  let id = '';
  await assert.rejects(
    create({ command: ['/bin/true'] }, (spec) => {
      (spec.process as { cwd: string }).cwd = 'not/absolute';
      id = ((spec.annotations as Record<string, string>)['io.kubernetes.cri.container-name']);
    }),
    (e: unknown) => isBerthError(e, 'internal') && /cwd|absolute/i.test((e as Error).message),
  );
  assert.ok(id);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(cgroupDirsFor(id), []);
  assert.equal(existsSync(join(dirs.runcRoot, id)), false);
  assert.equal(await readExitCode(dirs.exits, id), undefined);
  assert.equal(existsSync(join(dirs.sockets, id)), false, 'attach symlink left behind after a failed create');
});

async function runToExit(config: CriContainerConfig, cgroupProcs?: string[]) {
  const c = await create(config, undefined, cgroupProcs);
  await runtime.start(c.id);
  const code = await waitFor('exit file', () => readExitCode(dirs.exits, c.id));
  await waitFor('conmon to exit', () => (alive(c.conmonPid) ? undefined : true), 5000);
  const out = (await fsp.readFile(c.logPath, 'utf8'))
    .trimEnd()
    .split('\n')
    .map((l) => l.split(' ').slice(3).join(' '));
  await runtime.delete(c.id);
  await assertGone(c);
  return { code, out };
}

test('user from the image passwd, read-only rootfs, oom_score_adj clamp', async () => {
  const r = await runToExit({
    command: ['/bin/sh', '-c', 'id -u; id -g; id -G; cat /proc/self/oom_score_adj; touch /x 2>/dev/null && echo rw || echo ro; echo $HOME'],
    linux: {
      resources: { oomScoreAdj: -999 },
      securityContext: { runAsUsername: 'nobody', readonlyRootfs: true, supplementalGroups: [4000], namespaceOptions: { network: 'NODE', ipc: 'NODE', pid: 'CONTAINER' } },
    },
  });
  assert.equal(r.code, 0);
  assert.deepEqual(r.out, ['65534', '65534', '65534 4000', String(Math.max(-999, facts.oomScoreAdjFloor)), 'ro', '/nonexistent']);
});

test('privileged container gets the capabilities berthd has; RuntimeDefault seccomp blocks unshare', async () => {
  const priv = await runToExit({
    command: ['/bin/sh', '-c', 'grep CapEff /proc/self/status'],
    linux: { securityContext: { privileged: true, namespaceOptions: { network: 'NODE', ipc: 'NODE', pid: 'CONTAINER' } } },
  });
  assert.equal(priv.code, 0);
  const own = /CapBnd:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1];
  assert.deepEqual(priv.out.map((l) => l.replace(/\s+/g, ' ')), [`CapEff: ${own}`]);

  // busybox has no unshare applet here; mount(2) via `mount` would need it too, so check the
  // seccomp filter is installed at all.
  const sec = await runToExit({ command: ['/bin/sh', '-c', 'grep Seccomp: /proc/self/status'] });
  assert.deepEqual(sec.out.map((l) => l.replace(/\s+/g, ' ')), ['Seccomp: 2']);
});

test('conmon joins the given cgroup before it forks', async () => {
  const cg = facts.cgroupV2 ? `/sys/fs/cgroup/berth-conmon-${randomBytes(4).toString('hex')}` : `/sys/fs/cgroup/pids/berth-conmon-${randomBytes(4).toString('hex')}`;
  await fsp.mkdir(cg);
  try {
    const c = await create({ command: ['/bin/sleep', '1000'] }, undefined, [join(cg, 'cgroup.procs')]);
    const procs = readFileSync(join(cg, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    assert.ok(procs.includes(c.conmonPid), `conmon ${c.conmonPid} not in ${cg}: ${procs}`);
    await runtime.start(c.id);
    await runtime.kill(c.id, 'KILL');
    await waitFor('exit file', () => readExitCode(dirs.exits, c.id));
    await runtime.delete(c.id);
    await assertGone(c);
  } finally {
    await waitFor('cgroup to empty', () => (readFileSync(join(cg, 'cgroup.procs'), 'utf8').trim() === '' ? true : undefined), 5000);
    await fsp.rmdir(cg);
  }
});

test('conmon failing early (missing runtime binary) is an error, not a crash', async () => {
  const id = `t${randomBytes(8).toString('hex')}`;
  const bundle = join(dirs.bundles, id);
  await fsp.mkdir(bundle);
  await fsp.writeFile(join(bundle, 'config.json'), '{}');
  await assert.rejects(
    startContainer({
      id,
      bundle,
      runtimePath: join(base, 'no-such-runtime'),
      logPath: join(dirs.logs, `${id}.log`),
      exitDir: dirs.exits,
      socketDir: dirs.sockets,
      pidFile: join(bundle, 'pidfile'),
      conmonPidFile: join(bundle, 'conmon.pid'),
      timeoutMs: 10_000,
    }),
    (e: unknown) => isBerthError(e, 'internal'),
  );
  assert.equal(existsSync(join(dirs.sockets, id)), false);
});

test('nothing leaks: no processes, mounts, runc state', async () => {
  assert.deepEqual(processesUnder(base), [], 'processes started by this test are still running');
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(base));
  assert.deepEqual(mounts, []);
  assert.deepEqual(readdirSync(dirs.runcRoot), []);
  assert.deepEqual(readdirSync(dirs.sockets), []);
  assert.ok(statSync(dirs.exits).isDirectory());
});
