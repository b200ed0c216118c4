// CRI protobuf messages ⇄ runtime domain types. Proto3 leaves no way to tell "unset" from
// "empty", so empty strings, zero numbers and empty lists become undefined where the domain has a
// default (the Go runtimes behave the same way, since Go decodes empty repeated fields as nil).
import type {
  ContainerConfig__Output,
  LinuxContainerResources__Output,
  LinuxContainerSecurityContext__Output,
  NamespaceOption__Output,
  PodSandboxConfig__Output,
  SecurityProfile__Output,
  Container,
  ContainerStatus,
  PodSandbox,
  PodSandboxStatus,
} from './proto';
import { invalidArgument } from '../util/errors';
import type { CriContainerConfig, CriLinuxResources, CriSecurityContext, NamespaceMode, NamespaceOptions, SecurityProfile } from '../oci/spec-builder';
import type { ContainerRecord, ContainerSpec, PodRecord, PodSandboxSpec } from '../runtime/types';

const num = (s: string | undefined): number | undefined => {
  if (s === undefined || s === '' || s === '0') return undefined;
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw invalidArgument(`number ${s} is out of range`);
  return n;
};
const strOrUndef = (s: string | undefined): string | undefined => (s ? s : undefined);
const listOrUndef = <T>(l: T[] | undefined): T[] | undefined => (l && l.length ? l : undefined);

function nsMode(m: string | undefined): NamespaceMode {
  switch (m) {
    case 'CONTAINER':
    case 'NODE':
    case 'TARGET':
    case 'POD':
      return m;
    default:
      return 'POD';
  }
}

export function namespaceOptions(o: NamespaceOption__Output | null | undefined): NamespaceOptions {
  return {
    network: nsMode(o?.network),
    pid: nsMode(o?.pid),
    ipc: nsMode(o?.ipc),
    targetId: strOrUndef(o?.targetId),
  };
}

function profile(p: SecurityProfile__Output | null | undefined, legacyPath?: string): SecurityProfile | undefined {
  if (p) {
    const t = p.profileType;
    if (t === 'Localhost') return { profileType: 'Localhost', localhostRef: p.localhostRef };
    if (t === 'Unconfined') return { profileType: 'Unconfined' };
    return { profileType: 'RuntimeDefault' };
  }
  // Deprecated string form: "runtime/default", "docker/default", "unconfined", "localhost/<path>".
  if (!legacyPath) return undefined;
  if (legacyPath === 'unconfined') return { profileType: 'Unconfined' };
  if (legacyPath === 'runtime/default' || legacyPath === 'docker/default') return { profileType: 'RuntimeDefault' };
  if (legacyPath.startsWith('localhost/')) return { profileType: 'Localhost', localhostRef: legacyPath.slice('localhost/'.length) };
  throw invalidArgument(`security profile "${legacyPath}" is not runtime/default, docker/default, unconfined or localhost/<path>`, { profile: legacyPath });
}

export function resources(r: LinuxContainerResources__Output | null | undefined): CriLinuxResources | undefined {
  if (!r) return undefined;
  const oom = r.oomScoreAdj ? Number(r.oomScoreAdj) : undefined;
  return {
    cpuPeriod: num(r.cpuPeriod),
    cpuQuota: r.cpuQuota && r.cpuQuota !== '0' ? Number(r.cpuQuota) : undefined,
    cpuShares: num(r.cpuShares),
    memoryLimitInBytes: num(r.memoryLimitInBytes),
    oomScoreAdj: oom,
    cpusetCpus: strOrUndef(r.cpusetCpus),
    cpusetMems: strOrUndef(r.cpusetMems),
    hugepageLimits: listOrUndef(r.hugepageLimits.map((h) => ({ pageSize: h.pageSize, limit: Number(h.limit) }))),
    unified: Object.keys(r.unified ?? {}).length ? r.unified : undefined,
    memorySwapLimitInBytes: num(r.memorySwapLimitInBytes),
  };
}

