// Reading files of an untrusted container rootfs from the host. Image content may plant symlinks
// (`/etc/passwd -> /etc/shadow`, `../../..`) to make the runtime read host files; every path is
// therefore resolved component by component with the rootfs as `/`, the way the kernel would
// inside the container's mount namespace, and the final open refuses symlinks.
import { promises as fsp, constants as fsc } from 'node:fs';
import { join } from 'node:path';
import { BerthError, invalidArgument } from '../util/errors';

const MAX_SYMLINKS = 40;

/**
 * Host path of `unsafePath` as seen from inside `root`: symlinks are followed but re-rooted at
 * `root`, and `..` never climbs above it. Components after the first missing one are appended
 * as-is (they cannot be symlinks). Callers must still open the result with O_NOFOLLOW.
 */
export async function resolveInRoot(root: string, unsafePath: string): Promise<string> {
  const pending = splitPath(unsafePath);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.' || part === '') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = join(root, ...resolved, part);
    let st;
    try {
      st = await fsp.lstat(candidate);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') {
        return join(root, ...resolved, part, ...pending.filter((p) => p !== '' && p !== '.'));
      }
      throw e;
    }
    if (!st.isSymbolicLink()) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) {
      throw new BerthError('invalid-argument', 'too many levels of symbolic links in rootfs path', { root, path: unsafePath });
    }
    const target = await fsp.readlink(candidate);
    if (target.startsWith('/')) resolved.length = 0;
    pending.unshift(...splitPath(target));
  }
  return join(root, ...resolved);
}

function splitPath(p: string): string[] {
  return p.split('/');
}

/**
 * Contents of the regular file at `path` inside `root`, or undefined when it does not exist
 * (or is not a regular file). Reads at most `maxBytes`; larger files are an error, since a
 * hostile image could otherwise make the daemon buffer gigabytes.
 */
export async function readFileInRoot(root: string, path: string, maxBytes = 4 << 20): Promise<string | undefined> {
  const hostPath = await resolveInRoot(root, path);
  let fh;
  try {
    fh = await fsp.open(hostPath, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // ELOOP: the final component is a symlink that appeared after resolution; treat as absent.
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined;
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return undefined;
    if (st.size > maxBytes) throw invalidArgument(`${path} in the image is too large to parse`, { root, path, size: st.size });
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead > maxBytes) throw invalidArgument(`${path} in the image is too large to parse`, { root, path });
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}
