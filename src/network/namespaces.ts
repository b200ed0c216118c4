// Pinned pod namespaces. berth has no pause container: a pod's net/ipc/uts namespaces are created
// once and kept alive by bind mounts at <dir>/<kind>/<podId>; containers join them by path.
import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import { alreadyExists, failedPrecondition, internal, invalidArgument } from '../util/errors';
import { logger } from '../util/log';
import { ensurePrivateBindMount, unmountAll } from './mount';
import { planSysctls, type NamespaceKind } from './sysctls';
import { errnoError, loadAddon } from '../util/native-addon';

export type { NamespaceKind } from './sysctls';

const log = logger('namespaces');

export const NAMESPACE_KINDS: readonly NamespaceKind[] = ['net', 'ipc', 'uts'];
const NSFS_MAGIC = 0x6e736673;

export interface PinOptions {
  /** Set in the new UTS namespace; requires 'uts' among the kinds. */
  hostname?: string;
  /** Namespaced sysctls, written inside the new namespaces; host-wide ones are rejected. */
  sysctls?: Record<string, string>;
}

export interface PinnedNamespaces {
  podId: string;
  /** Bind-mounted namespace file per pinned kind. */
  paths: Partial<Record<NamespaceKind, string>>;
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
// RFC 1123 host name, as the kernel's 64-byte limit allows.
const HOSTNAME_RE = /^(?=.{1,64}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

export function validatePodId(podId: string): void {
  if (!ID_RE.test(podId) || podId.includes('..')) throw invalidArgument(`invalid pod id "${podId}"`, { podId });
}

export function pinnedPath(dir: string, kind: NamespaceKind, podId: string): string {
  return join(resolve(dir), kind, podId);
}

/** True if `path` is a namespace file (a live bind mount of nsfs), false if missing or a plain file. */
export async function isNamespaceFile(path: string): Promise<boolean> {
  try {
    return (await fsp.statfs(path)).type === NSFS_MAGIC;
  } catch {
    return false;
  }
}

// mountinfo shows resolved paths; compare like with like.
async function canonicalDir(dir: string): Promise<string> {
  return fsp.realpath(resolve(dir)).catch(() => resolve(dir));
}

// Concurrent pins must not stack two self-bind mounts on the same dir.
const preparing = new Map<string, Promise<void>>();
function prepareDir(dir: string): Promise<void> {
  let p = preparing.get(dir);
  if (!p) {
    p = (async () => {
      await fsp.mkdir(dir, { recursive: true, mode: 0o711 });
      await ensurePrivateBindMount(dir);
    })().finally(() => preparing.delete(dir));
    preparing.set(dir, p);
  }
  return p;
}

export async function pinNamespaces(
  dir: string,
  podId: string,
  kinds: NamespaceKind[],
  opts: PinOptions = {},
): Promise<PinnedNamespaces> {
  validatePodId(podId);
  const unique = [...new Set(kinds)];
  if (unique.length === 0) throw invalidArgument('no namespaces to pin', { podId });
  for (const k of unique) if (!NAMESPACE_KINDS.includes(k)) throw invalidArgument(`unknown namespace kind "${k}"`, { podId });
  if (opts.hostname !== undefined) {
    if (!unique.includes('uts')) throw invalidArgument('a hostname needs a private uts namespace', { podId });
    if (!HOSTNAME_RE.test(opts.hostname)) throw invalidArgument(`invalid hostname "${opts.hostname}"`, { podId });
  }
  const writes = planSysctls(opts.sysctls ?? {}, unique);

  await fsp.mkdir(resolve(dir), { recursive: true, mode: 0o711 });
  const root = await canonicalDir(dir);
  await prepareDir(root);
  const paths: Partial<Record<NamespaceKind, string>> = {};
  for (const k of unique) paths[k] = pinnedPath(root, k, podId);
  await Promise.all(
    unique.map(async (k) => {
      await fsp.mkdir(join(root, k), { recursive: true, mode: 0o711 });
      if (await isNamespaceFile(paths[k]!)) throw alreadyExists(`${k} namespace of pod ${podId} is already pinned`, { podId, path: paths[k] });
    }),
  );
  const pinned: PinnedNamespaces = { podId, paths };
  try {
    const r = await loadAddon().pinNewNamespaces(paths, opts.hostname ?? null, unique.includes('net'), writes.map((w) => [w.path, w.value]));
    if (r.errno < 0) {
      const code = errnoError(r.errno, r.step, podId).code;
      // The kernel refusing a sysctl (unknown name, bad value) is the caller's fault.
      if (r.step === 'sysctl') {
        const w = writes[r.index];
        throw invalidArgument(`cannot set sysctl ${w?.name} to "${w?.value}": ${code}`, { podId, sysctl: w?.name });
      }
      throw internal(`cannot create the pod's namespaces (${r.step}: ${code})`, { podId, step: r.step });
    }
  } catch (e) {
    await unpinNamespaces(root, podId).catch((ue) => log.warn({ podId, err: ue }, 'cleanup after failed pin failed'));
    throw e;
  }
  log.debug({ podId, kinds: unique }, 'pinned namespaces');
  return pinned;
}

/** Unmount and remove a pod's namespace files. Idempotent; missing files are fine. */
export async function unpinNamespaces(dir: string, podId: string): Promise<void> {
  validatePodId(podId);
  const root = await canonicalDir(dir);
  const errors: string[] = [];
  for (const k of NAMESPACE_KINDS) {
    const p = pinnedPath(root, k, podId);
    try {
      await unmountAll(p);
      await fsp.rm(p, { force: true });
    } catch (e) {
      errors.push(`${k}: ${(e as Error).message}`);
    }
  }
  if (errors.length) throw internal(`cannot unpin namespaces of pod ${podId}: ${errors.join('; ')}`, { podId });
}

/** Every pod with at least one namespace file under `dir` (live or stale), for reconcile. */
export async function listPinned(dir: string): Promise<PinnedNamespaces[]> {
  const root = await canonicalDir(dir);
  const byPod = new Map<string, PinnedNamespaces>();
  for (const k of NAMESPACE_KINDS) {
    let names: string[];
    try {
      names = await fsp.readdir(join(root, k));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    for (const name of names) {
      if (!ID_RE.test(name)) continue;
      const entry = byPod.get(name) ?? { podId: name, paths: {} };
      entry.paths[k] = join(root, k, name);
      byPod.set(name, entry);
    }
  }
  return [...byPod.values()].sort((a, b) => a.podId.localeCompare(b.podId));
}

/**
 * Undo the private self-bind mount of `dir` once nothing is pinned in it any more (shutdown,
 * tests). Refuses while namespaces are still pinned.
 */
export async function releaseNamespaceDir(dir: string): Promise<void> {
  const root = await canonicalDir(dir);
  const left = await listPinned(root);
  if (left.length) throw failedPrecondition(`namespaces still pinned in ${root}`, { pods: left.map((p) => p.podId) });
  await unmountAll(root);
  for (const k of NAMESPACE_KINDS) await fsp.rmdir(join(root, k)).catch(() => undefined);
}
