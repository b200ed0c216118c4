import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { buildLayerFromDirectory, buildLayerFromEntries, type BuiltLayer, type LayerEntry } from '../../../src/image/writer/layer';
import { MediaType } from '../../../src/image/oci-types';
import { isBerthError } from '../../../src/util/errors';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface TarRecord {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname: string | null;
  devmajor: number;
  devminor: number;
  pax: Record<string, string> | null;
  body: Buffer;
}

async function readTar(data: Buffer): Promise<TarRecord[]> {
  const out: TarRecord[] = [];
  const ex = tar.extract();
  const done = (async () => {
    for await (const entry of ex) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      const h = entry.header;
      out.push({
        name: h.name,
        type: h.type,
        mode: h.mode,
        uid: h.uid,
        gid: h.gid,
        mtime: h.mtime.getTime() / 1000,
        linkname: h.linkname ?? null,
        devmajor: h.devmajor,
        devminor: h.devminor,
        pax: (h.pax as Record<string, string> | null | undefined) ?? null,
        body: Buffer.concat(chunks),
      });
    }
  })();
  Readable.from([data]).pipe(ex as unknown as NodeJS.WritableStream);
  await done;
  return out;
}

function tarOf(layer: BuiltLayer): Buffer {
  const blob = typeof layer.blob === 'string' ? readFileSync(layer.blob) : layer.blob;
  return layer.compression === 'gzip' ? gunzipSync(blob) : blob;
}

const sample: LayerEntry[] = [
  { path: 'etc', type: 'dir' },
  { path: 'etc/passwd', type: 'file', content: 'root:x:0:0::/root:/bin/sh\n' },
  { path: 'bin/sh', type: 'symlink', linkname: 'busybox' },
];

test('same entries twice give the same digests; gzip digest covers the blob, diffId the tar', async () => {
  const a = await buildLayerFromEntries(sample, { compression: 'gzip' });
  const b = await buildLayerFromEntries(sample, { compression: 'gzip' });
  assert.equal(a.digest, b.digest);
  assert.equal(a.diffId, b.diffId);
  const blob = a.blob as Buffer;
  assert.equal(a.digest, sha(blob));
  assert.equal(a.size, blob.length);
  assert.equal(a.diffId, sha(gunzipSync(blob)));
  assert.notEqual(a.digest, a.diffId);
  assert.equal(a.mediaType, MediaType.OciLayerGzip);

  const changed = await buildLayerFromEntries([...sample, { path: 'x', type: 'file', content: 'y' }], { compression: 'gzip' });
  assert.notEqual(changed.diffId, a.diffId);
});

test('uncompressed layer: digest equals diffId, tar media type', async () => {
  const l = await buildLayerFromEntries(sample, { compression: 'none' });
  assert.equal(l.digest, l.diffId);
  assert.equal(l.digest, sha(l.blob as Buffer));
  assert.equal(l.mediaType, MediaType.OciLayer);
  const gz = await buildLayerFromEntries(sample, { compression: 'gzip' });
  assert.equal(gz.diffId, l.diffId, 'diffId does not depend on compression');
});

test('whiteouts and opaque markers get their AUFS names', async () => {
  const l = await buildLayerFromEntries(
    [
      { path: 'a/b/c', type: 'whiteout' },
      { path: 'top', type: 'whiteout' },
      { path: '/abs/gone', type: 'whiteout' },
      { path: 'a/d', type: 'opaque' },
      { path: 'e/', type: 'opaque' },
      { path: '', type: 'opaque' },
    ],
    { compression: 'none' },
  );
  const recs = await readTar(tarOf(l));
  assert.deepEqual(
    recs.map((r) => r.name),
    ['a/b/.wh.c', '.wh.top', 'abs/.wh.gone', 'a/d/.wh..wh..opq', 'e/.wh..wh..opq', '.wh..wh..opq'],
  );
  for (const r of recs) {
    assert.equal(r.type, 'file');
    assert.equal(r.body.length, 0);
  }
});

