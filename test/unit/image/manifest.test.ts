import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  hostPlatform,
  layerCompression,
  normalizePlatform,
  parseManifest,
  selectPlatform,
} from '../../../src/image/manifest';
import { MediaType, type Descriptor, type ImageIndex, type Platform } from '../../../src/image/oci-types';
import { isBerthError } from '../../../src/util/errors';

const dg = (c: string) => `sha256:${c.repeat(64)}`;
const desc = (c: string, mediaType: string = MediaType.OciLayerGzip, size = 10): Descriptor => ({ mediaType, digest: dg(c), size });
const buf = (o: unknown) => Buffer.from(JSON.stringify(o));

const ociManifest = {
  schemaVersion: 2,
  mediaType: MediaType.OciManifest,
  config: desc('c', MediaType.OciConfig),
  layers: [desc('1'), desc('2', MediaType.OciLayerZstd)],
};

test('parses an OCI manifest by content type and by body mediaType', () => {
  const byHeader = parseManifest(buf(ociManifest), `${MediaType.OciManifest}; charset=utf-8`);
  assert.equal(byHeader.kind, 'manifest');
  assert.equal(byHeader.mediaType, MediaType.OciManifest);
  if (byHeader.kind === 'manifest') assert.equal(byHeader.manifest.layers[1]!.digest, dg('2'));
  const byBody = parseManifest(buf(ociManifest), 'application/octet-stream');
  assert.equal(byBody.mediaType, MediaType.OciManifest);
  // OCI allows omitting mediaType; the shape decides.
  const { mediaType: _omit, ...noType } = ociManifest;
  assert.equal(parseManifest(buf(noType)).mediaType, MediaType.OciManifest);
  assert.equal(parseManifest(buf({ schemaVersion: 2, manifests: [] })).kind, 'index');
});

test('parses a Docker schema-2 manifest and manifest list', () => {
  const m = { ...ociManifest, mediaType: MediaType.DockerManifest, config: desc('c', MediaType.DockerConfig) };
  assert.equal(parseManifest(buf(m), MediaType.DockerManifest).kind, 'manifest');
  const list = {
    schemaVersion: 2,
    mediaType: MediaType.DockerManifestList,
    manifests: [{ ...desc('a', MediaType.DockerManifest), platform: { os: 'linux', architecture: 'amd64' } }],
  };
  const p = parseManifest(buf(list), MediaType.DockerManifestList);
  assert.equal(p.kind, 'index');
  if (p.kind === 'index') assert.equal(p.index.manifests[0]!.platform?.architecture, 'amd64');
});

test('refuses schema 1 with a clear error', () => {
  const s1 = { schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] };
  for (const ct of ['application/vnd.docker.distribution.manifest.v1+prettyjws', 'application/json', undefined]) {
    assert.throws(
      () => parseManifest(buf(s1), ct),
      (e: unknown) => isBerthError(e, 'unimplemented') && /schema 1/.test(e.message),
      String(ct),
    );
  }
});

test('rejects malformed manifests', () => {
  const bad: Array<[unknown, string | undefined, RegExp]> = [
    ['not json', MediaType.OciManifest, /not JSON/],
    [[], undefined, /not a JSON object/],
    [{ ...ociManifest, schemaVersion: 3 }, undefined, /schemaVersion/],
    [ociManifest, MediaType.DockerManifest, /does not match/],
    [{ ...ociManifest, layers: undefined }, MediaType.OciManifest, /layers/],
    [{ ...ociManifest, config: { ...desc('c'), digest: 'sha256:xyz' } }, undefined, /config\.digest/],
    [{ ...ociManifest, layers: [{ ...desc('1'), size: -1 }] }, undefined, /layers\[0\]\.size/],
    [{ ...ociManifest, manifests: [] }, undefined, /must not have a manifests/],
    [{ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [{ digest: dg('a'), size: 1 }] }, undefined, /mediaType missing/],
    [{ schemaVersion: 2, mediaType: 'application/x-weird' }, undefined, /unsupported manifest media type/],
  ];
  for (const [doc, ct, re] of bad) {
    const bytes = typeof doc === 'string' ? Buffer.from(doc) : buf(doc);
    assert.throws(() => parseManifest(bytes, ct), (e: unknown) => isBerthError(e, 'invalid-argument') && re.test(e.message), re.source);
  }
});

