// OCI image layout directories (image-spec image-layout.md): `oci-layout`, `index.json` whose
// entries are named by `org.opencontainers.image.ref.name`, and content in `blobs/sha256/<hex>`.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MediaType, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest, type Platform } from '../oci-types';
import { writeFileAtomic } from '../../util/atomic-file';
import { failedPrecondition, invalidArgument, notFound } from '../../util/errors';
import { canonicalJson, digestHex } from './blob';
import { allBlobs, isBuiltIndex, topDescriptor, type BuiltImage, type BuiltIndex } from './image';

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
const LAYOUT_VERSION = '1.0.0';

export interface LayoutEntry {
  /** Stored as the org.opencontainers.image.ref.name annotation, e.g. "latest". */
  ref?: string;
  image: BuiltImage | BuiltIndex;
  /** Extra annotations on the index.json entry. */
  annotations?: Record<string, string>;
}

export function layoutBlobPath(dir: string, digest: string): string {
  return join(dir, 'blobs', 'sha256', digestHex(digest));
}

async function exists(p: string): Promise<boolean> {
  return fsp.access(p).then(
    () => true,
    () => false,
  );
}

async function readIndexJson(dir: string): Promise<ImageIndex | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(join(dir, 'index.json'), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const idx = JSON.parse(text) as ImageIndex;
  if (idx.schemaVersion !== 2 || !Array.isArray(idx.manifests)) {
    throw invalidArgument('index.json is not an image index', { dir });
  }
  return idx;
}

/**
 * Write images into an OCI layout at `dir` (created if missing). Existing content is kept; an
 * entry whose ref name is written again is replaced. Returns the resulting index.json.
 */
export async function writeOciLayout(dir: string, entries: readonly LayoutEntry[]): Promise<ImageIndex> {
  const blobDir = join(dir, 'blobs', 'sha256');
  await fsp.mkdir(blobDir, { recursive: true });
  if (!(await exists(join(dir, 'oci-layout')))) {
    await writeFileAtomic(join(dir, 'oci-layout'), canonicalJson({ imageLayoutVersion: LAYOUT_VERSION }));
  }

  for (const entry of entries) {
    for (const blob of allBlobs(entry.image)) {
      const target = layoutBlobPath(dir, blob.descriptor.digest);
      const st = await fsp.stat(target).catch(() => undefined);
      if (st?.size === blob.descriptor.size) continue;
      // Same directory + rename: readers never see a partly written blob.
      const tmp = join(blobDir, `.tmp-${randomBytes(6).toString('hex')}`);
      try {
        if (typeof blob.source === 'string') await fsp.copyFile(blob.source, tmp);
        else await fsp.writeFile(tmp, blob.source);
        await fsp.rename(tmp, target);
      } catch (e) {
        await fsp.rm(tmp, { force: true });
        throw e;
      }
    }
  }

  const index: ImageIndex = (await readIndexJson(dir)) ?? { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
  for (const entry of entries) {
    const desc: Descriptor = { ...topDescriptor(entry.image) };
    if (!isBuiltIndex(entry.image)) desc.platform = entry.image.platform;
    const annotations = { ...(entry.annotations ?? {}) };
    if (entry.ref !== undefined) {
      annotations[REF_NAME_ANNOTATION] = entry.ref;
      index.manifests = index.manifests.filter((m) => m.annotations?.[REF_NAME_ANNOTATION] !== entry.ref);
    }
    if (Object.keys(annotations).length > 0) desc.annotations = annotations;
    index.manifests.push(desc);
  }
  await writeFileAtomic(join(dir, 'index.json'), canonicalJson(index));
  return index;
}

export interface OciLayout {
  dir: string;
  index: ImageIndex;
}

export async function readOciLayout(dir: string): Promise<OciLayout> {
  let marker: { imageLayoutVersion?: string };
  try {
    marker = JSON.parse(await fsp.readFile(join(dir, 'oci-layout'), 'utf8')) as { imageLayoutVersion?: string };
  } catch (e) {
    throw notFound(`not an OCI layout (no readable oci-layout file): ${(e as Error).message}`, { dir });
  }
  if (marker.imageLayoutVersion !== LAYOUT_VERSION) {
    throw failedPrecondition(`unsupported imageLayoutVersion ${String(marker.imageLayoutVersion)}`, { dir });
  }
  const index = await readIndexJson(dir);
  if (!index) throw notFound('OCI layout has no index.json', { dir });
  return { dir, index };
}

/** Read a blob, checking its digest (and size, when a descriptor is given). */
export async function readLayoutBlob(dir: string, digestOrDesc: string | Descriptor): Promise<Buffer> {
  const digest = typeof digestOrDesc === 'string' ? digestOrDesc : digestOrDesc.digest;
  let data: Buffer;
  try {
    data = await fsp.readFile(layoutBlobPath(dir, digest));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`blob ${digest} missing from layout`, { dir, digest });
    throw e;
  }
  const actual = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  if (actual !== digest) throw failedPrecondition(`blob ${digest} has digest ${actual}`, { dir, digest });
  if (typeof digestOrDesc !== 'string' && data.length !== digestOrDesc.size) {
    throw failedPrecondition(`blob ${digest} has size ${data.length}, descriptor says ${digestOrDesc.size}`, { dir, digest });
  }
  return data;
}

