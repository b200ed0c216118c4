// Driver for mount(8)/umount(8), limited to what namespace pinning needs.
import { run, tail } from './exec';
import { internal } from '../util/errors';
import { readMountInfo } from './mountinfo';

const TIMEOUT_MS = 30_000;

async function mountCmd(file: string, args: string[]): Promise<void> {
  const r = await run(file, { args, timeoutMs: TIMEOUT_MS });
  if (r.code !== 0) throw internal(`${file} ${args.join(' ')} failed: ${tail(r.stderr) || `exit ${r.code ?? r.signal}`}`, { args });
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
  if (!top) await mountCmd('mount', ['--bind', dir, dir]);
  if (!top || top.optional.some((o) => o.startsWith('shared:') || o.startsWith('master:')))
    await mountCmd('mount', ['--make-private', dir]);
}

/** Unmount every mount stacked on `path`; a path that is not a mount point (or is gone) is fine. */
export async function unmountAll(path: string): Promise<void> {
  for (;;) {
    const entries = await readMountInfo();
    if (!entries.some((e) => e.mountPoint === path)) return;
    await mountCmd('umount', [path]);
  }
}
