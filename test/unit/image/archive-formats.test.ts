// docker-archive and OCI-archive: save images from a content store, read the archive back, and
// check what an import would see (tags, manifests, blobs by digest), byte-for-byte determinism,
// and that archive entries cannot leave the extraction directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { ContentStore } from '../../../src/store/content-store';
import { buildLayerFromEntries, type LayerCompression } from '../../../src/image/writer/layer';
import { buildImage, type BuiltImage, type ImageFormat } from '../../../src/image/writer/image';
import { allBlobs } from '../../../src/image/writer/image';
import { blobReadable } from '../../../src/image/writer/blob';
import { ArchiveDir, readArchive, saveArchive, type ArchiveImage } from '../../../src/image/archive/archive';
import { decompressor } from '../../../src/image/decompress';
import type { ImageManifest } from '../../../src/image/oci-types';
import { makeTar } from '../../helpers/tar';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

interface Fixture {
  dir: string;
  store: ContentStore;
  image: BuiltImage;
  archiveImage: ArchiveImage;
}

async function fixture(compression: LayerCompression, format: ImageFormat, tags: string[]): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-archive-unit-'));
  const store = new ContentStore(dir);
  const l1 = await buildLayerFromEntries([{ path: 'etc', type: 'dir' }, { path: 'etc/hello', type: 'file', content: 'hello\n' }], { compression });
  const l2 = await buildLayerFromEntries([{ path: 'data.bin', type: 'file', content: Buffer.alloc(70_000, 7) }], { compression });
  const image = buildImage({
    layers: [l1, l2],
    config: { Cmd: ['sh'] },
    format,
    history: [{ created_by: 'one' }, { created_by: 'meta', empty_layer: true }, { created_by: 'two' }],
  });
  for (const b of allBlobs(image)) await store.write(b.descriptor.digest, b.descriptor.size, () => blobReadable(b.source));
  const m = image.manifest.value;
  const archiveImage: ArchiveImage = {
    id: image.config.descriptor.digest,
    manifest: image.manifest.descriptor,
    layers: m.layers.map((l, i) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType, diffId: image.config.value.rootfs.diff_ids[i]! })),
    config: image.config.value,
    tags,
  };
  return { dir, store, image, archiveImage };
}

const reader = (s: ContentStore) => ({ open: (d: string) => s.reader(d), readBuffer: (d: string) => s.readBuffer(d) });

async function extract(tar: Buffer): Promise<{ ad: ArchiveDir; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-archive-x-'));
  return { ad: await ArchiveDir.extract(Readable.from([tar]), dir), dir };
}

