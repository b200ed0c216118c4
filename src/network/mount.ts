// mount(2)/umount2(2) for namespace pinning, through berth's native addon: spawning mount(8) and
// umount(8) cost ~5 ms and a fork of the daemon per call (bench/lifecycle.ts profile).
import { errnoError, loadAddon } from '../util/native-addon';
import { readMountInfo } from './mountinfo';

const MS_BIND = 0x1000;
const MS_PRIVATE = 1 << 18;
const EINVAL = -22;
const ENOENT = -2;

function sysMount(source: string | null, target: string, flags: number): void {
  const r = loadAddon().mount(source, target, null, flags, null, null);
  if (r < 0) throw errnoError(r, 'mount', source ?? 'none', target);
}

/**
 * Make `dir` a mount point of its own with private propagation, so bind mounts of namespace files
 * inside it neither propagate to other mount namespaces (which would keep the namespaces alive)
 * nor receive mounts from them. Idempotent.
 */
export async function ensurePrivateBindMount(dir: string): Promise<void> {
  const entries = await readMountInfo();
  // The last entry for a path is the one on top.
  const top = [...entries].reverse().find((e) => e.mountPoint === dir);
  if (!top) sysMount(dir, dir, MS_BIND);
  if (!top || top.optional.some((o) => o.startsWith('shared:') || o.startsWith('master:'))) sysMount(null, dir, MS_PRIVATE);
}

/** Unmount every mount stacked on `path`; a path that is not a mount point (or is gone) is fine. */
export async function unmountAll(path: string): Promise<void> {
  const addon = loadAddon();
  for (;;) {
    const r = addon.umount2(path, 0);
    if (r === EINVAL || r === ENOENT) return;
    if (r < 0) throw errnoError(r, 'umount2', path);
  }
}
