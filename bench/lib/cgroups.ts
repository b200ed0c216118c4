// A cgroup parent private to one benchmark run, under which both runtimes (and the raw runc floor)
// put their pods' cgroups, so the run can check that nothing is left and remove what runc leaves:
// runc deletes a container's own cgroup but not the parents it created. cgroup v1 (one tree per
// controller) and v2/hybrid (unified) are both handled by walking every mounted hierarchy.
import { existsSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const CGROUP_ROOT = '/sys/fs/cgroup';

/** Hierarchy roots: /sys/fs/cgroup/<controller> on v1/hybrid, /sys/fs/cgroup itself on pure v2. */
function hierarchies(): string[] {
  if (existsSync(join(CGROUP_ROOT, 'cgroup.controllers'))) return [CGROUP_ROOT];
  return readdirSync(CGROUP_ROOT)
    .map((d) => join(CGROUP_ROOT, d))
    .filter((p) => {
      try {
        return statSync(p).isDirectory() && (existsSync(join(p, 'cgroup.procs')) || existsSync(join(p, 'tasks')));
      } catch {
        return false;
      }
    });
}

/** Every cgroup directory at or below /<name> in any hierarchy, deepest first. */
export function cgroupDirsUnder(name: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    out.push(dir);
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
  };
  for (const h of hierarchies()) {
    const top = join(h, name);
    if (existsSync(top)) walk(top);
  }
  return out.sort((a, b) => b.length - a.length);
}

function procs(dir: string): number {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

/**
 * Remove the /<name> subtree in every hierarchy. Returns the cgroups that were left with
 * processes (those are leaks, and are not removed) and how many empty directories were removed.
 */
export function removeCgroupTree(name: string): { busy: string[]; removed: number } {
  const busy: string[] = [];
  let removed = 0;
  for (const dir of cgroupDirsUnder(name)) {
    if (procs(dir) > 0) {
      busy.push(dir);
      continue;
    }
    try {
      rmdirSync(dir);
      removed++;
    } catch {
      busy.push(dir); // a child that is busy keeps its parents
    }
  }
  return { busy, removed };
}
