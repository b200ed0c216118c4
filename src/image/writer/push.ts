// Pushes a built image or index to a registry: every blob first, then the manifests of an index
// by digest, then the top-level document under the tag. The registry client is taken as an
// interface so this module does not depend on how the client talks HTTP.
import type { Readable } from 'node:stream';
import type { Descriptor } from '../oci-types';
import type { ImageReference } from '../reference';
import { failedPrecondition, invalidArgument } from '../../util/errors';
import { logger } from '../../util/log';
import { blobReadable } from './blob';
import { allBlobs, isBuiltIndex, topBytes, topDescriptor, type BuiltImage, type BuiltIndex } from './image';

const log = logger('image-push');

/** The part of the registry client (src/image/registry/client.ts) that pushing needs. */
export interface BlobPusher<O = unknown> {
  pushBlob(ref: ImageReference, desc: Descriptor, body: () => Readable | Buffer, opts?: O): Promise<unknown>;
  /** Resolves to the digest the registry computed. */
  pushManifest(ref: ImageReference, mediaType: string, bytes: Buffer, reference: string, opts?: O): Promise<string>;
}

export interface PushImageOptions<O = unknown> {
  /** Tag (or digest) for the top-level document; default ref.tag, else its digest. */
  reference?: string;
  /** Blob uploads in flight at once. Default 3. */
  concurrency?: number;
  /** Passed through to every client call (auth, abort signal, ...). */
  clientOptions?: O;
}

export interface PushResult {
  /** Digest of the top-level manifest or index. */
  digest: string;
  mediaType: string;
  size: number;
  /** What it was stored under (tag or digest). */
  reference: string;
}

export async function pushImage<O>(
  client: BlobPusher<O>,
  ref: ImageReference,
  image: BuiltImage | BuiltIndex,
  opts: PushImageOptions<O> = {},
): Promise<PushResult> {
  const top = topDescriptor(image);
  if (ref.digest && ref.digest !== top.digest) {
    throw invalidArgument(`reference pins ${ref.digest} but the image is ${top.digest}`, { ref: ref.path });
  }
  const reference = opts.reference ?? ref.tag ?? top.digest;
  const images = isBuiltIndex(image) ? image.images : [image];
  const manifestDigests = new Set(images.map((i) => i.manifest.descriptor.digest));
  manifestDigests.add(top.digest);
  const blobs = allBlobs(image).filter((b) => !manifestDigests.has(b.descriptor.digest));

  const started = Date.now();
  const queue = [...blobs];
  const workers = Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 3, queue.length)) }, async () => {
    for (let b = queue.shift(); b; b = queue.shift()) {
      const src = b.source;
      await client.pushBlob(ref, b.descriptor, () => (typeof src === 'string' ? blobReadable(src) : src), opts.clientOptions);
    }
  });
  await Promise.all(workers);

  const checked = (expected: string, got: string) => {
    if (/^sha256:[a-f0-9]{64}$/.test(got) && got !== expected) {
      throw failedPrecondition(`registry stored manifest as ${got}, expected ${expected}`, { ref: ref.path });
    }
  };
  if (isBuiltIndex(image)) {
    for (const img of image.images) {
      const d = img.manifest.descriptor;
      checked(d.digest, await client.pushManifest(ref, d.mediaType, img.manifest.bytes, d.digest, opts.clientOptions));
    }
  }
  checked(top.digest, await client.pushManifest(ref, top.mediaType, topBytes(image), reference, opts.clientOptions));
  log.info({ ref: `${ref.domain}/${ref.path}`, reference, digest: top.digest, blobs: blobs.length, ms: Date.now() - started }, 'pushed image');
  return { digest: top.digest, mediaType: top.mediaType, size: top.size, reference };
}
