// Parsing and validation of the four manifest kinds a registry can serve (OCI index/manifest,
// Docker manifest list/schema-2 manifest), platform selection in an index, and layer compression.
import { BerthError, invalidArgument, notFound } from '../util/errors';
import { MediaType, type Descriptor, type ImageIndex, type ImageManifest, type Platform } from './oci-types';
import { digestProblem } from './reference';

export const DockerSchema1MediaTypes = [
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
] as const;

/** What we ask registries for (Accept header), most specific first. */
export const MANIFEST_MEDIA_TYPES = [
  MediaType.OciIndex,
  MediaType.OciManifest,
  MediaType.DockerManifestList,
  MediaType.DockerManifest,
] as const;

/** Registries are not supposed to serve bigger manifests; refusing protects memory. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export function isIndexMediaType(mt: string): boolean {
  return mt === MediaType.OciIndex || mt === MediaType.DockerManifestList;
}

export function isManifestMediaType(mt: string): boolean {
  return mt === MediaType.OciManifest || mt === MediaType.DockerManifest;
}

export type ParsedManifest =
  | { kind: 'index'; mediaType: string; index: ImageIndex }
  | { kind: 'manifest'; mediaType: string; manifest: ImageManifest };

/** Content types that say nothing about the document; we then go by the body's mediaType field. */
const GENERIC_CONTENT_TYPES = new Set(['', 'application/json', 'application/octet-stream', 'text/plain']);

function stripParams(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Parses manifest bytes. `contentType` is the registry's Content-Type (or the descriptor's mediaType);
 * when it is absent or generic the body's `mediaType` field decides. Schema-1 is refused.
 * `ctx` is added to errors (e.g. the reference being pulled).
 */
