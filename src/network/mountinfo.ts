// Reads /proc/self/mountinfo: which paths are mount points, and of what filesystem type.
import { promises as fsp } from 'node:fs';

export interface MountEntry {
  id: number;
  parentId: number;
  mountPoint: string;
  fsType: string;
  /** Optional fields, e.g. "shared:1", "master:2"; empty for a private mount. */
  optional: string[];
}

// mountinfo escapes space, tab, newline and backslash as \ooo octal.
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (f.length < 10 || sep < 0) continue;
    entries.push({
      id: Number(f[0]),
      parentId: Number(f[1]),
      mountPoint: unescapeOctal(f[4]),
      optional: f.slice(6, sep),
      fsType: f[sep + 1],
    });
  }
  return entries;
}

export async function readMountInfo(): Promise<MountEntry[]> {
  return parseMountInfo(await fsp.readFile('/proc/self/mountinfo', 'utf8'));
}

/** Mount points equal to `path` or below it (path must be absolute and normalized). */
export function mountsUnder(entries: MountEntry[], path: string): MountEntry[] {
  const prefix = path.endsWith('/') ? path : `${path}/`;
  return entries.filter((e) => e.mountPoint === path || e.mountPoint.startsWith(prefix));
}
