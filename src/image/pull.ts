// The pull pipeline: resolve → choose the platform manifest → config → layers.
// Layers download in parallel (bounded) and unpack while they arrive into uncommitted snapshots;
// a snapshot is committed (in chain order) only once its blob digest and its diff id both verified.
import { createHash } from 'node:crypto';
import { PassThrough, Transform, type Readable, pipeline as pipelineCb } from 'node:stream';
import { BerthError, errorMessage, failedPrecondition, invalidArgument } from '../util/errors';
import { logger } from '../util/log';
import { Semaphore, SingleFlight } from '../util/semaphore';
import type { ContentStore } from '../store/content-store';
import { sha256Digest } from '../store/digest';
import { chainIds, type ImageRecord, type LayerRecord } from './image-index';
import type { Descriptor, ImageConfig, Platform } from './oci-types';

const log = logger('pull');

/** What the pull needs from a registry client. */
export interface RegistryPort {
  resolve(ref: PullReference, opts: FetchOptions): Promise<{ descriptor: Descriptor; bytes: Buffer }>;
  fetchManifest(ref: PullReference, digest: string, opts: FetchOptions): Promise<Buffer>;
  fetchBlob(ref: PullReference, desc: Descriptor, opts: FetchOptions): Promise<Readable>;
}

/** What the pull needs from the snapshotter. */
export interface LayerSnapshotPort {
  exists(key: string): Promise<boolean>;
  prepareLayer(key: string, parentKey?: string): Promise<string>;
  commit(key: string): Promise<unknown>;
  abort(key: string): Promise<void>;
}

export interface ParsedManifest {
  kind: 'index' | 'manifest';
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
}

/** Manifest knowledge, supplied by the manifest module. */
export interface ManifestPort {
  parse(bytes: Buffer, mediaType: string | undefined): ParsedManifest;
  selectPlatform(manifests: Descriptor[], want: Platform): Descriptor;
  compression(mediaType: string): 'gzip' | 'zstd' | 'none';
  decompressor(kind: 'gzip' | 'zstd' | 'none'): Transform;
}

export type LayerApplier = (tar: Readable, dir: string) => Promise<unknown>;

export interface PullReference {
  domain: string;
  path: string;
  tag?: string;
  digest?: string;
}

export interface FetchOptions {
  auth?: unknown;
  signal?: AbortSignal;
  progressTimeoutMs?: number;
  /** Per-layer progress (berth's own PullImage); never given to the registry. */
  onProgress?: PullProgressFn;
}

export type PullStatus = 'resolving' | 'waiting' | 'downloading' | 'extracting' | 'done' | 'already exists';

export interface PullProgressEvent {
  /** Layer digest; '' for the image as a whole ('resolving'). */
  digest: string;
  status: PullStatus;
  /** Bytes of the blob received so far, and its size. */
  current: number;
  total: number;
}

export type PullProgressFn = (ev: PullProgressEvent) => void;

/** Downloads report their bytes at most this often (plus once at the end). */
const PROGRESS_INTERVAL_MS = 100;

/** Passes a blob stream through, reporting bytes received (throttled) to `report`. */
function countingStream(src: Readable, total: number, report: (current: number) => void): Readable {
  let current = 0;
  let last = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _e, cb) {
      current += chunk.length;
      const now = Date.now();
      if (now - last >= PROGRESS_INTERVAL_MS || current === total) {
        last = now;
        report(current);
      }
      cb(null, chunk);
    },
  });
  return pipelineCb(src, counter, () => undefined);
}

export interface PullDeps {
  content: ContentStore;
  registry: RegistryPort;
  snapshots: LayerSnapshotPort;
  manifests: ManifestPort;
  applyLayer: LayerApplier;
  platform: Platform;
  downloads: Semaphore;
  /** Shared across pulls: one unpack per chain id at a time. */
  layerFlight: SingleFlight<void>;
}

export interface PulledImage {
  record: Omit<ImageRecord, 'repoTags' | 'repoDigests' | 'pinned' | 'createdAt'>;
  /** Digest of the top-level document the reference resolved to (index or manifest). */
  topDigest: string;
}

/** Write chunk to stream honouring backpressure; fails if the stream died meanwhile. */
function writeTo(stream: PassThrough, chunk: Buffer): Promise<void> | void {
  if (stream.destroyed) throw stream.errored ?? new Error('unpack stream closed');
  if (stream.write(chunk)) return;
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(stream.errored ?? new Error('unpack stream closed'));
    stream.on('drain', onDrain);
    stream.on('close', onClose);
  });
}