function containerSecurity(s: LinuxContainerSecurityContext__Output | null | undefined): CriSecurityContext | undefined {
  if (!s) return undefined;
  return {
    capabilities: s.capabilities
      ? {
          addCapabilities: s.capabilities.addCapabilities,
          dropCapabilities: s.capabilities.dropCapabilities,
          addAmbientCapabilities: s.capabilities.addAmbientCapabilities,
        }
      : undefined,
    privileged: s.privileged,
    namespaceOptions: namespaceOptions(s.namespaceOptions),
    runAsUser: s.runAsUser ? Number(s.runAsUser.value) : undefined,
    runAsGroup: s.runAsGroup ? Number(s.runAsGroup.value) : undefined,
    runAsUsername: strOrUndef(s.runAsUsername),
    readonlyRootfs: s.readonlyRootfs,
    supplementalGroups: s.supplementalGroups.map(Number),
    noNewPrivs: s.noNewPrivs,
    maskedPaths: listOrUndef(s.maskedPaths),
    readonlyPaths: listOrUndef(s.readonlyPaths),
    seccomp: profile(s.seccomp, s.seccompProfilePath),
    apparmor: profile(s.apparmor, s.apparmorProfile),
  };
}

export function podSandboxSpec(c: PodSandboxConfig__Output | null | undefined): PodSandboxSpec {
  if (!c) throw invalidArgument('pod sandbox config is required');
  const m = c.metadata;
  if (!m) throw invalidArgument('pod sandbox config has no metadata');
  const sc = c.linux?.securityContext;
  return {
    metadata: { name: m.name, uid: m.uid, namespace: m.namespace, attempt: m.attempt },
    hostname: c.hostname,
    logDirectory: c.logDirectory,
    dnsConfig: c.dnsConfig ? { servers: c.dnsConfig.servers, searches: c.dnsConfig.searches, options: c.dnsConfig.options } : undefined,
    portMappings: c.portMappings.map((p) => ({
      protocol: p.protocol,
      containerPort: p.containerPort,
      hostPort: p.hostPort || undefined,
      hostIP: strOrUndef(p.hostIp),
    })),
    labels: c.labels ?? {},
    annotations: c.annotations ?? {},
    linux: {
      cgroupParent: c.linux?.cgroupParent ?? '',
      sysctls: c.linux?.sysctls ?? {},
      securityContext: {
        namespaceOptions: namespaceOptions(sc?.namespaceOptions),
        privileged: sc?.privileged ?? false,
        readonlyRootfs: sc?.readonlyRootfs ?? false,
        runAsUser: sc?.runAsUser ? Number(sc.runAsUser.value) : undefined,
        runAsGroup: sc?.runAsGroup ? Number(sc.runAsGroup.value) : undefined,
        supplementalGroups: sc?.supplementalGroups.map(Number) ?? [],
        seccomp: profile(sc?.seccomp, sc?.seccompProfilePath),
      },
      resources: resources(c.linux?.resources),
    },
  };
}

export function containerSpec(c: ContainerConfig__Output | null | undefined): ContainerSpec {
  if (!c) throw invalidArgument('container config is required');
  if (!c.metadata) throw invalidArgument('container config has no metadata');
  const config: CriContainerConfig = {
    command: c.command,
    args: c.args,
    workingDir: strOrUndef(c.workingDir),
    // KeyValue.value is bytes since cri-api v0.36; older clients send strings (same wire type).
    envs: c.envs.map((kv) => ({ key: kv.key, value: Buffer.isBuffer(kv.value) ? kv.value.toString('utf8') : String(kv.value) })),
    mounts: c.mounts.map((mt) => ({
      containerPath: mt.containerPath,
      hostPath: mt.hostPath,
      readonly: mt.readonly,
      selinuxRelabel: mt.selinuxRelabel,
      propagation:
        mt.propagation === 'PROPAGATION_HOST_TO_CONTAINER' ? 'host-to-container' : mt.propagation === 'PROPAGATION_BIDIRECTIONAL' ? 'bidirectional' : 'private',
    })),
    devices: c.devices.map((d) => ({ containerPath: d.containerPath, hostPath: d.hostPath, permissions: d.permissions })),
    tty: c.tty,
    stdin: c.stdin,
    stdinOnce: c.stdinOnce,
    linux: c.linux ? { resources: resources(c.linux.resources), securityContext: containerSecurity(c.linux.securityContext) } : undefined,
  };
  return {
    metadata: { name: c.metadata.name, attempt: c.metadata.attempt },
    image: c.image?.image ?? '',
    config,
    logPath: c.logPath,
    labels: c.labels ?? {},
    annotations: c.annotations ?? {},
  };
}

