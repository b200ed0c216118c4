// Runtime stats samples → CRI ContainerStats / PodSandboxStats.
import type { ContainerStats, CpuUsage, MemoryUsage, PodSandboxStats } from './proto';
import type { ContainerStatsSample } from '../runtime/stats';
import type { PodRecord } from '../runtime/types';

const u64 = (v: bigint | number | undefined) => (v === undefined ? null : { value: v.toString() });
const nowNs = () => (BigInt(Date.now()) * 1_000_000n).toString();

function cpu(s: ContainerStatsSample): CpuUsage | null {
  const c = s.cgroup;
  if (!c) return null;
  return { timestamp: c.timestampNs.toString(), usageCoreNanoSeconds: u64(c.cpu.usageCoreNanoSeconds), usageNanoCores: u64(c.cpu.usageNanoCores ?? 0n) };
}

function memory(s: ContainerStatsSample): MemoryUsage | null {
  const c = s.cgroup;
  if (!c) return null;
  const m = c.memory;
  return {
    timestamp: c.timestampNs.toString(),
    workingSetBytes: u64(m.workingSetBytes),
    availableBytes: u64(m.availableBytes),
    usageBytes: u64(m.usageBytes),
    rssBytes: u64(m.rssBytes),
    pageFaults: u64(m.pageFaults),
    majorPageFaults: u64(m.majorPageFaults),
  };
}

export function toContainerStats(s: ContainerStatsSample): ContainerStats {
  const c = s.container;
  const w = s.writableLayer;
  return {
    attributes: { id: c.id, metadata: c.spec.metadata, labels: c.spec.labels, annotations: c.spec.annotations },
    cpu: cpu(s) ?? { timestamp: nowNs(), usageCoreNanoSeconds: u64(0), usageNanoCores: u64(0) },
    memory: memory(s) ?? { timestamp: nowNs(), workingSetBytes: u64(0) },
    writableLayer: w
      ? { timestamp: w.timestampNs.toString(), fsId: { mountpoint: w.mountpoint }, usedBytes: u64(w.usedBytes), inodesUsed: u64(w.inodesUsed) }
      : null,
  };
}

/** A pod's figures are the sums of its containers'. */
export function toPodSandboxStats(p: PodRecord, samples: ContainerStatsSample[]): PodSandboxStats {
  let cpuNs = 0n;
  let nanoCores = 0n;
  let ws = 0n;
  let usage = 0n;
  let rss = 0n;
  let procs = 0;
  for (const s of samples) {
    if (!s.cgroup) continue;
    cpuNs += s.cgroup.cpu.usageCoreNanoSeconds;
    nanoCores += s.cgroup.cpu.usageNanoCores ?? 0n;
    ws += BigInt(s.cgroup.memory.workingSetBytes);
    usage += BigInt(s.cgroup.memory.usageBytes);
    rss += BigInt(s.cgroup.memory.rssBytes);
    procs += s.cgroup.pids ?? 0;
  }
  const ts = nowNs();
  return {
    attributes: { id: p.id, metadata: p.spec.metadata, labels: p.spec.labels, annotations: p.spec.annotations },
    linux: {
      cpu: { timestamp: ts, usageCoreNanoSeconds: u64(cpuNs), usageNanoCores: u64(nanoCores) },
      memory: { timestamp: ts, workingSetBytes: u64(ws), usageBytes: u64(usage), rssBytes: u64(rss) },
      process: { timestamp: ts, processCount: u64(procs) },
      containers: samples.map(toContainerStats),
    },
  };
}
