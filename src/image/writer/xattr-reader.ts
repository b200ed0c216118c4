// Driver for `getfattr` (package attr): Node has no xattr API, so extended attributes of a whole
// tree are read with one recursive getfattr call instead of a spawn per file.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { failedPrecondition, internal } from '../../util/errors';

export const GETFATTR_BINARY = process.env.BERTH_GETFATTR ?? 'getfattr';

/** getfattr escapes unusual bytes in file names as \ooo octal; turn them back into bytes. */
function unescapeName(s: string): string {
  const bytes: number[] = [];
  const raw = Buffer.from(s, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x5c && i + 3 < raw.length && /^[0-7]{3}$/.test(raw.subarray(i + 1, i + 4).toString('latin1'))) {
      bytes.push(parseInt(raw.subarray(i + 1, i + 4).toString('latin1'), 8));
      i += 3;
    } else {
      bytes.push(raw[i]!);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Parse `getfattr -d -e hex --absolute-names` output into path -> (name -> value). */
export function parseGetfattrOutput(out: string): Map<string, Map<string, Buffer>> {
  const result = new Map<string, Map<string, Buffer>>();
  let current: Map<string, Buffer> | undefined;
  for (const line of out.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = new Map();
      result.set(unescapeName(line.slice('# file: '.length)), current);
      continue;
    }
    if (!line || !current) continue;
    const eq = line.indexOf('=');
    const name = unescapeName(eq === -1 ? line : line.slice(0, eq));
    const value = eq === -1 ? '' : line.slice(eq + 1);
    if (value.startsWith('0x')) current.set(name, Buffer.from(value.slice(2), 'hex'));
    else if (value.startsWith('0s')) current.set(name, Buffer.from(value.slice(2), 'base64'));
    else current.set(name, Buffer.from(value.replace(/^"|"$/g, ''), 'utf8'));
  }
  return result;
}

/**
 * All extended attributes (every namespace the caller may read) below `root`, without following
 * symlinks. Keys are absolute paths.
 */
export function readTreeXattrs(root: string): Promise<Map<string, Map<string, Buffer>>> {
  const abs = resolve(root);
  return new Promise((res, rej) => {
    execFile(
      GETFATTR_BINARY,
      ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', abs],
      { maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) {
          const e = err as NodeJS.ErrnoException;
          if (e.code === 'ENOENT') {
            rej(failedPrecondition(`getfattr not found (${GETFATTR_BINARY}); install the attr package`, { dir: abs }));
          } else {
            rej(internal(`getfattr failed on ${abs}: ${String(stderr).trim() || e.message}`, { dir: abs }, err));
          }
          return;
        }
        res(parseGetfattrOutput(stdout));
      },
    );
  });
}
