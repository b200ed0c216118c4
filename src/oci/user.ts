// Resolves the container's user (uid, gid, supplementary gids, home) from the CRI security
// context or the image's USER, against the image's own /etc/passwd and /etc/group.
import { invalidArgument } from '../util/errors';
import { readFileInRoot } from './rootfs-path';

export interface UserRequest {
  /** CRI run_as_user. Wins over runAsUsername and the image USER. */
  runAsUser?: number;
  /** CRI run_as_username. */
  runAsUsername?: string;
  /** CRI run_as_group; only valid together with runAsUser or runAsUsername. */
  runAsGroup?: number;
  /** Image config `User`: `uid`, `uid:gid`, `name`, `name:group` (and the mixed forms). */
  imageUser?: string;
  /** CRI supplemental_groups, appended to the groups found in /etc/group. */
  supplementalGroups?: number[];
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Primary gid first, then /etc/group memberships, then the requested supplemental groups. */
  additionalGids: number[];
  /** Name from /etc/passwd, when the uid has an entry. */
  username?: string;
  /** Home from /etc/passwd, '/' when there is no entry. */
  home: string;
}

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 0xfffffffe; // 2^32-1 is (uid_t)-1, "no id"

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 4) continue;
    const uid = parseId(f[2]);
    const gid = parseId(f[3]);
    if (uid === undefined || gid === undefined) continue;
    out.push({ name: f[0], uid, gid, home: f[5] || '/' });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 3) continue;
    const gid = parseId(f[2]);
    if (gid === undefined) continue;
    out.push({ name: f[0], gid, members: (f[3] ?? '').split(',').map((m) => m.trim()).filter((m) => m !== '') });
  }
  return out;
}

function parseId(s: string | undefined): number | undefined {
  if (s === undefined || !/^[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= MAX_ID ? n : undefined;
}

function checkId(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > MAX_ID) throw invalidArgument(`invalid ${what} ${n}`, { [what]: n });
  return n;
}

/** Which user and group strings the request asks for, per the CRI precedence rules. */
function requestedUser(req: UserRequest): { user: string; group?: string } {
  const group = req.runAsGroup !== undefined ? String(checkId(req.runAsGroup, 'gid')) : undefined;
  if (req.runAsUser !== undefined) return { user: String(checkId(req.runAsUser, 'uid')), group };
  if (req.runAsUsername) return { user: req.runAsUsername, group };
  if (group !== undefined) {
    // Same rule as the kubelet/containerd: a group without a user is a malformed request.
    throw invalidArgument('run_as_group is set without run_as_user or run_as_username', { runAsGroup: req.runAsGroup });
  }
  const image = (req.imageUser ?? '').trim();
  if (image === '') return { user: '0' };
  const colon = image.indexOf(':');
  if (colon < 0) return { user: image };
  return { user: image.slice(0, colon) || '0', group: image.slice(colon + 1) || undefined };
}

/**
 * Resolves a user request against `rootfs`'s /etc/passwd and /etc/group, read safely inside the
 * rootfs (symlinks can never lead out of it). Numeric ids need no entry; names must exist.
 */
export async function resolveUser(rootfs: string, req: UserRequest): Promise<ResolvedUser> {
  const { user, group } = requestedUser(req);
  let passwd: PasswdEntry[] | undefined;
  let groups: GroupEntry[] | undefined;
  const loadPasswd = async () => (passwd ??= parsePasswd((await readFileInRoot(rootfs, '/etc/passwd')) ?? ''));
  const loadGroups = async () => (groups ??= parseGroup((await readFileInRoot(rootfs, '/etc/group')) ?? ''));

  let entry: PasswdEntry | undefined;
  let uid: number;
  const numericUid = parseId(user);
  if (numericUid !== undefined) {
    uid = numericUid;
    entry = (await loadPasswd()).find((e) => e.uid === uid);
  } else {
    entry = (await loadPasswd()).find((e) => e.name === user);
    if (!entry) throw invalidArgument(`user "${user}" not found in the image's /etc/passwd`, { rootfs, user });
    uid = entry.uid;
  }

  let gid: number;
  if (group === undefined) {
    gid = entry?.gid ?? 0;
  } else {
    const numericGid = parseId(group);
    if (numericGid !== undefined) {
      gid = numericGid;
    } else {
      const g = (await loadGroups()).find((e) => e.name === group);
      if (!g) throw invalidArgument(`group "${group}" not found in the image's /etc/group`, { rootfs, group });
      gid = g.gid;
    }
  }

  const gids: number[] = [gid];
  const username = entry?.name ?? (numericUid === undefined ? user : undefined);
  if (username !== undefined) {
    for (const g of await loadGroups()) if (g.members.includes(username)) gids.push(g.gid);
  }
  for (const g of req.supplementalGroups ?? []) gids.push(checkId(g, 'gid'));

  return { uid, gid, additionalGids: [...new Set(gids)], username: entry?.name, home: entry?.home ?? '/' };
}
