import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildContainerSpec,
  cgroupsPath,
  clampOomScoreAdj,
  linuxResources,
  mergeEnv,
  processArgs,
  DEFAULT_MASKED_PATHS,
  DEFAULT_READONLY_PATHS,
  DEFAULT_PATH,
  type ContainerSpecInput,
  type CriContainerConfig,
  type CriSecurityContext,
} from '../../../src/oci/spec-builder';
import { DEFAULT_CAPABILITIES, ALL_CAPABILITIES, applyCapabilityChanges, capabilitiesFromMask } from '../../../src/oci/capabilities';
import { isBerthError } from '../../../src/util/errors';
import type { ImageConfig } from '../../../src/image/oci-types';

function image(cfg: ImageConfig['config'] = {}): ImageConfig {
  return { architecture: 'amd64', os: 'linux', config: cfg, rootfs: { type: 'layers', diff_ids: [] } };
}

function input(config: CriContainerConfig = {}, over: Partial<ContainerSpecInput> = {}): ContainerSpecInput {
  return {
    id: 'c1',
    name: 'app',
    config: { command: ['/bin/app'], ...config },
    image: image({ Env: ['PATH=/img/bin', 'A=image'], Entrypoint: ['/ep'], Cmd: ['cmd'] }),
    imageName: 'docker.io/library/app:1',
    rootfs: '/var/lib/berth/rootfs/c1',
    pod: {
      id: 'p1',
      name: 'pod',
      namespace: 'ns',
      uid: 'u1',
      hostname: 'pod-host',
      namespacePaths: { network: '/run/berth/netns/p1', ipc: '/run/berth/ipcns/p1', uts: '/run/berth/utsns/p1' },
      infraPid: 4242,
      resolvConfPath: '/pods/p1/resolv.conf',
      hostsPath: '/pods/p1/hosts',
      hostnamePath: '/pods/p1/hostname',
      shmPath: '/pods/p1/shm',
      cgroupParent: '/kubepods/pod-u1',
    },
    cgroupDriver: 'cgroupfs',
    cgroupV2: false,
    oomScoreAdjFloor: -500,
    user: { uid: 1000, gid: 1000, additionalGids: [1000, 27], home: '/home/app', username: 'app' },
    ...over,
  };
}

const withSc = (sc: CriSecurityContext, config: CriContainerConfig = {}): CriContainerConfig => ({ ...config, linux: { securityContext: sc } });

function mount(spec: ReturnType<typeof buildContainerSpec>, dest: string) {
  return spec.mounts.find((m) => m.destination === dest);
}

test('command/args vs entrypoint/cmd', () => {
  const img = image({ Entrypoint: ['/ep', '-x'], Cmd: ['c1', 'c2'] });
  assert.deepEqual(processArgs({ command: ['/bin/x'], args: ['a'] }, img), ['/bin/x', 'a']);
  assert.deepEqual(processArgs({ command: ['/bin/x'] }, img), ['/bin/x'], 'command set: image CMD is not appended');
  assert.deepEqual(processArgs({ args: ['a', 'b'] }, img), ['/ep', '-x', 'a', 'b']);
  assert.deepEqual(processArgs({}, img), ['/ep', '-x', 'c1', 'c2']);
  assert.deepEqual(processArgs({}, image({ Cmd: ['/bin/sh'] })), ['/bin/sh']);
  assert.deepEqual(processArgs({}, image({ Entrypoint: [''], Cmd: ['/run'] })), ['/run'], 'ENTRYPOINT [""] means none');
  assert.throws(() => processArgs({}, image({})), (e) => isBerthError(e, 'invalid-argument'));
  assert.throws(() => processArgs({ command: [], args: [] }, image({ Entrypoint: null, Cmd: null })), (e) => isBerthError(e, 'invalid-argument'));
});

