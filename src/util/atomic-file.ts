// Crash-safe writes: write a temp file in the same directory, fsync it, rename over the target,
// fsync the directory. A crash leaves either the old or the new content, never a torn file.
import { promises as fsp, openSync, writeSync, fsyncSync, closeSync, renameSync, unlinkSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

function tempName(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp-${randomBytes(6).toString('hex')}`);
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export interface AtomicWriteOptions {
  /**
   * false: atomic against a crash of berthd (the rename), not durable against a power loss (no
   * fsync). For per-boot files under the state dir (tmpfs /run in production, where fsync is free
   * anyway): after a reboot they describe processes that no longer exist. Default true.
   */
  durable?: boolean;
  /**
   * false (with durable): the data is synced but not the directory entry. For replacing a file
   * that already exists durably: a power cut then leaves the old version or the new one, never
   * a torn or missing file. Default true.
   */
  syncDir?: boolean;
}

/** For files under the state dir (see AtomicWriteOptions.durable). */
export const PER_BOOT: AtomicWriteOptions = { durable: false };

export async function writeFileAtomic(target: string, data: string | Uint8Array, mode = 0o644, opts: AtomicWriteOptions = {}): Promise<void> {
  const durable = opts.durable ?? true;
  const tmp = tempName(target);
  const fh = await fsp.open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    if (durable) await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await fsp.rename(tmp, target);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  if (durable && (opts.syncDir ?? true)) await fsyncDir(dirname(target));
}

export function writeFileAtomicSync(target: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = tempName(target);
  const fd = openSync(tmp, 'w', mode);
  try {
    if (typeof data === "string") writeSync(fd, data);
    else writeSync(fd, data);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, target);
  const dfd = openSync(dirname(target), 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

/** True for the temp files writeFileAtomic leaves behind if it crashed; reconcile removes them. */
export function isAtomicTemp(name: string): boolean {
  return /^\..+\.tmp-[0-9a-f]{12}$/.test(name);
}
