// Importing an image from a local blob source (an unpacked docker-archive or OCI archive) runs the
// pull pipeline itself: the source is presented as a registry, so blobs are verified into the
// content store and layers unpacked, diff ids checked and snapshots committed exactly as a pull does.
import type { Readable } from 'node:stream';
import { notFound } from '../util/errors';
import type { Descriptor } from './oci-types';
import { pullImage, type FetchOptions, type PullDeps, type PulledImage, type PullReference, type RegistryPort } from './pull';

/** Where an import reads from: a top-level document (manifest or index) and blobs by digest. */
export interface LocalBlobSource {
  /** What the import starts from, and its exact bytes. */
  top: { descriptor: Descriptor; bytes: Buffer };
  /** A manifest (or index) by digest; undefined when the source lacks it. */
  readManifest(digest: string): Promise<Buffer | undefined>;
  /** A blob's bytes, or undefined when the source lacks it. */
  openBlob(digest: string): Promise<Readable | undefined>;
}

/** A local source shaped as the pull pipeline's registry port. */
function registryPortFor(src: LocalBlobSource, what: string): RegistryPort {
  return {
    resolve: async () => ({ descriptor: src.top.descriptor, bytes: src.top.bytes }),
    fetchManifest: async (_ref, digest) => {
      const b = await src.readManifest(digest);
      if (!b) throw notFound(`${what}: manifest ${digest} is not in the archive`, { image: what, digest });
      return b;
    },
    fetchBlob: async (_ref, desc) => {
      const r = await src.openBlob(desc.digest);
      if (!r) throw notFound(`${what}: blob ${desc.digest} is not in the archive`, { image: what, digest: desc.digest });
      return r;
    },
  };
}

/** A name for messages and logs only: imports have no registry reference. */
const LOCAL_REF: PullReference = { domain: 'local', path: 'import' };

/**
 * Import one image (the platform manifest is chosen from an index as a pull would) into the
 * content store and snapshots. `what` names it in errors (e.g. the archive's tag).
 */
export function importImage(src: LocalBlobSource, what: string, deps: PullDeps, opts: FetchOptions = {}): Promise<PulledImage> {
  return pullImage(LOCAL_REF, what, { ...deps, registry: registryPortFor(src, what) }, opts);
}