test('env merge: image then CRI by key, defaults for PATH/TERM/HOME/HOSTNAME', () => {
  assert.deepEqual(
    mergeEnv({ hostname: 'h', image: ['PATH=/img', 'A=1', 'B=2'], cri: [{ key: 'A', value: 'x=y' }, { key: 'C', value: '' }], home: '/root' }),
    ['HOSTNAME=h', 'PATH=/img', 'A=x=y', 'B=2', 'C=', 'HOME=/root'],
  );
  assert.deepEqual(mergeEnv({ image: [], cri: [] }), [`PATH=${DEFAULT_PATH}`]);
  assert.ok(mergeEnv({ tty: true }).includes('TERM=xterm'));
  assert.ok(!mergeEnv({ tty: true, cri: [{ key: 'TERM', value: 'dumb' }] }).includes('TERM=xterm'));
  assert.ok(mergeEnv({ cri: [{ key: 'HOME', value: '/h' }], home: '/root' }).includes('HOME=/h'));
  const spec = buildContainerSpec(input({ envs: [{ key: 'A', value: 'cri' }] }));
  assert.ok(spec.process.env.includes('A=cri') && !spec.process.env.includes('A=image'));
  assert.ok(spec.process.env.includes('PATH=/img/bin'));
  assert.ok(spec.process.env.includes('HOME=/home/app'));
  assert.ok(spec.process.env.includes('HOSTNAME=pod-host'));
});

test('working dir: CRI, then image, then /', () => {
  assert.equal(buildContainerSpec(input({ workingDir: '/w' }, { image: image({ WorkingDir: '/img', Cmd: ['x'] }) })).process.cwd, '/w');
  assert.equal(buildContainerSpec(input({}, { image: image({ WorkingDir: '/img', Cmd: ['x'] }) })).process.cwd, '/img');
  assert.equal(buildContainerSpec(input({})).process.cwd, '/');
  assert.throws(() => buildContainerSpec(input({ workingDir: 'rel' })), (e) => isBerthError(e, 'invalid-argument'));
});

test('user comes from the resolved user', () => {
  const spec = buildContainerSpec(input());
  assert.deepEqual(spec.process.user, { uid: 1000, gid: 1000, additionalGids: [1000, 27] });
});

test('capabilities: default set, add/drop, ALL, ambient, host bounding', () => {
  const caps = buildContainerSpec(input()).process.capabilities!;
  assert.deepEqual([...caps.bounding].sort(), [...DEFAULT_CAPABILITIES].sort());
  assert.equal(DEFAULT_CAPABILITIES.length, 14);
  assert.deepEqual(caps.effective, caps.bounding);
  assert.deepEqual(caps.permitted, caps.bounding);
  assert.deepEqual(caps.ambient, []);

  const add = buildContainerSpec(input(withSc({ capabilities: { addCapabilities: ['NET_ADMIN', 'sys_time'], dropCapabilities: ['CAP_KILL', 'MKNOD'] } })));
  const b = add.process.capabilities!.bounding;
  assert.ok(b.includes('CAP_NET_ADMIN') && b.includes('CAP_SYS_TIME'));
  assert.ok(!b.includes('CAP_KILL') && !b.includes('CAP_MKNOD'));
  assert.equal(b.length, 14);

  assert.deepEqual(applyCapabilityChanges(DEFAULT_CAPABILITIES, ['CHOWN'], ['ALL']), ['CAP_CHOWN'], 'drop ALL then add X = X');
  assert.deepEqual(applyCapabilityChanges(DEFAULT_CAPABILITIES, ['ALL'], ['SYS_ADMIN']), ALL_CAPABILITIES.filter((c) => c !== 'CAP_SYS_ADMIN'));
  assert.deepEqual(applyCapabilityChanges(DEFAULT_CAPABILITIES, [], ['all']), []);
  assert.throws(() => applyCapabilityChanges([], ['NOT_A_CAP']), (e) => isBerthError(e, 'invalid-argument'));

  const amb = buildContainerSpec(input(withSc({ capabilities: { addAmbientCapabilities: ['NET_BIND_SERVICE', 'NET_ADMIN'] } }))).process.capabilities!;
  assert.deepEqual(amb.ambient, ['CAP_NET_BIND_SERVICE', 'CAP_NET_ADMIN']);
  assert.deepEqual(amb.inheritable, amb.ambient);
  assert.ok(amb.permitted.includes('CAP_NET_ADMIN'), 'ambient caps must be permitted');

  const host = ALL_CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE');
  const limited = buildContainerSpec(input(withSc({ capabilities: { addCapabilities: ['ALL'] } }), { hostCapabilities: host }));
  assert.ok(!limited.process.capabilities!.bounding.includes('CAP_SYS_RESOURCE'));
  assert.equal(limited.process.capabilities!.bounding.length, ALL_CAPABILITIES.length - 1);
  assert.deepEqual(capabilitiesFromMask('000001fffeffffff'), host);
});

