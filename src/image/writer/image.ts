// Assembles built layers into an image (config + manifest) or several images into an index,
// in OCI or Docker schema-2 flavour. Documents are serialized with sorted keys, so the same
// inputs always give the same bytes and digests.
import {
  MediaType,
  type Descriptor,
  type HistoryEntry,
  type ImageConfig,
  type ImageConfigBody,
  type ImageIndex,
  type ImageManifest,
  type Platform,
} from '../oci-types';
import { invalidArgument } from '../../util/errors';
import { jsonBlob, type JsonBlob } from './blob';
import type { BuiltLayer } from './layer';

export type ImageFormat = 'oci' | 'docker';

/** Docker has no registered media type for uncompressed or zstd layers; these are the de-facto ones. */
const DockerLayerTar = 'application/vnd.docker.image.rootfs.diff.tar';
const DockerLayerZstd = 'application/vnd.docker.image.rootfs.diff.tar.zstd';

const OCI_TO_DOCKER_LAYER: Record<string, string> = {
  [MediaType.OciLayer]: DockerLayerTar,
  [MediaType.OciLayerGzip]: MediaType.DockerLayerGzip,
  [MediaType.OciLayerZstd]: DockerLayerZstd,
  [MediaType.OciLayerNonDistributableGzip]: MediaType.DockerForeignLayerGzip,
};

/** Media type of a layer in a manifest of the given format; unknown types pass through unchanged. */
export function layerMediaTypeFor(layer: Pick<BuiltLayer, 'mediaType'>, format: ImageFormat): string {
  if (format === 'oci') return layer.mediaType;
  return OCI_TO_DOCKER_LAYER[layer.mediaType] ?? layer.mediaType;
}

export interface BuildImageOptions {
  layers: readonly BuiltLayer[];
  config?: ImageConfigBody;
  /** Default 'amd64'. */
  architecture?: string;
  /** Default 'linux'. */
  os?: string;
  variant?: string;
  /** Must have one non-empty_layer entry per layer if given. */
  history?: HistoryEntry[];
  /** RFC 3339; omitted when not given, to keep digests stable. */
  created?: string;
  author?: string;
  /** Default 'oci'. */
  format?: ImageFormat;
  /** Manifest annotations. */
  annotations?: Record<string, string>;
}

export interface BuiltImage {
  format: ImageFormat;
  platform: Platform;
  config: JsonBlob<ImageConfig>;
  manifest: JsonBlob<ImageManifest>;
  layers: readonly BuiltLayer[];
}

export interface BuiltIndex {
  format: ImageFormat;
  index: JsonBlob<ImageIndex>;
  images: readonly BuiltImage[];
}

export function isBuiltIndex(x: BuiltImage | BuiltIndex): x is BuiltIndex {
  return 'index' in x;
}

/** The top-level document of an image or index: what a tag points at. */
export function topDescriptor(x: BuiltImage | BuiltIndex): Descriptor {
  return isBuiltIndex(x) ? x.index.descriptor : x.manifest.descriptor;
}

export function topBytes(x: BuiltImage | BuiltIndex): Buffer {
  return isBuiltIndex(x) ? x.index.bytes : x.manifest.bytes;
}

export function buildImage(opts: BuildImageOptions): BuiltImage {
  const format = opts.format ?? 'oci';
  if (format !== 'oci' && format !== 'docker') throw invalidArgument(`unknown image format ${String(format)}`);
  const platform: Platform = { architecture: opts.architecture ?? 'amd64', os: opts.os ?? 'linux' };
  if (opts.variant) platform.variant = opts.variant;

  if (opts.history) {
    const nonEmpty = opts.history.filter((h) => !h.empty_layer).length;
    if (nonEmpty !== opts.layers.length) {
      throw invalidArgument(`history has ${nonEmpty} non-empty entries for ${opts.layers.length} layers`, {
        layers: opts.layers.length,
      });
    }
  }

  const configDoc: ImageConfig = {
    ...(opts.created !== undefined ? { created: opts.created } : {}),
    ...(opts.author !== undefined ? { author: opts.author } : {}),
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: opts.config ?? {},
    rootfs: { type: 'layers', diff_ids: opts.layers.map((l) => l.diffId) },
    ...(opts.history ? { history: opts.history } : {}),
  };
  const config = jsonBlob(configDoc, format === 'oci' ? MediaType.OciConfig : MediaType.DockerConfig);

  const manifestDoc: ImageManifest = {
    schemaVersion: 2,
    mediaType: format === 'oci' ? MediaType.OciManifest : MediaType.DockerManifest,
    config: config.descriptor,
    layers: opts.layers.map((l) => ({ mediaType: layerMediaTypeFor(l, format), digest: l.digest, size: l.size })),
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  };
  const manifest = jsonBlob(manifestDoc, manifestDoc.mediaType!);
  return { format, platform, config, manifest, layers: opts.layers };
}

export interface BuildIndexOptions {
  /** Default: the format of the first image, else 'oci'. */
  format?: ImageFormat;
  annotations?: Record<string, string>;
}

/** An OCI image index or a Docker manifest list over images, each entry carrying its platform. */
export function buildIndex(images: readonly BuiltImage[], opts: BuildIndexOptions = {}): BuiltIndex {
  const format = opts.format ?? images[0]?.format ?? 'oci';
  const doc: ImageIndex = {
    schemaVersion: 2,
    mediaType: format === 'oci' ? MediaType.OciIndex : MediaType.DockerManifestList,
    manifests: images.map((img) => ({ ...img.manifest.descriptor, platform: img.platform })),
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  };
  return { format, index: jsonBlob(doc, doc.mediaType!), images };
}

/** Every blob an image or index needs (layers, configs, manifests, index), deduplicated by digest. */
export interface ImageBlob {
  descriptor: Descriptor;
  /** Bytes, or the file holding them (large layers). */
  source: Buffer | string;
}

export function allBlobs(x: BuiltImage | BuiltIndex): ImageBlob[] {
  const seen = new Map<string, ImageBlob>();
  const add = (b: ImageBlob) => {
    if (!seen.has(b.descriptor.digest)) seen.set(b.descriptor.digest, b);
  };
  const images = isBuiltIndex(x) ? x.images : [x];
  for (const img of images) {
    img.layers.forEach((l, i) => add({ descriptor: img.manifest.value.layers[i]!, source: l.blob }));
    add({ descriptor: img.config.descriptor, source: img.config.bytes });
    add({ descriptor: img.manifest.descriptor, source: img.manifest.bytes });
  }
  if (isBuiltIndex(x)) add({ descriptor: x.index.descriptor, source: x.index.bytes });
  return [...seen.values()];
}
