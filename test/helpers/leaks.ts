// Leak checks for integration tests: take a picture of the host before a test, and after it assert
// that nothing the test could have created is still around — mounts, processes, network namespace
// pins, veth interfaces, files. Only what is new since the picture counts, and only inside the
// scope the caller names, so tests of other engineers running on the same host do not interfere.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import assert from 'node:assert/strict';
import { parseMountInfo } from '../../src/network/mountinfo';

/** Programs a runtime test may leave behind. berthd runs as `node ... src/daemon/main.ts`. */
export const DEFAULT_PROCESS_NAMES = ['conmon', 'runc', 'crun', 'containerd-shim', 'containerd-shim-runc-v2', 'berthd', 'daemon/main.ts', 'docker-registry', 'catatonit'];

export interface LeakScope {
  /** Mounts at or below these paths count. */
  mountDirs?: string[];
  /** Processes descending from these PIDs count (default: this test process). */
  parentPids?: number[];
  /** Processes whose name or argv contains one of these count (default DEFAULT_PROCESS_NAMES)... */
  processNames?: string[];
  /** ...when their command line also contains one of these strings (e.g. the test's temp dir). Unset: any. */
  processCmdlineIncludes?: string[];
  /** Directories holding network namespace pins (e.g. <state>/netns, /run/netns). */
  netnsDirs?: string[];
  /**
   * veth interfaces in the host namespace: true = any new one, a list = new ones whose name starts
   * with one of these prefixes. Default off: the host is shared with other tests.
   */
  veth?: boolean | string[];
  /** Directories whose whole tree (paths and types) must be unchanged. */
  fileDirs?: string[];
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  comm: string;
  cmdline: string;
}

export interface HostSnapshot {
  takenAt: number;
  mounts: Set<string>;
  /** pid → "comm cmdline" (pid reuse: the description is compared too). */
  processes: Map<number, string>;
  netns: Set<string>;
  veths: Set<string>;
  files: Map<string, string[]>;
}

export interface LeakReport {
  mounts: string[];
  processes: ProcessInfo[];
  netns: string[];
  veths: string[];
  files: Array<{ dir: string; added: string[]; removed: string[] }>;
}

function mountPoints(): string[] {
  return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8')).map((m) => m.mountPoint);
}

export function listProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // comm is in parentheses and may contain spaces or parentheses: split at the last ')'.
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0+$/, '').split('\0').join(' ');
      // Zombies are reaped by their parent; a zombie the test's process forgot is still a leak.
      out.push({ pid: Number(name), ppid: Number(fields[1]), comm, cmdline });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

function describe(p: ProcessInfo): string {
  return `${p.comm} ${p.cmdline}`;
}

function netnsPins(dirs: string[]): string[] {
  const out: string[] = [];
  for (const d of dirs) {
    if (!existsSync(d)) continue;
    for (const n of readdirSync(d)) out.push(join(resolve(d), n));
  }
  return out;
}

function vethInterfaces(): string[] {
  try {
    return execFileSync('ip', ['-o', 'link', 'show', 'type', 'veth'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(':')[1]!.trim().split('@')[0]!);
  } catch (e) {
    throw new Error(`listing veth interfaces with ip(8) failed (install iproute2): ${(e as Error).message}`);
  }
}

/** Every path below `dir` with its type, sorted; [] when dir does not exist. */
export function treeListing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      const r = rel ? `${rel}/${n}` : n;
      let kind = '?';
      try {
        const st = lstatSync(p);
        kind = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : 'o';
        out.push(`${kind} ${r}`);
        if (st.isDirectory()) walk(p, r);
      } catch {
        // vanished meanwhile
      }
    }
  };
  walk(dir, '');
  return out;
}

/** A picture of the host: all mounts, processes, veths, and netns pins and trees of the given dirs. */
export function snapshotHost(scope: Pick<LeakScope, 'netnsDirs' | 'fileDirs'> = {}): HostSnapshot {
  const files = new Map<string, string[]>();
  for (const d of scope.fileDirs ?? []) files.set(resolve(d), treeListing(d));
  return {
    takenAt: Date.now(),
    mounts: new Set(mountPoints()),
    processes: new Map(listProcesses().map((p) => [p.pid, describe(p)])),
    netns: new Set(netnsPins(scope.netnsDirs ?? [])),
    veths: new Set(vethInterfaces()),
    files,
  };
}

