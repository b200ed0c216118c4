// Builds a container's OCI runtime spec from the CRI request (as plain domain types), the image
// config and the pod's pinned resources, following Kubernetes/containerd semantics.
// Pure: everything that needs the filesystem (user lookup, device nodes, Localhost seccomp
// profiles, host paths) is resolved beforehand by spec-prepare.ts and passed in.
import { posix } from 'node:path';
import type { ImageConfig } from '../image/oci-types';
import { failedPrecondition, invalidArgument } from '../util/errors';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, applyCapabilityChanges, normalizeCapability } from './capabilities';
import {
  OCI_RUNTIME_SPEC_VERSION,
  type OciCapabilities,
  type OciDeviceCgroup,
  type OciLinuxDevice,
  type OciLinuxResources,
  type OciMount,
  type OciNamespace,
  type OciSeccomp,
  type OciSpec,
} from './runtime-spec';
import { defaultSeccompProfile } from './seccomp-default';
import type { ResolvedUser } from './user';

// ---- CRI-shaped inputs (camelCase CRI field names, enums as strings) ----

export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';
export type MountPropagation = 'private' | 'host-to-container' | 'bidirectional';
export type CgroupDriver = 'cgroupfs' | 'systemd';

export interface KeyValue {
  key: string;
  value: string;
}

export interface CriMount {
  containerPath: string;
  hostPath: string;
  readonly?: boolean;
  propagation?: MountPropagation;
  /** Accepted and ignored: berth does not run on SELinux hosts. */
  selinuxRelabel?: boolean;
}

export interface CriDevice {
  containerPath: string;
  hostPath: string;
  /** Subset of "rwm"; empty means "rwm". */
  permissions?: string;
}

export interface HugepageLimit {
  /** "2MB", "1GB" ... */
  pageSize: string;
  limit: number;
}

export interface CriLinuxResources {
  cpuPeriod?: number;
  cpuQuota?: number;
  cpuShares?: number;
  memoryLimitInBytes?: number;
  oomScoreAdj?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  hugepageLimits?: HugepageLimit[];
  unified?: Record<string, string>;
  memorySwapLimitInBytes?: number;
}

export interface CriCapabilities {
  addCapabilities?: string[];
  dropCapabilities?: string[];
  addAmbientCapabilities?: string[];
}

export interface NamespaceOptions {
  network?: NamespaceMode;
  pid?: NamespaceMode;
  ipc?: NamespaceMode;
  targetId?: string;
}

export interface SecurityProfile {
  profileType: 'RuntimeDefault' | 'Unconfined' | 'Localhost';
  /** Localhost: absolute path of a JSON seccomp profile, or an AppArmor profile name. */
  localhostRef?: string;
}

export interface CriSecurityContext {
  capabilities?: CriCapabilities;
  privileged?: boolean;
  namespaceOptions?: NamespaceOptions;
  runAsUser?: number;
  runAsGroup?: number;
  runAsUsername?: string;
  readonlyRootfs?: boolean;
  supplementalGroups?: number[];
  noNewPrivs?: boolean;
  /** undefined → the default list; an array (even empty) is used as given. */
  maskedPaths?: string[];
  /** undefined → the default list; an array (even empty) is used as given. */
  readonlyPaths?: string[];
  seccomp?: SecurityProfile;
  apparmor?: SecurityProfile;
}

export interface CriContainerConfig {
  command?: string[];
  args?: string[];
  workingDir?: string;
  envs?: KeyValue[];
  mounts?: CriMount[];
  devices?: CriDevice[];
  tty?: boolean;
  stdin?: boolean;
  stdinOnce?: boolean;
  linux?: {
    resources?: CriLinuxResources;
    securityContext?: CriSecurityContext;
  };
}

/** What the pod provides to its containers. */
export interface PodContext {
  id: string;
  name: string;
  namespace: string;
  uid: string;
  hostname: string;
  /** Bind-mounted namespace pins; required for the POD modes of network and ipc. */
  namespacePaths: { network?: string; ipc?: string; uts?: string };
  /** PID of the pod's infra process (catatonit); required when pid mode is POD. */
  infraPid?: number;
  resolvConfPath?: string;
  hostsPath?: string;
  hostnamePath?: string;
  /** The pod's /dev/shm (a tmpfs on the host); without it the container gets its own tmpfs. */
  shmPath?: string;
  /** From LinuxPodSandboxConfig.sysctls. */
  sysctls?: Record<string, string>;
  /** cgroupfs: a path such as /kubepods/burstable/pod<uid>; systemd: a slice name. */
  cgroupParent?: string;
}

