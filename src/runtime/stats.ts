// Container and pod stats: CPU and memory from cgroups (v1 or v2), the writable layer from the
// container's snapshot (one walk per LAYER_USAGE_MAX_AGE_MS). Pods sum their containers.
import { isBerthError } from '../util/errors';
import type { OverlaySnapshotter } from '../snapshot/overlay';
import type { CgroupDriver } from '../oci/spec-builder';
import { CpuRateTracker, cgroupDirs, readContainerStats, type CgroupMode, type ContainerStats } from './cgroup-stats';
import type { ContainerManager, ContainerFilter } from './container-manager';
import type { ContainerRecord } from './types';

export interface WritableLayerStats {
  timestampNs: bigint;
  mountpoint: string;
  usedBytes: number;
  inodesUsed: number;
}

export interface ContainerStatsSample {
  container: ContainerRecord;
  /** Undefined when the container has no cgroup (not created yet, or exited). */
  cgroup?: ContainerStats;
  writableLayer?: WritableLayerStats;
}

/**
 * How long one walk of a writable layer answers for: the walk visits every file of the layer, and
 * the kubelet asks for every container's stats every few seconds. Concurrent calls share a walk.
 */
export const LAYER_USAGE_MAX_AGE_MS = 5_000;

interface LayerUsageSample {
  at: number;
  usage: Promise<{ bytes: number; inodes: number }>;
}

export class StatsCollector {
  private readonly cpuRates = new CpuRateTracker();
  private readonly layerUsage = new Map<string, LayerUsageSample>();

  constructor(
    private readonly containers: ContainerManager,
    private readonly snapshots: OverlaySnapshotter,
    private readonly driver: CgroupDriver,
    private readonly mode: CgroupMode,
  ) {}

  async container(rec: ContainerRecord): Promise<ContainerStatsSample> {
    let cgroup: ContainerStats | undefined;
    if (rec.state === 'created' || rec.state === 'running') {
      try {
        cgroup = await readContainerStats(cgroupDirs(rec.cgroupsPath, this.driver, this.mode), { tracker: this.cpuRates, id: rec.id });
      } catch (e) {
        // The container may have exited between the state check and the read.
        if (!isBerthError(e, 'not-found')) throw e;
      }
    } else {
      this.cpuRates.forget(rec.id);
    }
    let writableLayer: WritableLayerStats | undefined;
    try {
      const sample = this.layerSample(rec.id);
      const u = await sample.usage;
      writableLayer = { timestampNs: BigInt(sample.at) * 1_000_000n, mountpoint: rec.rootfs, usedBytes: u.bytes, inodesUsed: u.inodes };
    } catch (e) {
      if (!isBerthError(e, 'not-found')) throw e;
    }
    return { container: rec, cgroup, writableLayer };
  }

  private layerSample(id: string): LayerUsageSample {
    const now = Date.now();
    const cached = this.layerUsage.get(id);
    if (cached && now - cached.at < LAYER_USAGE_MAX_AGE_MS) return cached;
    const sample: LayerUsageSample = { at: now, usage: this.snapshots.usage(id) };
    this.layerUsage.set(id, sample);
    // A failed walk (the container was just removed) is not remembered.
    sample.usage.catch(() => {
      if (this.layerUsage.get(id) === sample) this.layerUsage.delete(id);
    });
    return sample;
  }

  async byId(id: string): Promise<ContainerStatsSample> {
    return this.container(this.containers.require(id));
  }

  async list(filter: ContainerFilter): Promise<ContainerStatsSample[]> {
    // Forget the samples of containers that are gone.
    for (const id of this.layerUsage.keys()) if (!this.containers.get(id)) this.layerUsage.delete(id);
    return Promise.all(this.containers.list(filter).map((c) => this.container(c)));
  }
}
