// The CLI's own version: package.json's, found by walking up (src/ under tsx, dist/src/ when built).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function clientVersion(startDir: string = __dirname): string {
  for (let dir = startDir; ; dir = dirname(dir)) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      try {
        const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'berth' && pkg.version) return pkg.version;
      } catch {
        // not ours; keep walking
      }
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}
