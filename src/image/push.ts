// Pushing an image from the content store: the stored manifest, config and layer blobs are handed
// to the image writer's push (src/image/writer/push.ts) as a built image whose blobs are store
// files, through a client wrapper that reports each blob's progress.
import { Transform, type Readable } from 'node:stream';
import type { ContentStore } from '../store/content-store';
import { failedPrecondition } from '../util/errors';
import type { ImageRecord } from './image-index';
import { layerCompression } from './manifest';
import { MediaType, type Descriptor, type ImageConfig, type ImageManifest } from './oci-types';
import type { ImageReference } from './reference';
import type { Credentials } from './registry/auth';
import type { RequestOptions } from './registry/client';
import type { BuiltImage } from './writer/image';
import type { BuiltLayer } from './writer/layer';
import { pushImage, type BlobPusher } from './writer/push';

/** The registry client's push half. */
export type StoredImagePusher = BlobPusher<RequestOptions>;

export type PushStatus = 'waiting' | 'pushing' | 'pushed' | 'already exists' | 'done';

export interface PushProgressEvent {
  /** Blob digest; the manifest digest with 'done'. */
  digest: string;
  kind: 'config' | 'layer' | 'manifest';
  status: PushStatus;
  current: number;
  total: number;
}

export type PushProgressFn = (ev: PushProgressEvent) => void;

export interface PushStoredOptions {
  auth?: unknown;
  signal?: AbortSignal;
  onProgress?: PushProgressFn;
}

const PROGRESS_INTERVAL_MS = 100;

function counting(body: Readable | Buffer, report: (n: number) => void): Readable | Buffer {
  if (Buffer.isBuffer(body)) return body;
  let n = 0;
  let last = 0;
  const t = new Transform({
    transform(chunk: Buffer, _e, cb) {
      n += chunk.length;
      const now = Date.now();
      if (now - last >= PROGRESS_INTERVAL_MS) {
        last = now;
        report(n);
      }
      cb(null, chunk);
    },
  });
  body.once('error', (e) => t.destroy(e));
  return body.pipe(t);
}

/** The stored image as the writer's BuiltImage: documents as their stored bytes, layers as store files. */
async function storedImage(content: ContentStore, rec: ImageRecord): Promise<BuiltImage> {
  const manifestBytes = await content.readBuffer(rec.manifest.digest);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as ImageManifest;
  const configBytes = await content.readBuffer(rec.id);
  const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
  const layers: BuiltLayer[] = manifest.layers.map((l, i) => {
    const diffId = rec.layers[i]?.diffId;
    if (!diffId || rec.layers[i]!.digest !== l.digest) {
      throw failedPrecondition(`image ${rec.id}: stored manifest does not match its record`, { image: rec.id });
    }
    if (!content.has(l.digest)) throw failedPrecondition(`image ${rec.id}: layer ${l.digest} is not in the content store`, { image: rec.id, layer: l.digest });
    return { blob: content.path(l.digest), digest: l.digest, size: l.size, diffId, mediaType: l.mediaType, compression: layerCompression(l.mediaType) };
  });
  const format = manifest.mediaType === MediaType.DockerManifest || rec.manifest.mediaType === MediaType.DockerManifest ? 'docker' : 'oci';
  return {
    format,
    platform: { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) },
    config: { value: config, bytes: configBytes, descriptor: manifest.config },
    manifest: { value: manifest, bytes: manifestBytes, descriptor: rec.manifest },
    layers,
  };
}

/** Push a stored image to `ref` (its tag, else by digest). Resolves to the manifest digest. */
export async function pushStoredImage(
  client: StoredImagePusher,
  content: ContentStore,
  rec: ImageRecord,
  ref: ImageReference,
  opts: PushStoredOptions = {},
): Promise<{ digest: string; reference: string }> {
  const image = await storedImage(content, rec);
  const report = opts.onProgress;
  const kindOf = (d: Descriptor): PushProgressEvent['kind'] => (d.digest === rec.id ? 'config' : 'layer');
  if (report) for (const d of [image.config.descriptor, ...image.manifest.value.layers]) report({ digest: d.digest, kind: kindOf(d), status: 'waiting', current: 0, total: d.size });
  const reporting: StoredImagePusher = {
    async pushBlob(r, desc, body, o) {
      const res = (await client.pushBlob(
        r,
        desc,
        () => {
          report?.({ digest: desc.digest, kind: kindOf(desc), status: 'pushing', current: 0, total: desc.size });
          return report ? counting(body(), (n) => report({ digest: desc.digest, kind: kindOf(desc), status: 'pushing', current: n, total: desc.size })) : body();
        },
        o,
      )) as { existed?: boolean } | undefined;
      report?.({ digest: desc.digest, kind: kindOf(desc), status: res?.existed ? 'already exists' : 'pushed', current: desc.size, total: desc.size });
      return res;
    },
    pushManifest: (r, mediaType, bytes, reference, o) => client.pushManifest(r, mediaType, bytes, reference, o),
  };
  const pinned = ref.digest ? { ...ref, digest: undefined } : ref;
  if (ref.digest && ref.digest !== rec.manifest.digest) {
    throw failedPrecondition(`push target pins ${ref.digest} but the image's manifest is ${rec.manifest.digest}`, { image: rec.id });
  }
  const res = await pushImage(reporting, pinned, image, {
    clientOptions: { auth: opts.auth as Credentials | undefined, signal: opts.signal },
  });
  report?.({ digest: res.digest, kind: 'manifest', status: 'done', current: res.size, total: res.size });
  return { digest: res.digest, reference: res.reference };
}