export function parseManifest(bytes: Uint8Array, contentType?: string, ctx: Record<string, unknown> = {}): ParsedManifest {
  const bad = (why: string): never => {
    throw invalidArgument(`invalid manifest: ${why}`, { ...ctx, mediaType: contentType });
  };
  const header = stripParams(contentType);
  if ((DockerSchema1MediaTypes as readonly string[]).includes(header)) throw schema1Error(ctx);
  if (bytes.length > MAX_MANIFEST_BYTES) bad(`size ${bytes.length} exceeds the ${MAX_MANIFEST_BYTES}-byte limit`);

  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    bad(`not JSON (${(e as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return bad('not a JSON object');
  const obj = doc as Record<string, unknown>;
  if (obj.schemaVersion === 1) throw schema1Error(ctx);
  if (obj.schemaVersion !== 2) bad(`schemaVersion must be 2, got ${JSON.stringify(obj.schemaVersion)}`);

  const bodyType = obj.mediaType;
  if (bodyType !== undefined && typeof bodyType !== 'string') bad('mediaType must be a string');
  let mediaType: string;
  if (GENERIC_CONTENT_TYPES.has(header)) {
    if (typeof bodyType === 'string') mediaType = bodyType;
    // OCI documents may omit mediaType; the shape then tells an index from a manifest.
    else mediaType = Array.isArray(obj.manifests) ? MediaType.OciIndex : MediaType.OciManifest;
  } else {
    mediaType = header;
    // The OCI spec requires the body's mediaType, when present, to agree with the transport's.
    if (typeof bodyType === 'string' && bodyType !== header) bad(`mediaType "${bodyType}" in body does not match content type "${header}"`);
  }
  if ((DockerSchema1MediaTypes as readonly string[]).includes(mediaType)) throw schema1Error(ctx);

  if (isIndexMediaType(mediaType)) {
    if (obj.config !== undefined || obj.layers !== undefined) bad(`${mediaType} must not have config or layers`);
    if (!Array.isArray(obj.manifests)) bad('index has no manifests array');
    const manifests = (obj.manifests as unknown[]).map((d, i) => checkDescriptor(d, `manifests[${i}]`, bad));
    const index: ImageIndex = { schemaVersion: 2, manifests };
    if (typeof bodyType === 'string') index.mediaType = bodyType;
    if (obj.annotations !== undefined) index.annotations = checkAnnotations(obj.annotations, 'annotations', bad);
    return { kind: 'index', mediaType, index };
  }
  if (isManifestMediaType(mediaType)) {
    if (obj.manifests !== undefined) bad(`${mediaType} must not have a manifests array`);
    const config = checkDescriptor(obj.config, 'config', bad);
    if (!Array.isArray(obj.layers)) bad('manifest has no layers array');
    const layers = (obj.layers as unknown[]).map((d, i) => checkDescriptor(d, `layers[${i}]`, bad));
    const manifest: ImageManifest = { schemaVersion: 2, config, layers };
    if (typeof bodyType === 'string') manifest.mediaType = bodyType;
    if (obj.annotations !== undefined) manifest.annotations = checkAnnotations(obj.annotations, 'annotations', bad);
    return { kind: 'manifest', mediaType, manifest };
  }
  return bad(`unsupported manifest media type "${mediaType}"`);
}

function schema1Error(ctx: Record<string, unknown>): BerthError {
  return new BerthError(
    'unimplemented',
    'Docker image manifest schema 1 is deprecated and not supported; re-push the image with a current client (schema 2 or OCI)',
    ctx,
  );
}

function checkAnnotations(v: unknown, where: string, bad: (why: string) => never): Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(`${where} must be an object`);
  for (const [k, val] of Object.entries(v as object)) if (typeof val !== 'string') bad(`${where}.${k} must be a string`);
  return v as Record<string, string>;
}

function checkDescriptor(v: unknown, where: string, bad: (why: string) => never): Descriptor {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(`${where} is not a descriptor object`);
  const d = v as Record<string, unknown>;
  if (typeof d.mediaType !== 'string' || d.mediaType === '') bad(`${where}.mediaType missing`);
  if (typeof d.digest !== 'string') bad(`${where}.digest missing`);
  const problem = digestProblem(d.digest as string);
  if (problem) bad(`${where}.digest "${d.digest}": ${problem}`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) bad(`${where}.size must be a non-negative integer`);
  const out: Descriptor = { mediaType: d.mediaType as string, digest: d.digest as string, size: d.size as number };
  if (d.urls !== undefined) {
    if (!Array.isArray(d.urls) || d.urls.some((u) => typeof u !== 'string')) bad(`${where}.urls must be strings`);
    out.urls = d.urls as string[];
  }
  if (d.annotations !== undefined) out.annotations = checkAnnotations(d.annotations, `${where}.annotations`, bad);
  if (d.platform !== undefined) {
    const p = d.platform as Record<string, unknown>;
    if (typeof p !== 'object' || p === null || typeof p.os !== 'string' || typeof p.architecture !== 'string') {
      bad(`${where}.platform needs os and architecture strings`);
    }
    out.platform = p as unknown as Platform;
  }
  return out;
}

// ---- platforms ----

/** Go (GOARCH) names for node's process.arch values we can run on. */
const NODE_TO_GO_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le', // node reports ppc64 on little-endian Linux too; big-endian Linux is not a target
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle',
};

/** The platform this process runs on, in OCI terms (linux/amd64, linux/arm64/v8, linux/arm/v7, …). */
export function hostPlatform(): Platform {
  const architecture = NODE_TO_GO_ARCH[process.arch] ?? process.arch;
  const p: Platform = { os: 'linux', architecture };
  if (architecture === 'arm64') p.variant = 'v8';
  if (architecture === 'arm') {
    const v = (process.config.variables as Record<string, unknown>).arm_version;
    p.variant = `v${typeof v === 'string' || typeof v === 'number' ? v : '7'}`;
  }
  return p;
}

/** Canonical form: alias architectures and fill in the default variant so equal platforms compare equal. */
export function normalizePlatform(p: Platform): Platform {
  let arch = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase() || undefined;
  switch (arch) {
    case 'x86_64':
    case 'x86-64':
      arch = 'amd64';
      break;
    case 'i386':
      arch = '386';
      break;
    case 'aarch64':
      arch = 'arm64';
      break;
    case 'armhf':
      arch = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      arch = 'arm';
      variant = 'v6';
      break;
  }
  if (arch === 'arm64') {
    if (variant === undefined || variant === '8') variant = 'v8';
  } else if (arch === 'arm') {
    if (variant === undefined) variant = 'v7';
    else if (/^[5-8]$/.test(variant)) variant = `v${variant}`;
  } else if (arch === 'amd64') {
    if (variant === undefined) variant = 'v1';
  }
  const out: Platform = { os: p.os.toLowerCase(), architecture: arch };
  if (variant !== undefined) out.variant = variant;
  return out;
}

/**
 * Variants a CPU of `want` can run, best first: arm/v7 runs v7, v6, v5; amd64/v3 runs v3, v2, v1;
 * arm64/v8 runs only v8 (arm64 v9 images are rare and not backwards-runnable on v8 anyway).
 */
function compatibleVariants(want: Platform): string[] {
  const v = want.variant;
  if (v === undefined) return [];
  const m = /^v(\d+)$/.exec(v);
  if (!m) return [v];
  const n = Number(m[1]);
  if (want.architecture === 'arm') return [5, 6, 7, 8].filter((x) => x <= n).reverse().map((x) => `v${x}`);
  if (want.architecture === 'amd64') return [1, 2, 3, 4].filter((x) => x <= n).reverse().map((x) => `v${x}`);
  if (want.architecture === 'arm64') return [8, 9].filter((x) => x <= n).reverse().map((x) => `v${x}`);
  return [v];
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x).join('/');
}

/**
 * Picks the manifest for `want` (default: this host) from an index: same OS and architecture,
 * the exact variant preferred over older compatible variants, index order breaking ties.
 * Entries without a platform or whose media type is not a manifest (attestations) are skipped.
 */
export function selectPlatform(index: ImageIndex, want: Platform = hostPlatform(), ctx: Record<string, unknown> = {}): Descriptor {
  const w = normalizePlatform(want);
  const ranks = compatibleVariants(w);
  let best: { d: Descriptor; rank: number } | undefined;
  for (const d of index.manifests) {
    if (!d.platform || !(isManifestMediaType(d.mediaType) || isIndexMediaType(d.mediaType))) continue;
    const p = normalizePlatform(d.platform);
    if (p.os !== w.os || p.architecture !== w.architecture) continue;
    const rank = w.variant === undefined ? 0 : ranks.indexOf(p.variant ?? '');
    if (rank < 0) continue;
    if (!best || rank < best.rank) best = { d, rank };
  }
  if (best) return best.d;
  const offered = index.manifests.map((d) => (d.platform ? formatPlatform(d.platform) : '(no platform)'));
  throw notFound(`no manifest for platform ${formatPlatform(w)} in image index; it offers: ${offered.join(', ') || 'nothing'}`, {
    ...ctx,
    platform: formatPlatform(w),
    offered,
  });
}

// ---- layers ----

export type LayerCompression = 'gzip' | 'zstd' | 'none';

/** How a layer blob is compressed, from its media type. Unknown or encrypted layers are refused. */
export function layerCompression(mediaType: string): LayerCompression {
  switch (mediaType) {
    case MediaType.OciLayer:
    case 'application/vnd.oci.image.layer.nondistributable.v1.tar':
    case 'application/vnd.docker.image.rootfs.diff.tar':
      return 'none';
    case MediaType.OciLayerGzip:
    case MediaType.OciLayerNonDistributableGzip:
    case MediaType.DockerLayerGzip:
    case MediaType.DockerForeignLayerGzip:
      return 'gzip';
    case MediaType.OciLayerZstd:
    case 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd':
      return 'zstd';
  }
  if (mediaType.endsWith('+encrypted')) {
    throw new BerthError('unimplemented', `encrypted layers are not supported (media type ${mediaType})`, { mediaType });
  }
  throw new BerthError('unimplemented', `unsupported layer media type "${mediaType}"`, { mediaType });
}
