// What saving needs to know about an image, and how it reads blobs: the image records' shape,
// without depending on the image service.
import type { Readable } from 'node:stream';
import type { LayerRecord } from '../image-index';
import type { Descriptor, ImageConfig } from '../oci-types';

export interface ArchiveImage {
  /** Config digest (the image id). */
  id: string;
  /** The stored manifest of this platform. */
  manifest: Descriptor;
  layers: readonly Pick<LayerRecord, 'digest' | 'size' | 'mediaType' | 'diffId'>[];
  config: ImageConfig;
  /** Full references (docker.io/library/busybox:latest) to record in the archive. */
  tags: readonly string[];
}

/** Reads verified blobs (the content store). */
export interface BlobReader {
  open(digest: string): Readable;
  readBuffer(digest: string): Promise<Buffer>;
}

export type ArchiveFormat = 'docker-archive' | 'oci-archive';
