// CRI container/pod stats read straight from cgroupfs, v1 (one hierarchy per controller under
// <root>/<controller>/) and v2 (unified: <root>/<path>/), with the kubelet's definitions; plus
// creation and removal of the pod-level parent cgroup berth makes when the kubelet gives none.
// The cgroup root is a parameter everywhere so tests can point it at fixture files.
import { promises as fsp, statfs as statfsCb } from 'node:fs';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { BerthError, errorMessage, failedPrecondition, internal, invalidArgument, notFound } from '../util/errors';
import { logger } from '../util/log';
import type { CgroupDriver } from '../oci/spec-builder';

const log = logger('cgroup');
const statfs = promisify(statfsCb);

export type CgroupMode = 'v1' | 'v2';
export const CGROUP_ROOT = '/sys/fs/cgroup';
const CGROUP2_SUPER_MAGIC = 0x63677270;

// v1 entries under the root that are not controller hierarchies berth manages: systemd's named
// hierarchy and the hybrid layout's v2 mount.
const V1_NOT_CONTROLLERS = new Set(['systemd', 'unified']);
// v1 reports "no limit" as a page-rounded LONG_MAX; anything this large means unlimited (as cAdvisor).
const UNLIMITED = 1n << 62n;

/** 'v2' iff the root is a cgroup2 file system (unified); the hybrid layout counts as 'v1'. */
export async function detectCgroupMode(root = CGROUP_ROOT): Promise<CgroupMode> {
  return (await statfs(root)).type === CGROUP2_SUPER_MAGIC ? 'v2' : 'v1';
}

// ---- paths ----

/** systemd slice name → its cgroup path: "a-b.slice" → "/a.slice/a-b.slice"; "-.slice" → "/". */
export function expandSlice(slice: string): string {
  const bad = () => invalidArgument(`invalid systemd slice name "${slice}"`, { slice });
  if (!slice.endsWith('.slice') || slice.includes('/')) throw bad();
  const name = slice.slice(0, -'.slice'.length);
  if (name === '-') return '/';
  if (name === '' || name.startsWith('-') || name.endsWith('-') || name.includes('--')) throw bad();
  let path = '';
  let prefix = '';
  for (const part of name.split('-')) {
    prefix = prefix ? `${prefix}-${part}` : part;
    path += `/${prefix}.slice`;
  }
  return path;
}

/**
 * The cgroup path (relative to a hierarchy's root, starting with '/') of an OCI cgroupsPath:
 * cgroupfs "/kubepods/pod1/ctr", systemd "slice:prefix:name" (a scope "prefix-name.scope" in the
 * slice, or the slice "name" itself when it ends in .slice, as runc places them).
 */
export function cgroupRelativePath(cgroupsPath: string, driver: CgroupDriver): string {
  if (driver === 'systemd') {
    const parts = cgroupsPath.split(':');
    if (parts.length !== 3 || !parts[2] || parts[2].includes('/'))
      throw invalidArgument(`"${cgroupsPath}" is not a systemd cgroups path (slice:prefix:name)`, { cgroupsPath });
    const [slice, prefix, name] = parts;
    const unit = name.endsWith('.slice') ? name : prefix ? `${prefix}-${name}.scope` : `${name}.scope`;
    return posix.join(expandSlice(slice || 'system.slice'), unit);
  }
  if (!cgroupsPath.startsWith('/') || cgroupsPath.split('/').includes('..'))
    throw invalidArgument(`cgroup path "${cgroupsPath}" is not absolute`, { cgroupsPath });
  const norm = posix.normalize(cgroupsPath);
  return norm.length > 1 && norm.endsWith('/') ? norm.slice(0, -1) : norm;
}

export interface CgroupDirs {
  mode: CgroupMode;
  /** v1: the cpuacct hierarchy's dir; v2: the cgroup dir. */
  cpu: string;
  /** v1: the memory hierarchy's dir; v2: the cgroup dir. */
  memory: string;
  /** v1: the pids hierarchy's dir; v2: the cgroup dir. */
  pids: string;
}

/** The directories stats are read from, for a cgroupsPath as written in the OCI spec. */
export function cgroupDirs(cgroupsPath: string, driver: CgroupDriver, mode: CgroupMode, root = CGROUP_ROOT): CgroupDirs {
  const rel = cgroupRelativePath(cgroupsPath, driver);
  if (mode === 'v2') {
    const dir = join(root, rel);
    return { mode, cpu: dir, memory: dir, pids: dir };
  }
  return { mode, cpu: join(root, 'cpuacct', rel), memory: join(root, 'memory', rel), pids: join(root, 'pids', rel) };
}

