// Where a CNI plugin's executable lives: the first configured bin dir holding an executable file
// named after the plugin type.
import { constants, promises as fsp } from 'node:fs';
import { join } from 'node:path';

// A plugin type is a file name, never a path.
export const PLUGIN_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export async function findPluginBinary(type: string, binDirs: readonly string[]): Promise<string | undefined> {
  if (!PLUGIN_TYPE_RE.test(type)) return undefined;
  for (const dir of binDirs) {
    const p = join(dir, type);
    try {
      const st = await fsp.stat(p);
      if (!st.isFile()) continue;
      await fsp.access(p, constants.X_OK);
      return p;
    } catch {
      // not in this dir
    }
  }
  return undefined;
}