/** A device node resolved on the host (see spec-prepare.ts). */
export interface ResolvedDevice {
  containerPath: string;
  hostPath: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
  permissions: string;
}

export interface ContainerSpecInput {
  id: string;
  /** CRI metadata.name. */
  name: string;
  config: CriContainerConfig;
  image: ImageConfig;
  /** The image reference the container was created from (annotation only). */
  imageName: string;
  rootfs: string;
  pod: PodContext;
  cgroupDriver: CgroupDriver;
  cgroupV2: boolean;
  /** berthd's own oom_score_adj: the kernel refuses lower values without CAP_SYS_RESOURCE. */
  oomScoreAdjFloor: number;
  /** From resolveUser(). */
  user: ResolvedUser;
  /** config.devices resolved to device nodes, same order. */
  devices?: ResolvedDevice[];
  /** Every host device, for privileged containers. */
  hostDevices?: ResolvedDevice[];
  /** Parsed Localhost seccomp profile, when config asks for one. */
  localhostSeccomp?: OciSeccomp;
  /** Capabilities berthd itself can grant (its bounding set); caps outside it are never requested. */
  hostCapabilities?: readonly string[];
  /** PID of the target container's process, for pid mode TARGET. */
  targetPid?: number;
  /** Host file bound at /dev/termination-log, unless a CRI mount already targets it. */
  terminationLogPath?: string;
  /** Whether the memory cgroup has swap accounting (memory.memsw.* / memory.swap.max). */
  swapControllerAvailable?: boolean;
  /** Whether AppArmor is enabled on the host. */
  apparmorEnabled?: boolean;
  /** Profile applied for AppArmor RuntimeDefault when enabled. */
  apparmorDefaultProfile?: string;
}

// ---- constants ----

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];

export const DEFAULT_READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export const Annotation = {
  ContainerType: 'io.kubernetes.cri.container-type',
  SandboxId: 'io.kubernetes.cri.sandbox-id',
  SandboxName: 'io.kubernetes.cri.sandbox-name',
  SandboxNamespace: 'io.kubernetes.cri.sandbox-namespace',
  SandboxUid: 'io.kubernetes.cri.sandbox-uid',
  ContainerName: 'io.kubernetes.cri.container-name',
  ImageName: 'io.kubernetes.cri.image-name',
} as const;

// sysctls that live in the network / IPC namespace and so cannot be set when sharing the host's.
const NET_SYSCTL = /^net\./;
const IPC_SYSCTL = /^(kernel\.(shmmax|shmall|shmmni|shm_rmid_forced|msgmax|msgmnb|msgmni|sem)|fs\.mqueue\.)/;

// ---- pieces (exported for reuse and tests) ----

/** Kubernetes' command/args vs ENTRYPOINT/CMD rules. */
export function processArgs(config: CriContainerConfig, image: ImageConfig): string[] {
  const command = config.command ?? [];
  const args = config.args ?? [];
  const img = image.config ?? {};
  let result: string[];
  if (command.length > 0) {
    result = [...command, ...args];
  } else {
    const entrypoint = img.Entrypoint ?? [];
    // An image may reset ENTRYPOINT with [""]; that means "none".
    const ep = entrypoint.length === 1 && entrypoint[0] === '' ? [] : entrypoint;
    result = [...ep, ...(args.length > 0 ? args : (img.Cmd ?? []))];
  }
  if (result.length === 0) throw invalidArgument('no command specified: neither the container config nor the image sets one');
  return result;
}

/** HOSTNAME, then image env, then CRI env (later keys override earlier ones in place). */
export function mergeEnv(parts: { hostname?: string; image?: string[]; cri?: KeyValue[]; tty?: boolean; home?: string }): string[] {
  const env = new Map<string, string>();
  const put = (k: string, v: string) => {
    if (k !== '') env.set(k, v);
  };
  if (parts.hostname) put('HOSTNAME', parts.hostname);
  for (const e of parts.image ?? []) {
    const i = e.indexOf('=');
    if (i < 0) put(e, '');
    else put(e.slice(0, i), e.slice(i + 1));
  }
  for (const kv of parts.cri ?? []) put(kv.key, kv.value);
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  if (parts.tty && !env.has('TERM')) env.set('TERM', 'xterm');
  if (parts.home && !env.has('HOME')) env.set('HOME', parts.home);
  return [...env].map(([k, v]) => `${k}=${v}`);
}