const POD_STATE = { ready: 'SANDBOX_READY', notready: 'SANDBOX_NOTREADY', creating: 'SANDBOX_NOTREADY' } as const;
const CTR_STATE = {
  creating: 'CONTAINER_UNKNOWN',
  created: 'CONTAINER_CREATED',
  running: 'CONTAINER_RUNNING',
  exited: 'CONTAINER_EXITED',
  unknown: 'CONTAINER_UNKNOWN',
} as const;

export function toPodSandbox(p: PodRecord): PodSandbox {
  return {
    id: p.id,
    metadata: p.spec.metadata,
    state: POD_STATE[p.state],
    createdAt: p.createdAt,
    labels: p.spec.labels,
    annotations: p.spec.annotations,
    runtimeHandler: p.runtimeHandler,
  };
}

export function toPodSandboxStatus(p: PodRecord): PodSandboxStatus {
  const [ip, ...more] = p.ips;
  const ns = p.spec.linux.securityContext.namespaceOptions ?? {};
  return {
    id: p.id,
    metadata: p.spec.metadata,
    state: POD_STATE[p.state],
    createdAt: p.createdAt,
    network: { ip: ip ?? '', additionalIps: more.map((x) => ({ ip: x })) },
    linux: {
      namespaces: {
        options: { network: ns.network ?? 'POD', pid: ns.pid ?? 'POD', ipc: ns.ipc ?? 'POD', targetId: ns.targetId ?? '' },
      },
    },
    labels: p.spec.labels,
    annotations: p.spec.annotations,
    runtimeHandler: p.runtimeHandler,
  };
}

export function toContainer(c: ContainerRecord): Container {
  return {
    id: c.id,
    podSandboxId: c.podId,
    metadata: c.spec.metadata,
    image: { image: c.imageName, annotations: {} },
    imageRef: c.imageRef,
    state: CTR_STATE[c.state],
    createdAt: c.createdAt,
    labels: c.spec.labels,
    annotations: c.spec.annotations,
    imageId: c.imageId,
  };
}

export function toContainerStatus(c: ContainerRecord): ContainerStatus {
  const r = c.resources;
  return {
    id: c.id,
    metadata: c.spec.metadata,
    state: CTR_STATE[c.state],
    createdAt: c.createdAt,
    startedAt: c.startedAt,
    finishedAt: c.finishedAt,
    exitCode: c.exitCode,
    image: { image: c.imageName, annotations: {} },
    imageRef: c.imageRef,
    imageId: c.imageId,
    reason: c.reason,
    message: c.message,
    labels: c.spec.labels,
    annotations: c.spec.annotations,
    mounts: (c.spec.config.mounts ?? []).map((m) => ({
      containerPath: m.containerPath,
      hostPath: m.hostPath,
      readonly: m.readonly ?? false,
      selinuxRelabel: m.selinuxRelabel ?? false,
      propagation:
        m.propagation === 'host-to-container' ? 'PROPAGATION_HOST_TO_CONTAINER' : m.propagation === 'bidirectional' ? 'PROPAGATION_BIDIRECTIONAL' : 'PROPAGATION_PRIVATE',
    })),
    logPath: c.logPath,
    resources: r
      ? {
          linux: {
            cpuPeriod: String(r.cpuPeriod ?? 0),
            cpuQuota: String(r.cpuQuota ?? 0),
            cpuShares: String(r.cpuShares ?? 0),
            memoryLimitInBytes: String(r.memoryLimitInBytes ?? 0),
            oomScoreAdj: String(r.oomScoreAdj ?? 0),
            cpusetCpus: r.cpusetCpus ?? '',
            cpusetMems: r.cpusetMems ?? '',
            hugepageLimits: (r.hugepageLimits ?? []).map((h) => ({ pageSize: h.pageSize, limit: String(h.limit) })),
            unified: r.unified ?? {},
            memorySwapLimitInBytes: String(r.memorySwapLimitInBytes ?? 0),
          },
        }
      : null,
  };
}