test('headers carry mode (even 0), owner, links, devices, mtime and xattrs', async () => {
  const l = await buildLayerFromEntries(
    [
      { path: 'd', type: 'dir', mode: 0o1777, uid: 7, gid: 8 },
      { path: 'd/secret', type: 'file', mode: 0, content: 'x' },
      { path: 'd/suid', type: 'file', mode: 0o4755, content: '' },
      { path: 'd/ln', type: 'symlink', linkname: '../../outside' },
      { path: 'd/hard', type: 'hardlink', linkname: '/d/secret' },
      { path: 'dev/null', type: 'char', devmajor: 1, devminor: 3 },
      { path: 'dev/sda', type: 'block', devmajor: 8, devminor: 0 },
      { path: 'p', type: 'fifo' },
      { path: 'cap', type: 'file', xattrs: { 'user.z': 'last', 'user.a': Buffer.from('first') }, mtime: 1700000000 },
      { path: 'big', type: 'file', uid: 3_000_000, gid: 5 },
    ],
    { compression: 'none' },
  );
  const recs = await readTar(tarOf(l));
  const by = new Map(recs.map((r) => [r.name, r]));
  assert.equal(by.get('d/')?.type, 'directory');
  assert.equal(by.get('d/')?.mode, 0o1777);
  assert.equal(by.get('d/')?.uid, 7);
  assert.equal(by.get('d/')?.gid, 8);
  assert.equal(by.get('d/secret')?.mode, 0);
  assert.equal(by.get('d/secret')?.body.toString(), 'x');
  assert.equal(by.get('d/suid')?.mode, 0o4755);
  assert.equal(by.get('d/ln')?.linkname, '../../outside', 'symlink targets are verbatim');
  assert.equal(by.get('d/hard')?.type, 'link');
  assert.equal(by.get('d/hard')?.linkname, 'd/secret', 'hardlink targets are layer paths');
  assert.equal(by.get('dev/null')?.type, 'character-device');
  assert.deepEqual([by.get('dev/null')?.devmajor, by.get('dev/null')?.devminor], [1, 3]);
  assert.equal(by.get('dev/sda')?.type, 'block-device');
  assert.equal(by.get('dev/sda')?.devmajor, 8);
  assert.equal(by.get('p')?.type, 'fifo');
  const cap = by.get('cap')!;
  assert.equal(cap.mtime, 1700000000);
  assert.equal(cap.pax?.['SCHILY.xattr.user.a'], 'first');
  assert.equal(cap.pax?.['SCHILY.xattr.user.z'], 'last');
  assert.equal(by.get('d/secret')?.mtime, 0, 'default mtime is the epoch');
  // Ids beyond the ustar field go in a PAX record (Go and GNU tar read it from there).
  assert.equal(by.get('big')?.pax?.uid, '3000000');
});

test('a global mtime/owner override applies to every entry', async () => {
  const l = await buildLayerFromEntries(sample.map((e) => ({ ...e, uid: 5, mtime: 99 })), { compression: 'none', uid: 0, gid: 0, mtime: 1234 });
  for (const r of await readTar(tarOf(l))) {
    assert.equal(r.uid, 0);
    assert.equal(r.mtime, 1234);
  }
});

test('unsafe names are rejected unless raw, and pass through verbatim when raw', async () => {
  await assert.rejects(
    buildLayerFromEntries([{ path: '../x', type: 'file' }]),
    (e: unknown) => isBerthError(e, 'invalid-argument'),
  );
  await assert.rejects(
    buildLayerFromEntries([{ path: 'a/../../x', type: 'hardlink', linkname: 'b' }]),
    (e: unknown) => isBerthError(e, 'invalid-argument'),
  );
  const l = await buildLayerFromEntries(
    [
      { path: '../x', type: 'file', content: 'evil' },
      { path: '/abs', type: 'dir' },
      { path: './dot', type: 'hardlink', linkname: '../../etc/shadow' },
      { path: '../y', type: 'whiteout' },
    ],
    { compression: 'none', raw: true },
  );
  assert.deepEqual(
    (await readTar(tarOf(l))).map((r) => [r.name, r.linkname]),
    [
      ['../x', null],
      ['/abs', null],
      ['./dot', '../../etc/shadow'],
      ['../.wh.y', null],
    ],
  );
  // Without raw, leading "/" and "./" are stripped.
  const clean = await buildLayerFromEntries([{ path: '/etc//./x', type: 'file' }], { compression: 'none' });
  assert.equal((await readTar(tarOf(clean)))[0]!.name, 'etc/x');
});

test('xattr values that are not UTF-8 are refused rather than mangled', async () => {
  await assert.rejects(
    buildLayerFromEntries([{ path: 'f', type: 'file', xattrs: { 'security.capability': Buffer.from([0x01, 0xff, 0xfe]) } }]),
    (e: unknown) => isBerthError(e, 'invalid-argument') && /UTF-8/.test((e as Error).message),
  );
});

test('content on a non-file entry is refused', async () => {
  await assert.rejects(buildLayerFromEntries([{ path: 'd', type: 'dir', content: 'x' }]), (e: unknown) => isBerthError(e, 'invalid-argument'));
});