/** v1: the real (non-symlink) controller hierarchy dirs under the root, e.g. cpu,cpuacct once. */
async function v1Hierarchies(root: string): Promise<string[]> {
  const entries = await fsp.readdir(root, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && !V1_NOT_CONTROLLERS.has(e.name))
    .map((e) => e.name)
    .sort();
}

/** The hierarchy roots a cgroupfs cgroup lives under: every v1 hierarchy, or the v2 root. */
async function hierarchyRoots(mode: CgroupMode, root: string): Promise<string[]> {
  return mode === 'v2' ? [root] : (await v1Hierarchies(root)).map((h) => join(root, h));
}

function managedRel(path: string): string {
  const rel = cgroupRelativePath(path, 'cgroupfs');
  if (rel === '/') throw invalidArgument('refusing to manage the root cgroup', { path });
  return rel;
}

async function managedDirs(path: string, mode: CgroupMode, root: string): Promise<string[]> {
  const rel = managedRel(path);
  return (await hierarchyRoots(mode, root)).map((b) => join(b, rel));
}

/** The cgroup.procs files that put a process into cgroupfs cgroup `path` (one per v1 hierarchy). */
export async function cgroupProcsFiles(path: string, mode: CgroupMode, root = CGROUP_ROOT): Promise<string[]> {
  return (await managedDirs(path, mode, root)).map((d) => join(d, 'cgroup.procs'));
}

// ---- create / remove ----

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

async function readTrim(file: string): Promise<string> {
  return (await fsp.readFile(file, 'utf8')).trim();
}

// A new v1 cpuset cgroup starts with no CPUs and memory nodes, and no process can join it until
// they are set; give it its parent's.
async function inheritCpuset(dir: string, parent: string): Promise<void> {
  for (const f of ['cpuset.cpus', 'cpuset.mems']) {
    const own = await readTrim(join(dir, f)).catch(() => undefined);
    if (own === undefined || own !== '') continue;
    await fsp.writeFile(join(dir, f), await readTrim(join(parent, f)));
  }
}

// Controllers a pod cgroup cannot do without on v2; others are enabled when the kernel lets us.
const V2_REQUIRED = new Set(['cpu', 'memory', 'pids']);

async function enableSubtreeControllers(dir: string): Promise<void> {
  const available = (await readTrim(join(dir, 'cgroup.controllers'))).split(/\s+/).filter(Boolean);
  const enabled = new Set((await readTrim(join(dir, 'cgroup.subtree_control'))).split(/\s+/).filter(Boolean));
  for (const c of available) {
    if (enabled.has(c)) continue;
    try {
      await fsp.writeFile(join(dir, 'cgroup.subtree_control'), `+${c}`);
    } catch (e) {
      if (V2_REQUIRED.has(c))
        throw failedPrecondition(`cannot enable the ${c} controller in ${dir}: ${errorMessage(e)}`, { dir, controller: c });
      log.warn({ dir, controller: c, err: errorMessage(e) }, 'cannot enable cgroup controller');
    }
  }
}

/**
 * Creates cgroupfs cgroup `path` (e.g. "/berth/pod-<id>") and any missing parents: in every v1
 * hierarchy (cpuset ones get their parent's CPUs and memory nodes), or on v2 the directory, with
 * the controllers enabled in each ancestor's subtree_control. Idempotent. Returns the
 * directories. With the systemd driver it does nothing and returns []: runc's systemd driver
 * makes systemd create the slice when it starts a container's scope in it.
 *
 * On v2 a cgroup holding processes cannot have children with controllers ("no internal
 * processes"), so a pod's infra process belongs in a child of the pod cgroup, not in it.
 */
