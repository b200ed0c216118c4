// docker-archive: the `docker save` layout. manifest.json lists, per image, its config file, its
// tags (docker's short names) and its layer files; `repositories` is the legacy tag map. Layers are
// written uncompressed, as docker does, so each layer file's digest is the config's diff id.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Pack } from 'tar-stream';
import { failedPrecondition, invalidArgument } from '../../util/errors';
import { decompressor } from '../decompress';
import { layerCompression } from '../manifest';
import { MediaType, type Descriptor, type ImageConfig, type ImageManifest } from '../oci-types';
import { familiarName, parseReference } from '../reference';
import { sha256Digest } from '../../store/digest';
import type { LocalBlobSource } from '../import';
import type { ArchiveDir } from './tar-dir';
import { addFile, addStream, jsonBytes } from './tar-write';
import type { ArchiveImage, BlobReader } from './types';

export interface DockerManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

const hex = (digest: string) => digest.slice('sha256:'.length);

/** Bytes of a layer once decompressed (the tar header needs the size before the data). */
async function plainSize(blobs: BlobReader, layer: ArchiveImage['layers'][number]): Promise<number> {
  const kind = layerCompression(layer.mediaType);
  if (kind === 'none') return layer.size;
  let n = 0;
  for await (const chunk of blobs.open(layer.digest).pipe(decompressor(kind))) n += (chunk as Buffer).length;
  return n;
}

function plainStream(blobs: BlobReader, layer: ArchiveImage['layers'][number]): Readable {
  const kind = layerCompression(layer.mediaType);
  const src = blobs.open(layer.digest);
  if (kind === 'none') return src;
  const d = decompressor(kind);
  src.once('error', (e) => d.destroy(e));
  return src.pipe(d);
}

/** Docker's short tag form (busybox:latest); digests are not tags and are left out. */
function dockerTag(ref: string): string | undefined {
  const r = parseReference(ref);
  if (!r.tag || r.digest) return undefined;
  return familiarName(r);
}

export async function writeDockerArchive(pack: Pack, images: readonly ArchiveImage[], blobs: BlobReader): Promise<void> {
  const manifest: DockerManifestEntry[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const written = new Set<string>();
  for (const img of images) {
    const configName = `${hex(img.id)}.json`;
    if (!written.has(configName)) {
      await addFile(pack, configName, await blobs.readBuffer(img.id));
      written.add(configName);
    }
    const layerNames: string[] = [];
    for (const layer of img.layers) {
      const name = `${hex(layer.diffId)}.tar`;
      layerNames.push(name);
      if (written.has(name)) continue;
      await addStream(pack, name, await plainSize(blobs, layer), plainStream(blobs, layer));
      written.add(name);
    }
    const tags = img.tags.map(dockerTag).filter((t): t is string => t !== undefined);
    manifest.push({ Config: configName, RepoTags: tags.length ? tags : null, Layers: layerNames });
    const top = img.layers.at(-1);
    for (const t of tags) {
      const i = t.lastIndexOf(':');
      (repositories[t.slice(0, i)] ??= {})[t.slice(i + 1)] = top ? hex(top.diffId) : '';
    }
  }
  await addFile(pack, 'manifest.json', jsonBytes(manifest));
  if (Object.keys(repositories).length) await addFile(pack, 'repositories', jsonBytes(repositories));
}

/** Compression of a layer file from its first bytes (docker-archive layers carry no media type). */
async function sniffCompression(path: string): Promise<'gzip' | 'zstd' | 'none'> {
  const fh = await openFile(path, 'r');
  try {
    const b = Buffer.alloc(4);
    const { bytesRead } = await fh.read(b, 0, 4, 0);
    if (bytesRead >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
    if (bytesRead >= 4 && b.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
    return 'none';
  } finally {
    await fh.close();
  }
}

async function fileDigest(path: string): Promise<{ digest: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of createReadStream(path)) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { digest: `sha256:${h.digest('hex')}`, size };
}

const LAYER_TYPE = { none: MediaType.OciLayer, gzip: MediaType.OciLayerGzip, zstd: MediaType.OciLayerZstd } as const;

export interface ArchiveImport {
  source: LocalBlobSource;
  /** Full references to tag the image with. */
  tags: string[];
  /** For messages. */
  name: string;
}

/**
 * The images of an extracted docker-archive, each as an import source. The archive has no
 * manifests of its own: an OCI manifest is made from the config and layer files found.
 */
export async function readDockerArchive(dir: ArchiveDir): Promise<ArchiveImport[]> {
  const entries = await dir.readJson<DockerManifestEntry[]>('manifest.json');
  if (!Array.isArray(entries) || entries.length === 0) throw invalidArgument('docker-archive manifest.json lists no images');
  const out: ArchiveImport[] = [];
  for (const [i, e] of entries.entries()) {
    if (typeof e?.Config !== 'string' || !Array.isArray(e.Layers)) throw invalidArgument(`docker-archive manifest.json entry ${i} has no Config or Layers`);
    const name = e.RepoTags?.[0] ?? e.Config;
    const configBytes = await dir.read(e.Config);
    const configDesc: Descriptor = { mediaType: MediaType.OciConfig, digest: sha256Digest(configBytes), size: configBytes.length };
    const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
    if ((config.rootfs?.diff_ids ?? []).length !== e.Layers.length) {
      throw failedPrecondition(`${name}: docker-archive lists ${e.Layers.length} layers but its config ${config.rootfs?.diff_ids?.length ?? 0} diff ids`, { image: name });
    }
    const files = new Map<string, string>([[configDesc.digest, dir.path(e.Config)]]);
    const layers: Descriptor[] = [];
    for (const l of e.Layers) {
      const path = dir.path(l);
      const { digest, size } = await fileDigest(path);
      layers.push({ mediaType: LAYER_TYPE[await sniffCompression(path)], digest, size });
      files.set(digest, path);
    }
    const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.OciManifest, config: configDesc, layers };
    const bytes = jsonBytes(manifest);
    const descriptor: Descriptor = { mediaType: MediaType.OciManifest, digest: sha256Digest(bytes), size: bytes.length };
    const tags = (e.RepoTags ?? []).map((t) => {
      const r = parseReference(t);
      if (r.digest) throw invalidArgument(`docker-archive RepoTags entry ${t} is not a tag`, { image: name });
      return `${r.domain}/${r.path}:${r.tag ?? 'latest'}`;
    });
    out.push({
      name,
      tags,
      source: {
        top: { descriptor, bytes },
        readManifest: async (d) => (d === descriptor.digest ? bytes : undefined),
        openBlob: async (d) => {
          const p = files.get(d);
          return p ? createReadStream(p) : undefined;
        },
      },
    });
  }
  return out;
}
