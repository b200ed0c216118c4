// Content-addressed blob store: <root>/content/sha256/<hex>.
// Blobs are streamed into <root>/content/ingest/<hex>-<rand>, and renamed into place only after
// their size and sha256 match the expected descriptor, so a blob in the store is always verified.
// Concurrent writers of the same digest share one ingest.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError, internal, notFound } from '../util/errors';
import { logger } from '../util/log';
import { fsyncDir } from '../util/atomic-file';
import { assertDigest, digestHex } from './digest';

const log = logger('content');

export interface BlobInfo {
  digest: string;
  size: number;
}

/** Fails a stream as soon as it exceeds the expected size; computes the digest on the way. */
class VerifyingCounter extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly expectedSize: number, private readonly digest: string) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expectedSize >= 0 && this.bytes > this.expectedSize) {
      cb(new BerthError('failed-precondition', `blob ${this.digest}: more than the expected ${this.expectedSize} bytes`, { digest: this.digest }));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }
}

export class ContentStore {
  readonly blobDir: string;
  readonly ingestDir: string;
  private readonly inflight = new Map<string, Promise<BlobInfo>>();

  constructor(root: string) {
    this.blobDir = join(root, 'content', 'sha256');
    this.ingestDir = join(root, 'content', 'ingest');
    mkdirSync(this.blobDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.ingestDir, { recursive: true, mode: 0o700 });
  }

  /** Remove ingests left by a crash: anything there was never verified. */
  reconcile(): number {
    let n = 0;
    for (const name of readdirSync(this.ingestDir)) {
      rmSync(join(this.ingestDir, name), { force: true, recursive: true });
      n++;
    }
    if (n) log.info({ removed: n }, 'removed unfinished ingests');
    return n;
  }

  path(digest: string): string {
    return join(this.blobDir, digestHex(digest));
  }

  async info(digest: string): Promise<BlobInfo | undefined> {
    try {
      const st = await fsp.stat(this.path(digest));
      return { digest, size: st.size };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  has(digest: string): boolean {
    try {
      statSync(this.path(digest));
      return true;
    } catch {
      return false;
    }
  }

  list(): BlobInfo[] {
    return readdirSync(this.blobDir)
      .filter((n) => /^[a-f0-9]{64}$/.test(n))
      .map((n) => ({ digest: `sha256:${n}`, size: statSync(join(this.blobDir, n)).size }));
  }

  reader(digest: string): Readable {
    if (!this.has(digest)) throw notFound(`blob ${digest} not found`, { digest });
    return createReadStream(this.path(digest));
  }

  async readBuffer(digest: string): Promise<Buffer> {
    try {
      return await fsp.readFile(this.path(digest));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`blob ${digest} not found`, { digest });
      throw e;
    }
  }

  async delete(digest: string): Promise<void> {
    await fsp.rm(this.path(digest), { force: true });
  }

  /** Store bytes already in memory under their expected digest (verified). */
  async writeBuffer(digest: string, data: Buffer): Promise<BlobInfo> {
    return this.write(digest, data.length, () => Readable.from([data]));
  }

  /**
   * Write a blob from a stream factory. If the blob is already stored, nothing is read. If another
   * caller is already writing the same digest, this waits for and shares its result.
   * A size of -1 means unknown (only the digest is checked).
   */
  write(digest: string, size: number, open: () => Readable | Promise<Readable>): Promise<BlobInfo> {
    assertDigest(digest, 'blob digest');
    const existing = this.inflight.get(digest);
    if (existing) return existing;
    const p = this.doWrite(digest, size, open).finally(() => this.inflight.delete(digest));
    this.inflight.set(digest, p);
    return p;
  }

  /** True while a write of this digest is in progress. */
  isWriting(digest: string): boolean {
    return this.inflight.has(digest);
  }

  private async doWrite(digest: string, size: number, open: () => Readable | Promise<Readable>): Promise<BlobInfo> {
    const have = await this.info(digest);
    if (have) {
      if (size >= 0 && have.size !== size) throw internal(`stored blob ${digest} has size ${have.size}, expected ${size}`, { digest });
      return have;
    }
    const tmp = join(this.ingestDir, `${digestHex(digest)}-${randomBytes(4).toString('hex')}`);
    const counter = new VerifyingCounter(size, digest);
    try {
      const src = await open();
      await pipeline(src, counter, createWriteStream(tmp, { mode: 0o600 }));
      if (size >= 0 && counter.bytes !== size) {
        throw new BerthError('failed-precondition', `blob ${digest}: got ${counter.bytes} bytes, expected ${size}`, { digest });
      }
      const got = `sha256:${counter.hash.digest('hex')}`;
      if (got !== digest) {
        throw new BerthError('failed-precondition', `blob digest mismatch: expected ${digest}, got ${got}`, { digest, got });
      }
      const fh = await fsp.open(tmp, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, this.path(digest));
      await fsyncDir(this.blobDir);
      return { digest, size: counter.bytes };
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
  }
}
