// Container and pod stats: CPU and memory from cgroups (v1 or v2), the writable layer from the
// container's snapshot. Pods sum their containers.
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

export class StatsCollector {
  private readonly cpuRates = new CpuRateTracker();

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
      const u = await this.snapshots.usage(rec.id);
      writableLayer = { timestampNs: BigInt(Date.now()) * 1_000_000n, mountpoint: rec.rootfs, usedBytes: u.bytes, inodesUsed: u.inodes };
    } catch (e) {
      if (!isBerthError(e, 'not-found')) throw e;
    }
    return { container: rec, cgroup, writableLayer };
  }

  async byId(id: string): Promise<ContainerStatsSample> {
    return this.container(this.containers.require(id));
  }

  async list(filter: ContainerFilter): Promise<ContainerStatsSample[]> {
    return Promise.all(this.containers.list(filter).map((c) => this.container(c)));
  }
}
