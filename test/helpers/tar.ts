// Crafting layer tars for tests (tar-stream pack), including hostile entries, plus a filesystem
// listing used to prove an extraction changed nothing outside its destination.
import { lstatSync, readdirSync, readlinkSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { pack } from 'tar-stream';

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';

export interface TarEntrySpec {
  name: string;
  type?: TarEntryType;
  content?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Emitted as SCHILY.xattr.* records in a raw PAX header, so binary values survive. */
  xattrs?: Record<string, Buffer | string>;
}

/** One PAX record: "<len> <key>=<value>\n" where len counts the whole record including itself. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

export function paxXattrHeader(xattrs: Record<string, Buffer | string>): Buffer {
  return Buffer.concat(
    Object.entries(xattrs).map(([k, v]) => paxRecord(`SCHILY.xattr.${k}`, Buffer.isBuffer(v) ? v : Buffer.from(v))),
  );
}

/** A complete tar archive of `entries`, in order. */
export async function makeTar(entries: TarEntrySpec[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    p.on('data', (c: unknown) => {
      chunks.push(c as Buffer);
    });
    p.on('end', () => resolve());
    p.on('error', reject);
  });
  const add = (header: Parameters<typeof p.entry>[0], body?: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (body !== undefined) p.entry(header, body, cb);
      else p.entry(header, cb);
    });
  // pack writes PAX values as UTF-8 text; binary xattr values are written as same-length ASCII
  // placeholders and patched into the finished archive.
  const patches: Array<{ record: Buffer; value: Buffer }> = [];
  for (const e of entries) {
    const pax: Record<string, string> = {};
    for (const [k, v] of Object.entries(e.xattrs ?? {})) {
      const value = Buffer.isBuffer(v) ? v : Buffer.from(v);
      const placeholder = Buffer.from(randomBytes(value.length).toString('base64').slice(0, value.length).padEnd(value.length, 'Q'));
      patches.push({ record: Buffer.concat([Buffer.from(` SCHILY.xattr.${k}=`), placeholder, Buffer.from('\n')]), value });
      pax[`SCHILY.xattr.${k}`] = placeholder.toString('latin1');
    }
    const type = e.type ?? 'file';
    const header = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? new Date('2020-01-02T03:04:05Z'),
      ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
      ...(e.devmajor !== undefined ? { devmajor: e.devmajor } : {}),
      ...(e.devminor !== undefined ? { devminor: e.devminor } : {}),
      ...(e.xattrs ? { pax } : {}),
    };
    if (type === 'file') await add(header, Buffer.isBuffer(e.content) ? e.content : Buffer.from(e.content ?? ''));
    else await add(header);
  }
  p.finalize();
  await done;
  const out = Buffer.concat(chunks);
  let from = 0;
  for (const { record, value } of patches) {
    const at = out.indexOf(record, from);
    if (at < 0) throw new Error('xattr placeholder not found in packed tar');
    value.copy(out, at + record.length - 1 - value.length);
    from = at + record.length;
  }
  return out;
}

/** The tar as a stream delivered in small chunks, like a network download. */
export function tarReadable(buf: Buffer, chunk = 4096): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
  return Readable.from(parts);
}

/**
 * Every path under `root` with type, mode, owner, size, mtime and (for files/symlinks) content —
 * compare two listings to prove nothing changed.
 */
export function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(p);
      let extra = '';
      if (st.isSymbolicLink()) extra = `-> ${readlinkSync(p)}`;
      else if (st.isFile()) extra = readFileSync(p).toString('base64');
      out.push(`${r} mode=${st.mode.toString(8)} uid=${st.uid} gid=${st.gid} size=${st.size} mtime=${st.mtimeMs} ${extra}`);
      if (st.isDirectory()) walk(p, r);
    }
  };
  walk(root, '');
  return out;
}

/** Rewrites the typeflag of the header named `name` (e.g. to an unknown type) and fixes its checksum. */
export function patchTypeflag(tar: Buffer, name: string, flag: string): Buffer {
  const out = Buffer.from(tar);
  for (let off = 0; off + 512 <= out.length; off += 512) {
    if (out.toString('utf8', off, off + name.length) === name && out[off + name.length] === 0 && out.toString('latin1', off + 257, off + 262) === 'ustar') {
      out[off + 156] = flag.charCodeAt(0);
      out.fill(0x20, off + 148, off + 156);
      let sum = 0;
      for (let i = off; i < off + 512; i++) sum += out[i]!;
      out.write(`${sum.toString(8).padStart(6, '0')}\0 `, off + 148, 'latin1');
      return out;
    }
  }
  throw new Error(`header ${name} not found`);
}