test('long and non-ASCII names survive (PAX path records)', async () => {
  const long = `${'d'.repeat(120)}/${'f'.repeat(120)}`;
  const l = await buildLayerFromEntries(
    [
      { path: long, type: 'file', content: 'L' },
      { path: 'ünïcødé', type: 'file' },
    ],
    { compression: 'none' },
  );
  assert.deepEqual((await readTar(tarOf(l))).map((r) => r.name), [long, 'ünïcødé']);
});

test('directory layer: sorted, hardlinks detected by inode, fs metadata, fifo, root excluded', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-writer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'b'));
  writeFileSync(join(dir, 'b', 'one'), 'same inode');
  linkSync(join(dir, 'b', 'one'), join(dir, 'b', 'two'));
  linkSync(join(dir, 'b', 'one'), join(dir, 'a-link'));
  writeFileSync(join(dir, 'z'), 'zed');
  chmodSync(join(dir, 'z'), 0o600);
  symlinkSync('/b/one', join(dir, 'sym'));
  execFileSync('mkfifo', [join(dir, 'fifo')]);

  const l = await buildLayerFromDirectory(dir, { compression: 'gzip' });
  const recs = await readTar(tarOf(l));
  assert.deepEqual(
    recs.map((r) => [r.name, r.type]),
    [
      ['a-link', 'file'],
      ['b/', 'directory'],
      ['b/one', 'link'],
      ['b/two', 'link'],
      ['fifo', 'fifo'],
      ['sym', 'symlink'],
      ['z', 'file'],
    ],
  );
  const by = new Map(recs.map((r) => [r.name, r]));
  assert.equal(by.get('a-link')?.body.toString(), 'same inode', 'the first path of an inode carries the data');
  assert.equal(by.get('b/one')?.linkname, 'a-link');
  assert.equal(by.get('b/two')?.linkname, 'a-link');
  assert.equal(by.get('sym')?.linkname, '/b/one');
  assert.equal(by.get('z')?.mode, 0o600);
  assert.equal(by.get('z')?.uid, process.getuid!());
});

test('directory layer: fixed mtime makes the digest independent of timestamps; overrides apply', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-writer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'f'), 'content');
  mkdirSync(join(dir, 'skip'));
  writeFileSync(join(dir, 'skip', 'inner'), 'x');

  const fixed1 = await buildLayerFromDirectory(dir, { compression: 'gzip', mtime: 0 });
  const free1 = await buildLayerFromDirectory(dir, { compression: 'gzip' });
  utimesSync(join(dir, 'f'), 1_000_000, 1_000_000);
  const fixed2 = await buildLayerFromDirectory(dir, { compression: 'gzip', mtime: 0 });
  const free2 = await buildLayerFromDirectory(dir, { compression: 'gzip' });
  assert.equal(fixed1.digest, fixed2.digest);
  assert.notEqual(free1.diffId, free2.diffId, 'without a fixed mtime the file time is recorded');

  const mapped = await buildLayerFromDirectory(dir, {
    compression: 'none',
    uid: 1000,
    gid: 1000,
    map: (e) => (e.path === 'skip' ? null : { ...e, mode: 0o640 }),
  });
  const recs = await readTar(tarOf(mapped));
  assert.deepEqual(recs.map((r) => [r.name, r.uid, r.gid, r.mode]), [['f', 1000, 1000, 0o640]], 'subtree of a dropped dir is skipped');
});

test('outFile streams the blob to disk', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-writer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'layer.tar.gz');
  const big = Buffer.alloc(3 * 1024 * 1024, 7);
  const l = await buildLayerFromEntries([{ path: 'big', type: 'file', content: big }], { compression: 'gzip', outFile: out });
  assert.equal(l.blob, out);
  const onDisk = readFileSync(out);
  assert.equal(sha(onDisk), l.digest);
  assert.equal(onDisk.length, l.size);
  assert.equal(sha(gunzipSync(onDisk)), l.diffId);
});

test('a missing or failing zstd binary rejects with a clear error instead of hanging', () => {
  const script = `
    const { buildLayerFromEntries } = require(${JSON.stringify(require.resolve('../../../src/image/writer/layer'))});
    buildLayerFromEntries([{ path: 'a', type: 'file', content: Buffer.alloc(1 << 20) }], { compression: 'zstd' })
      .then(() => console.log('resolved'), (e) => console.log(e.kind + ': ' + e.message));`;
  const run = (zstd: string) =>
    execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, BERTH_ZSTD: zstd, BERTH_LOG_LEVEL: 'silent' },
      timeout: 20_000,
    }).trim();
  assert.match(run('/nonexistent/zstd'), /^failed-precondition: zstd binary not found/);
  assert.match(run('false'), /^internal: zstd exited with 1/);
});