export async function pullImage(ref: PullReference, refText: string, deps: PullDeps, opts: FetchOptions): Promise<PulledImage> {
  const t0 = Date.now();
  const { content, registry, manifests } = deps;
  const progress = opts.onProgress;
  progress?.({ digest: '', status: 'resolving', current: 0, total: 0 });
  const top = await registry.resolve(ref, opts);
  await content.writeBuffer(top.descriptor.digest, top.bytes);
  let parsed = manifests.parse(top.bytes, top.descriptor.mediaType);
  let manifestDesc = top.descriptor;
  let indexDesc: Descriptor | undefined;
  if (parsed.kind === 'index') {
    indexDesc = top.descriptor;
    const child = manifests.selectPlatform(parsed.manifests ?? [], deps.platform);
    const bytes = await registry.fetchManifest(ref, child.digest, opts);
    await content.writeBuffer(child.digest, bytes);
    parsed = manifests.parse(bytes, child.mediaType);
    if (parsed.kind !== 'manifest') throw invalidArgument(`${refText}: index entry ${child.digest} is not an image manifest`);
    manifestDesc = { mediaType: child.mediaType, digest: child.digest, size: bytes.length };
  }
  const configDesc = parsed.config!;
  const layers = parsed.layers ?? [];
  await content.write(configDesc.digest, configDesc.size, () => registry.fetchBlob(ref, configDesc, opts));
  const config = JSON.parse((await content.readBuffer(configDesc.digest)).toString('utf8')) as ImageConfig;
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== layers.length) {
    throw failedPrecondition(`${refText}: manifest has ${layers.length} layers but config lists ${diffIds.length} diff ids`, { image: refText });
  }
  const chains = chainIds(diffIds, sha256Digest);

  // Each layer: fetch+unpack in parallel; commit strictly in chain order.
  let prev: Promise<void> = Promise.resolve();
  const work: Promise<void>[] = [];
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i];
    const chainId = chains[i];
    const parent = i > 0 ? chains[i - 1] : undefined;
    const before = prev;
    // Only the pull that runs a layer's job sees its bytes; every pull sees waiting and the end.
    let lastStatus: PullStatus = 'waiting';
    const layerOpts: FetchOptions = progress
      ? { ...opts, onProgress: (ev) => ((lastStatus = ev.status), progress(ev)) }
      : opts;
    progress?.({ digest: layer.digest, status: 'waiting', current: 0, total: layer.size });
    const mine = deps.layerFlight.do(chainId, () =>
      layerJob(ref, refText, layer, diffIds[i], chainId, parent, before, deps, layerOpts),
    );
    if (progress) {
      mine.then(
        () => lastStatus !== 'already exists' && progress({ digest: layer.digest, status: 'done', current: layer.size, total: layer.size }),
        () => undefined,
      );
    }
    // A layer whose snapshot is shared with a concurrent pull still needs its parent first.
    prev = Promise.all([before, mine]).then(() => undefined);
    // Failures surface through `work`; this chained copy must not count as unhandled.
    prev.catch(() => undefined);
    work.push(mine);
  }
  const results = await Promise.allSettled(work);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;

  const layerRecords: LayerRecord[] = layers.map((l, i) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType, diffId: diffIds[i], chainId: chains[i] }));
  const size = configDesc.size + layers.reduce((a, l) => a + l.size, 0);
  log.info({ image: refText, id: configDesc.digest, layers: layers.length, ms: Date.now() - t0 }, 'pulled image');
  return {
    topDigest: top.descriptor.digest,
    record: { id: configDesc.digest, manifest: manifestDesc, index: indexDesc, configSize: configDesc.size, layers: layerRecords, size, config },
  };
}

