// The image domain: pull, list, status, remove, usage and garbage collection.
// It owns the image records (persisted one file per image) and the content and snapshot stores.
import { errorMessage, invalidArgument, isBerthError } from '../util/errors';
import { logger } from '../util/log';
import { pullDuration } from '../util/metrics';
import { SharedExclusiveLock, SingleFlight } from '../util/semaphore';
import type { ContentStore } from '../store/content-store';
import type { RecordStore } from '../store/record-store';
import { ImageIndex, type ImageRecord } from './image-index';
import { pullImage, type FetchOptions, type PullDeps } from './pull';
import { formatReference, parseReference, repoName, type ImageReference } from './reference';

const log = logger('images');

/** Snapshot operations the image service needs beyond what a pull uses. */
export interface SnapshotGcPort {
  list(): Promise<{ key: string; kind: string }[]>;
  remove(key: string): Promise<void>;
  usage(key: string): Promise<{ bytes: number; inodes: number }>;
}

export interface ImageServiceDeps extends Omit<PullDeps, 'layerFlight'> {
  records: RecordStore<ImageRecord>;
  snapshotGc: SnapshotGcPort;
  /** Snapshot keys containers still build on (their image's top chain id). */
  snapshotsInUse?: () => Set<string>;
  /** Where the image filesystem lives, as reported by ImageFsInfo. */
  fsMountpoint: string;
  progressTimeoutMs: number;
}

export interface FsUsage {
  mountpoint: string;
  usedBytes: number;
  inodesUsed: number;
  timestamp: number;
}

export class ImageService {
  private readonly index: ImageIndex;
  private readonly pulls = new SingleFlight<ImageRecord>();
  private readonly gcLock = new SharedExclusiveLock();
  private readonly layerFlight = new SingleFlight<void>();
  private readonly usageCache = new Map<string, { bytes: number; inodes: number }>();

  constructor(private readonly deps: ImageServiceDeps) {
    this.index = new ImageIndex(deps.records.loadAll().values());
  }

  /** Normalize a user-supplied name; undefined when it is not a reference (e.g. an id). */
  private normalize(s: string): string | undefined {
    try {
      return formatReference(parseReference(s));
    } catch {
      return undefined;
    }
  }

  list(filterImage?: string): ImageRecord[] {
    const all = this.index.all();
    if (!filterImage) return all;
    const r = this.status(filterImage);
    return r ? [r] : [];
  }

  status(spec: string): ImageRecord | undefined {
    if (!spec) throw invalidArgument('image name is empty');
    return this.index.lookup(spec, this.normalize(spec));
  }

  /** Pull an image; concurrent pulls of the same reference share one pull. */
  pull(refText: string, opts: FetchOptions = {}): Promise<ImageRecord> {
    if (!refText) throw invalidArgument('image reference is empty');
    const ref = parseReference(refText);
    const key = formatReference(ref);
    return this.pulls.do(key, () =>
      this.gcLock.withShared(() => this.doPull(ref, key, opts)).catch((e: unknown) => {
        // A failed pull may leave verified blobs and committed snapshots that no image refers to
        // (layers that finished before another failed). Collect them now, without holding up the
        // answer: GC waits for the pulls still running.
        this.gc().catch((err) => log.warn({ err: errorMessage(err) }, 'garbage collection after a failed pull failed'));
        throw e;
      }),
    );
  }

  private async doPull(ref: ImageReference, key: string, opts: FetchOptions): Promise<ImageRecord> {
    const endTimer = pullDuration.startTimer();
    const pulled = await pullImage(ref, key, { ...this.deps, layerFlight: this.layerFlight }, {
      ...opts,
      progressTimeoutMs: opts.progressTimeoutMs ?? this.deps.progressTimeoutMs,
    });
    const existing = this.index.get(pulled.record.id);
    const rec: ImageRecord = existing
      ? { ...existing, ...pulled.record, repoTags: existing.repoTags, repoDigests: existing.repoDigests }
      : { ...pulled.record, repoTags: [], repoDigests: [], pinned: false, createdAt: new Date().toISOString() };
    this.index.set(rec);
    const changed = new Map<string, ImageRecord>();
    const name = repoName(ref);
    if (ref.tag && !ref.digest) for (const c of this.index.moveReference(`${name}:${ref.tag}`, 'tag', rec.id).changed) changed.set(c.id, c);
    for (const c of this.index.moveReference(`${name}@${pulled.topDigest}`, 'digest', rec.id).changed) changed.set(c.id, c);
    for (const c of changed.values()) await this.deps.records.put(c.id, c);
    endTimer();
    return rec;
  }

  /** Remove an image and every reference to it (CRI semantics). Unknown images are not an error. */
  async remove(spec: string): Promise<boolean> {
    const rec = this.status(spec);
    if (!rec) return false;
    this.index.delete(rec.id);
    await this.deps.records.delete(rec.id);
    log.info({ id: rec.id, tags: rec.repoTags }, 'removed image');
    await this.gc().catch((e) => log.warn({ err: errorMessage(e) }, 'garbage collection failed'));
    return true;
  }

  /** Delete blobs and snapshots that no image (and no container) needs any more. */
  async gc(): Promise<{ blobs: number; snapshots: number }> {
    return this.gcLock.withExclusive(async () => {
      const keepBlobs = this.index.referencedBlobs();
      let blobs = 0;
      for (const b of this.deps.content.list()) {
        if (keepBlobs.has(b.digest)) continue;
        await this.deps.content.delete(b.digest);
        blobs++;
      }
      const keepChains = this.index.referencedChains();
      for (const k of this.deps.snapshotsInUse?.() ?? []) keepChains.add(k);
      let snapshots = 0;
      // Children before parents: a parent with children cannot be removed. Loop until stable.
      for (let progress = true; progress; ) {
        progress = false;
        for (const { key, kind } of await this.deps.snapshotGc.list()) {
          if (kind !== 'committed' || keepChains.has(key)) continue;
          try {
            await this.deps.snapshotGc.remove(key);
            this.usageCache.delete(key);
            snapshots++;
            progress = true;
          } catch (e) {
            if (!isBerthError(e, 'failed-precondition')) throw e;
          }
        }
      }
      if (blobs || snapshots) log.info({ blobs, snapshots }, 'garbage collected');
      return { blobs, snapshots };
    });
  }

  /** Bytes and inodes of image content: blobs plus committed snapshots (usage cached per snapshot). */
  async fsUsage(): Promise<FsUsage> {
    let usedBytes = 0;
    let inodesUsed = 0;
    for (const b of this.deps.content.list()) {
      usedBytes += b.size;
      inodesUsed++;
    }
    for (const { key, kind } of await this.deps.snapshotGc.list()) {
      if (kind !== 'committed') continue;
      let u = this.usageCache.get(key);
      if (!u) {
        u = await this.deps.snapshotGc.usage(key);
        this.usageCache.set(key, u);
      }
      usedBytes += u.bytes;
      inodesUsed += u.inodes;
    }
    return { mountpoint: this.deps.fsMountpoint, usedBytes, inodesUsed, timestamp: Date.now() };
  }
}
