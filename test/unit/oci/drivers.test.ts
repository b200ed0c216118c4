// Unit tests for the parts of the runc/conmon drivers and spec-prepare that need no real runtime.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conmonArgs, readExitCode, type ConmonStartOptions } from '../../../src/oci/conmon';
import { OciRuntime, runtimeMessage } from '../../../src/oci/runc';
import { defaultSeccompProfile } from '../../../src/oci/seccomp-default';
import { ensureMountSources, loadSeccompProfile, resolveDevice, splitDevT, readOwnOomScoreAdj } from '../../../src/oci/spec-prepare';
import { isBerthError } from '../../../src/util/errors';

let base: string;
before(async () => {
  base = await fsp.mkdtemp(join(tmpdir(), 'berth-oci-unit-'));
});
after(async () => {
  await fsp.rm(base, { recursive: true, force: true });
});

const opts: ConmonStartOptions = {
  id: 'abc',
  bundle: '/b/abc',
  runtimePath: '/usr/sbin/runc',
  runtimeArgs: ['--root=/run/r'],
  logPath: '/logs/abc.log',
  exitDir: '/exits',
  socketDir: '/socks',
  pidFile: '/b/abc/pid',
  conmonPidFile: '/b/abc/conmon.pid',
};

function flagValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

test('conmon command line', () => {
  const a = conmonArgs(opts);
  assert.ok(a.includes('--api-version'));
  assert.equal(flagValue(a, '-c'), 'abc');
  assert.equal(flagValue(a, '-u'), 'abc');
  assert.equal(flagValue(a, '-r'), '/usr/sbin/runc');
  assert.equal(flagValue(a, '-b'), '/b/abc');
  assert.equal(flagValue(a, '-p'), '/b/abc/pid');
  assert.equal(flagValue(a, '-P'), '/b/abc/conmon.pid');
  assert.equal(flagValue(a, '-l'), 'k8s-file:/logs/abc.log');
  assert.equal(flagValue(a, '--exit-dir'), '/exits');
  assert.equal(flagValue(a, '--socket-dir-path'), '/socks');
  assert.ok(a.includes('--runtime-arg=--root=/run/r'));
  for (const f of ['-t', '-i', '--leave-stdin-open', '-s', '--syslog', '-0']) assert.ok(!a.includes(f), f);

  const b = conmonArgs({ ...opts, terminal: true, stdin: true, systemdCgroup: true, persistDir: '/p', logSizeMax: 1000 });
  assert.ok(b.includes('-t') && b.includes('-i') && b.includes('-s') && b.includes('--leave-stdin-open'));
  assert.equal(flagValue(b, '-0'), '/p');
  assert.equal(flagValue(b, '--log-size-max'), '1000');
  assert.ok(!conmonArgs({ ...opts, stdin: true, stdinOnce: true }).includes('--leave-stdin-open'));
});

test('exit files', async () => {
  await fsp.writeFile(join(base, 'c1'), '137');
  await fsp.writeFile(join(base, 'c2'), '');
  assert.equal(await readExitCode(base, 'c1'), 137);
  assert.equal(await readExitCode(base, 'c2'), undefined);
  assert.equal(await readExitCode(base, 'nope'), undefined);
});

test('runtime error text and global args', async () => {
  assert.equal(
    runtimeMessage('time="2024-01-01T00:00:00Z" level=error msg="container \\"x\\" does not exist"\n'),
    'container "x" does not exist',
  );
  assert.equal(runtimeMessage('crun: container `x` not found\n\n'), 'crun: container `x` not found');
  assert.deepEqual(new OciRuntime({ path: '/r', root: '/root' }).globalArgs(), ['--root=/root']);
  assert.deepEqual(new OciRuntime({ path: '/r', root: '/root', systemdCgroup: true }).globalArgs(), ['--root=/root', '--systemd-cgroup']);
  await assert.rejects(new OciRuntime({ path: join(base, 'no-runc'), root: base }).list(), (e) => isBerthError(e, 'unavailable'));
});

