// Builds image layer tarballs, either from a directory on disk or from an in-memory entry list
// (which lets tests craft whiteouts, opaque directories and even hostile layers). Output is
// deterministic for the same input: entry order is fixed, and gzip/zstd settings are pinned.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { MediaType } from '../oci-types';
import { invalidArgument, internal, isBerthError } from '../../util/errors';
import { logger } from '../../util/log';
import type { BlobSource } from './blob';
import { createZstdCompressor } from './zstd';
import { readTreeXattrs } from './xattr-reader';

const log = logger('image-writer');

export type LayerEntryType =
  | 'file'
  | 'dir'
  | 'symlink'
  | 'hardlink'
  | 'whiteout'
  | 'opaque'
  | 'char'
  | 'block'
  | 'fifo';

/** One entry of an in-memory layer. `path` is relative to the layer root ("etc/passwd"). */
export interface LayerEntry {
  path: string;
  type: LayerEntryType;
  /** Permission bits incl. setuid/setgid/sticky (0o7777); the file type comes from `type`. */
  mode?: number;
  uid?: number;
  gid?: number;
  /** Body of a 'file' entry. */
  content?: Buffer | string;
  /** Target of a 'symlink' (verbatim) or 'hardlink' (another path in the layer). */
  linkname?: string;
  /** Written as PAX `SCHILY.xattr.<name>` records; values must be valid UTF-8 (tar-stream limit). */
  xattrs?: Record<string, Buffer | string>;
  /** Date, or seconds since the epoch. */
  mtime?: Date | number;
  devmajor?: number;
  devminor?: number;
}

export type LayerCompression = 'none' | 'gzip' | 'zstd';

export interface LayerOptions {
  /** Default 'gzip'. */
  compression?: LayerCompression;
  /** Compression level (gzip 1-9, default 6; zstd 1-19, default 3). */
  level?: number;
  /** Force this mtime on every entry (reproducible layers from a directory). */
  mtime?: Date | number;
  /** Force this owner on every entry. */
  uid?: number;
  gid?: number;
  /**
   * Write names and hardlink targets exactly as given: no normalization, no rejection of `..`
   * or absolute paths, no trailing slash on directories. For hostile-layer tests.
   */
  raw?: boolean;
  /** Stream the compressed blob to this file instead of keeping it in memory. */
  outFile?: string;
}

export interface DirectoryLayerOptions extends LayerOptions {
  /** Also record extended attributes (read with getfattr). Default false. */
  xattrs?: boolean;
  /**
   * Adjust or drop each entry read from the directory (the file body still comes from disk).
   * Returning null drops the entry, and for a directory its whole subtree.
   */
  map?: (entry: LayerEntry) => LayerEntry | null | undefined;
}

export interface BuiltLayer {
  /** The compressed blob: bytes, or the path given as `outFile`. */
  blob: BlobSource;
  /** Digest of the blob as stored (compressed). */
  digest: string;
  /** Size of the blob as stored. */
  size: number;
  /** Digest of the uncompressed tar (what the image config lists in rootfs.diff_ids). */
  diffId: string;
  /** OCI media type for this compression; image.ts maps it for Docker manifests. */
  mediaType: string;
  compression: LayerCompression;
}

export function ociLayerMediaType(compression: LayerCompression): string {
  switch (compression) {
    case 'none':
      return MediaType.OciLayer;
    case 'gzip':
      return MediaType.OciLayerGzip;
    case 'zstd':
      return MediaType.OciLayerZstd;
  }
}

// The file-type bits are OR-ed into the mode only so that tar-stream does not mistake a mode of 0
// for "unset" and substitute its default; the encoder keeps only the low 12 bits.
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;
/** Largest id the 7-digit octal ustar field holds; beyond it the id goes in a PAX record. */
const USTAR_MAX_ID = 0o7777777;

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

type TarHeader = Partial<tar.Header> & { name: string; pax?: Record<string, string> };

interface TarItem {
  header: TarHeader;
  body?: Buffer | { file: string; size: number };
}

/** Clean a layer path: strip leading "/" and "./", collapse "//", reject "..". */
function normalizeLayerPath(p: string, ctx: Record<string, unknown>): string {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.some((s) => s === '..')) throw invalidArgument(`layer path escapes the root: ${p}`, ctx);
  return parts.join('/');
}