for (const compression of ['gzip', 'none', 'zstd'] as const) {
  test(`docker-archive (${compression} layers): docker layout, uncompressed layers, read back as an import`, async (t) => {
    // berth (like containerd) knows no Docker media type for zstd layers: those images are OCI.
    const f = await fixture(compression, compression === 'zstd' ? 'oci' : 'docker', ['docker.io/library/busybox:latest', '127.0.0.1:5000/x/y:v1']);
    t.after(() => rmSync(f.dir, { recursive: true, force: true }));
    const tar = await collect(saveArchive([f.archiveImage], 'docker-archive', reader(f.store)));
    const again = await collect(saveArchive([f.archiveImage], 'docker-archive', reader(f.store)));
    assert.ok(tar.equals(again), 'the same image saves to the same bytes');

    const { ad, dir } = await extract(tar);
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const diffIds = f.image.config.value.rootfs.diff_ids;
    const hex = (d: string) => d.slice(7);
    assert.deepEqual(
      readdirSync(dir).sort(),
      [`${hex(f.archiveImage.id)}.json`, ...diffIds.map((d) => `${hex(d)}.tar`), 'manifest.json', 'repositories'].sort(),
    );
    const manifest = await ad.readJson<Array<{ Config: string; RepoTags: string[]; Layers: string[] }>>('manifest.json');
    assert.deepEqual(manifest, [{ Config: `${hex(f.archiveImage.id)}.json`, RepoTags: ['busybox:latest', '127.0.0.1:5000/x/y:v1'], Layers: diffIds.map((d) => `${hex(d)}.tar`) }]);
    // docker's layers are plain tars: each file's digest is its diff id.
    for (const d of diffIds) assert.equal(sha(await ad.read(`${hex(d)}.tar`)), d);
    assert.deepEqual(await ad.readJson('repositories'), {
      busybox: { latest: hex(diffIds[1]!) },
      '127.0.0.1:5000/x/y': { v1: hex(diffIds[1]!) },
    });

    const { format, images } = await readArchive(ad);
    assert.equal(format, 'docker-archive');
    assert.equal(images.length, 1);
    const img = images[0]!;
    assert.deepEqual(img.tags, ['docker.io/library/busybox:latest', '127.0.0.1:5000/x/y:v1']);
    assert.equal(img.source.top.descriptor.digest, sha(img.source.top.bytes));
    const m = JSON.parse(img.source.top.bytes.toString()) as ImageManifest;
    assert.equal(m.config.digest, f.archiveImage.id);
    assert.deepEqual(m.layers.map((l) => l.digest), diffIds);
    assert.ok(m.layers.every((l) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar'));
    for (const desc of [m.config, ...m.layers]) {
      const body = await collect((await img.source.openBlob(desc.digest))!);
      assert.equal(sha(body), desc.digest);
      assert.equal(body.length, desc.size);
    }
    assert.equal(await img.source.openBlob(`sha256:${'0'.repeat(64)}`), undefined);
  });
}

test('OCI archive: layout with containerd-style annotations, blobs as stored, read back with tags', async (t) => {
  const f = await fixture('gzip', 'oci', ['docker.io/library/busybox:latest', 'docker.io/library/busybox:1.36']);
  t.after(() => rmSync(f.dir, { recursive: true, force: true }));
  const tar = await collect(saveArchive([f.archiveImage], 'oci-archive', reader(f.store)));
  assert.ok(tar.equals(await collect(saveArchive([f.archiveImage], 'oci-archive', reader(f.store)))), 'deterministic');
  const { ad, dir } = await extract(tar);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.deepEqual(await ad.readJson('oci-layout'), { imageLayoutVersion: '1.0.0' });
  const index = await ad.readJson<{ manifests: Array<{ digest: string; annotations: Record<string, string>; platform: unknown }> }>('index.json');
  assert.deepEqual(
    index.manifests.map((m) => [m.digest, m.annotations]),
    [
      [f.image.manifest.descriptor.digest, { 'io.containerd.image.name': 'docker.io/library/busybox:latest', 'org.opencontainers.image.ref.name': 'latest' }],
      [f.image.manifest.descriptor.digest, { 'io.containerd.image.name': 'docker.io/library/busybox:1.36', 'org.opencontainers.image.ref.name': '1.36' }],
    ],
  );
  assert.deepEqual(index.manifests[0]!.platform, { os: 'linux', architecture: 'amd64' });
  const blobs = readdirSync(join(dir, 'blobs', 'sha256')).sort();
  assert.deepEqual(blobs, allBlobs(f.image).map((b) => b.descriptor.digest.slice(7)).sort());
  for (const b of blobs) assert.equal(sha(await ad.read(`blobs/sha256/${b}`)), `sha256:${b}`);

  const { format, images } = await readArchive(ad);
  assert.equal(format, 'oci-archive');
  assert.equal(images.length, 1, 'two tags of one manifest are one image');
  assert.deepEqual(images[0]!.tags, ['docker.io/library/busybox:latest', 'docker.io/library/busybox:1.36']);
  assert.ok(images[0]!.source.top.bytes.equals(f.image.manifest.bytes));
  // Layers are kept compressed as stored.
  const layer = f.image.manifest.value.layers[0]!;
  const stored = await collect((await images[0]!.source.openBlob(layer.digest))!);
  assert.equal(sha(stored), layer.digest);
  assert.equal(sha(await collect(Readable.from([stored]).pipe(decompressor('gzip')))), f.image.config.value.rootfs.diff_ids[0]);
});

test('OCI archive: an image without tags gets an unannotated entry and loads untagged; a bare ref.name is no tag', async (t) => {
  const f = await fixture('gzip', 'oci', []);
  t.after(() => rmSync(f.dir, { recursive: true, force: true }));
  const { ad, dir } = await extract(await collect(saveArchive([f.archiveImage], 'oci-archive', reader(f.store))));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const index = await ad.readJson<{ manifests: Array<{ annotations?: unknown }> }>('index.json');
  assert.equal(index.manifests.length, 1);
  assert.equal(index.manifests[0]!.annotations, undefined);
  assert.deepEqual((await readArchive(ad)).images[0]!.tags, []);
});

test('a gzip-compressed archive (docker save | gzip) is read like the plain one', async (t) => {
  const f = await fixture('gzip', 'oci', ['docker.io/library/busybox:latest']);
  t.after(() => rmSync(f.dir, { recursive: true, force: true }));
  const tar = await collect(saveArchive([f.archiveImage], 'docker-archive', reader(f.store)));
  const gz = await collect(Readable.from([tar]).pipe(createGzip()));
  const { ad, dir } = await extract(gz);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { images } = await readArchive(ad);
  assert.deepEqual(images[0]!.tags, ['docker.io/library/busybox:latest']);
});

test('archive entries that leave the directory are refused; links resolve inside the archive', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-archive-x-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const evil = await makeTar([{ name: '../escape', content: 'x' }]);
  await assert.rejects(ArchiveDir.extract(Readable.from([evil]), dir), /leaves the archive/);

  const dir2 = mkdtempSync(join(tmpdir(), 'berth-archive-x-'));
  t.after(() => rmSync(dir2, { recursive: true, force: true }));
  const linked = await makeTar([
    { name: 'a/layer.tar', content: 'data' },
    { name: 'b/layer.tar', type: 'symlink', linkname: '../a/layer.tar' },
    { name: 'c/layer.tar', type: 'symlink', linkname: '../../../etc/passwd' },
  ]);
  const ad = await ArchiveDir.extract(Readable.from([linked]), dir2);
  assert.equal((await ad.read('b/layer.tar')).toString(), 'data');
  assert.throws(() => ad.path('c/layer.tar'), /leaves the archive/);
  assert.deepEqual(readdirSync(dir2), ['a'], 'links are not created on disk');
});

test('an archive with neither manifest.json nor oci-layout is refused', async (t) => {
  const { ad, dir } = await extract(await makeTar([{ name: 'hello', content: 'x' }]));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(readArchive(ad), /not an image archive/);
});
