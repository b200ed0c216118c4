// Applies one uncompressed OCI layer tar to a snapshot directory in overlayfs "diff" form.
//
// Security model: `dest` is a fresh directory only this function writes to while it runs, and the tar
// is hostile. Every entry name is cleaned (leading '/' stripped like containerd; a '..' that climbs
// above the root is rejected) and its parent directories are resolved component by component with
// lstat: a symlink met on the way is re-resolved *scoped to dest* (absolute targets restart at dest,
// '..' stops at dest), like securejoin. The final component is never followed: it is removed and
// re-created with calls that do not follow symlinks (open O_EXCL|O_NOFOLLOW, mkdir, symlink, mknod,
// link, lchown, lutimes, lsetxattr). Hardlink targets are resolved the same way and must be a
// non-directory inside dest. So no write lands outside dest, whatever the tar contains.
//
// Whiteouts become overlayfs form: `.wh.<name>` → 0/0 char device `<name>`, `.wh..wh..opq` →
// xattr trusted.overlay.opaque=y on the directory.
import {
  chmodSync,
  closeSync,
  constants as C,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  type Stats,
} from 'node:fs';
import { open as openCb, write as writeCb } from 'node:fs';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { extract as tarExtract, type Header } from 'tar-stream';
import { BerthError, errorMessage, internal, invalidArgument } from '../util/errors';
import { logger } from '../util/log';
import { lsetxattr, mknod } from './sys';

const log = logger('snapshot-apply');

export interface ApplyOptions {
  /**
   * Directories of the lower layers (top → bottom) this layer will sit on. Used only to copy the
   * owner/mode/mtime of parent directories the tar does not list (so e.g. /tmp keeps 1777 in the
   * merged view); never written.
   */
  parents?: string[];
  /** Extra context (layer digest, image) added to logs and errors. */
  context?: Record<string, unknown>;
  /** Aborts the extraction; the caller then discards dest. */
  signal?: AbortSignal;
}

export interface ApplyResult {
  /** Bytes of regular-file content written. */
  bytes: number;
  /** Tar entries applied (files, dirs, links, devices, whiteouts). */
  files: number;
}

const WHITEOUT_PREFIX = '.wh.';
const WHITEOUT_META_PREFIX = '.wh..wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
const OPAQUE_XATTR = 'trusted.overlay.opaque';
const MAX_SYMLINK_HOPS = 40;
/** xattrs copied from PAX SCHILY.xattr.* records; others (e.g. system.*) are skipped. */
const XATTR_ALLOWED = /^(security|user|trusted)\./;

/** Entry with the raw (binary-safe) PAX records tar-stream decoded as UTF-8 strings. */
type EntryHeader = Omit<Header, 'pax'> & { pax?: Record<string, string> | null };

/** The entry body: a streamx Readable (async-iterable, resumable). */
interface EntryStream extends AsyncIterable<Buffer> {
  resume(): unknown;
  destroy(err?: Error): unknown;
  on(event: 'data', fn: (chunk: Buffer) => void): unknown;
  on(event: 'end', fn: () => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
}

export async function applyLayer(tar: Readable, dest: string, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const started = Date.now();
  const writer = new LayerWriter(dest, opts);
  const ex = tarExtract();
  captureRawPax(ex, writer);

  const result = await new Promise<ApplyResult>((resolve, reject) => {
    let failed = false;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      tar.unpipe(ex as unknown as NodeJS.WritableStream);
      ex.destroy();
      tar.destroy();
      reject(err);
    };
    const onAbort = (): void => fail(new BerthError('cancelled', 'layer extraction aborted', { ...opts.context, dest }));
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    ex.on('entry', (header, stream, next) => {
      writer.entry(header as EntryHeader, stream as unknown as EntryStream).then(
        () => next(),
        (err) => {
          stream.resume();
          fail(err);
        },
      );
    });
    ex.on('finish', () => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (failed) return;
      try {
        writer.finish();
        resolve(writer.result);
      } catch (e) {
        fail(e);
      }
    });
    ex.on('error', (e: Error) => fail(wrap(e, 'invalid layer tar', { ...opts.context, dest })));
    tar.on('error', (e: Error) => fail(wrap(e, 'reading layer stream failed', { ...opts.context, dest })));
    tar.pipe(ex as unknown as NodeJS.WritableStream);
  });
  log.debug({ ...opts.context, dest, ...result, ms: Date.now() - started }, 'applied layer');
  return result;
}

function wrap(e: unknown, msg: string, ctx: Record<string, unknown>): BerthError {
  if (e instanceof BerthError) return e;
  return internal(`${msg}: ${errorMessage(e)}`, ctx, e);
}