export function workingDir(config: CriContainerConfig, image: ImageConfig): string {
  const dir = config.workingDir || image.config?.WorkingDir || '/';
  if (!dir.startsWith('/')) throw invalidArgument(`working directory "${dir}" is not absolute`, { workingDir: dir });
  return dir;
}

export function cgroupsPath(driver: CgroupDriver, parent: string | undefined, id: string): string {
  if (driver === 'systemd') {
    const slice = parent || 'system.slice';
    if (!slice.endsWith('.slice') || slice.includes('/')) {
      throw invalidArgument(`cgroup parent "${slice}" is not a systemd slice name`, { cgroupParent: parent });
    }
    return `${slice}:berth:${id}`;
  }
  const base = parent ? (parent.startsWith('/') ? parent : `/${parent}`) : '/';
  return posix.join(base, `berth-${id}`);
}

const PROPAGATION: Record<MountPropagation, string> = {
  private: 'rprivate',
  'host-to-container': 'rslave',
  bidirectional: 'rshared',
};

function checkAbsolute(path: string, what: string): string {
  if (!path.startsWith('/')) throw invalidArgument(`${what} "${path}" is not an absolute path`, { path });
  return posix.normalize(path);
}

function bind(destination: string, source: string, readonly: boolean, extra: string[] = []): OciMount {
  return { destination, type: 'bind', source, options: ['rbind', 'rprivate', readonly ? 'ro' : 'rw', ...extra] };
}

function depth(p: string): number {
  return posix.normalize(p).split('/').filter((s) => s !== '').length;
}