async function layerJob(
  ref: PullReference,
  refText: string,
  layer: Descriptor,
  diffId: string,
  chainId: string,
  parent: string | undefined,
  parentDone: Promise<void>,
  deps: PullDeps,
  opts: FetchOptions,
): Promise<void> {
  const { content, snapshots, registry } = deps;
  const ctx = { image: refText, layer: layer.digest };
  const needUnpack = !(await snapshots.exists(chainId));
  const report = opts.onProgress;
  const fetch = report
    ? async () => {
        report({ digest: layer.digest, status: 'downloading', current: 0, total: layer.size });
        return countingStream(await registry.fetchBlob(ref, layer, opts), layer.size, (current) =>
          report({ digest: layer.digest, status: current === layer.size && needUnpack ? 'extracting' : 'downloading', current, total: layer.size }),
        );
      }
    : () => registry.fetchBlob(ref, layer, opts);
  if (!needUnpack) {
    if (!content.has(layer.digest)) await deps.downloads.run(() => content.write(layer.digest, layer.size, fetch));
    else report?.({ digest: layer.digest, status: 'already exists', current: layer.size, total: layer.size });
    return;
  }
  const kind = deps.manifests.compression(layer.mediaType);
  const t0 = Date.now();
  let prepared = false;
  try {
    const dir = await snapshots.prepareLayer(chainId, parent);
    prepared = true;
    const tarIn = new PassThrough({ highWaterMark: 256 << 10 });
    const diffHash = createHash('sha256');
    const tap = new Transform({
      transform(chunk: Buffer, _e, cb) {
        diffHash.update(chunk);
        cb(null, chunk);
      },
    });
    const decompress = deps.manifests.decompressor(kind);
    pipelineCb(tarIn, decompress, tap, (err) => {
      if (err) tap.destroy(err);
    });
    const unpacked = deps.applyLayer(tap, dir);
    // A failed unpacker stops reading: end the feed so nothing waits on it for ever.
    unpacked.catch(() => tarIn.destroy());
    // Once the unpacker is done (it may stop at the end-of-archive marker), keep the rest flowing
    // so the download can finish and the diff id covers every byte.
    const drained = unpacked.then(() => {
      tap.resume();
    });
    // Feeding the unpacker never fails the download: if the unpacker died, its own error is
    // reported, unless the blob then fails verification, which is the root cause to report.
    const feed = async (chunk: Buffer): Promise<void> => {
      if (tarIn.destroyed) return;
      try {
        await writeTo(tarIn, chunk);
      } catch {
        // unpacker gone; see `unpacked`
      }
    };
    // The blob goes to the content store; its bytes are fed to the unpacker as they arrive, with
    // backpressure (a slow unpacker must slow the download, not buffer the blob).
    let fedFromDownload = false;
    const fetchAndFeed = async (): Promise<Readable> => {
      fedFromDownload = true;
      const tee = new Transform({
        transform(chunk: Buffer, _e, cb) {
          feed(chunk).then(() => cb(null, chunk), cb);
        },
      });
      return pipelineCb(await fetch(), tee, () => undefined);
    };
    const stored = (async () => {
      try {
        if (content.isWriting(layer.digest)) await content.write(layer.digest, layer.size, fetch);
        else if (!content.has(layer.digest)) await deps.downloads.run(() => content.write(layer.digest, layer.size, fetchAndFeed));
        // Stored before (or by a concurrent pull, whose write we joined): unpack from the store.
        if (!fedFromDownload) {
          report?.({ digest: layer.digest, status: 'extracting', current: layer.size, total: layer.size });
          for await (const chunk of content.reader(layer.digest)) {
            if (tarIn.destroyed) break;
            await feed(chunk as Buffer);
          }
        }
        if (!tarIn.destroyed) tarIn.end();
      } catch (e) {
        tarIn.destroy(e as Error);
        throw e;
      }
    })();
    const [s, u] = await Promise.allSettled([stored, drained]);
    if (s.status === 'rejected') throw s.reason;
    if (u.status === 'rejected') throw u.reason;
    // The unpacker may stop reading at the tar end-of-archive marker; drain the rest for the diff id.
    if (!tap.readableEnded) {
      tap.resume();
      await new Promise<void>((res, rej) => {
        tap.once('end', res);
        tap.once('error', rej);
      });
    }
    const gotDiff = `sha256:${diffHash.digest('hex')}`;
    if (gotDiff !== diffId) throw failedPrecondition(`layer ${layer.digest} of ${refText}: diff id ${gotDiff} does not match the config's ${diffId}`, ctx);
    await parentDone;
    await snapshots.commit(chainId);
    log.debug({ ...ctx, chainId, ms: Date.now() - t0 }, 'layer unpacked');
  } catch (e) {
    if (prepared) await snapshots.abort(chainId).catch((err) => log.warn({ ...ctx, err: errorMessage(err) }, 'abort snapshot failed'));
    // Name the layer and image in the message: it is all the kubelet shows (e.g. an unpacker refusal).
    if (e instanceof BerthError) {
      if (e.message.includes(layer.digest)) throw e;
      throw new BerthError(e.kind, `layer ${layer.digest} of ${refText}: ${e.message}`, { ...e.context, ...ctx }, { cause: e });
    }
    throw new BerthError('internal', `layer ${layer.digest} of ${refText}: ${errorMessage(e)}`, ctx, { cause: e });
  }
}
