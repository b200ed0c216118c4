// Summarizes a V8 .cpuprofile (node --cpu-prof): self and inclusive time per function, and self
// time per file/package, so a benchmark can say where berthd spent its CPU.
import { join } from 'node:path';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileRow {
  name: string;
  selfMs: number;
  totalMs: number;
}

export interface ProfileSummary {
  /** Profiled wall time, ms. */
  durationMs: number;
  /** Time in samples that were not idle, ms. */
  busyMs: number;
  topSelf: ProfileRow[];
  topTotal: ProfileRow[];
  /** Self time per file (repo-relative) or package (node_modules/<pkg>, node:internal). */
  byFile: ProfileRow[];
}

function shortUrl(url: string, repo: string): string {
  if (!url) return '';
  let u = url.replace(/^file:\/\//, '');
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  if (nm) return `npm:${nm[1]}`;
  if (u.startsWith(repo)) u = u.slice(repo.length + 1);
  if (u.startsWith('node:')) return u.startsWith('node:internal') ? 'node:internal' : u;
  return u;
}

function frameKey(n: ProfileNode, repo: string): string {
  const f = n.callFrame;
  const fn = f.functionName || '(anonymous)';
  const url = shortUrl(f.url, repo);
  return url ? `${fn} ${url}:${f.lineNumber + 1}` : fn;
}

function fileKey(n: ProfileNode, repo: string): string {
  const f = n.callFrame;
  if (!f.url) return f.functionName || '(native)';
  return shortUrl(f.url, repo);
}

/** Self time per node id from samples + timeDeltas (falls back to hitCount × mean interval). */
function selfTimes(p: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  if (p.samples && p.timeDeltas && p.samples.length === p.timeDeltas.length) {
    // timeDeltas[i] is the gap before sample i; attribute the gap after a sample to it.
    for (let i = 0; i < p.samples.length; i++) {
      const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
      self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt);
    }
  } else {
    const hits = p.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0) || 1;
    const per = (p.endTime - p.startTime) / 1000 / hits;
    for (const n of p.nodes) self.set(n.id, (n.hitCount ?? 0) * per);
  }
  return self;
}

export function summarizeCpuProfile(file: string, repo: string, top = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = selfTimes(p);
  const selfBy = new Map<string, number>();
  const totalBy = new Map<string, number>();
  const fileBy = new Map<string, number>();
  let busy = 0;

  // Depth-first from the root; inclusive time counts a function once per stack even if recursive.
  const root = p.nodes[0]!;
  const visit = (id: number, onStack: Set<string>): number => {
    const n = byId.get(id)!;
    const key = frameKey(n, repo);
    const s = self.get(id) ?? 0;
    selfBy.set(key, (selfBy.get(key) ?? 0) + s);
    const fk = fileKey(n, repo);
    fileBy.set(fk, (fileBy.get(fk) ?? 0) + s);
    if (n.callFrame.functionName !== '(idle)') busy += s;
    const fresh = !onStack.has(key);
    if (fresh) onStack.add(key);
    let total = s;
    for (const c of n.children ?? []) total += visit(c, onStack);
    if (fresh) {
      onStack.delete(key);
      totalBy.set(key, (totalBy.get(key) ?? 0) + total);
    }
    return total;
  };
  visit(root.id, new Set());

  const rows = (m: Map<string, number>, other?: Map<string, number>): ProfileRow[] =>
    [...m.entries()].map(([name, ms]) => ({ name, selfMs: other ? (other.get(name) ?? 0) : ms, totalMs: other ? ms : (totalBy.get(name) ?? ms) }));
  const skip = (r: ProfileRow) => !['(root)', '(idle)', '(program)'].includes(r.name);
  return {
    durationMs: (p.endTime - p.startTime) / 1000,
    busyMs: busy,
    topSelf: rows(selfBy).filter(skip).sort((a, b) => b.selfMs - a.selfMs).slice(0, top),
    topTotal: rows(totalBy, selfBy).filter(skip).sort((a, b) => b.totalMs - a.totalMs).slice(0, top),
    byFile: [...fileBy.entries()].map(([name, ms]) => ({ name, selfMs: ms, totalMs: ms })).sort((a, b) => b.selfMs - a.selfMs).slice(0, top),
  };
}

export function formatProfile(s: ProfileSummary): string {
  const line = (r: ProfileRow) => `${r.selfMs.toFixed(0).padStart(8)} ${r.totalMs.toFixed(0).padStart(8)}  ${r.name}`;
  return [
    `profile: ${s.durationMs.toFixed(0)} ms wall, ${s.busyMs.toFixed(0)} ms on CPU (main thread)`,
    '',
    'top self time (ms):     self    total  function',
    ...s.topSelf.map(line),
    '',
    'top inclusive time (ms): self    total  function',
    ...s.topTotal.map(line),
    '',
    'self time by file/package (ms):',
    ...s.byFile.map((r) => `${r.selfMs.toFixed(0).padStart(8)}  ${r.name}`),
  ].join('\n');
}

/**
 * After a profiled berthd has exited: find the .cpuprofile it wrote into `dir` (one not in
 * `before`), summarize it next to itself, and return the summary.
 */
export function collectCpuProfile(dir: string, before: Set<string>, repo: string, log: (s: string) => void): ProfileSummary | undefined {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile') && !before.has(f));
  if (!file) {
    log(`no .cpuprofile appeared in ${dir}`);
    return undefined;
  }
  const summary = summarizeCpuProfile(join(dir, file), repo);
  writeFileSync(join(dir, `${file}.summary.txt`), `${formatProfile(summary)}\n`);
  log(`cpu profile: ${join(dir, file)} (open in Chrome DevTools / speedscope); summary: ${join(dir, file)}.summary.txt`);
  return summary;
}