/** Default mounts + the pod's files + CRI mounts; CRI mounts replace defaults at the same path. */
export function buildMounts(input: ContainerSpecInput, privileged: boolean, readonlyRootfs: boolean, ipc: NamespaceMode): {
  mounts: OciMount[];
  rootfsPropagation?: 'rshared' | 'rslave';
} {
  const pod = input.pod;
  const defaults: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', privileged ? 'rw' : 'ro'] },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', privileged ? 'rw' : 'ro'],
    },
  ];
  const shm = ipc === 'NODE' ? '/dev/shm' : pod.shmPath;
  defaults.push(
    shm
      ? bind('/dev/shm', shm, false, ['nosuid', 'nodev', 'noexec'])
      : { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
  );
  // The pod files are shared by all its containers; a read-only rootfs makes them read-only too.
  if (pod.hostsPath) defaults.push(bind('/etc/hosts', pod.hostsPath, readonlyRootfs));
  if (pod.resolvConfPath) defaults.push(bind('/etc/resolv.conf', pod.resolvConfPath, readonlyRootfs));
  if (pod.hostnamePath) defaults.push(bind('/etc/hostname', pod.hostnamePath, readonlyRootfs));
  if (input.terminationLogPath) defaults.push(bind('/dev/termination-log', input.terminationLogPath, false));

  const criMounts = (input.config.mounts ?? []).map((m) => {
    const destination = checkAbsolute(m.containerPath, 'container path');
    const source = checkAbsolute(m.hostPath, 'host path');
    const propagation = m.propagation ?? 'private';
    if (!(propagation in PROPAGATION)) throw invalidArgument(`unknown mount propagation "${propagation}"`, { mount: destination });
    return { propagation, mount: { destination, type: 'bind', source, options: ['rbind', PROPAGATION[propagation], m.readonly ? 'ro' : 'rw'] } };
  });
  const criDests = new Set(criMounts.map((m) => m.mount.destination));
  const kept = defaults.filter(
    (d) => !criDests.has(d.destination) && !(criDests.has('/dev') && d.destination.startsWith('/dev/')),
  );
  const all = [...kept, ...criMounts.map((m) => m.mount)];
  // Parents must be mounted before their children; the sort is stable so ties keep their order.
  const mounts = all
    .map((m, i) => ({ m, i, d: depth(m.destination) }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .map((x) => x.m);

  let rootfsPropagation: 'rshared' | 'rslave' | undefined;
  if (criMounts.some((m) => m.propagation === 'bidirectional')) rootfsPropagation = 'rshared';
  else if (criMounts.some((m) => m.propagation === 'host-to-container')) rootfsPropagation = 'rslave';
  return { mounts, rootfsPropagation };
}

/** CRI resources → OCI linux.resources (also used for UpdateContainerResources). */
export function linuxResources(
  r: CriLinuxResources | undefined,
  opts: { cgroupV2: boolean; swapControllerAvailable?: boolean },
): OciLinuxResources {
  const out: OciLinuxResources = {};
  if (!r) return out;
  const cpu: NonNullable<OciLinuxResources['cpu']> = {};
  if (r.cpuShares) cpu.shares = r.cpuShares;
  if (r.cpuQuota) cpu.quota = r.cpuQuota;
  if (r.cpuPeriod) cpu.period = r.cpuPeriod;
  if (r.cpusetCpus) cpu.cpus = r.cpusetCpus;
  if (r.cpusetMems) cpu.mems = r.cpusetMems;
  if (Object.keys(cpu).length > 0) out.cpu = cpu;

  if (r.memoryLimitInBytes) {
    const limit = r.memoryLimitInBytes;
    out.memory = { limit };
    if (r.memorySwapLimitInBytes) {
      if (r.memorySwapLimitInBytes !== -1 && r.memorySwapLimitInBytes < limit) {
        throw invalidArgument('memory swap limit is lower than the memory limit', { limit, swap: r.memorySwapLimitInBytes });
      }
      out.memory.swap = r.memorySwapLimitInBytes;
    } else if (opts.swapControllerAvailable) {
      // Same as containerd: swap limit = memory limit, i.e. no swap unless asked for.
      out.memory.swap = limit;
    }
  }
  if (r.hugepageLimits && r.hugepageLimits.length > 0) {
    out.hugepageLimits = r.hugepageLimits.map((h) => ({ pageSize: h.pageSize, limit: h.limit }));
  }
  if (r.unified && Object.keys(r.unified).length > 0) {
    if (!opts.cgroupV2) throw invalidArgument('unified cgroup resources need cgroup v2', { unified: Object.keys(r.unified) });
    out.unified = { ...r.unified };
  }
  return out;
}

export function clampOomScoreAdj(requested: number | undefined, floor: number): number {
  const v = Math.max(requested ?? 0, floor);
  return Math.min(1000, Math.max(-1000, v));
}

interface Namespaces {
  list: OciNamespace[];
  newUts: boolean;
}

function buildNamespaces(input: ContainerSpecInput, ns: NamespaceOptions): Namespaces {
  const list: OciNamespace[] = [{ type: 'mount' }];
  const pod = input.pod;
  const network = ns.network ?? 'POD';
  const ipc = ns.ipc ?? 'POD';
  const pid = ns.pid ?? 'CONTAINER';
  const ctx = { container: input.id, pod: pod.id };

  const fromPod = (type: 'network' | 'ipc' | 'uts', path: string | undefined) => {
    if (!path) throw failedPrecondition(`pod has no ${type} namespace pinned`, ctx);
    list.push({ type, path });
  };

  let newUts = false;
  switch (network) {
    case 'NODE':
      break; // host network and, as with every runtime, host UTS
    case 'POD':
      fromPod('network', pod.namespacePaths.network);
      if (pod.namespacePaths.uts) list.push({ type: 'uts', path: pod.namespacePaths.uts });
      else {
        list.push({ type: 'uts' });
        newUts = true;
      }
      break;
    case 'CONTAINER':
      list.push({ type: 'network' }, { type: 'uts' });
      newUts = true;
      break;
    default:
      throw invalidArgument(`network namespace mode ${network} is not supported`, ctx);
  }

  switch (ipc) {
    case 'NODE':
      break;
    case 'POD':
      fromPod('ipc', pod.namespacePaths.ipc);
      break;
    case 'CONTAINER':
      list.push({ type: 'ipc' });
      break;
    default:
      throw invalidArgument(`ipc namespace mode ${ipc} is not supported`, ctx);
  }

  switch (pid) {
    case 'NODE':
      break;
    case 'POD':
      if (!pod.infraPid) throw failedPrecondition('pod has no infra process to share its pid namespace', ctx);
      list.push({ type: 'pid', path: `/proc/${pod.infraPid}/ns/pid` });
      break;
    case 'CONTAINER':
      list.push({ type: 'pid' });
      break;
    case 'TARGET':
      if (!ns.targetId) throw invalidArgument('pid namespace mode TARGET without a target id', ctx);
      if (!input.targetPid) throw failedPrecondition(`target container ${ns.targetId} is not running`, { ...ctx, target: ns.targetId });
      list.push({ type: 'pid', path: `/proc/${input.targetPid}/ns/pid` });
      break;
    default:
      throw invalidArgument(`pid namespace mode ${String(pid)} is not supported`, ctx);
  }

  if (input.cgroupV2) list.push({ type: 'cgroup' });
  return { list, newUts };
}

function buildCapabilities(sc: CriSecurityContext, privileged: boolean, host: readonly string[] | undefined): OciCapabilities {
  const c = sc.capabilities ?? {};
  const ambient = (c.addAmbientCapabilities ?? []).map(normalizeCapability);
  let caps = privileged ? [...ALL_CAPABILITIES] : applyCapabilityChanges(DEFAULT_CAPABILITIES, c.addCapabilities, c.dropCapabilities);
  // Ambient caps only work when also permitted and inheritable.
  caps = ALL_CAPABILITIES.filter((cap) => caps.includes(cap) || ambient.includes(cap));
  if (host) {
    const hostSet = new Set(host);
    caps = caps.filter((cap) => hostSet.has(cap));
  }
  const amb = ambient.filter((a) => caps.includes(a));
  return { bounding: caps, effective: [...caps], permitted: [...caps], inheritable: amb, ambient: [...amb] };
}

function buildSeccomp(input: ContainerSpecInput, sc: CriSecurityContext, privileged: boolean, caps: string[]): OciSeccomp | undefined {
  if (privileged) return undefined;
  const p = sc.seccomp;
  if (!p || p.profileType === 'Unconfined') return undefined;
  if (p.profileType === 'RuntimeDefault') return defaultSeccompProfile(caps);
  if (p.profileType === 'Localhost') {
    if (!input.localhostSeccomp) {
      throw invalidArgument('Localhost seccomp profile was not loaded', { container: input.id, profile: p.localhostRef });
    }
    return input.localhostSeccomp;
  }
  throw invalidArgument(`unknown seccomp profile type ${String(p.profileType)}`, { container: input.id });
}

function buildApparmor(input: ContainerSpecInput, sc: CriSecurityContext, privileged: boolean): string | undefined {
  const p = sc.apparmor;
  if (privileged || !p || p.profileType === 'Unconfined') return undefined;
  if (p.profileType === 'Localhost') {
    if (!input.apparmorEnabled) throw invalidArgument('AppArmor is not enabled on this host', { container: input.id });
    const name = (p.localhostRef ?? '').replace(/^localhost\//, '');
    if (!name) throw invalidArgument('Localhost AppArmor profile without a name', { container: input.id });
    return name;
  }
  return input.apparmorEnabled ? input.apparmorDefaultProfile : undefined;
}

function buildDevices(input: ContainerSpecInput, privileged: boolean): { devices: OciLinuxDevice[]; rules: OciDeviceCgroup[] } {
  const resolved = privileged ? [...(input.hostDevices ?? []), ...(input.devices ?? [])] : (input.devices ?? []);
  const byPath = new Map<string, ResolvedDevice>();
  for (const d of resolved) byPath.set(checkAbsolute(d.containerPath, 'device path'), d);
  const devices: OciLinuxDevice[] = [...byPath.values()].map((d) => ({
    path: posix.normalize(d.containerPath),
    type: d.type,
    major: d.major,
    minor: d.minor,
    fileMode: d.fileMode,
    uid: d.uid,
    gid: d.gid,
  }));
  if (privileged) return { devices, rules: [{ allow: true, access: 'rwm' }] };
  const rules: OciDeviceCgroup[] = [{ allow: false, access: 'rwm' }];
  for (const d of input.devices ?? []) {
    const access = d.permissions || 'rwm';
    if (!/^[rwm]{1,3}$/.test(access)) throw invalidArgument(`invalid device permissions "${access}"`, { device: d.hostPath });
    rules.push({ allow: true, type: d.type, major: d.major, minor: d.minor, access });
  }
  return { devices, rules };
}

function checkSysctls(sysctls: Record<string, string>, network: NamespaceMode, ipc: NamespaceMode): void {
  for (const key of Object.keys(sysctls)) {
    if (network === 'NODE' && NET_SYSCTL.test(key)) throw invalidArgument(`sysctl ${key} needs a pod network namespace`, { sysctl: key });
    if (ipc === 'NODE' && IPC_SYSCTL.test(key)) throw invalidArgument(`sysctl ${key} needs a pod ipc namespace`, { sysctl: key });
  }
}

// ---- the builder ----

export function buildContainerSpec(input: ContainerSpecInput): OciSpec {
  const cfg = input.config;
  const sc = cfg.linux?.securityContext ?? {};
  const privileged = sc.privileged === true;
  const readonlyRootfs = sc.readonlyRootfs === true;
  const nsOpts = sc.namespaceOptions ?? {};
  if (!input.rootfs.startsWith('/')) throw invalidArgument('rootfs path must be absolute', { rootfs: input.rootfs });

  const namespaces = buildNamespaces(input, nsOpts);
  const { mounts, rootfsPropagation } = buildMounts(input, privileged, readonlyRootfs, nsOpts.ipc ?? 'POD');
  const capabilities = buildCapabilities(sc, privileged, input.hostCapabilities);
  const { devices, rules } = buildDevices(input, privileged);

  const resources = linuxResources(cfg.linux?.resources, { cgroupV2: input.cgroupV2, swapControllerAvailable: input.swapControllerAvailable });
  resources.devices = rules;

  const sysctl = { ...(input.pod.sysctls ?? {}) };
  checkSysctls(sysctl, nsOpts.network ?? 'POD', nsOpts.ipc ?? 'POD');

  const tty = cfg.tty === true;
  const spec: OciSpec = {
    ociVersion: OCI_RUNTIME_SPEC_VERSION,
    process: {
      terminal: tty,
      user: { uid: input.user.uid, gid: input.user.gid, additionalGids: input.user.additionalGids },
      args: processArgs(cfg, input.image),
      env: mergeEnv({ hostname: input.pod.hostname, image: input.image.config?.Env, cri: cfg.envs, tty, home: input.user.home }),
      cwd: workingDir(cfg, input.image),
      capabilities,
      noNewPrivileges: sc.noNewPrivs === true,
      oomScoreAdj: clampOomScoreAdj(cfg.linux?.resources?.oomScoreAdj, input.oomScoreAdjFloor),
    },
    root: { path: input.rootfs, readonly: readonlyRootfs },
    mounts,
    annotations: {
      [Annotation.ContainerType]: 'container',
      [Annotation.SandboxId]: input.pod.id,
      [Annotation.SandboxName]: input.pod.name,
      [Annotation.SandboxNamespace]: input.pod.namespace,
      [Annotation.SandboxUid]: input.pod.uid,
      [Annotation.ContainerName]: input.name,
      [Annotation.ImageName]: input.imageName,
    },
    linux: {
      namespaces: namespaces.list,
      devices,
      cgroupsPath: cgroupsPath(input.cgroupDriver, input.pod.cgroupParent, input.id),
      resources,
      maskedPaths: privileged ? [] : [...(sc.maskedPaths ?? DEFAULT_MASKED_PATHS)],
      readonlyPaths: privileged ? [] : [...(sc.readonlyPaths ?? DEFAULT_READONLY_PATHS)],
    },
  };
  // Setting the hostname needs a UTS namespace of our own; a joined pod UTS already has it.
  if (namespaces.newUts && input.pod.hostname) spec.hostname = input.pod.hostname;
  if (rootfsPropagation) spec.linux.rootfsPropagation = rootfsPropagation;
  if (Object.keys(sysctl).length > 0) spec.linux.sysctl = sysctl;
  const seccomp = buildSeccomp(input, sc, privileged, capabilities.bounding);
  if (seccomp) spec.linux.seccomp = seccomp;
  const apparmor = buildApparmor(input, sc, privileged);
  if (apparmor) spec.process.apparmorProfile = apparmor;
  return spec;
}
