// Pod networking as the runtime sees it: attach a pod's pinned netns to the default CNI network,
// detach it, and clean up after pods that no longer exist.
import { failedPrecondition, invalidArgument, unavailable } from '../util/errors';
import { logger } from '../util/log';
import type { NetworkConfigList, NetworkReadiness } from './cni-config';
import type { CapabilityArgs, PortMapping } from './cni-protocol';
import { podIPs, type CniResult } from './cni-result';
import { CniDriver } from './cni';
import { listPinned, unpinNamespaces, type PinnedNamespaces } from './namespaces';
import { KeyedSerial } from '../util/keyed-serial';

const log = logger('pod-network');

export interface PodMeta {
  name: string;
  namespace: string;
  uid: string;
}

/** A pod port as CRI describes it; only mappings with a host port reach the portmap plugin. */
export interface PodPortMapping {
  protocol?: string;
  containerPort: number;
  hostPort?: number;
  hostIP?: string;
}

export interface PodNetworkSetup {
  /** Pod IPs, primary first (CRI: ip, then additional_ips). */
  ips: string[];
  result: CniResult;
}

export interface ReconcileReport {
  /** Pods whose recorded CNI attachment was deleted. */
  detached: string[];
  /** Pods whose pinned namespaces were removed. */
  unpinned: string[];
  failures: { podId: string; error: string }[];
}

export interface PodNetworkOptions {
  /** berth's state dir (CNI attachment records live below it). */
  stateDir: string;
  /** Where pod namespaces are pinned (the dir given to pinNamespaces). */
  nsDir: string;
  binDirs: string[];
  /** The network to attach new pods to, e.g. () => watcher.current(). */
  network: () => NetworkConfigList | undefined;
  /** Why the network is not usable, e.g. () => watcher.status(). */
  readiness?: () => NetworkReadiness;
  timeoutMs?: number;
  ifName?: string;
}

const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);

/** CRI port mappings → the CNI portMappings capability (host-port ones only). */
export function toCniPortMappings(ports: readonly PodPortMapping[]): PortMapping[] {
  const out: PortMapping[] = [];
  for (const p of ports) {
    if (!p.hostPort || p.hostPort <= 0) continue;
    const protocol = (p.protocol ?? 'tcp').toLowerCase();
    if (!PROTOCOLS.has(protocol)) throw invalidArgument(`unsupported port protocol "${p.protocol}"`);
    for (const port of [p.hostPort, p.containerPort])
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalidArgument(`invalid port ${port}`);
    const m: PortMapping = { hostPort: p.hostPort, containerPort: p.containerPort, protocol: protocol as PortMapping['protocol'] };
    if (p.hostIP) m.hostIP = p.hostIP;
    out.push(m);
  }
  return out;
}

export class PodNetwork {
  readonly driver: CniDriver;
  private readonly ifName: string;
  // The CNI spec forbids concurrent operations on one container; serialize per pod.
  private readonly locks = new KeyedSerial();

  constructor(private readonly opts: PodNetworkOptions) {
    this.driver = new CniDriver({ binDirs: opts.binDirs, stateDir: opts.stateDir, timeoutMs: opts.timeoutMs });
    this.ifName = opts.ifName ?? 'eth0';
  }

  async setUpPodNetwork(
    podId: string,
    namespaces: PinnedNamespaces,
    meta: PodMeta,
    portMappings: readonly PodPortMapping[] = [],
    extraCapabilities: CapabilityArgs = {},
  ): Promise<PodNetworkSetup> {
    const netns = namespaces.paths.net;
    if (!netns) throw failedPrecondition(`pod ${podId} has no pinned network namespace`, { podId });
    const net = this.opts.network();
    if (!net) {
      const st = this.opts.readiness?.();
      throw unavailable(`network plugin not ready: ${st?.message ?? 'no CNI network config'}`, { podId, reason: st?.reason });
    }
    const capabilityArgs: CapabilityArgs = { ...extraCapabilities };
    const pm = toCniPortMappings(portMappings);
    if (pm.length) capabilityArgs.portMappings = pm;
    return this.locks.run(podId, async () => {
      const result = await this.driver.add(net, {
        containerId: podId,
        netnsPath: netns,
        ifName: this.ifName,
        args: {
          K8S_POD_NAMESPACE: meta.namespace,
          K8S_POD_NAME: meta.name,
          K8S_POD_INFRA_CONTAINER_ID: podId,
          K8S_POD_UID: meta.uid,
        },
        capabilityArgs,
      });
      return { ips: podIPs(result, this.ifName), result };
    });
  }

  /** Detach the pod; fine if it was never attached or its netns is already gone. */
  tearDownPodNetwork(podId: string): Promise<void> {
    return this.locks.run(podId, () => this.driver.del(podId));
  }

  /** The recorded network state of a pod (e.g. for PodSandboxStatus after a restart). */
  async podNetworkStatus(podId: string): Promise<PodNetworkSetup | undefined> {
    const a = await this.driver.attachment(podId);
    if (!a?.result) return undefined;
    return { ips: podIPs(a.result, a.runtime.ifName ?? this.ifName), result: a.result };
  }

  checkPodNetwork(podId: string): Promise<void> {
    return this.locks.run(podId, () => this.driver.check(podId));
  }

  /**
   * Startup cleanup: DEL every recorded attachment of a pod not in `knownPodIds` (while its netns
   * still exists, so plugins can clean inside it), then unpin such pods' namespaces.
   */
  async reconcileNetworks(knownPodIds: Iterable<string>): Promise<ReconcileReport> {
    const known = new Set(knownPodIds);
    const report: ReconcileReport = { detached: [], unpinned: [], failures: [] };
    // A pod whose DEL failed keeps its netns, so a later retry can still clean up inside it.
    const keep = new Set<string>();
    for (const id of await this.driver.attachedIds()) {
      if (known.has(id)) continue;
      try {
        await this.locks.run(id, () => this.driver.del(id));
        report.detached.push(id);
      } catch (e) {
        report.failures.push({ podId: id, error: (e as Error).message });
        keep.add(id);
      }
    }
    for (const pinned of await listPinned(this.opts.nsDir)) {
      if (known.has(pinned.podId) || keep.has(pinned.podId)) continue;
      try {
        await unpinNamespaces(this.opts.nsDir, pinned.podId);
        report.unpinned.push(pinned.podId);
      } catch (e) {
        report.failures.push({ podId: pinned.podId, error: (e as Error).message });
      }
    }
    if (report.detached.length || report.unpinned.length || report.failures.length) log.info(report, 'reconciled pod networks');
    return report;
  }
}
