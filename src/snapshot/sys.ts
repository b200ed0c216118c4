// The Linux syscalls Node lacks — mknod (devices, fifos), l{set,get,list}xattr, mount, umount2 — via the
// N-API addon in native/berth_sys.c (build: `node-gyp rebuild --directory=native`, see native/binding.gyp).
//
// Why an addon rather than spawning mknod/setfattr/mount: measured with bench/unpack-micro.ts on the
// dev VM (2 vCPU, Node 20.20, scratch dir on tmpfs so disk cost does not hide the call cost):
//   1000 x mknod      addon     8 ms (~8 µs/call)   vs  `mknod` binary     2678 ms (~2.7 ms/call)
//   1000 x setxattr   addon     7 ms (~7 µs/call)   vs  `setfattr` binary  2360 ms (~2.4 ms/call)
//   128-layer overlay mount     0.8 ms              vs  `mount` binary     3.8 ms
// (on ext4 every inode creation adds ~0.4 ms to both.) fork+exec per call would cost seconds for a
// layer with a few hundred devices/xattrs (e.g. a distro /dev or file capabilities); the addon costs
// microseconds and needs no output parsing. Calls are synchronous: each is a single
// short syscall, cheaper than a libuv thread-pool round trip.
import { errnoError, loadAddon as load } from '../util/native-addon';

/** mount(2) flags used by berth. */
export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  REMOUNT: 0x20,
  BIND: 0x1000,
  REC: 0x4000,
  PRIVATE: 0x40000,
} as const;

/** umount2(2) flags. */
export const MNT_DETACH = 0x2;

/** lsetxattr(2) flags. */
export const XATTR_CREATE = 0x1;
export const XATTR_REPLACE = 0x2;

const S_IFIFO = 0o010000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;

export type SpecialFileType = 'char' | 'block' | 'fifo';

function check(rc: number, syscall: string, path: string, dest?: string): void {
  if (rc < 0) throw errnoError(rc, syscall, path, dest);
}

/** Create a character/block device or a fifo. `mode` holds permission bits only. Never follows symlinks. */
export function mknod(path: string, type: SpecialFileType, mode: number, major = 0, minor = 0): void {
  const fmt = type === 'char' ? S_IFCHR : type === 'block' ? S_IFBLK : S_IFIFO;
  check(load().mknod(path, fmt | (mode & 0o7777), major >>> 0, minor >>> 0), 'mknod', path);
}

/** Set an extended attribute on `path` itself (not on a symlink's target). */
export function lsetxattr(path: string, name: string, value: Buffer, flags = 0): void {
  check(load().lsetxattr(path, name, value, flags), 'lsetxattr', path);
}

/** Value of an extended attribute; throws ENODATA if it is not set. */
export function lgetxattr(path: string, name: string): Buffer {
  const r = load().lgetxattr(path, name);
  if (typeof r === 'number') throw errnoError(r, 'lgetxattr', path);
  return r;
}

/** Names of the extended attributes of `path` itself. */
export function llistxattr(path: string): string[] {
  const r = load().llistxattr(path);
  if (typeof r === 'number') throw errnoError(r, 'llistxattr', path);
  return r
    .toString('utf8')
    .split('\0')
    .filter((n) => n.length > 0);
}

export interface MountOptions {
  /**
   * Directory the mount syscall resolves relative paths (in `source`/`data`) against. The addon does
   * this on a private thread (unshare(CLONE_FS) + chdir), so Node's own cwd never moves.
   */
  cwd?: string;
}

/** mount(2). `data` is limited by the kernel to one page (4096 bytes). */
export function mount(
  source: string | null,
  target: string,
  fstype: string | null,
  flags: number,
  data: string | null,
  opts: MountOptions = {},
): void {
  check(load().mount(source, target, fstype, flags, data, opts.cwd ?? null), 'mount', source ?? '', target);
}

/** umount2(2). */
export function umount(target: string, flags = 0): void {
  check(load().umount2(target, flags), 'umount2', target);
}