test('runtime errors are classified (fake runtime)', async () => {
  const fake = join(base, 'fake-runc');
  await fsp.writeFile(
    fake,
    '#!/bin/sh\ncase "$2" in\n list) echo null ;;\n state) echo \'time="t" level=error msg="container does not exist"\' >&2; exit 1 ;;\n kill) echo "container not running" >&2; exit 1 ;;\n start) sleep 5 ;;\n *) echo boom >&2; exit 1 ;;\nesac\n',
    { mode: 0o755 },
  );
  const rt = new OciRuntime({ path: fake, root: base, timeoutMs: 300 });
  assert.deepEqual(await rt.list(), []);
  await assert.rejects(rt.state('x'), (e) => isBerthError(e, 'not-found') && (e as { context: Record<string, unknown> }).context.container === 'x');
  await assert.rejects(rt.kill('x'), (e) => isBerthError(e, 'failed-precondition'));
  await assert.rejects(rt.pause('x'), (e) => isBerthError(e, 'internal') && /boom/.test((e as Error).message));
  await assert.rejects(rt.start('x'), (e) => isBerthError(e, 'deadline-exceeded'));
});

test('default seccomp profile per architecture', () => {
  const x = defaultSeccompProfile([], 'x64');
  assert.deepEqual(x.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  assert.ok(x.syscalls!.some((s) => s.names.includes('clone3') && s.errnoRet === 38));
  const s390 = defaultSeccompProfile([], 's390x');
  assert.ok(s390.syscalls!.filter((s) => s.names.includes('clone')).every((s) => s.args![0].index === 1));
  const timeCap = defaultSeccompProfile(['CAP_SYS_TIME'], 'x64').syscalls!.flatMap((s) => s.names);
  assert.ok(!timeCap.includes('settimeofday'));
  assert.ok(defaultSeccompProfile([], 'x64').syscalls!.flatMap((s) => s.names).includes('settimeofday'));
});

test('dev_t split matches glibc makedev encoding', () => {
  const makedev = (major: bigint, minor: bigint) =>
    ((major & 0xfffn) << 8n) | ((major & ~0xfffn) << 32n) | (minor & 0xffn) | ((minor & ~0xffn) << 12n);
  assert.deepEqual(splitDevT(makedev(1n, 3n)), { major: 1, minor: 3 }); // /dev/null
  assert.deepEqual(splitDevT(makedev(259n, 0n)), { major: 259, minor: 0 });
  assert.deepEqual(splitDevT(makedev(0xabcdefn, 0x123456n)), { major: 0xabcdef, minor: 0x123456 });
});

test('devices, seccomp files, mount sources', async () => {
  const nul = await resolveDevice({ containerPath: '/dev/xnull', hostPath: '/dev/null', permissions: 'rw' });
  assert.deepEqual({ ...nul, fileMode: undefined, uid: undefined, gid: undefined }, {
    containerPath: '/dev/xnull', hostPath: '/dev/null', type: 'c', major: 1, minor: 3, permissions: 'rw',
    fileMode: undefined, uid: undefined, gid: undefined,
  });
  await assert.rejects(resolveDevice({ containerPath: '/x', hostPath: base }), (e) => isBerthError(e, 'invalid-argument'));
  await assert.rejects(resolveDevice({ containerPath: '/x', hostPath: join(base, 'none') }), (e) => isBerthError(e, 'invalid-argument'));

  const prof = join(base, 'prof.json');
  await fsp.writeFile(prof, JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO' }));
  assert.deepEqual(await loadSeccompProfile(prof), { defaultAction: 'SCMP_ACT_ERRNO' });
  await assert.rejects(loadSeccompProfile(join(base, 'missing.json')), (e) => isBerthError(e, 'invalid-argument'));
  await fsp.writeFile(join(base, 'bad.json'), '{"x":1}');
  await assert.rejects(loadSeccompProfile(join(base, 'bad.json')), (e) => isBerthError(e, 'invalid-argument'));
  await assert.rejects(loadSeccompProfile('relative.json'), (e) => isBerthError(e, 'invalid-argument'));

  await fsp.mkdir(join(base, 'real'));
  await fsp.symlink(join(base, 'real'), join(base, 'link'));
  const [created, resolved] = await ensureMountSources([
    { containerPath: '/a', hostPath: join(base, 'new/dir') },
    { containerPath: '/b', hostPath: join(base, 'link'), readonly: true },
  ]);
  assert.ok((await fsp.stat(join(base, 'new/dir'))).isDirectory(), 'a missing host path is created, as containerd does');
  assert.equal(created.hostPath, join(base, 'new/dir'));
  assert.deepEqual(resolved, { containerPath: '/b', hostPath: join(base, 'real'), readonly: true });

  assert.ok(Number.isInteger(await readOwnOomScoreAdj()));
});
