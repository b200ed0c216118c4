// Loader of berth's one N-API addon (native/berth_sys.c, built by scripts/build-native.sh). Every
// function returns a negative errno on failure instead of throwing; the wrappers (src/snapshot/sys.ts,
// src/runtime/sys-streams.ts) turn that into Node-style errors.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { unavailable } from './errors';

/** Opaque handle of a packet reader thread. */
export type PacketReaderHandle = { readonly __brand: 'PacketReader' };

export interface BerthSysAddon {
  mknod(path: string, mode: number, major: number, minor: number): number;
  lsetxattr(path: string, name: string, value: Buffer, flags: number): number;
  lgetxattr(path: string, name: string): Buffer | number;
  llistxattr(path: string): Buffer | number;
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null, cwd: string | null): number;
  umount2(target: string, flags: number): number;
  /** [master, slave] (both close-on-exec) or -errno. */
  openPty(): [number, number] | number;
  setWinsize(fd: number, rows: number, cols: number): number;
  connectSeqpacket(path: string): number;
  /** Non-blocking send of one packet: bytes sent or -errno (-EAGAIN when the peer is full). */
  sendPacket(fd: number, data: Buffer): number;
  shutdownFd(fd: number, how: number): number;
  /** The last call is (null, 0 | -errno). */
  startPacketReader(fd: number, maxPacket: number, onPacket: (packet: Buffer | null, err: number) => void): PacketReaderHandle | number;
  packetReaderControl(handle: PacketReaderHandle, paused: boolean, stop: boolean): number;
  /** Resolves with a connected TCP socket fd, or -errno. */
  connectInNetns(nsPath: string | null, host: string, port: number, timeoutMs: number): Promise<number>;
  /** [fd, fd]: a close-on-exec AF_UNIX stream pair, or -errno. */
  socketpair(): [number, number] | number;
  closeFd(fd: number): number;
  /** posix_spawn of `path` (no PATH lookup); fds[i] becomes the child's fd i, all others closed. pid or -errno. */
  spawn(path: string, argv: string[], envp: string[], cwd: string | null, fds: number[], setsid: boolean): number;
  /** cb(exit code or -1, signal or 0, 0 | -errno of waitpid) once `pid` is reaped; 0 or -errno. */
  waitExit(pid: number, cb: (code: number, signal: number, err: number) => void, keepAlive: boolean): number;
  /**
   * On a thread of its own: unshares new namespaces of the kinds given, bind-mounts each onto its
   * pin file (created if missing), then brings lo up, sets the hostname and writes [path, value] sysctls in them.
   */
  pinNewNamespaces(
    pins: Partial<Record<'net' | 'ipc' | 'uts', string>>,
    hostname: string | null,
    loopbackUp: boolean,
    sysctls: [string, string][],
  ): Promise<{ errno: number; step: string; index: number }>;
}

let addon: BerthSysAddon | undefined;

export function loadAddon(): BerthSysAddon {
  if (addon) return addon;
  // Works from src/util (tsx) and from dist/src/util (compiled).
  const candidates = [
    process.env.BERTH_SYS_ADDON,
    resolve(__dirname, '../../native/build/Release/berth_sys.node'),
    resolve(__dirname, '../../../native/build/Release/berth_sys.node'),
  ].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw unavailable('native addon berth_sys.node is not built (run `npm run build`: node-gyp rebuild --directory=native)', {
      searched: candidates,
    });
  }
  addon = require(found) as BerthSysAddon;
  return addon;
}

let errnoMap: Map<number, [string, string]> | undefined;

/** A Node-style ErrnoException (code, errno, syscall, path) like the ones node:fs throws. */
export function errnoError(negErrno: number, syscall: string, path: string, dest?: string): NodeJS.ErrnoException {
  errnoMap ??= getSystemErrorMap();
  const [code, message] = errnoMap.get(negErrno) ?? [`E${-negErrno}`, 'unknown error'];
  const e: NodeJS.ErrnoException = new Error(`${code}: ${message}, ${syscall} '${path}'${dest ? ` -> '${dest}'` : ''}`);
  e.code = code;
  e.errno = negErrno;
  e.syscall = syscall;
  e.path = path;
  if (dest) (e as NodeJS.ErrnoException & { dest?: string }).dest = dest;
  return e;
}
