import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MediaType, type ImageConfig, type ImageIndex, type ImageManifest } from '../../../src/image/oci-types';
import { buildLayerFromEntries, type BuiltLayer } from '../../../src/image/writer/layer';
import { allBlobs, buildImage, buildIndex, layerMediaTypeFor } from '../../../src/image/writer/image';
import { isBerthError } from '../../../src/util/errors';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function layers(): Promise<BuiltLayer[]> {
  return [
    await buildLayerFromEntries([{ path: 'a', type: 'file', content: 'A' }], { compression: 'gzip' }),
    await buildLayerFromEntries([{ path: 'b', type: 'file', content: 'B' }, { path: 'a', type: 'whiteout' }], { compression: 'none' }),
  ];
}

test('OCI image: media types, descriptors and digests of exactly the serialized bytes', async () => {
  const ls = await layers();
  const img = buildImage({ layers: ls, config: { Cmd: ['sh'], Env: ['A=1'] }, format: 'oci' });
  assert.equal(img.manifest.descriptor.mediaType, MediaType.OciManifest);
  assert.equal(img.manifest.descriptor.digest, sha(img.manifest.bytes));
  assert.equal(img.manifest.descriptor.size, img.manifest.bytes.length);
  assert.equal(img.config.descriptor.digest, sha(img.config.bytes));

  const m = JSON.parse(img.manifest.bytes.toString()) as ImageManifest;
  assert.equal(m.schemaVersion, 2);
  assert.equal(m.mediaType, MediaType.OciManifest);
  assert.deepEqual(m.config, { mediaType: MediaType.OciConfig, digest: img.config.descriptor.digest, size: img.config.bytes.length });
  assert.deepEqual(
    m.layers.map((l) => [l.mediaType, l.digest, l.size]),
    [
      [MediaType.OciLayerGzip, ls[0]!.digest, ls[0]!.size],
      [MediaType.OciLayer, ls[1]!.digest, ls[1]!.size],
    ],
  );
  const c = JSON.parse(img.config.bytes.toString()) as ImageConfig;
  assert.deepEqual(c.rootfs, { type: 'layers', diff_ids: [ls[0]!.diffId, ls[1]!.diffId] });
  assert.equal(c.architecture, 'amd64');
  assert.equal(c.os, 'linux');
  assert.deepEqual(c.config?.Cmd, ['sh']);
  assert.equal(c.created, undefined, 'no timestamp unless asked for');
});

test('Docker schema 2 image: Docker media types for manifest, config and layers', async () => {
  const ls = await layers();
  const img = buildImage({ layers: ls, format: 'docker', architecture: 'arm64', variant: 'v8' });
  const m = JSON.parse(img.manifest.bytes.toString()) as ImageManifest;
  assert.equal(m.mediaType, MediaType.DockerManifest);
  assert.equal(img.manifest.descriptor.mediaType, MediaType.DockerManifest);
  assert.equal(m.config.mediaType, MediaType.DockerConfig);
  assert.deepEqual(
    m.layers.map((l) => l.mediaType),
    [MediaType.DockerLayerGzip, 'application/vnd.docker.image.rootfs.diff.tar'],
  );
  const c = JSON.parse(img.config.bytes.toString()) as ImageConfig;
  assert.equal(c.architecture, 'arm64');
  assert.equal(c.variant, 'v8');
  assert.deepEqual(img.platform, { architecture: 'arm64', os: 'linux', variant: 'v8' });
  assert.equal(layerMediaTypeFor({ mediaType: 'application/x-custom' }, 'docker'), 'application/x-custom');
});

test('digests are reproducible and independent of object key order', async () => {
  const ls = await layers();
  const a = buildImage({ layers: ls, config: { Labels: { x: '1', a: '2' }, Env: ['E=1'] }, created: '2020-01-01T00:00:00Z' });
  const b = buildImage({ config: { Env: ['E=1'], Labels: { a: '2', x: '1' } }, created: '2020-01-01T00:00:00Z', layers: ls });
  assert.equal(a.manifest.descriptor.digest, b.manifest.descriptor.digest);
  assert.equal(a.config.descriptor.digest, b.config.descriptor.digest);
  const c = buildImage({ layers: ls, config: { Labels: { x: '1', a: '3' }, Env: ['E=1'] }, created: '2020-01-01T00:00:00Z' });
  assert.notEqual(c.config.descriptor.digest, a.config.descriptor.digest);
});

test('history must match the layer count', async () => {
  const ls = await layers();
  assert.throws(() => buildImage({ layers: ls, history: [{ created_by: 'one' }] }), (e: unknown) => isBerthError(e, 'invalid-argument'));
  const ok = buildImage({ layers: ls, history: [{ created_by: 'one' }, { created_by: 'env', empty_layer: true }, { created_by: 'two' }] });
  assert.equal((JSON.parse(ok.config.bytes.toString()) as ImageConfig).history?.length, 3);
});

test('index and manifest list carry each manifest with its platform', async () => {
  const ls = await layers();
  const amd = buildImage({ layers: ls, architecture: 'amd64' });
  const arm = buildImage({ layers: ls, architecture: 'arm64', variant: 'v8' });
  assert.notEqual(amd.manifest.descriptor.digest, arm.manifest.descriptor.digest);

  const oci = buildIndex([amd, arm]);
  const idx = JSON.parse(oci.index.bytes.toString()) as ImageIndex;
  assert.equal(idx.mediaType, MediaType.OciIndex);
  assert.equal(oci.index.descriptor.digest, sha(oci.index.bytes));
  assert.deepEqual(
    idx.manifests.map((m) => [m.digest, m.mediaType, m.size, m.platform]),
    [
      [amd.manifest.descriptor.digest, MediaType.OciManifest, amd.manifest.bytes.length, { architecture: 'amd64', os: 'linux' }],
      [arm.manifest.descriptor.digest, MediaType.OciManifest, arm.manifest.bytes.length, { architecture: 'arm64', os: 'linux', variant: 'v8' }],
    ],
  );

  const dAmd = buildImage({ layers: ls, format: 'docker' });
  const list = buildIndex([dAmd], { format: 'docker' });
  assert.equal(list.index.descriptor.mediaType, MediaType.DockerManifestList);
  assert.equal((JSON.parse(list.index.bytes.toString()) as ImageIndex).manifests[0]!.mediaType, MediaType.DockerManifest);

  // Shared layers are listed once.
  const blobs = allBlobs(oci);
  const digests = blobs.map((b) => b.descriptor.digest);
  assert.equal(new Set(digests).size, digests.length);
  assert.equal(blobs.length, 2 /* layers */ + 2 /* configs */ + 2 /* manifests */ + 1 /* index */);
});
