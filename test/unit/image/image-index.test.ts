import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImageIndex, chainIds, imageUser, type ImageRecord } from '../../../src/image/image-index';
import { sha256Digest } from '../../../src/store/digest';

function rec(id: string, tags: string[] = [], digests: string[] = []): ImageRecord {
  return {
    id,
    repoTags: tags,
    repoDigests: digests,
    manifest: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256Digest(`m-${id}`), size: 10 },
    configSize: 5,
    layers: [{ digest: sha256Digest(`l-${id}`), size: 3, mediaType: 'x', diffId: sha256Digest(`d-${id}`), chainId: sha256Digest(`d-${id}`) }],
    size: 8,
    config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
    pinned: false,
    createdAt: '2026-01-01T00:00:00Z',
  };
}

const A = sha256Digest('a');
const B = sha256Digest('b');

test('lookup by id, bare hex, unique prefix and reference', () => {
  const idx = new ImageIndex([rec(A, ['docker.io/library/busybox:latest']), rec(B)]);
  assert.equal(idx.lookup(A)?.id, A);
  assert.equal(idx.lookup(A.slice(7))?.id, A);
  assert.equal(idx.lookup(A.slice(7, 19))?.id, A);
  assert.equal(idx.lookup('busybox', 'docker.io/library/busybox:latest')?.id, A);
  assert.equal(idx.lookup('nope', 'docker.io/library/nope:latest'), undefined);
  assert.equal(idx.lookup('ab'), undefined, 'too short to be a prefix');
});

test('ambiguous id prefixes match nothing', () => {
  const ids = ['sha256:' + 'ab'.repeat(32), 'sha256:' + 'ab'.repeat(31) + 'cd'];
  const idx = new ImageIndex(ids.map((i) => rec(i)));
  assert.equal(idx.lookup('abab'), undefined);
  assert.equal(idx.lookup('ab'.repeat(31) + 'c')?.id, ids[1]);
});

test('moving a tag takes it away from the previous image', () => {
  const idx = new ImageIndex([rec(A, ['r/x:1']), rec(B)]);
  const { changed } = idx.moveReference('r/x:1', 'tag', B);
  assert.deepEqual(changed.map((c) => c.id).sort(), [A, B].sort());
  assert.deepEqual(idx.get(A)?.repoTags, []);
  assert.deepEqual(idx.get(B)?.repoTags, ['r/x:1']);
  assert.equal(idx.byReference('r/x:1')?.id, B);
});

test('delete drops references; referenced blobs and chains follow the records', () => {
  const idx = new ImageIndex([rec(A, ['r/a:1'], ['r/a@' + sha256Digest('idx')]), rec(B, ['r/b:1'])]);
  assert.ok(idx.referencedBlobs().has(A));
  assert.ok(idx.referencedChains().has(sha256Digest(`d-${A}`)));
  idx.delete(A);
  assert.equal(idx.byReference('r/a:1'), undefined);
  assert.equal(idx.referencedBlobs().has(A), false);
  assert.equal(idx.referencedBlobs().has(B), true);
  assert.equal(idx.referencedChains().has(sha256Digest(`d-${A}`)), false);
});

test('chain ids follow the OCI image spec', () => {
  const d = [sha256Digest('1'), sha256Digest('2'), sha256Digest('3')];
  const c = chainIds(d, sha256Digest);
  assert.equal(c[0], d[0]);
  assert.equal(c[1], sha256Digest(`${d[0]} ${d[1]}`));
  assert.equal(c[2], sha256Digest(`${c[1]} ${d[2]}`));
});

test('image user: numeric uid, name, name:group, empty', () => {
  const cfg = (User?: string) => ({ architecture: 'amd64', os: 'linux', config: { User }, rootfs: { type: 'layers' as const, diff_ids: [] } });
  assert.deepEqual(imageUser(cfg('65535:65535')), { uid: 65535 });
  assert.deepEqual(imageUser(cfg('nobody')), { username: 'nobody' });
  assert.deepEqual(imageUser(cfg('app:staff')), { username: 'app' });
  assert.deepEqual(imageUser(cfg('')), {});
  assert.deepEqual(imageUser(cfg(undefined)), {});
});
