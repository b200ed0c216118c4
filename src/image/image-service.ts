// The image domain: pull, list, status, remove, usage and garbage collection.
// It owns the image records (persisted one file per image) and the content and snapshot stores.
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { errorMessage, invalidArgument, isBerthError, notFound } from '../util/errors';
import { logger } from '../util/log';
import { pullDuration } from '../util/metrics';
import { SharedExclusiveLock, SingleFlight } from '../util/semaphore';
import type { RecordStore } from '../store/record-store';
import { ImageIndex, type ImageRecord } from './image-index';
import { pullImage, type FetchOptions, type PullDeps, type PulledImage } from './pull';
import { formatReference, parseReference, repoName, type ImageReference } from './reference';
import { ArchiveDir, readArchive, saveArchive, type ArchiveFormat, type ArchiveImage } from './archive/archive';
import { importImage } from './import';
import { pushStoredImage, type PushProgressFn, type StoredImagePusher } from './push';
import type { HistoryEntry, Platform } from './oci-types';

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
  /** Registry uploads (berth's PushImage); without it pushing is unavailable. */
  pusher?: StoredImagePusher;
  /** Where archives being loaded are unpacked (default the OS temp dir). */
  tmpDir?: string;
}

/** What happened to an image, for berth's event stream. */
export interface ImageEvent {
  action: 'pull' | 'tag' | 'untag' | 'delete' | 'load' | 'push';
  /** Image id. */
  id: string;
  /** The reference involved (pulled, tagged, pushed), if any. */
  name?: string;
}

export interface ImageHistoryItem extends HistoryEntry {
  /** Diff id of the layer this step made; '' for empty layers. */
  layer: string;
  /** Stored (compressed) size of that layer; 0 for empty layers. */
  size: number;
}

export interface LoadedImage {
  id: string;
  tags: string[];
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
  private readonly events = new EventEmitter().setMaxListeners(0);

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
  pull(refText: string, opts: FetchOptions & { platform?: Platform } = {}): Promise<ImageRecord> {
    if (!refText) throw invalidArgument('image reference is empty');
    const ref = parseReference(refText);
    const key = formatReference(ref);
    // Pulls of another platform than the host's are not shared with the host's.
    const flightKey = opts.platform ? `${key} ${opts.platform.os}/${opts.platform.architecture}/${opts.platform.variant ?? ''}` : key;
    return this.pulls.do(flightKey, () =>
      this.gcLock.withShared(() => this.doPull(ref, key, opts)).catch((e: unknown) => {
        // A failed pull may leave verified blobs and committed snapshots that no image refers to
        // (layers that finished before another failed). Collect them now, without holding up the
        // answer: GC waits for the pulls still running.
        this.gc().catch((err) => log.warn({ err: errorMessage(err) }, 'garbage collection after a failed pull failed'));
        throw e;
      }),
    );
  }

  private async doPull(ref: ImageReference, key: string, { platform, ...opts }: FetchOptions & { platform?: Platform }): Promise<ImageRecord> {
    const endTimer = pullDuration.startTimer();
    const pulled = await pullImage(ref, key, { ...this.deps, layerFlight: this.layerFlight, platform: platform ?? this.deps.platform }, {
      ...opts,
      progressTimeoutMs: opts.progressTimeoutMs ?? this.deps.progressTimeoutMs,
    });
    const name = repoName(ref);
    const rec = await this.record(pulled, ref.tag && !ref.digest ? [`${name}:${ref.tag}`] : [], [`${name}@${pulled.topDigest}`]);
    endTimer();
    this.publish({ action: 'pull', id: rec.id, name: key });
    return rec;
  }