export async function ensureCgroup(path: string, driver: CgroupDriver, mode: CgroupMode, root = CGROUP_ROOT): Promise<string[]> {
  if (driver === 'systemd') return [];
  const segments = managedRel(path).split('/').filter(Boolean);
  const dirs: string[] = [];
  for (const base of await hierarchyRoots(mode, root)) {
    const cpuset = mode === 'v1' && posix.basename(base).split(',').includes('cpuset');
    let parent = base;
    for (const seg of segments) {
      const dir = join(parent, seg);
      try {
        if (mode === 'v2') await enableSubtreeControllers(parent);
        await fsp.mkdir(dir).catch((e: unknown) => {
          if (errno(e) !== 'EEXIST') throw e;
        });
        if (cpuset) await inheritCpuset(dir, parent);
      } catch (e) {
        if (e instanceof BerthError) throw e;
        throw internal(`cannot create cgroup ${dir}: ${errorMessage(e)}`, { path, dir }, e);
      }
      parent = dir;
    }
    dirs.push(parent);
  }
  log.debug({ path, mode }, 'cgroup ready');
  return dirs;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Removes cgroupfs cgroup `path` (the leaf only, in every v1 hierarchy). Idempotent. EBUSY
 * (processes still exiting) is retried for about a second. No-op for the systemd driver.
 */
export async function removeCgroup(path: string, driver: CgroupDriver, mode: CgroupMode, root = CGROUP_ROOT): Promise<void> {
  if (driver === 'systemd') return;
  for (const dir of await managedDirs(path, mode, root)) {
    for (let attempt = 0; ; attempt++) {
      try {
        await fsp.rmdir(dir);
        break;
      } catch (e) {
        const code = errno(e);
        if (code === 'ENOENT') break;
        if (code === 'EBUSY' && attempt < 10) {
          await sleep(100);
          continue;
        }
        const ctx = { path, dir };
        if (code === 'EBUSY' || code === 'ENOTEMPTY') throw failedPrecondition(`cgroup ${dir} is still in use`, ctx);
        throw internal(`cannot remove cgroup ${dir}: ${errorMessage(e)}`, ctx, e);
      }
    }
  }
}

// ---- stats ----

export interface CpuStats {
  /** Cumulative CPU time, all cores. */
  usageCoreNanoSeconds: bigint;
  /** Average over the interval since the previous sample of the same container; undefined on the first. */
  usageNanoCores?: bigint;
}

export interface MemoryStats {
  /** usage − inactive file pages (what the kubelet evicts on). */
  workingSetBytes: number;
  usageBytes: number;
  rssBytes: number;
  pageFaults: number;
  majorPageFaults: number;
  /** limit − working set; undefined without a limit. */
  availableBytes?: number;
}

export interface ContainerStats {
  /** Wall-clock time of the sample, ns since the epoch. */
  timestampNs: bigint;
  cpu: CpuStats;
  memory: MemoryStats;
  /** Number of tasks, when the pids controller is there. */
  pids?: number;
}

// Wall clock with nanosecond steps: Date.now() once, then the monotonic clock.
const wallBaseNs = BigInt(Date.now()) * 1_000_000n;
const hrBase = process.hrtime.bigint();
function nowNs(): bigint {
  return wallBaseNs + (process.hrtime.bigint() - hrBase);
}

/** Keeps the previous CPU sample per container id to turn cumulative usage into a rate. */
export class CpuRateTracker {
  private readonly last = new Map<string, { timestampNs: bigint; usage: bigint }>();

  /** Records a sample and returns nano-cores since the previous one (undefined if none or a counter reset). */
  update(id: string, timestampNs: bigint, usageCoreNanoSeconds: bigint): bigint | undefined {
    const prev = this.last.get(id);
    this.last.set(id, { timestampNs, usage: usageCoreNanoSeconds });
    if (!prev || timestampNs <= prev.timestampNs || usageCoreNanoSeconds < prev.usage) return undefined;
    return ((usageCoreNanoSeconds - prev.usage) * 1_000_000_000n) / (timestampNs - prev.timestampNs);
  }

  forget(id: string): void {
    this.last.delete(id);
  }

  get size(): number {
    return this.last.size;
  }
}

/** "key value" lines (memory.stat, cpu.stat) → map. */
export function parseFlatKeyed(text: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v && /^\d+$/.test(v)) out.set(k, BigInt(v));
  }
  return out;
}

async function readCgroupFile(dir: string, file: string, what: string): Promise<string> {
  try {
    return await fsp.readFile(join(dir, file), 'utf8');
  } catch (e) {
    if (errno(e) === 'ENOENT') {
      const dirGone = await fsp.stat(dir).then(
        () => false,
        () => true,
      );
      if (dirGone) throw notFound(`cgroup ${dir} does not exist`, { cgroup: dir });
      throw failedPrecondition(`${what}: ${join(dir, file)} is missing (controller not enabled?)`, { cgroup: dir, file });
    }
    throw internal(`cannot read ${join(dir, file)}: ${errorMessage(e)}`, { cgroup: dir, file }, e);
  }
}