/**
 * tar-stream decodes PAX values as UTF-8 strings, which mangles binary xattrs (security.capability).
 * Keep the raw bytes of SCHILY.xattr.* records by wrapping its long-header decoder on this instance.
 */
function captureRawPax(ex: object, writer: LayerWriter): void {
  const target = ex as { _decodeLongHeader?: (buf: Buffer) => unknown; _header?: { type?: string } };
  const orig = target._decodeLongHeader;
  if (typeof orig !== 'function') {
    throw internal('tar-stream internals changed: cannot read binary PAX xattrs', {});
  }
  let global: Map<string, Buffer> | undefined;
  target._decodeLongHeader = function (this: typeof target, buf: Buffer) {
    const type = this._header?.type;
    if (type === 'pax-header') writer.pendingXattrs = new Map([...(global ?? []), ...parsePaxXattrs(buf)]);
    else if (type === 'pax-global-header') global = parsePaxXattrs(buf);
    return orig.call(this, buf);
  };
}

/** SCHILY.xattr.<name> records of a PAX extended header ("<len> <key>=<value>\n"), values as bytes. */
export function parsePaxXattrs(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < buf.length) {
    const sp = buf.indexOf(0x20, off);
    if (sp < 0) break;
    const len = parseInt(buf.toString('latin1', off, sp), 10);
    if (!(len > 0) || off + len > buf.length) break;
    const rec = buf.subarray(sp + 1, off + len - 1); // drop the trailing '\n'
    const eq = rec.indexOf(0x3d);
    if (eq > 0) {
      const key = rec.toString('utf8', 0, eq);
      if (key.startsWith('SCHILY.xattr.')) out.set(key.slice('SCHILY.xattr.'.length), Buffer.from(rec.subarray(eq + 1)));
    }
    off += len;
  }
  return out;
}

/** Cleans a tar path to a dest-relative one ('' = dest itself); rejects climbing above the root. */
export function cleanEntryPath(name: string): string | null {
  // Fast path for the common already-clean relative name (no '.', '..' or empty components).
  if (name !== '' && !NEEDS_CLEANING.test(name)) return name;
  let p = posix.normalize(name.replace(/^\/+/, ''));
  p = p.replace(/\/+$/, '');
  if (p === '.' || p === '') return '';
  if (p === '..' || p.startsWith('../')) return null;
  return p;
}

const NEEDS_CLEANING = /(^|\/)\.{0,2}(\/|$)|^\//;

function openAsync(path: string, flags: number, mode: number): Promise<number> {
  return new Promise((resolve, reject) => openCb(path, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))));
}

function writeAsync(fd: number, buf: Buffer, offset: number): Promise<number> {
  return new Promise((resolve, reject) => writeCb(fd, buf, offset, buf.length - offset, null, (err, n) => (err ? reject(err) : resolve(n))));
}

function isErrno(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === code;
}

function lstatOrNull(p: string): Stats | null {
  return lstatSync(p, { throwIfNoEntry: false }) ?? null;
}

interface DirTimes {
  atime: number;
  mtime: number;
}

class LayerWriter {
  readonly result: ApplyResult = { bytes: 0, files: 0 };
  /** Raw xattrs of the PAX header preceding the next entry (set by captureRawPax). */
  pendingXattrs: Map<string, Buffer> | undefined;
  /** Dest-relative paths known to be real directories (no symlink anywhere on the way). */
  private readonly knownDirs = new Set<string>(['']);
  /** Directory times applied at the end, once nothing more is written inside them. */
  private readonly dirTimes = new Map<string, DirTimes>();
  private readonly parents: string[];
  private readonly ctx: Record<string, unknown>;

  constructor(
    private readonly dest: string,
    opts: ApplyOptions,
  ) {
    this.dest = posix.resolve(dest);
    this.parents = opts.parents ?? [];
    this.ctx = { ...opts.context, dest: this.dest };
  }

  private abs(rel: string): string {
    return rel === '' ? this.dest : `${this.dest}/${rel}`;
  }

  async entry(header: EntryHeader, stream: EntryStream): Promise<void> {
    const xattrs = this.pendingXattrs ?? new Map<string, Buffer>();
    this.pendingXattrs = undefined;
    try {
      await this.apply(header, stream, xattrs);
    } catch (e) {
      stream.resume();
      if (e instanceof BerthError) throw e;
      throw internal(`applying layer entry ${JSON.stringify(header.name)} failed: ${errorMessage(e)}`, { ...this.ctx, entry: header.name }, e);
    }
  }