  /** Record an imported image and point the given references at it (taking them from others). */
  private async record(pulled: PulledImage, tags: string[], digests: string[]): Promise<ImageRecord> {
    const existing = this.index.get(pulled.record.id);
    const rec: ImageRecord = existing
      ? { ...existing, ...pulled.record, repoTags: existing.repoTags, repoDigests: existing.repoDigests }
      : { ...pulled.record, repoTags: [], repoDigests: [], pinned: false, createdAt: new Date().toISOString() };
    this.index.set(rec);
    const changed = new Map<string, ImageRecord>([[rec.id, rec]]);
    for (const t of tags) for (const c of this.index.moveReference(t, 'tag', rec.id).changed) changed.set(c.id, c);
    for (const d of digests) for (const c of this.index.moveReference(d, 'digest', rec.id).changed) changed.set(c.id, c);
    for (const c of changed.values()) await this.deps.records.put(c.id, c);
    return rec;
  }

  /** Image events (pull, tag, delete, load, push) as they happen; returns the unsubscribe. */
  onEvent(fn: (ev: ImageEvent) => void): () => void {
    this.events.on('event', fn);
    return () => this.events.off('event', fn);
  }

  private publish(ev: ImageEvent): void {
    this.events.emit('event', ev);
  }

  private require(spec: string): ImageRecord {
    const rec = this.status(spec);
    if (!rec) throw notFound(`image ${spec} not found`, { image: spec });
    return rec;
  }

  /** Point the tag `target` at the image `source` names. Returns the image and the normalized tag. */
  async tag(source: string, target: string): Promise<{ id: string; target: string }> {
    const rec = this.require(source);
    if (!target) throw invalidArgument('tag target is empty');
    const ref = parseReference(target);
    if (ref.digest) throw invalidArgument(`tag target ${target} must be a tag, not a digest`, { image: target });
    const full = formatReference(ref);
    for (const c of this.index.moveReference(full, 'tag', rec.id).changed) await this.deps.records.put(c.id, c);
    log.info({ id: rec.id, tag: full }, 'tagged image');
    this.publish({ action: 'tag', id: rec.id, name: full });
    return { id: rec.id, target: full };
  }

  /**
   * Remove one tag reference. When it was the image's last reference (no other tag, no digest
   * reference), the image is removed as RemoveImage would; otherwise only the tag goes.
   */
  async untag(reference: string): Promise<{ id: string; imageRemoved: boolean }> {
    const full = this.normalize(reference);
    const rec = full ? this.index.byReference(full) : undefined;
    if (!rec || !full || !rec.repoTags.includes(full)) throw notFound(`no image is tagged ${reference}`, { image: reference });
    if (rec.repoTags.length === 1) {
      await this.remove(rec.id);
      return { id: rec.id, imageRemoved: true };
    }
    this.index.delete(rec.id);
    rec.repoTags = rec.repoTags.filter((t) => t !== full);
    this.index.set(rec);
    await this.deps.records.put(rec.id, rec);
    log.info({ id: rec.id, tag: full }, 'untagged image');
    this.publish({ action: 'untag', id: rec.id, name: full });
    return { id: rec.id, imageRemoved: false };
  }

  /** The image's build history, newest first, each step with the layer it made and its size. */
  history(spec: string): { id: string; entries: ImageHistoryItem[] } {
    const rec = this.require(spec);
    const hist = rec.config.history ?? [];
    const out: ImageHistoryItem[] = [];
    let li = 0;
    if (hist.length === 0) {
      // No history recorded: one anonymous step per layer.
      for (const l of rec.layers) out.push({ layer: l.diffId, size: l.size });
    } else {
      for (const h of hist) {
        const l = h.empty_layer ? undefined : rec.layers[li++];
        out.push({ ...h, layer: l?.diffId ?? '', size: l?.size ?? 0 });
      }
    }
    return { id: rec.id, entries: out.reverse() };
  }

