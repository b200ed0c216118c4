import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Descriptor } from '../../../src/image/oci-types';
import { parseReference, type ImageReference } from '../../../src/image/reference';
import { buildLayerFromEntries } from '../../../src/image/writer/layer';
import { buildImage, buildIndex } from '../../../src/image/writer/image';
import { pushImage, type BlobPusher } from '../../../src/image/writer/push';
import { isBerthError } from '../../../src/util/errors';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

type Call = { kind: 'blob'; digest: string; bytes: Buffer } | { kind: 'manifest'; reference: string; mediaType: string; digest: string };

class FakeRegistry implements BlobPusher<{ token: string }> {
  calls: Call[] = [];
  opts: Array<{ token: string } | undefined> = [];
  lie = false;
  async pushBlob(_ref: ImageReference, desc: Descriptor, body: () => Readable | Buffer, opts?: { token: string }): Promise<void> {
    this.opts.push(opts);
    const b = body();
    let bytes: Buffer;
    if (Buffer.isBuffer(b)) bytes = b;
    else {
      const chunks: Buffer[] = [];
      for await (const c of b) chunks.push(c as Buffer);
      bytes = Buffer.concat(chunks);
    }
    assert.equal(sha(bytes), desc.digest, 'body matches its descriptor');
    assert.equal(bytes.length, desc.size);
    this.calls.push({ kind: 'blob', digest: desc.digest, bytes });
  }
  async pushManifest(_ref: ImageReference, mediaType: string, bytes: Buffer, reference: string): Promise<string> {
    this.calls.push({ kind: 'manifest', reference, mediaType, digest: sha(bytes) });
    return this.lie ? sha(Buffer.from('other')) : sha(bytes);
  }
}

test('pushes every blob before the manifest, tagged by the reference', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-push-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const l1 = await buildLayerFromEntries([{ path: 'a', type: 'file', content: 'A' }]);
  const l2 = await buildLayerFromEntries([{ path: 'b', type: 'file', content: 'B' }], { outFile: join(dir, 'l2') });
  const img = buildImage({ layers: [l1, l2] });
  const reg = new FakeRegistry();
  const res = await pushImage(reg, parseReference('127.0.0.1:5000/test/img:v1'), img, { clientOptions: { token: 't' } });

  assert.equal(res.digest, img.manifest.descriptor.digest);
  assert.equal(res.reference, 'v1');
  const blobDigests = reg.calls.filter((c) => c.kind === 'blob').map((c) => c.digest).sort();
  assert.deepEqual(blobDigests, [l1.digest, l2.digest, img.config.descriptor.digest].sort());
  const last = reg.calls.at(-1)!;
  assert.equal(reg.calls.length, 4);
  assert.deepEqual(last, { kind: 'manifest', reference: 'v1', mediaType: img.manifest.descriptor.mediaType, digest: img.manifest.descriptor.digest });
  assert.ok(reg.opts.every((o) => o?.token === 't'), 'client options are passed through');
});

test('an index pushes child manifests by digest, then the index under the tag', async () => {
  const l = await buildLayerFromEntries([{ path: 'a', type: 'file' }]);
  const amd = buildImage({ layers: [l], format: 'docker' });
  const arm = buildImage({ layers: [l], format: 'docker', architecture: 'arm64' });
  const list = buildIndex([amd, arm]);
  const reg = new FakeRegistry();
  const res = await pushImage(reg, parseReference('127.0.0.1:5000/test/multi'), list);
  const manifests = reg.calls.filter((c) => c.kind === 'manifest');
  assert.deepEqual(
    manifests.map((c) => c.kind === 'manifest' && [c.reference, c.digest]),
    [
      [amd.manifest.descriptor.digest, amd.manifest.descriptor.digest],
      [arm.manifest.descriptor.digest, arm.manifest.descriptor.digest],
      ['latest', list.index.descriptor.digest],
    ],
  );
  const firstManifest = reg.calls.findIndex((c) => c.kind === 'manifest');
  assert.equal(firstManifest, 3, 'layer (shared, once) and two configs come first');
  assert.equal(res.digest, list.index.descriptor.digest);
});

test('refuses a digest-pinned ref that does not match, and a registry that stores other bytes', async () => {
  const img = buildImage({ layers: [await buildLayerFromEntries([{ path: 'a', type: 'file' }])] });
  const other = `sha256:${'0'.repeat(64)}`;
  await assert.rejects(
    pushImage(new FakeRegistry(), parseReference(`127.0.0.1:5000/x@${other}`), img),
    (e: unknown) => isBerthError(e, 'invalid-argument'),
  );
  const liar = new FakeRegistry();
  liar.lie = true;
  await assert.rejects(pushImage(liar, parseReference('127.0.0.1:5000/x:t'), img), (e: unknown) => isBerthError(e, 'failed-precondition'));
});