function toSeconds(t: Date | number | undefined): Date | undefined {
  if (t === undefined) return undefined;
  return t instanceof Date ? new Date(Math.floor(t.getTime() / 1000) * 1000) : new Date(Math.floor(t) * 1000);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function xattrPax(xattrs: Record<string, Buffer | string> | undefined, ctx: Record<string, unknown>): Record<string, string> {
  const pax: Record<string, string> = {};
  if (!xattrs) return pax;
  for (const name of Object.keys(xattrs).sort()) {
    const v = xattrs[name]!;
    let s: string;
    if (typeof v === 'string') s = v;
    else {
      try {
        s = utf8.decode(v);
      } catch {
        throw invalidArgument(`xattr ${name} has a non-UTF-8 value, which tar-stream cannot encode in a PAX record`, {
          ...ctx,
          xattr: name,
        });
      }
    }
    if (name.includes('=') || name.includes('\n')) throw invalidArgument(`bad xattr name ${JSON.stringify(name)}`, ctx);
    pax[`SCHILY.xattr.${name}`] = s;
  }
  return pax;
}

const DEFAULT_MODE: Record<LayerEntryType, number> = {
  file: 0o644,
  dir: 0o755,
  symlink: 0o777,
  hardlink: 0o644,
  whiteout: 0o644,
  opaque: 0o644,
  char: 0o666,
  block: 0o660,
  fifo: 0o644,
};

/** Turn one entry into a tar header (+ body). Exported for tests of naming rules. */
export function entryToTarItem(e: LayerEntry, opts: LayerOptions = {}, body?: TarItem['body']): TarItem {
  const ctx = { path: e.path, type: e.type };
  const raw = opts.raw === true;
  let name: string;
  let type: tar.Header['type'];
  let typeBits: number;
  let linkname: string | undefined;

  const clean = (p: string) => (raw ? p : normalizeLayerPath(p, ctx));
  switch (e.type) {
    case 'file':
      name = clean(e.path);
      type = 'file';
      typeBits = S_IFREG;
      break;
    case 'dir':
      name = clean(e.path);
      if (!raw && name !== '' && !name.endsWith('/')) name += '/';
      type = 'directory';
      typeBits = S_IFDIR;
      break;
    case 'symlink':
      name = clean(e.path);
      type = 'symlink';
      typeBits = S_IFLNK;
      if (e.linkname === undefined) throw invalidArgument('symlink entry needs a linkname', ctx);
      linkname = e.linkname;
      break;
    case 'hardlink':
      name = clean(e.path);
      type = 'link';
      typeBits = S_IFREG;
      if (e.linkname === undefined) throw invalidArgument('hardlink entry needs a linkname', ctx);
      linkname = clean(e.linkname);
      break;
    case 'whiteout': {
      const p = clean(e.path);
      const dir = posix.dirname(p);
      const base = posix.basename(p);
      if (!base) throw invalidArgument('whiteout needs a file name', ctx);
      name = dir === '.' && !p.startsWith('./') ? `${WHITEOUT_PREFIX}${base}` : `${dir}/${WHITEOUT_PREFIX}${base}`;
      type = 'file';
      typeBits = S_IFREG;
      break;
    }
    case 'opaque': {
      const p = clean(e.path).replace(/\/+$/, '');
      name = p === '' ? OPAQUE_MARKER : `${p}/${OPAQUE_MARKER}`;
      type = 'file';
      typeBits = S_IFREG;
      break;
    }
    case 'char':
      name = clean(e.path);
      type = 'character-device';
      typeBits = S_IFCHR;
      break;
    case 'block':
      name = clean(e.path);
      type = 'block-device';
      typeBits = S_IFBLK;
      break;
    case 'fifo':
      name = clean(e.path);
      type = 'fifo';
      typeBits = S_IFIFO;
      break;
    default:
      throw invalidArgument(`unknown layer entry type ${String((e as LayerEntry).type)}`, ctx);
  }
  if (name === '') throw invalidArgument('layer entry has an empty path', ctx);

  let content: TarItem['body'] = body;
  if (e.content !== undefined) {
    if (e.type !== 'file') throw invalidArgument(`only file entries carry content`, ctx);
    content = typeof e.content === 'string' ? Buffer.from(e.content, 'utf8') : e.content;
  }
  // tar-stream waits for a body on every 'file' header, including whiteout markers.
  if (type === 'file' && content === undefined) content = Buffer.alloc(0);

  const uid = opts.uid ?? e.uid ?? 0;
  const gid = opts.gid ?? e.gid ?? 0;
  const pax = xattrPax(e.xattrs, ctx);
  if (uid > USTAR_MAX_ID) pax.uid = String(uid);
  if (gid > USTAR_MAX_ID) pax.gid = String(gid);

  const header: TarItem['header'] = {
    name,
    type,
    mode: ((e.mode ?? DEFAULT_MODE[e.type]) & 0o7777) | typeBits,
    uid: uid > USTAR_MAX_ID ? USTAR_MAX_ID : uid,
    gid: gid > USTAR_MAX_ID ? USTAR_MAX_ID : gid,
    mtime: toSeconds(opts.mtime) ?? toSeconds(e.mtime) ?? new Date(0),
    size: content === undefined ? 0 : Buffer.isBuffer(content) ? content.length : content.size,
  };
  if (linkname !== undefined) header.linkname = linkname;
  if (e.type === 'char' || e.type === 'block') {
    header.devmajor = e.devmajor ?? 0;
    header.devminor = e.devminor ?? 0;
  }
  if (Object.keys(pax).length > 0) header.pax = pax;
  return { header, body: content };
}

/** Counts and hashes the bytes flowing through. */
class HashTap extends Transform {
  readonly hash: Hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

function compressor(compression: LayerCompression, level: number | undefined): Transform | Readable | null {
  switch (compression) {
    case 'none':
      return null;
    case 'gzip':
      // Node's gzip header carries no mtime or file name, so the output depends only on input+level.
      return createGzip({ level: level ?? 6 });
    case 'zstd':
      return createZstdCompressor(level ?? 3) as unknown as Transform;
  }
}

class BufferSink extends Writable {
  readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.chunks.push(chunk);
    cb();
  }
}

async function writeEntry(pack: tar.Pack, item: TarItem): Promise<void> {
  const body = item.body;
  if (body === undefined || Buffer.isBuffer(body)) {
    await new Promise<void>((res, rej) => {
      const cb = (err?: Error | null) => (err ? rej(err) : res());
      const sink = body ? pack.entry(item.header, body, cb) : pack.entry(item.header, cb);
      // A failure is reported through cb; the entry stream's own 'error' would go unhandled.
      sink.on('error', () => undefined);
    });
    return;
  }
  let sink!: ReturnType<tar.Pack['entry']>;
  const done = new Promise<void>((res, rej) => {
    sink = pack.entry(item.header, (err) => (err ? rej(err) : res()));
  });
  sink.on('error', () => undefined);
  for await (const chunk of createReadStream(body.file)) {
    if (!sink.write(chunk as Buffer)) await new Promise<void>((r) => sink.once('drain', () => r()));
  }
  sink.end(null as unknown as undefined);
  await done;
}

/** Pack items into a tar, compress, and hash both forms. */
async function buildLayer(items: AsyncIterable<TarItem> | Iterable<TarItem>, opts: LayerOptions): Promise<BuiltLayer> {
  const compression = opts.compression ?? 'gzip';
  const started = Date.now();
  const pack = tar.pack();
  const diff = new HashTap();
  const stored = new HashTap();
  const comp = compressor(compression, opts.level);
  const sink: Writable = opts.outFile ? createWriteStream(opts.outFile, { mode: 0o644 }) : new BufferSink();
  const stages: NodeJS.ReadWriteStream[] = comp ? [diff, comp as Transform, stored] : [diff, stored];
  const consume = pipeline([Readable.from(pack), ...stages, sink]);
  consume.catch((e: unknown) => pack.destroy(e as Error));

  try {
    for await (const item of items) await writeEntry(pack, item);
    pack.finalize();
    await consume;
  } catch (e) {
    pack.destroy(e as Error);
    const consumeErr = await consume.then(
      () => undefined,
      (x: unknown) => x,
    );
    if (opts.outFile) await fsp.rm(opts.outFile, { force: true });
    // A failing compressor surfaces on both sides; its own error says more than "pack destroyed".
    const cause = isBerthError(e) ? e : isBerthError(consumeErr) ? consumeErr : e;
    if (isBerthError(cause)) throw cause;
    throw internal(`building layer failed: ${(cause as Error).message}`, { compression, outFile: opts.outFile }, cause);
  }

  const diffId = `sha256:${diff.hash.digest('hex')}`;
  const storedDigest = `sha256:${stored.hash.digest('hex')}`;
  const blob: BlobSource = opts.outFile ?? Buffer.concat((sink as BufferSink).chunks);
  log.debug({ diffId, digest: storedDigest, size: stored.bytes, compression, ms: Date.now() - started }, 'built layer');
  return {
    blob,
    digest: storedDigest,
    size: stored.bytes,
    diffId,
    mediaType: ociLayerMediaType(compression),
    compression,
  };
}

/** Build a layer from an in-memory entry list, written in the order given. */
export async function buildLayerFromEntries(entries: readonly LayerEntry[], opts: LayerOptions = {}): Promise<BuiltLayer> {
  // Convert up front so bad entries fail before any compressor process is started.
  const items = entries.map((e) => entryToTarItem(e, opts));
  return buildLayer(items, opts);
}

/** Linux dev_t → (major, minor), glibc encoding. */
function splitDev(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

async function* walkDirectory(root: string, opts: DirectoryLayerOptions): AsyncGenerator<TarItem> {
  const absRoot = resolve(root);
  const xattrs = opts.xattrs ? await readTreeXattrs(absRoot) : undefined;
  // First path seen for each (dev, inode) of a multiply-linked non-directory.
  const inodes = new Map<string, string>();

  async function* walk(relDir: string): AsyncGenerator<TarItem> {
    const names = (await fsp.readdir(join(absRoot, relDir))).sort();
    for (const name of names) {
      const rel = relDir ? `${relDir}/${name}` : name;
      const abs = join(absRoot, rel);
      const st = await fsp.lstat(abs, { bigint: true });
      const base: Omit<LayerEntry, 'type'> = {
        path: rel,
        mode: Number(st.mode & 0o7777n),
        uid: Number(st.uid),
        gid: Number(st.gid),
        mtime: Number(st.mtimeNs / 1_000_000_000n),
      };
      const fx = xattrs?.get(abs);
      if (fx && fx.size > 0) base.xattrs = Object.fromEntries(fx);

      let entry: LayerEntry;
      let body: TarItem['body'];
      const inodeKey = `${st.dev}:${st.ino}`;
      const firstPath = !st.isDirectory() && st.nlink > 1n ? inodes.get(inodeKey) : undefined;
      if (firstPath !== undefined) {
        entry = { ...base, type: 'hardlink', linkname: firstPath };
      } else if (st.isDirectory()) {
        entry = { ...base, type: 'dir' };
      } else if (st.isFile()) {
        entry = { ...base, type: 'file' };
        body = { file: abs, size: Number(st.size) };
      } else if (st.isSymbolicLink()) {
        entry = { ...base, type: 'symlink', linkname: await fsp.readlink(abs) };
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        const { major, minor } = splitDev(st.rdev);
        entry = { ...base, type: st.isCharacterDevice() ? 'char' : 'block', devmajor: major, devminor: minor };
      } else if (st.isFIFO()) {
        entry = { ...base, type: 'fifo' };
      } else {
        log.debug({ path: rel }, 'skipping socket: tar cannot hold it');
        continue;
      }

      const mapped = opts.map ? opts.map(entry) : entry;
      if (!mapped) continue;
      if (firstPath === undefined && !st.isDirectory() && st.nlink > 1n) inodes.set(inodeKey, mapped.path);
      yield entryToTarItem(mapped, opts, mapped.type === 'file' ? body : undefined);
      if (st.isDirectory()) yield* walk(rel);
    }
  }
  yield* walk('');
}

/**
 * Build a layer from a directory tree: entries sorted by name, owner/mode/mtime from the file
 * system unless overridden, hardlinks found by (device, inode), the root itself not included.
 */
export function buildLayerFromDirectory(dir: string, opts: DirectoryLayerOptions = {}): Promise<BuiltLayer> {
  return buildLayer(walkDirectory(dir, opts), opts);
}