test('privileged: all caps, all devices, no masking, rw sysfs, no seccomp', () => {
  const dev = { containerPath: '/dev/sda', hostPath: '/dev/sda', type: 'b' as const, major: 8, minor: 0, fileMode: 0o660, uid: 0, gid: 6, permissions: 'rwm' };
  const spec = buildContainerSpec(
    input(withSc({ privileged: true, seccomp: { profileType: 'RuntimeDefault' }, maskedPaths: ['/proc/x'] }), { hostDevices: [dev] }),
  );
  assert.deepEqual(spec.process.capabilities!.bounding, [...ALL_CAPABILITIES]);
  assert.deepEqual(spec.linux.maskedPaths, []);
  assert.deepEqual(spec.linux.readonlyPaths, []);
  assert.ok(mount(spec, '/sys')!.options!.includes('rw'));
  assert.ok(mount(spec, '/sys/fs/cgroup')!.options!.includes('rw'));
  assert.equal(spec.linux.seccomp, undefined);
  assert.deepEqual(spec.linux.resources!.devices, [{ allow: true, access: 'rwm' }]);
  assert.deepEqual(spec.linux.devices!.map((d) => d.path), ['/dev/sda']);
});

test('unprivileged: default masked/readonly paths, ro sysfs, device rules', () => {
  const dev = { containerPath: '/dev/fuse', hostPath: '/dev/fuse', type: 'c' as const, major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0, permissions: 'rw' };
  const spec = buildContainerSpec(input({}, { devices: [dev] }));
  assert.deepEqual(spec.linux.maskedPaths, [...DEFAULT_MASKED_PATHS]);
  assert.deepEqual(spec.linux.readonlyPaths, [...DEFAULT_READONLY_PATHS]);
  assert.ok(mount(spec, '/sys')!.options!.includes('ro'));
  assert.deepEqual(spec.linux.resources!.devices, [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' },
  ]);
  assert.deepEqual(spec.linux.devices, [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }]);
  const custom = buildContainerSpec(input(withSc({ maskedPaths: [], readonlyPaths: ['/proc/sys'] })));
  assert.deepEqual(custom.linux.maskedPaths, []);
  assert.deepEqual(custom.linux.readonlyPaths, ['/proc/sys']);
  assert.throws(() => buildContainerSpec(input({}, { devices: [{ ...dev, permissions: 'rwx' }] })), (e) => isBerthError(e, 'invalid-argument'));
});

test('oom_score_adj is clamped to the floor', () => {
  assert.equal(clampOomScoreAdj(-997, -500), -500);
  assert.equal(clampOomScoreAdj(1000, -500), 1000);
  assert.equal(clampOomScoreAdj(undefined, 0), 0);
  assert.equal(clampOomScoreAdj(-1000, -1000), -1000);
  assert.equal(clampOomScoreAdj(5000, 0), 1000);
  const spec = buildContainerSpec(input({ linux: { resources: { oomScoreAdj: -998 } } }, { oomScoreAdjFloor: -100 }));
  assert.equal(spec.process.oomScoreAdj, -100);
  assert.equal(buildContainerSpec(input({ linux: { resources: { oomScoreAdj: 300 } } })).process.oomScoreAdj, 300);
});