function under(path: string, dirs: string[]): boolean {
  return dirs.some((d) => {
    const r = resolve(d);
    return path === r || path.startsWith(r.endsWith('/') ? r : `${r}/`);
  });
}

/** What is new (in scope) since `before`; empty lists mean no leak. */
export function findLeaks(before: HostSnapshot, scope: LeakScope = {}): LeakReport {
  const mountDirs = scope.mountDirs ?? [];
  const mounts = mountPoints().filter((m) => !before.mounts.has(m) && under(m, mountDirs));

  const procs = listProcesses();
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const parents = new Set(scope.parentPids ?? [process.pid]);
  const descends = (p: ProcessInfo): boolean => {
    const seen = new Set<number>();
    for (let q: ProcessInfo | undefined = p; q && !seen.has(q.pid); q = byPid.get(q.ppid)) {
      seen.add(q.pid);
      if (parents.has(q.ppid)) return true;
    }
    return false;
  };
  const names = scope.processNames ?? DEFAULT_PROCESS_NAMES;
  const cmdFilter = scope.processCmdlineIncludes;
  const named = (p: ProcessInfo): boolean =>
    names.some((n) => p.comm === n || basename(p.cmdline.split(' ')[0] ?? '') === n || p.cmdline.includes(n)) &&
    (!cmdFilter || cmdFilter.some((s) => p.cmdline.includes(s)));
  const processes = procs.filter(
    (p) => p.pid !== process.pid && before.processes.get(p.pid) !== describe(p) && (descends(p) || named(p)),
  );
  const netns = netnsPins(scope.netnsDirs ?? []).filter((n) => !before.netns.has(n));
  const vethScope = scope.veth ?? false;
  const veths =
    vethScope === false
      ? []
      : vethInterfaces().filter((v) => !before.veths.has(v) && (vethScope === true || vethScope.some((p) => v.startsWith(p))));
  const files: LeakReport['files'] = [];
  for (const d of scope.fileDirs ?? [...before.files.keys()]) {
    const was = before.files.get(resolve(d));
    if (!was) throw new Error(`findLeaks: ${d} was not in the snapshot (pass it to snapshotHost({ fileDirs }))`);
    const now = treeListing(d);
    const wasSet = new Set(was);
    const nowSet = new Set(now);
    const added = now.filter((x) => !wasSet.has(x));
    const removed = was.filter((x) => !nowSet.has(x));
    if (added.length || removed.length) files.push({ dir: resolve(d), added, removed });
  }
  return { mounts, processes, netns, veths, files };
}

function isEmpty(r: LeakReport): boolean {
  return !r.mounts.length && !r.processes.length && !r.netns.length && !r.veths.length && !r.files.length;
}

/**
 * Fails (with a list of what leaked) unless nothing in scope is new since `before`. Processes and
 * mounts may take a moment to go away after a SIGTERM, so the check is retried for `settleMs`.
 */
export async function assertNoLeaks(before: HostSnapshot, opts: LeakScope & { settleMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (opts.settleMs ?? 3000);
  let report = findLeaks(before, opts);
  while (!isEmpty(report) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    report = findLeaks(before, opts);
  }
  if (!isEmpty(report)) {
    const lines: string[] = [];
    for (const m of report.mounts) lines.push(`mount ${m}`);
    for (const p of report.processes) lines.push(`process ${p.pid} (ppid ${p.ppid}) ${p.comm}: ${p.cmdline}`);
    for (const n of report.netns) lines.push(`netns ${n}`);
    for (const v of report.veths) lines.push(`veth ${v}`);
    for (const f of report.files) {
      for (const a of f.added.slice(0, 20)) lines.push(`file added in ${f.dir}: ${a}`);
      for (const r of f.removed.slice(0, 20)) lines.push(`file removed in ${f.dir}: ${r}`);
    }
    assert.fail(`leaks since the snapshot:\n  ${lines.join('\n  ')}`);
  }
}
