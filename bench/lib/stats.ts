// Summary statistics and process memory/CPU readings for benchmarks.
import { readFileSync } from 'node:fs';
import { descendants } from './procs';

export interface Summary {
  n: number;
  min: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
}

/** Percentile with linear interpolation between the closest ranks (p in [0, 100]). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

export function summarize(values: readonly number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  return {
    n: s.length,
    min: s[0] ?? NaN,
    p50: percentile(s, 50),
    p99: percentile(s, 99),
    mean: s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN,
    max: s[s.length - 1] ?? NaN,
  };
}

/** A `kB` field of /proc/<pid>/status (VmHWM, VmRSS, ...) in bytes; undefined if the process is gone. */
export function statusBytes(pid: number, field: 'VmHWM' | 'VmRSS' | 'VmPeak' | 'VmSize'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Peak resident set size of a process so far (VmHWM), bytes. */
export const peakRss = (pid: number) => statusBytes(pid, 'VmHWM');
/** Current resident set size (VmRSS), bytes. */
export const currentRss = (pid: number) => statusBytes(pid, 'VmRSS');

const CLK_TCK = 100; // USER_HZ on Linux

/** User+system CPU seconds of a process (its own, not its children's), or undefined if gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After ")": state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** User+system CPU seconds of a process itself, without the children it reaped; undefined if gone. */
export function ownCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

export interface TreeSample {
  /** Largest sum of RSS over the root and its descendants seen at one sample, bytes. */
  peakTreeRss: number;
  /** VmHWM of every process seen (root and descendants), by pid, bytes (last reading). */
  hwm: Map<number, number>;
  samples: number;
}

/**
 * Samples the RSS of a process tree while something runs. The root is read every `intervalMs`;
 * the descendant list (a /proc scan, which is not free on a 2-core VM) is refreshed every
 * `scanEveryMs`. `extraPids` adds processes that are not descendants (e.g. daemonized shims).
 */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private kids: number[] = [];
  private lastScan = 0;
  private readonly result: TreeSample = { peakTreeRss: 0, hwm: new Map(), samples: 0 };

  constructor(
    private readonly rootPid: number,
    private readonly opts: { intervalMs?: number; scanEveryMs?: number; extraPids?: () => number[] } = {},
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.opts.intervalMs ?? 25);
    return this;
  }

  private sample(): void {
    const now = Date.now();
    if (now - this.lastScan >= (this.opts.scanEveryMs ?? 250)) {
      this.lastScan = now;
      this.kids = [...descendants(this.rootPid), ...(this.opts.extraPids?.() ?? [])];
    }
    let sum = 0;
    for (const pid of [this.rootPid, ...this.kids]) {
      let status: string;
      try {
        status = readFileSync(`/proc/${pid}/status`, 'utf8');
      } catch {
        continue; // exited since the last scan
      }
      const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
      const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status);
      if (rss) sum += Number(rss[1]) * 1024;
      if (hwm) this.result.hwm.set(pid, Number(hwm[1]) * 1024);
    }
    this.result.samples++;
    if (sum > this.result.peakTreeRss) this.result.peakTreeRss = sum;
  }

  stop(): TreeSample {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    return this.result;
  }
}

export const MiB = 1024 * 1024;
export const fmtMiB = (b: number) => `${(b / MiB).toFixed(1)} MiB`;
export const fmtSec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/**
 * Proportional set size (Pss from /proc/<pid>/smaps_rollup), bytes: shared pages (the same shim or
 * conmon binary and libraries in 50 processes) are split between their users, so a sum of PSS over
 * processes does not count them 50 times as a sum of RSS does. Undefined if gone or not available.
 */
export function pssBytes(pid: number): number | undefined {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