test('seccomp: RuntimeDefault, Unconfined, Localhost, unset', () => {
  const rd = buildContainerSpec(input(withSc({ seccomp: { profileType: 'RuntimeDefault' } }))).linux.seccomp!;
  assert.equal(rd.defaultAction, 'SCMP_ACT_ALLOW');
  const denied = rd.syscalls!.flatMap((s) => (s.args ? [] : s.names));
  for (const n of ['mount', 'keyctl', 'kexec_load', 'unshare', 'bpf', 'init_module']) assert.ok(denied.includes(n), n);
  assert.ok(rd.syscalls!.some((s) => s.names.includes('clone') && s.args?.[0].value === 0x10000000), 'clone(CLONE_NEWUSER) denied');

  const admin = buildContainerSpec(input(withSc({ seccomp: { profileType: 'RuntimeDefault' }, capabilities: { addCapabilities: ['SYS_ADMIN'] } })))
    .linux.seccomp!;
  const adminDenied = admin.syscalls!.flatMap((s) => s.names);
  assert.ok(!adminDenied.includes('mount') && !adminDenied.includes('clone'), 'SYS_ADMIN lifts the mount/namespace rules');
  assert.ok(adminDenied.includes('kexec_load'));

  assert.equal(buildContainerSpec(input(withSc({ seccomp: { profileType: 'Unconfined' } }))).linux.seccomp, undefined);
  assert.equal(buildContainerSpec(input()).linux.seccomp, undefined);
  const local = { defaultAction: 'SCMP_ACT_ERRNO' as const, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' as const }] };
  assert.deepEqual(
    buildContainerSpec(input(withSc({ seccomp: { profileType: 'Localhost', localhostRef: '/p.json' } }), { localhostSeccomp: local })).linux.seccomp,
    local,
  );
  assert.throws(
    () => buildContainerSpec(input(withSc({ seccomp: { profileType: 'Localhost', localhostRef: '/p.json' } }))),
    (e) => isBerthError(e, 'invalid-argument'),
  );
});

test('namespaces per mode', () => {
  const ns = (sc: CriSecurityContext['namespaceOptions'], over: Partial<ContainerSpecInput> = {}) =>
    buildContainerSpec(input(withSc({ namespaceOptions: sc }), over)).linux.namespaces;
  assert.deepEqual(ns({ network: 'POD', ipc: 'POD', pid: 'CONTAINER' }), [
    { type: 'mount' },
    { type: 'network', path: '/run/berth/netns/p1' },
    { type: 'uts', path: '/run/berth/utsns/p1' },
    { type: 'ipc', path: '/run/berth/ipcns/p1' },
    { type: 'pid' },
  ]);
  assert.deepEqual(ns({ network: 'NODE', ipc: 'NODE', pid: 'NODE' }), [{ type: 'mount' }]);
  assert.deepEqual(ns({ network: 'NODE', ipc: 'CONTAINER', pid: 'POD' }), [
    { type: 'mount' },
    { type: 'ipc' },
    { type: 'pid', path: '/proc/4242/ns/pid' },
  ]);
  assert.deepEqual(ns({ network: 'NODE', ipc: 'NODE', pid: 'TARGET', targetId: 'other' }, { targetPid: 77 }).at(-1), {
    type: 'pid',
    path: '/proc/77/ns/pid',
  });
  assert.ok(ns({ network: 'NODE', ipc: 'NODE' }, { cgroupV2: true }).some((n) => n.type === 'cgroup' && !n.path));
  assert.throws(() => ns({ pid: 'TARGET', targetId: 'x' }), (e) => isBerthError(e, 'failed-precondition'));
  const pod = input().pod;
  assert.throws(() => ns({ pid: 'POD' }, { pod: { ...pod, infraPid: undefined } }), (e) => isBerthError(e, 'failed-precondition'));
  assert.throws(() => ns({ network: 'POD' }, { pod: { ...pod, namespacePaths: {} } }), (e) => isBerthError(e, 'failed-precondition'));
  // hostname is only set in a UTS namespace of the container's own
  assert.equal(buildContainerSpec(input()).hostname, undefined);
  assert.equal(buildContainerSpec(input(withSc({ namespaceOptions: { network: 'CONTAINER' } }))).hostname, 'pod-host');
});

test('default mounts, pod files, CRI mounts with propagation', () => {
  const spec = buildContainerSpec(
    input({
      mounts: [
        { containerPath: '/data', hostPath: '/srv/data', readonly: true },
        { containerPath: '/data/sub', hostPath: '/srv/sub', propagation: 'host-to-container' },
        { containerPath: '/shared', hostPath: '/srv/shared', propagation: 'bidirectional' },
        { containerPath: '/etc/hosts', hostPath: '/kubelet/etc-hosts' },
      ],
    }),
  );
  const dests = spec.mounts.map((m) => m.destination);
  for (const d of ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup', '/etc/resolv.conf', '/etc/hostname']) {
    assert.ok(dests.includes(d), d);
  }
  assert.equal(dests.filter((d) => d === '/etc/hosts').length, 1, 'a CRI mount replaces the default at the same path');
  assert.equal(mount(spec, '/etc/hosts')!.source, '/kubelet/etc-hosts');
  assert.deepEqual(mount(spec, '/dev/shm'), { destination: '/dev/shm', type: 'bind', source: '/pods/p1/shm', options: ['rbind', 'rprivate', 'rw', 'nosuid', 'nodev', 'noexec'] });
  assert.deepEqual(mount(spec, '/data')!.options, ['rbind', 'rprivate', 'ro']);
  assert.deepEqual(mount(spec, '/data/sub')!.options, ['rbind', 'rslave', 'rw']);
  assert.deepEqual(mount(spec, '/shared')!.options, ['rbind', 'rshared', 'rw']);
  assert.ok(dests.indexOf('/data') < dests.indexOf('/data/sub'));
  assert.ok(dests.indexOf('/dev') < dests.indexOf('/dev/pts'));
  assert.equal(spec.linux.rootfsPropagation, 'rshared');
  assert.equal(buildContainerSpec(input()).linux.rootfsPropagation, undefined);
  assert.throws(() => buildContainerSpec(input({ mounts: [{ containerPath: 'rel', hostPath: '/x' }] })), (e) => isBerthError(e, 'invalid-argument'));

  const devMount = buildContainerSpec(input({ mounts: [{ containerPath: '/dev', hostPath: '/dev' }] }));
  assert.ok(!devMount.mounts.some((m) => m.destination.startsWith('/dev/')), 'mounting /dev replaces everything below it');

  const noShm = buildContainerSpec(input({}, { pod: { ...input().pod, shmPath: undefined } }));
  assert.equal(mount(noShm, '/dev/shm')!.type, 'tmpfs');
  const hostIpc = buildContainerSpec(input(withSc({ namespaceOptions: { ipc: 'NODE' } })));
  assert.equal(mount(hostIpc, '/dev/shm')!.source, '/dev/shm');
  const term = buildContainerSpec(input({}, { terminationLogPath: '/pods/p1/c1/termination-log' }));
  assert.equal(mount(term, '/dev/termination-log')!.source, '/pods/p1/c1/termination-log');
});

test('readonly rootfs makes the root and the pod files read-only', () => {
  const spec = buildContainerSpec(input(withSc({ readonlyRootfs: true })));
  assert.equal(spec.root.readonly, true);
  assert.ok(mount(spec, '/etc/resolv.conf')!.options!.includes('ro'));
  const rw = buildContainerSpec(input());
  assert.equal(rw.root.readonly, false);
  assert.ok(mount(rw, '/etc/resolv.conf')!.options!.includes('rw'));
});

test('no_new_privs, tty, annotations, sysctls', () => {
  const spec = buildContainerSpec(
    input({ ...withSc({ noNewPrivs: true }), tty: true }, { pod: { ...input().pod, sysctls: { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1' } } }),
  );
  assert.equal(spec.process.noNewPrivileges, true);
  assert.equal(spec.process.terminal, true);
  assert.equal(spec.annotations!['io.kubernetes.cri.container-type'], 'container');
  assert.equal(spec.annotations!['io.kubernetes.cri.sandbox-id'], 'p1');
  assert.equal(spec.annotations!['io.kubernetes.cri.container-name'], 'app');
  assert.equal(spec.annotations!['io.kubernetes.cri.image-name'], 'docker.io/library/app:1');
  assert.deepEqual(spec.linux.sysctl, { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1' });
  assert.equal(spec.process.rlimits, undefined);
  assert.equal(buildContainerSpec(input()).process.noNewPrivileges, false);
  assert.throws(
    () => buildContainerSpec(input(withSc({ namespaceOptions: { network: 'NODE' } }), { pod: { ...input().pod, sysctls: { 'net.core.somaxconn': '1' } } })),
    (e) => isBerthError(e, 'invalid-argument'),
  );
  assert.throws(
    () => buildContainerSpec(input(withSc({ namespaceOptions: { ipc: 'NODE' } }), { pod: { ...input().pod, sysctls: { 'kernel.msgmax': '1' } } })),
    (e) => isBerthError(e, 'invalid-argument'),
  );
});

test('cgroupsPath for both drivers', () => {
  assert.equal(cgroupsPath('cgroupfs', '/kubepods/burstable/pod1', 'abc'), '/kubepods/burstable/pod1/berth-abc');
  assert.equal(cgroupsPath('cgroupfs', 'kubepods', 'abc'), '/kubepods/berth-abc');
  assert.equal(cgroupsPath('cgroupfs', undefined, 'abc'), '/berth-abc');
  assert.equal(cgroupsPath('systemd', 'kubepods-burstable-pod1.slice', 'abc'), 'kubepods-burstable-pod1.slice:berth:abc');
  assert.equal(cgroupsPath('systemd', undefined, 'abc'), 'system.slice:berth:abc');
  assert.throws(() => cgroupsPath('systemd', '/kubepods/x', 'abc'), (e) => isBerthError(e, 'invalid-argument'));
  assert.equal(buildContainerSpec(input()).linux.cgroupsPath, '/kubepods/pod-u1/berth-c1');
});

test('resources', () => {
  assert.deepEqual(
    linuxResources(
      { cpuShares: 256, cpuQuota: 50000, cpuPeriod: 100000, cpusetCpus: '0-1', cpusetMems: '0', memoryLimitInBytes: 1 << 28, hugepageLimits: [{ pageSize: '2MB', limit: 4 << 20 }] },
      { cgroupV2: false, swapControllerAvailable: true },
    ),
    {
      cpu: { shares: 256, quota: 50000, period: 100000, cpus: '0-1', mems: '0' },
      memory: { limit: 1 << 28, swap: 1 << 28 },
      hugepageLimits: [{ pageSize: '2MB', limit: 4 << 20 }],
    },
  );
  assert.deepEqual(linuxResources({ memoryLimitInBytes: 100, memorySwapLimitInBytes: 300 }, { cgroupV2: false }), { memory: { limit: 100, swap: 300 } });
  assert.deepEqual(linuxResources({ memoryLimitInBytes: 100 }, { cgroupV2: false }), { memory: { limit: 100 } });
  assert.deepEqual(linuxResources({ cpuShares: 0, cpuQuota: 0 }, { cgroupV2: false }), {});
  assert.deepEqual(linuxResources({ unified: { 'memory.high': '1000' } }, { cgroupV2: true }), { unified: { 'memory.high': '1000' } });
  assert.throws(() => linuxResources({ unified: { 'memory.high': '1' } }, { cgroupV2: false }), (e) => isBerthError(e, 'invalid-argument'));
  assert.throws(() => linuxResources({ memoryLimitInBytes: 100, memorySwapLimitInBytes: 50 }, { cgroupV2: false }), (e) => isBerthError(e, 'invalid-argument'));
  const spec = buildContainerSpec(input({ linux: { resources: { cpuShares: 2 } } }));
  assert.deepEqual(spec.linux.resources!.cpu, { shares: 2 });
});

test('apparmor', () => {
  const aa = (p: CriSecurityContext['apparmor'], over: Partial<ContainerSpecInput> = {}) =>
    buildContainerSpec(input(withSc({ apparmor: p }), over)).process.apparmorProfile;
  assert.equal(aa({ profileType: 'RuntimeDefault' }, { apparmorEnabled: true, apparmorDefaultProfile: 'berth-default' }), 'berth-default');
  assert.equal(aa({ profileType: 'RuntimeDefault' }), undefined);
  assert.equal(aa({ profileType: 'Localhost', localhostRef: 'localhost/my-prof' }, { apparmorEnabled: true }), 'my-prof');
  assert.throws(() => aa({ profileType: 'Localhost', localhostRef: 'p' }), (e) => isBerthError(e, 'invalid-argument'));
  assert.equal(aa({ profileType: 'Unconfined' }, { apparmorEnabled: true }), undefined);
});

test('the spec is plain JSON', () => {
  const spec = buildContainerSpec(input(withSc({ seccomp: { profileType: 'RuntimeDefault' } })));
  assert.deepEqual(JSON.parse(JSON.stringify(spec)), spec);
  assert.equal(spec.ociVersion, '1.0.2');
  assert.equal(spec.root.path, '/var/lib/berth/rootfs/c1');
});