/** Digest of a (possibly large) blob file, streamed. */
export async function hashLayoutBlob(dir: string, digest: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(layoutBlobPath(dir, digest))) h.update(chunk as Buffer);
  return `sha256:${h.digest('hex')}`;
}

/** The index.json entry named `ref`. */
export async function resolveLayoutRef(dir: string, ref: string): Promise<Descriptor> {
  const { index } = await readOciLayout(dir);
  const found = index.manifests.filter((m) => m.annotations?.[REF_NAME_ANNOTATION] === ref);
  if (found.length === 0) throw notFound(`no image named ${ref} in layout`, { dir, ref });
  if (found.length > 1) throw failedPrecondition(`${found.length} entries named ${ref} in layout`, { dir, ref });
  return found[0]!;
}

export interface LayoutImage {
  /** The manifest's descriptor. */
  descriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
  /** Descriptor of the index the manifest was chosen from, if the ref names an index. */
  index?: Descriptor;
}

function isIndexType(mediaType: string | undefined): boolean {
  return mediaType === MediaType.OciIndex || mediaType === MediaType.DockerManifestList;
}

/**
 * Load the image named `ref`. If it is an index, pick the manifest for `platform`
 * (default linux/amd64; variant compared only when asked for).
 */
export async function readLayoutImage(
  dir: string,
  ref: string,
  platform: Platform = { os: 'linux', architecture: 'amd64' },
): Promise<LayoutImage> {
  let desc = await resolveLayoutRef(dir, ref);
  let indexDesc: Descriptor | undefined;
  if (isIndexType(desc.mediaType)) {
    indexDesc = desc;
    const idx = JSON.parse((await readLayoutBlob(dir, desc)).toString('utf8')) as ImageIndex;
    const match = idx.manifests.find(
      (m) =>
        m.platform?.os === platform.os &&
        m.platform?.architecture === platform.architecture &&
        (platform.variant === undefined || m.platform?.variant === platform.variant),
    );
    if (!match) throw notFound(`no manifest for ${platform.os}/${platform.architecture} in ${ref}`, { dir, ref });
    desc = match;
  }
  const manifest = JSON.parse((await readLayoutBlob(dir, desc)).toString('utf8')) as ImageManifest;
  const config = JSON.parse((await readLayoutBlob(dir, manifest.config)).toString('utf8')) as ImageConfig;
  return { descriptor: desc, manifest, config, ...(indexDesc ? { index: indexDesc } : {}) };
}
