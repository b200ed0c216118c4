import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaType, type ImageIndex } from '../../../src/image/oci-types';
import { buildLayerFromEntries } from '../../../src/image/writer/layer';
import { buildImage, buildIndex } from '../../../src/image/writer/image';
import {
  REF_NAME_ANNOTATION,
  layoutBlobPath,
  readLayoutBlob,
  readLayoutImage,
  readOciLayout,
  resolveLayoutRef,
  writeOciLayout,
} from '../../../src/image/writer/layout';
import { isBerthError } from '../../../src/util/errors';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'berth-layout-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('writes oci-layout, index.json with ref names, and every blob; reads them back', async (t) => {
  const dir = tempDir(t);
  const layerFile = join(tempDir(t), 'layer.tgz');
  const layer = await buildLayerFromEntries([{ path: 'hello', type: 'file', content: 'hi' }], { outFile: layerFile });
  const amd = buildImage({ layers: [layer], config: { Cmd: ['x'] } });
  const arm = buildImage({ layers: [layer], architecture: 'arm64' });
  const index = buildIndex([amd, arm]);
  await writeOciLayout(dir, [
    { ref: 'single', image: amd },
    { ref: 'multi', image: index },
  ]);

  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
  const idx = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as ImageIndex;
  assert.equal(idx.schemaVersion, 2);
  assert.deepEqual(
    idx.manifests.map((m) => [m.annotations?.[REF_NAME_ANNOTATION], m.digest, m.mediaType]),
    [
      ['single', amd.manifest.descriptor.digest, MediaType.OciManifest],
      ['multi', index.index.descriptor.digest, MediaType.OciIndex],
    ],
  );
  // layer (from file), 2 configs, 2 manifests, index
  assert.equal(readdirSync(join(dir, 'blobs', 'sha256')).length, 6);
  assert.equal((await readLayoutBlob(dir, layer.digest)).length, layer.size);

  const single = await readLayoutImage(dir, 'single');
  assert.equal(single.descriptor.digest, amd.manifest.descriptor.digest);
  assert.deepEqual(single.config.config?.Cmd, ['x']);
  assert.equal(single.index, undefined);

  const picked = await readLayoutImage(dir, 'multi', { os: 'linux', architecture: 'arm64' });
  assert.equal(picked.descriptor.digest, arm.manifest.descriptor.digest);
  assert.equal(picked.config.architecture, 'arm64');
  assert.equal(picked.index?.digest, index.index.descriptor.digest);
  await assert.rejects(readLayoutImage(dir, 'multi', { os: 'linux', architecture: 's390x' }), (e: unknown) => isBerthError(e, 'not-found'));
  await assert.rejects(resolveLayoutRef(dir, 'nope'), (e: unknown) => isBerthError(e, 'not-found'));
});

test('writing a ref again replaces its entry and keeps the others', async (t) => {
  const dir = tempDir(t);
  const l1 = await buildLayerFromEntries([{ path: 'v', type: 'file', content: '1' }]);
  const l2 = await buildLayerFromEntries([{ path: 'v', type: 'file', content: '2' }]);
  const i1 = buildImage({ layers: [l1] });
  const i2 = buildImage({ layers: [l2] });
  await writeOciLayout(dir, [{ ref: 'latest', image: i1 }, { ref: 'old', image: i1 }]);
  await writeOciLayout(dir, [{ ref: 'latest', image: i2 }]);
  const { index } = await readOciLayout(dir);
  assert.deepEqual(
    index.manifests.map((m) => [m.annotations?.[REF_NAME_ANNOTATION], m.digest]),
    [
      ['old', i1.manifest.descriptor.digest],
      ['latest', i2.manifest.descriptor.digest],
    ],
  );
  assert.ok(existsSync(layoutBlobPath(dir, l1.digest)), 'blobs of the other ref are kept');
});

test('corrupt blobs and non-layouts are detected', async (t) => {
  const dir = tempDir(t);
  const img = buildImage({ layers: [await buildLayerFromEntries([{ path: 'f', type: 'file' }])] });
  await writeOciLayout(dir, [{ ref: 'x', image: img }]);
  writeFileSync(layoutBlobPath(dir, img.config.descriptor.digest), '{"tampered":true}');
  await assert.rejects(readLayoutImage(dir, 'x'), (e: unknown) => isBerthError(e, 'failed-precondition'));
  await assert.rejects(readOciLayout(tempDir(t)), (e: unknown) => isBerthError(e, 'not-found'));
});
