// The runtime domain's own types: what a pod or container is asked to be (specs, translated from
// CRI by src/cri/), and what berth remembers about it (records, persisted atomically).
import type { CriContainerConfig, CriSecurityContext, CriLinuxResources, NamespaceMode } from '../oci/spec-builder';
import type { PodPortMapping } from '../network/pod-network';

export interface DnsConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

export interface PodSandboxSpec {
  metadata: { name: string; uid: string; namespace: string; attempt: number };
  hostname: string;
  logDirectory: string;
  dnsConfig?: DnsConfig;
  portMappings: PodPortMapping[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  linux: {
    cgroupParent: string;
    sysctls: Record<string, string>;
    securityContext: CriSecurityContext;
    resources?: CriLinuxResources;
  };
}

export interface ContainerSpec {
  metadata: { name: string; attempt: number };
  /** The image as the client named it (id, reference, or digest reference). */
  image: string;
  config: CriContainerConfig;
  /** Relative to the pod's log directory. */
  logPath: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export type PodState = 'creating' | 'ready' | 'notready';

export interface PodRecord {
  id: string;
  /** Reserved unique name: name_namespace_uid_attempt. */
  fullName: string;
  spec: PodSandboxSpec;
  runtimeHandler: string;
  state: PodState;
  /** Nanoseconds since the epoch, as a decimal string (int64 in CRI). */
  createdAt: string;
  /** Pinned namespace files; absent kinds are the host's. */
  namespaces: { net?: string; ipc?: string; uts?: string };
  pidMode: NamespaceMode;
  networkMode: NamespaceMode;
  ipcMode: NamespaceMode;
  infra?: { pid: number; startTime: number };
  ips: string[];
  dir: string;
  files?: { hostnamePath: string; hostsPath: string; resolvConfPath: string };
  shmPath?: string;
  cgroupParent: string;
  /** CNI set up (and so needs DEL). */
  networkAttached: boolean;
}

export type ContainerState = 'creating' | 'created' | 'running' | 'exited' | 'unknown';

export interface ContainerRecord {
  id: string;
  podId: string;
  fullName: string;
  spec: ContainerSpec;
  /** Image id (config digest) resolved at creation. */
  imageId: string;
  /** What ContainerStatus reports as image / image_ref. */
  imageName: string;
  imageRef: string;
  state: ContainerState;
  createdAt: string;
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  reason: string;
  message: string;
  runtimeHandler: string;
  dir: string;
  bundle: string;
  rootfs: string;
  logPath: string;
  pid?: number;
  conmonPid?: number;
  stopSignal: string;
  resources?: CriLinuxResources;
  cgroupsPath: string;
}

export const nowNs = (): string => (BigInt(Date.now()) * 1_000_000n).toString();

export function podFullName(m: PodSandboxSpec['metadata']): string {
  return `${m.name}_${m.namespace}_${m.uid}_${m.attempt}`;
}

export function containerFullName(m: ContainerSpec['metadata'], pod: PodSandboxSpec['metadata']): string {
  return `${m.name}_${pod.name}_${pod.namespace}_${pod.uid}_${m.attempt}`;
}