async function readOptional(dir: string, file: string): Promise<string | undefined> {
  return fsp.readFile(join(dir, file), 'utf8').catch(() => undefined);
}

function toInt(text: string, file: string): bigint {
  const t = text.trim();
  if (!/^\d+$/.test(t)) throw internal(`unexpected content in ${file}: "${t.slice(0, 40)}"`, { file });
  return BigInt(t);
}

/**
 * Reads one sample. `rate` turns cumulative CPU time into usageNanoCores against the previous
 * sample of the same id. A cgroup that does not exist (container gone) → not-found.
 */
export async function readContainerStats(dirs: CgroupDirs, rate?: { tracker: CpuRateTracker; id: string }): Promise<ContainerStats> {
  const timestampNs = nowNs();
  let usageCore: bigint;
  let usage: bigint;
  let stat: Map<string, bigint>;
  let limit: bigint | undefined;
  if (dirs.mode === 'v1') {
    usageCore = toInt(await readCgroupFile(dirs.cpu, 'cpuacct.usage', 'cpu usage'), 'cpuacct.usage');
    usage = toInt(await readCgroupFile(dirs.memory, 'memory.usage_in_bytes', 'memory usage'), 'memory.usage_in_bytes');
    stat = parseFlatKeyed(await readCgroupFile(dirs.memory, 'memory.stat', 'memory stats'));
    // The hierarchical totals cover child cgroups too (a pod cgroup's containers).
    const pick = (k: string) => stat.get(`total_${k}`) ?? stat.get(k) ?? 0n;
    stat = new Map([
      ['inactive_file', pick('inactive_file')],
      ['rss', pick('rss')],
      ['pgfault', pick('pgfault')],
      ['pgmajfault', pick('pgmajfault')],
    ]);
    const l = await readOptional(dirs.memory, 'memory.limit_in_bytes');
    if (l !== undefined && /^\d+$/.test(l.trim()) && BigInt(l.trim()) < UNLIMITED) limit = BigInt(l.trim());
  } else {
    const cpuStat = parseFlatKeyed(await readCgroupFile(dirs.cpu, 'cpu.stat', 'cpu usage'));
    usageCore = (cpuStat.get('usage_usec') ?? 0n) * 1000n;
    usage = toInt(await readCgroupFile(dirs.memory, 'memory.current', 'memory usage'), 'memory.current');
    const s = parseFlatKeyed(await readCgroupFile(dirs.memory, 'memory.stat', 'memory stats'));
    stat = new Map([
      ['inactive_file', s.get('inactive_file') ?? 0n],
      ['rss', s.get('anon') ?? 0n],
      ['pgfault', s.get('pgfault') ?? 0n],
      ['pgmajfault', s.get('pgmajfault') ?? 0n],
    ]);
    const l = (await readOptional(dirs.memory, 'memory.max'))?.trim();
    if (l !== undefined && /^\d+$/.test(l)) limit = BigInt(l);
  }
  const inactive = stat.get('inactive_file')!;
  const workingSet = usage > inactive ? usage - inactive : 0n;
  const pidsText = await readOptional(dirs.pids, 'pids.current');
  const pids = pidsText !== undefined && /^\d+$/.test(pidsText.trim()) ? Number(pidsText.trim()) : undefined;

  const memory: MemoryStats = {
    workingSetBytes: Number(workingSet),
    usageBytes: Number(usage),
    rssBytes: Number(stat.get('rss')!),
    pageFaults: Number(stat.get('pgfault')!),
    majorPageFaults: Number(stat.get('pgmajfault')!),
  };
  if (limit !== undefined) memory.availableBytes = Number(limit > workingSet ? limit - workingSet : 0n);
  const cpu: CpuStats = { usageCoreNanoSeconds: usageCore };
  const nanoCores = rate?.tracker.update(rate.id, timestampNs, usageCore);
  if (nanoCores !== undefined) cpu.usageNanoCores = nanoCores;
  const out: ContainerStats = { timestampNs, cpu, memory };
  if (pids !== undefined) out.pids = pids;
  return out;
}