  private async apply(h: EntryHeader, stream: EntryStream, xattrs: Map<string, Buffer>): Promise<void> {
    const rel = cleanEntryPath(h.name);
    if (rel === null) throw this.refuse(h, 'path escapes the layer root');
    const base = posix.basename(rel);
    const parentRel = rel === '' ? '' : posix.dirname(rel) === '.' ? '' : posix.dirname(rel);

    if (base.startsWith(WHITEOUT_PREFIX)) {
      stream.resume();
      this.whiteout(h, parentRel, base);
      this.result.files++;
      return;
    }

    switch (h.type) {
      case 'directory':
        stream.resume();
        this.directory(h, rel, xattrs);
        break;
      case 'file':
      case 'contiguous-file':
        await this.file(h, rel, stream, xattrs);
        break;
      case 'symlink':
        stream.resume();
        await this.symlink(h, rel, xattrs);
        break;
      case 'link':
        stream.resume();
        this.hardlink(h, rel);
        break;
      case 'character-device':
      case 'block-device':
      case 'fifo':
        stream.resume();
        await this.special(h, rel, xattrs);
        break;
      default:
        stream.resume();
        log.debug({ ...this.ctx, entry: h.name, type: h.type }, 'skipping unsupported tar entry type');
        return;
    }
    this.result.files++;
  }

  private refuse(h: EntryHeader, why: string): BerthError {
    return invalidArgument(`layer entry ${JSON.stringify(h.name)} refused: ${why}`, { ...this.ctx, entry: h.name, linkname: h.linkname ?? undefined });
  }

