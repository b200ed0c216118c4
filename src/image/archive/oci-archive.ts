// OCI archive: a tar of an OCI image layout (image-spec image-layout.md). Each tag is one index.json
// entry naming the platform manifest, annotated the way containerd exports (full name in
// io.containerd.image.name, the tag in org.opencontainers.image.ref.name). Blobs go in as stored.
import { createReadStream } from 'node:fs';
import type { Pack } from 'tar-stream';
import { invalidArgument } from '../../util/errors';
import { isSha256Digest } from '../../store/digest';
import { MediaType, type Descriptor, type ImageIndex } from '../oci-types';
import { formatReference, parseReference } from '../reference';
import type { ArchiveImport } from './docker-archive';
import type { ArchiveDir } from './tar-dir';
import { addDir, addFile, addStream, jsonBytes } from './tar-write';
import type { ArchiveImage, BlobReader } from './types';

export const REF_NAME = 'org.opencontainers.image.ref.name';
export const CONTAINERD_NAME = 'io.containerd.image.name';

const blobName = (digest: string) => `blobs/sha256/${digest.slice('sha256:'.length)}`;

export async function writeOciArchive(pack: Pack, images: readonly ArchiveImage[], blobs: BlobReader): Promise<void> {
  await addFile(pack, 'oci-layout', jsonBytes({ imageLayoutVersion: '1.0.0' }));
  await addDir(pack, 'blobs');
  await addDir(pack, 'blobs/sha256');
  const sizes = new Map<string, number>();
  const entries: Descriptor[] = [];
  for (const img of images) {
    sizes.set(img.manifest.digest, img.manifest.size);
    sizes.set(img.id, -1);
    for (const l of img.layers) sizes.set(l.digest, l.size);
    const platform = { os: img.config.os, architecture: img.config.architecture, ...(img.config.variant ? { variant: img.config.variant } : {}) };
    const base: Descriptor = { mediaType: img.manifest.mediaType, digest: img.manifest.digest, size: img.manifest.size, platform };
    const tagged = img.tags.map((t) => parseReference(t)).filter((r) => r.tag && !r.digest);
    if (tagged.length === 0) entries.push(base);
    for (const r of tagged) entries.push({ ...base, annotations: { [CONTAINERD_NAME]: formatReference(r), [REF_NAME]: r.tag! } });
  }
  // Blobs in digest order: the archive's bytes depend only on the images.
  for (const digest of [...sizes.keys()].sort()) {
    const size = sizes.get(digest)!;
    if (size < 0) await addFile(pack, blobName(digest), await blobs.readBuffer(digest));
    else await addStream(pack, blobName(digest), size, blobs.open(digest));
  }
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: entries };
  await addFile(pack, 'index.json', jsonBytes(index));
}

/** The reference an index.json entry names, if any (a bare tag names none). */
function entryName(d: Descriptor): string | undefined {
  const full = d.annotations?.[CONTAINERD_NAME];
  const refName = d.annotations?.[REF_NAME];
  for (const cand of [full, refName]) {
    if (!cand || !/[/:]/.test(cand)) continue;
    try {
      const r = parseReference(cand);
      if (r.tag && !r.digest) return formatReference(r);
    } catch {
      // not a reference: e.g. a ref.name of a form we do not know
    }
  }
  return undefined;
}

/** The images of an extracted OCI layout: one import per distinct top-level document. */
export async function readOciArchive(dir: ArchiveDir): Promise<ArchiveImport[]> {
  const layout = await dir.readJson<{ imageLayoutVersion?: string }>('oci-layout');
  if (layout.imageLayoutVersion !== '1.0.0') throw invalidArgument(`unsupported OCI layout version ${String(layout.imageLayoutVersion)}`);
  const index = await dir.readJson<ImageIndex>('index.json');
  if (!Array.isArray(index.manifests) || index.manifests.length === 0) throw invalidArgument('OCI archive index.json lists no images');
  const byDigest = new Map<string, { desc: Descriptor; tags: string[] }>();
  for (const d of index.manifests) {
    if (!isSha256Digest(d.digest)) throw invalidArgument(`OCI archive index.json entry has a bad digest ${String(d.digest)}`);
    const e = byDigest.get(d.digest) ?? { desc: d, tags: [] };
    const name = entryName(d);
    if (name && !e.tags.includes(name)) e.tags.push(name);
    byDigest.set(d.digest, e);
  }
  const blob = (digest: string) => (isSha256Digest(digest) && dir.has(blobName(digest)) ? blobName(digest) : undefined);
  const out: ArchiveImport[] = [];
  for (const { desc, tags } of byDigest.values()) {
    const top = blob(desc.digest);
    if (!top) throw invalidArgument(`OCI archive lacks blob ${desc.digest} named by index.json`, { digest: desc.digest });
    const { annotations: _a, platform: _p, ...descriptor } = desc;
    out.push({
      name: tags[0] ?? desc.digest,
      tags,
      source: {
        top: { descriptor, bytes: await dir.read(top) },
        readManifest: async (d) => {
          const n = blob(d);
          return n ? dir.read(n) : undefined;
        },
        openBlob: async (d) => {
          const n = blob(d);
          return n ? createReadStream(dir.path(n)) : undefined;
        },
      },
    });
  }
  return out;
}