function index(platforms: Array<Platform | undefined>, mediaType: string = MediaType.OciManifest): ImageIndex {
  return {
    schemaVersion: 2,
    manifests: platforms.map((p, i) => ({ mediaType, digest: dg(i.toString(16)), size: 100, ...(p ? { platform: p } : {}) })),
  };
}

test('selectPlatform: exact os/arch, arm64 variant defaults, index order', () => {
  const idx = index([
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64', variant: 'v8' },
    { os: 'linux', architecture: 'arm', variant: 'v6' },
    { os: 'linux', architecture: 'arm', variant: 'v7' },
    { os: 'windows', architecture: 'amd64' },
    { os: 'linux', architecture: 'amd64' },
  ]);
  assert.equal(selectPlatform(idx, { os: 'linux', architecture: 'amd64' }).digest, dg('0'));
  assert.equal(selectPlatform(idx, { os: 'windows', architecture: 'amd64' }).digest, dg('4'));
  // arm64 without variant means v8, and matches an entry with or without "v8".
  assert.equal(selectPlatform(idx, { os: 'linux', architecture: 'arm64' }).digest, dg('1'));
  assert.equal(selectPlatform(index([{ os: 'linux', architecture: 'arm64' }]), { os: 'linux', architecture: 'aarch64', variant: 'v8' }).digest, dg('0'));
  // arm/v7 prefers v7 over the earlier v6; arm/v6 cannot run v7.
  assert.equal(selectPlatform(idx, { os: 'linux', architecture: 'arm', variant: 'v7' }).digest, dg('3'));
  assert.equal(selectPlatform(idx, { os: 'linux', architecture: 'arm', variant: 'v6' }).digest, dg('2'));
  // arm/v7 falls back to v6 when there is no v7.
  const v6only = index([{ os: 'linux', architecture: 'arm', variant: 'v5' }, { os: 'linux', architecture: 'arm', variant: 'v6' }]);
  assert.equal(selectPlatform(v6only, { os: 'linux', architecture: 'arm', variant: 'v7' }).digest, dg('1'));
});

test('selectPlatform skips attestations and entries without platform; not-found lists what is offered', () => {
  const idx = index([undefined, { os: 'linux', architecture: 's390x' }, { os: 'unknown', architecture: 'unknown' }]);
  idx.manifests.push({ mediaType: 'application/vnd.in-toto+json', digest: dg('f'), size: 1, platform: { os: 'linux', architecture: 'amd64' } });
  assert.throws(
    () => selectPlatform(idx, { os: 'linux', architecture: 'amd64' }),
    (e: unknown) =>
      isBerthError(e, 'not-found') && /linux\/amd64/.test(e.message) && /linux\/s390x/.test(e.message) && /\(no platform\)/.test(e.message),
  );
});

test('hostPlatform maps node arch names to Go names', () => {
  const p = hostPlatform();
  assert.equal(p.os, 'linux');
  const want: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm' };
  if (want[process.arch]) assert.equal(p.architecture, want[process.arch]);
  assert.ok(!['x64', 'ia32'].includes(p.architecture));
  assert.deepEqual(normalizePlatform({ os: 'Linux', architecture: 'x86_64' }), { os: 'linux', architecture: 'amd64', variant: 'v1' });
  assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'armhf' }), { os: 'linux', architecture: 'arm', variant: 'v7' });
});

test('layerCompression', () => {
  assert.equal(layerCompression(MediaType.OciLayerGzip), 'gzip');
  assert.equal(layerCompression(MediaType.DockerLayerGzip), 'gzip');
  assert.equal(layerCompression(MediaType.DockerForeignLayerGzip), 'gzip');
  assert.equal(layerCompression(MediaType.OciLayerZstd), 'zstd');
  assert.equal(layerCompression(MediaType.OciLayer), 'none');
  assert.throws(() => layerCompression('application/vnd.oci.image.layer.v1.tar+gzip+encrypted'), /encrypted/);
  assert.throws(() => layerCompression('application/x-bogus'), (e: unknown) => isBerthError(e, 'unimplemented'));
});