  /**
   * Resolves a dest-relative directory path to the real directory it denotes, following symlinks
   * scoped to dest. With `create`, missing components become directories; otherwise returns null.
   */
  private resolveDir(h: EntryHeader, rel: string, create: boolean): string | null {
    if (this.knownDirs.has(rel)) return rel;
    const todo = rel === '' ? [] : rel.split('/');
    const cur: string[] = [];
    let hops = 0;
    while (todo.length > 0) {
      const c = todo.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        cur.pop(); // '..' at the root stays at the root
        continue;
      }
      cur.push(c);
      const candidate = cur.join('/');
      if (this.knownDirs.has(candidate)) continue;
      const st = lstatOrNull(this.abs(candidate));
      if (st === null) {
        if (!create) return null;
        this.makeImplicitDir(candidate);
        continue;
      }
      if (st.isDirectory()) {
        this.knownDirs.add(candidate);
        continue;
      }
      if (st.isSymbolicLink()) {
        if (++hops > MAX_SYMLINK_HOPS) throw this.refuse(h, 'too many levels of symbolic links');
        const target = readlinkSync(this.abs(candidate));
        cur.pop();
        if (target.startsWith('/')) cur.length = 0;
        todo.unshift(...target.split('/'));
        continue;
      }
      throw this.refuse(h, `parent ${JSON.stringify(candidate)} is not a directory`);
    }
    return cur.join('/');
  }

  /** Parent resolved for creating `rel`; returns the real dest-relative path of the entry. */
  private target(h: EntryHeader, rel: string): string {
    const parentRel = posix.dirname(rel);
    const parent = this.resolveDir(h, parentRel === '.' ? '' : parentRel, true)!;
    const base = posix.basename(rel);
    return parent === '' ? base : `${parent}/${base}`;
  }

  /** A parent dir the tar did not list: copy its attributes from the nearest lower layer that has it. */
  private makeImplicitDir(rel: string): void {
    const p = this.abs(rel);
    mkdirSync(p, 0o755);
    this.knownDirs.add(rel);
    const lower = this.lowerDirStat(rel);
    if (lower) {
      lchownSync(p, lower.uid, lower.gid);
      chmodSync(p, lower.mode & 0o7777);
      this.dirTimes.set(rel, { atime: lower.atimeMs / 1000, mtime: lower.mtimeMs / 1000 });
    } else {
      chmodSync(p, 0o755);
    }
  }

  /** lstat of `rel` in the first lower layer where every component is a real directory (no following). */
  private lowerDirStat(rel: string): Stats | null {
    const parts = rel.split('/');
    outer: for (const root of this.parents) {
      let p = root;
      let st: Stats | null = null;
      for (const c of parts) {
        p = `${p}/${c}`;
        st = lstatOrNull(p);
        if (st === null) continue outer;
        if (!st.isDirectory()) continue outer; // a whiteout, file or symlink hides/replaces it
      }
      return st;
    }
    return null;
  }

  /** Makes room for a new entry at `real`; keeps an existing directory when the new entry is one. */
  private clear(real: string, keepDir: boolean): 'kept-dir' | 'clear' {
    const p = this.abs(real);
    const st = lstatOrNull(p);
    if (st === null) return 'clear';
    if (st.isDirectory()) {
      if (keepDir) return 'kept-dir';
      rmSync(p, { recursive: true, force: true });
      this.forget(real);
    } else {
      unlinkSync(p);
    }
    return 'clear';
  }

  /**
   * Runs a create call that fails with EEXIST if something is at `real`; on EEXIST removes it and
   * retries once. Cheaper than an lstat before every create (most paths are new).
   */
  private async createExclusive<T>(real: string, create: () => T | Promise<T>): Promise<T> {
    try {
      return await create();
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) throw e;
    }
    this.clear(real, false);
    return create();
  }

  /** Drops cached knowledge about `real` and everything below it (it was just removed). */
  private forget(real: string): void {
    const prefix = `${real}/`;
    for (const d of this.knownDirs) if (d === real || d.startsWith(prefix)) this.knownDirs.delete(d);
    for (const d of this.dirTimes.keys()) if (d === real || d.startsWith(prefix)) this.dirTimes.delete(d);
  }

  private whiteout(h: EntryHeader, parentRel: string, base: string): void {
    const parent = this.resolveDir(h, parentRel, true)!;
    if (base === OPAQUE_MARKER) {
      lsetxattr(this.abs(parent), OPAQUE_XATTR, Buffer.from('y'));
      return;
    }
    if (base.startsWith(WHITEOUT_META_PREFIX)) {
      log.debug({ ...this.ctx, entry: h.name }, 'skipping aufs whiteout metadata entry');
      return;
    }
    const name = base.slice(WHITEOUT_PREFIX.length);
    if (name === '' || name === '.' || name === '..') throw this.refuse(h, 'invalid whiteout name');
    const real = parent === '' ? name : `${parent}/${name}`;
    this.clear(real, false);
    const p = this.abs(real);
    mknod(p, 'char', 0, 0, 0);
    lchownSync(p, this.uid(h), this.gid(h));
  }

  private directory(h: EntryHeader, rel: string, xattrs: Map<string, Buffer>): void {
    const real = rel === '' ? '' : this.target(h, rel);
    const p = this.abs(real);
    if (real !== '' && !this.knownDirs.has(real)) {
      try {
        mkdirSync(p, 0o700);
      } catch (e) {
        if (!isErrno(e, 'EEXIST')) throw e;
        if (this.clear(real, true) === 'clear') mkdirSync(p, 0o700);
      }
    }
    this.knownDirs.add(real);
    lchownSync(p, this.uid(h), this.gid(h));
    chmodSync(p, (h.mode ?? 0o755) & 0o7777);
    this.setXattrs(h, p, xattrs, true);
    const t = this.times(h);
    this.dirTimes.set(real, t);
  }

  private async file(h: EntryHeader, rel: string, stream: EntryStream, xattrs: Map<string, Buffer>): Promise<void> {
    const real = this.target(h, rel);
    const p = this.abs(real);
    // Off the event loop: creating an inode can wait on the filesystem's journal while earlier
    // layers' data is written back (measured: most of a large pull's main-thread time), and the
    // other layers' downloads and unpacks should go on meanwhile.
    // The body may fail (a truncated layer) while the file is being opened: hold the error for later.
    let failed: Error | undefined;
    stream.on('error', (e) => (failed ??= e));
    const fd = await this.createExclusive(real, () => openAsync(p, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600));
    try {
      for await (const chunk of stream) {
        let off = 0;
        while (off < chunk.length) off += await writeAsync(fd, chunk, off);
        this.result.bytes += chunk.length;
      }
      if (failed) throw failed;
      // chown clears setuid/setgid and security.capability: chown, then chmod, then xattrs.
      fchownSync(fd, this.uid(h), this.gid(h));
      fchmodSync(fd, (h.mode ?? 0o644) & 0o7777);
      this.setXattrs(h, p, xattrs, true);
      const t = this.times(h);
      futimesSync(fd, t.atime, t.mtime);
    } finally {
      closeSync(fd);
    }
  }

  private async symlink(h: EntryHeader, rel: string, xattrs: Map<string, Buffer>): Promise<void> {
    if (!h.linkname) throw this.refuse(h, 'symlink without a target');
    const real = this.target(h, rel);
    const p = this.abs(real);
    const to = h.linkname;
    await this.createExclusive(real, () => symlinkSync(to, p)); // only data; never followed while extracting
    lchownSync(p, this.uid(h), this.gid(h));
    this.setXattrs(h, p, xattrs, false);
    const t = this.times(h);
    lutimesSync(p, t.atime, t.mtime);
  }

  private hardlink(h: EntryHeader, rel: string): void {
    const linkRel = cleanEntryPath(h.linkname ?? '');
    if (linkRel === null || linkRel === '') throw this.refuse(h, 'hardlink target escapes the layer root');
    const linkParent = posix.dirname(linkRel);
    const parentReal = this.resolveDir(h, linkParent === '.' ? '' : linkParent, false);
    if (parentReal === null) throw this.refuse(h, 'hardlink target does not exist in this layer');
    const targetReal = parentReal === '' ? posix.basename(linkRel) : `${parentReal}/${posix.basename(linkRel)}`;
    const targetPath = this.abs(targetReal);
    const st = lstatOrNull(targetPath);
    if (st === null) throw this.refuse(h, 'hardlink target does not exist in this layer');
    if (st.isDirectory()) throw this.refuse(h, 'hardlink target is a directory');
    if (st.isSymbolicLink()) {
      // link(2) does not follow, so this only copies the symlink; still refuse ones aimed outside.
      const to = readlinkSync(targetPath);
      const resolved = posix.normalize(posix.join(posix.dirname(targetReal), to));
      if (to.startsWith('/') || resolved === '..' || resolved.startsWith('../')) {
        throw this.refuse(h, 'hardlink target is a symlink pointing outside the layer');
      }
    }
    const real = this.target(h, rel);
    if (real === targetReal) return; // a link to itself: nothing to do
    const existing = lstatOrNull(this.abs(real));
    if (existing && existing.ino === st.ino && existing.dev === st.dev) return;
    this.clear(real, false);
    linkSync(targetPath, this.abs(real));
  }

  private async special(h: EntryHeader, rel: string, xattrs: Map<string, Buffer>): Promise<void> {
    const real = this.target(h, rel);
    const p = this.abs(real);
    const type = h.type === 'character-device' ? 'char' : h.type === 'block-device' ? 'block' : 'fifo';
    await this.createExclusive(real, () => mknod(p, type, 0o600, h.devmajor ?? 0, h.devminor ?? 0));
    lchownSync(p, this.uid(h), this.gid(h));
    chmodSync(p, (h.mode ?? 0o644) & 0o7777); // mknod's mode is masked by umask; set it exactly
    this.setXattrs(h, p, xattrs, false);
    const t = this.times(h);
    lutimesSync(p, t.atime, t.mtime);
  }

  private setXattrs(h: EntryHeader, p: string, xattrs: Map<string, Buffer>, userAllowed: boolean): void {
    for (const [name, value] of xattrs) {
      // trusted.overlay.* would steer overlayfs itself (opaque, redirect, metacopy); whiteouts and
      // opaque dirs come only from .wh. entries.
      if (!XATTR_ALLOWED.test(name) || name.startsWith('trusted.overlay.')) {
        log.debug({ ...this.ctx, entry: h.name, xattr: name }, 'skipping xattr outside security/user/trusted');
        continue;
      }
      // user.* is only allowed on regular files and directories by the kernel.
      if (!userAllowed && name.startsWith('user.')) {
        log.debug({ ...this.ctx, entry: h.name, xattr: name }, 'skipping user xattr on a special file');
        continue;
      }
      lsetxattr(p, name, value);
    }
  }

  private uid(h: EntryHeader): number {
    const v = h.pax?.uid;
    return v !== undefined ? Number(v) : (h.uid ?? 0);
  }

  private gid(h: EntryHeader): number {
    const v = h.pax?.gid;
    return v !== undefined ? Number(v) : (h.gid ?? 0);
  }

  /** Seconds (fractional) for lutimes; PAX records keep sub-second precision. */
  private times(h: EntryHeader): DirTimes {
    const m = h.pax?.mtime !== undefined ? Number(h.pax.mtime) : (h.mtime?.getTime() ?? 0) / 1000;
    const a = h.pax?.atime !== undefined ? Number(h.pax.atime) : m;
    return { atime: Number.isFinite(a) ? a : m, mtime: Number.isFinite(m) ? m : 0 };
  }

  /** Directory times last: deepest first, after everything inside them has been written. */
  finish(): void {
    const depth = (rel: string): number => (rel === '' ? 0 : rel.split('/').length);
    const dirs = [...this.dirTimes.entries()].sort((a, b) => depth(b[0]) - depth(a[0]));
    for (const [rel, t] of dirs) {
      const p = this.abs(rel);
      const st = lstatOrNull(p);
      if (st?.isDirectory()) lutimesSync(p, t.atime, t.mtime);
    }
  }
}