  /**
   * Push the image `spec` names to `target` (default: `spec` itself, which must then be a
   * reference). Blobs are read from the content store. The pushed name gets a repo digest.
   */
  async push(spec: string, target: string | undefined, opts: FetchOptions & { onPushProgress?: PushProgressFn } = {}): Promise<{ digest: string; reference: string }> {
    const pusher = this.deps.pusher;
    if (!pusher) throw invalidArgument('pushing is not configured in this daemon');
    const rec = this.require(spec);
    const ref = parseReference(target || spec);
    const res = await this.gcLock.withShared(() =>
      pushStoredImage(pusher, this.deps.content, rec, ref, { auth: opts.auth, signal: opts.signal, onProgress: opts.onPushProgress }),
    );
    const pinned = `${repoName(ref)}@${res.digest}`;
    for (const c of this.index.moveReference(pinned, 'digest', rec.id).changed) await this.deps.records.put(c.id, c);
    this.publish({ action: 'push', id: rec.id, name: formatReference(ref) });
    return { digest: res.digest, reference: formatReference({ ...ref, digest: undefined }) };
  }

  /**
   * The images as an archive stream. A spec that is one of an image's tags saves that tag; an id
   * (or any other name) saves the image with all its tags.
   */
  save(specs: string[], format: ArchiveFormat): Readable {
    if (specs.length === 0) throw invalidArgument('no images to save');
    const byId = new Map<string, ArchiveImage & { tags: string[] }>();
    for (const spec of specs) {
      const rec = this.require(spec);
      const named = this.normalize(spec);
      const tags = named && rec.repoTags.includes(named) ? [named] : rec.repoTags;
      const img = byId.get(rec.id) ?? { id: rec.id, manifest: rec.manifest, layers: rec.layers, config: rec.config, tags: [] };
      for (const t of tags) if (!img.tags.includes(t)) img.tags.push(t);
      byId.set(rec.id, img);
    }
    const content = this.deps.content;
    return saveArchive([...byId.values()], format, { open: (d) => content.reader(d), readBuffer: (d) => content.readBuffer(d) });
  }

  /** Load a docker-archive or OCI archive (told apart by content); images are tagged as the archive says. */
  async load(archive: Readable, opts: FetchOptions = {}): Promise<LoadedImage[]> {
    const dir = await mkdtemp(join(this.deps.tmpDir ?? tmpdir(), 'berth-load-'));
    try {
      const ad = await ArchiveDir.extract(archive, dir);
      const { format, images } = await readArchive(ad);
      const out: LoadedImage[] = [];
      for (const img of images) {
        const pulled = await this.gcLock
          .withShared(() => importImage(img.source, img.name, { ...this.deps, layerFlight: this.layerFlight }, opts))
          .catch((e: unknown) => {
            this.gc().catch((err) => log.warn({ err: errorMessage(err) }, 'garbage collection after a failed load failed'));
            throw e;
          });
        const rec = await this.record(pulled, img.tags, []);
        log.info({ id: rec.id, tags: img.tags, format }, 'loaded image');
        this.publish({ action: 'load', id: rec.id, name: img.tags[0] });
        out.push({ id: rec.id, tags: img.tags });
      }
      return out;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * Remove images no container uses: all of them, or only dangling ones (no tag). Collects
   * garbage once at the end. Returns the removed image ids.
   */
  async prune(mode: 'dangling' | 'all-unused', inUse: Set<string>): Promise<string[]> {
    const removed: string[] = [];
    for (const rec of this.index.all()) {
      if (inUse.has(rec.id) || rec.pinned) continue;
      if (mode === 'dangling' && rec.repoTags.length > 0) continue;
      this.index.delete(rec.id);
      await this.deps.records.delete(rec.id);
      removed.push(rec.id);
      this.publish({ action: 'delete', id: rec.id });
    }
    if (removed.length) log.info({ removed }, 'pruned images');
    await this.gc();
    return removed;
  }

  /** Remove an image and every reference to it (CRI semantics). Unknown images are not an error. */
  async remove(spec: string): Promise<boolean> {
    const rec = this.status(spec);
    if (!rec) return false;
    this.index.delete(rec.id);
    await this.deps.records.delete(rec.id);
    log.info({ id: rec.id, tags: rec.repoTags }, 'removed image');
    this.publish({ action: 'delete', id: rec.id, name: rec.repoTags[0] });
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
