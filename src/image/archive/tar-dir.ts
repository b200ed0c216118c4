// Unpacking an image archive (a tar of JSON documents and blobs) into a private directory so its
// entries can be read in any order. Only regular files and directories land on disk; symlinks
// (old `docker save` links repeated layers) are kept as a name map and resolved inside the archive,
// so nothing in the archive can point outside the directory.
import { createWriteStream, promises as fsp } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { decompressor } from '../decompress';
import { BerthError, errorMessage, invalidArgument, notFound } from '../../util/errors';

/** A clean relative archive path ("a/b"), or undefined for the archive root; throws on escapes. */
export function cleanArchivePath(name: string): string | undefined {
  const n = posix.normalize(name.replace(/^\/+/, ''));
  if (n === '.' || n === '' || n === './') return undefined;
  if (n === '..' || n.startsWith('../')) throw invalidArgument(`archive entry "${name}" leaves the archive`, { entry: name });
  return n.replace(/\/+$/, '');
}

/**
 * The archive's tar bytes: `docker load` also takes a gzip- or zstd-compressed archive
 * (`docker save | gzip`), so the first bytes decide whether to decompress.
 */
async function plainTar(archive: Readable): Promise<Readable> {
  const it = archive[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head = Buffer.alloc(0);
  let ended = false;
  while (head.length < 4) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    head = Buffer.concat([head, r.value]);
  }
  const all = Readable.from(
    (async function* () {
      if (head.length) yield head;
      if (ended) return;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    })(),
  );
  all.once('close', () => archive.destroy());
  const kind = head[0] === 0x1f && head[1] === 0x8b ? 'gzip' : head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528 ? 'zstd' : 'none';
  if (kind === 'none') return all;
  const d = decompressor(kind);
  all.once('error', (e) => d.destroy(e));
  return all.pipe(d);
}

export class ArchiveDir {
  private constructor(
    readonly dir: string,
    private readonly files: Set<string>,
    private readonly links: Map<string, string>,
  ) {}

  /** Read `archive` (a tar stream) into `dir`, which must exist and be empty. */
  static async extract(archive: Readable, dir: string): Promise<ArchiveDir> {
    const files = new Set<string>();
    const links = new Map<string, string>();
    let tar: Readable = archive;
    try {
      tar = await plainTar(archive);
      const ex = extract();
      tar.once('error', (e) => ex.destroy(e));
      tar.pipe(ex as unknown as NodeJS.WritableStream);
      for await (const entry of ex) {
        const header = entry.header;
        const name = cleanArchivePath(header.name);
        if (name !== undefined && (header.type === 'file' || header.type === 'contiguous-file')) {
          const path = join(dir, name);
          await fsp.mkdir(dirname(path), { recursive: true });
          await pipeline(Readable.from(entry), createWriteStream(path, { mode: 0o600 }));
          files.add(name);
          continue;
        }
        if (name !== undefined && header.type === 'symlink' && header.linkname) links.set(name, header.linkname);
        if (name !== undefined && header.type === 'link' && header.linkname) {
          const target = cleanArchivePath(header.linkname);
          if (target !== undefined) links.set(name, `/${target}`);
        }
        for await (const _ of entry) {
          // skipped: directories, devices and the like have no place in an image archive
        }
      }
    } catch (e) {
      tar.destroy();
      archive.destroy();
      // A corrupt or non-tar upload is the caller's mistake; file system errors are ours.
      if (e instanceof BerthError || (e as NodeJS.ErrnoException).code) throw e;
      throw invalidArgument(`not a readable tar archive: ${errorMessage(e)}`);
    }
    return new ArchiveDir(dir, files, links);
  }

  /** The entry `name` resolves to, following links inside the archive; undefined when absent. */
  resolve(name: string): string | undefined {
    let cur = cleanArchivePath(name);
    for (let hops = 0; cur !== undefined && hops < 16; hops++) {
      if (this.files.has(cur)) return cur;
      const target = this.links.get(cur);
      if (target === undefined) return undefined;
      cur = cleanArchivePath(target.startsWith('/') ? target : posix.join(posix.dirname(cur), target));
    }
    return undefined;
  }

  has(name: string): boolean {
    return this.resolve(name) !== undefined;
  }

  /** Path on disk of entry `name`; not-found when the archive lacks it. */
  path(name: string): string {
    const r = this.resolve(name);
    if (r === undefined) throw notFound(`archive has no file ${name}`, { entry: name });
    return join(this.dir, r);
  }

  async read(name: string): Promise<Buffer> {
    return fsp.readFile(this.path(name));
  }

  async readJson<T>(name: string): Promise<T> {
    const text = (await this.read(name)).toString('utf8');
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw invalidArgument(`archive file ${name} is not valid JSON: ${(e as Error).message}`, { entry: name });
    }
  }
}
