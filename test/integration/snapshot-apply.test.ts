// applyLayer round trip of every entry type, as root on the real filesystem.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, mkdirSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { applyLayer } from '../../src/snapshot/apply';
import { lgetxattr, llistxattr } from '../../src/snapshot/sys';
import { isBerthError } from '../../src/util/errors';
import { makeTar, patchTypeflag, tarReadable } from '../helpers/tar';

let base: string;
before(() => {
  assert.equal(process.getuid?.(), 0, 'integration tests must run as root');
  base = mkdtempSync(join(tmpdir(), 'berth-apply-'));
});
after(() => rmSync(base, { recursive: true, force: true }));

let n = 0;
function freshDest(): string {
  const d = join(base, `dest${n++}`);
  mkdirSync(d);
  return d;
}

const T1 = new Date('2019-05-06T07:08:09Z');
const T2 = new Date('2018-01-01T00:00:00Z');
const CAP = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // cap_net_bind_service


test('every entry type round-trips with owner, mode, mtime and xattrs', async () => {
  const dest = freshDest();
  const big = Buffer.alloc(3 * 1024 * 1024 + 17, 0x5a);
  const tar = await makeTar([
    { name: 'etc/', type: 'directory', mode: 0o750, uid: 12, gid: 34, mtime: T2 },
    { name: 'etc/conf', content: 'hello', mode: 0o640, uid: 1000, gid: 1001, mtime: T1 },
    { name: 'bin/su', content: 'suid', mode: 0o4755, uid: 0, gid: 0, mtime: T1 },
    { name: 'bin/sg', content: 'sgid', mode: 0o2711, uid: 5, gid: 6, mtime: T1 },
    { name: 'tmp/', type: 'directory', mode: 0o1777, mtime: T2 },
    { name: 'bin/ping', content: 'ping', mode: 0o755, uid: 7, gid: 8, xattrs: { 'security.capability': CAP, 'user.note': 'n', 'trusted.t': 'tv' } },
    { name: 'big', content: big, mode: 0o600 },
    { name: 'link', type: 'symlink', linkname: '/etc/conf', uid: 3, gid: 4, mtime: T1 },
    { name: 'hard', type: 'link', linkname: 'etc/conf' },
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666, uid: 0, gid: 5, mtime: T1 },
    { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o660, mtime: T1 },
    { name: 'run/fifo', type: 'fifo', mode: 0o620, uid: 9, gid: 9, mtime: T1 },
    { name: 'empty/', type: 'directory', mode: 0o700, mtime: T1 },
  ]);
  const res = await applyLayer(tarReadable(tar), dest, { context: { layer: 'sha256:test' } });
  assert.equal(res.files, 13);
  assert.equal(res.bytes, 5 + 4 + 4 + 4 + big.length);

  const st = (p: string) => lstatSync(join(dest, p));
  assert.equal(readFileSync(join(dest, 'etc/conf'), 'utf8'), 'hello');
  assert.equal(st('etc/conf').mode & 0o7777, 0o640);
  assert.equal(st('etc/conf').uid, 1000);
  assert.equal(st('etc/conf').gid, 1001);
  assert.equal(st('etc/conf').mtimeMs, T1.getTime());

  assert.ok(st('etc').isDirectory());
  assert.equal(st('etc').mode & 0o7777, 0o750);
  assert.equal(st('etc').uid, 12);
  // Directory mtime survives files being written into it afterwards.
  assert.equal(st('etc').mtimeMs, T2.getTime());
  assert.equal(st('tmp').mode & 0o7777, 0o1777);

  assert.equal(st('bin/su').mode & 0o7777, 0o4755);
  assert.equal(st('bin/sg').mode & 0o7777, 0o2711);
  assert.equal(st('bin/sg').uid, 5);
  // Implicit parent (no tar entry): 0755 root.
  assert.equal(st('bin').mode & 0o7777, 0o755);

  assert.ok(lgetxattr(join(dest, 'bin/ping'), 'security.capability').equals(CAP));
  assert.equal(lgetxattr(join(dest, 'bin/ping'), 'user.note').toString(), 'n');
  assert.equal(lgetxattr(join(dest, 'bin/ping'), 'trusted.t').toString(), 'tv');
  assert.equal(st('bin/ping').uid, 7);

  assert.ok(readFileSync(join(dest, 'big')).equals(big));

  assert.ok(st('link').isSymbolicLink());
  assert.equal(readlinkSync(join(dest, 'link')), '/etc/conf');
  assert.equal(st('link').uid, 3);
  assert.equal(st('link').mtimeMs, T1.getTime());

  assert.equal(st('hard').ino, st('etc/conf').ino);
  assert.equal(st('etc/conf').nlink, 2);

  assert.ok(st('dev/null').isCharacterDevice());
  assert.equal(st('dev/null').rdev, (1 << 8) | 3);
  assert.equal(st('dev/null').mode & 0o7777, 0o666);
  assert.equal(st('dev/null').gid, 5);
  assert.ok(st('dev/sda').isBlockDevice());
  assert.equal(st('dev/sda').rdev, 8 << 8);
  assert.ok(st('run/fifo').isFIFO());
  assert.equal(st('run/fifo').mode & 0o7777, 0o620);
  assert.equal(st('run/fifo').uid, 9);
  assert.equal(st('empty').mode & 0o7777, 0o700);
  assert.equal(st('empty').mtimeMs, T1.getTime());
});

test('binary security.capability with high bytes survives (tar-stream decodes PAX as UTF-8)', async () => {
  const dest = freshDest();
  const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x80, 0xc3, 0, 0, 0, 0, 0, 0]);
  const tar = await makeTar([{ name: 'f', content: 'x', uid: 1, gid: 1, xattrs: { 'security.capability': cap } }]);
  await applyLayer(tarReadable(tar), dest);
  assert.ok(lgetxattr(join(dest, 'f'), 'security.capability').equals(cap));

});

test('a later entry for the same path replaces the earlier one, whatever the types', async () => {
  const dest = freshDest();
  const tar = await makeTar([
    { name: 'a', content: 'first' },
    { name: 'a', content: 'second', mode: 0o600 },
    { name: 'd/', type: 'directory' },
    { name: 'd/inner', content: 'x' },
    { name: 'd', content: 'now a file' },
    { name: 's', type: 'symlink', linkname: 'a' },
    { name: 's/', type: 'directory', mode: 0o711 },
    { name: 'k/', type: 'directory', mode: 0o700 },
    { name: 'k/keep', content: 'kept' },
    { name: 'k/', type: 'directory', mode: 0o755 },
  ]);
  await applyLayer(tarReadable(tar), dest);
  assert.equal(readFileSync(join(dest, 'a'), 'utf8'), 'second');
  assert.equal(lstatSync(join(dest, 'a')).mode & 0o777, 0o600);
  assert.equal(readFileSync(join(dest, 'd'), 'utf8'), 'now a file');
  assert.ok(lstatSync(join(dest, 's')).isDirectory());
  assert.equal(lstatSync(join(dest, 's')).mode & 0o777, 0o711);
  // A directory entry over an existing directory keeps its contents and takes the new metadata.
  assert.equal(readFileSync(join(dest, 'k/keep'), 'utf8'), 'kept');
  assert.equal(lstatSync(join(dest, 'k')).mode & 0o777, 0o755);
});

test('whiteouts become 0/0 char devices and opaque markers an xattr', async () => {
  const dest = freshDest();
  const tar = await makeTar([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/.wh.passwd', content: '' },
    { name: 'var/.wh..wh..opq', content: '' },
    { name: 'var/new', content: 'n' },
    { name: 'x', content: 'exists' },
    { name: '.wh.x', content: '' },
  ]);
  await applyLayer(tarReadable(tar), dest);
  const wh = lstatSync(join(dest, 'etc/passwd'));
  assert.ok(wh.isCharacterDevice());
  assert.equal(wh.rdev, 0);
  assert.equal(lgetxattr(join(dest, 'var'), 'trusted.overlay.opaque').toString(), 'y');
  assert.equal(readFileSync(join(dest, 'var/new'), 'utf8'), 'n');
  assert.ok(lstatSync(join(dest, 'x')).isCharacterDevice(), 'whiteout replaces what the layer had at that path');
  assert.ok(!llistxattr(join(dest, 'etc')).includes('trusted.overlay.opaque'));
  // A layer cannot set overlay's own xattrs directly.
  const dest2 = freshDest();
  await applyLayer(tarReadable(await makeTar([
    { name: 'd/', type: 'directory', xattrs: { 'trusted.overlay.opaque': 'y', 'trusted.overlay.redirect': '/etc', 'trusted.ok': '1' } },
  ])), dest2);
  assert.deepEqual(llistxattr(join(dest2, 'd')), ['trusted.ok']);
  assert.throws(() => statSync(join(dest, 'etc/.wh.passwd')), /ENOENT/);
});

test('implicit parent dirs copy owner/mode/mtime from the lower layer that has them', async () => {
  const lower = freshDest();
  mkdirSync(join(lower, 'tmp'));
  writeFileSync(join(lower, 'tmp/.keep'), '');
  const { chmodSync, chownSync, utimesSync } = await import('node:fs');
  chmodSync(join(lower, 'tmp'), 0o1777);
  chownSync(join(lower, 'tmp'), 3, 4);
  utimesSync(join(lower, 'tmp'), T2, T2);
  const dest = freshDest();
  await applyLayer(tarReadable(await makeTar([{ name: 'tmp/f', content: 'x' }])), dest, { parents: [lower] });
  const st = lstatSync(join(dest, 'tmp'));
  assert.equal(st.mode & 0o7777, 0o1777);
  assert.equal(st.uid, 3);
  assert.equal(st.mtimeMs, T2.getTime());
});

test('unknown entry types are skipped with their data', async () => {
  const dest = freshDest();
  const tar = patchTypeflag(await makeTar([{ name: 'weird', content: 'body of unknown' }, { name: 'after', content: 'ok' }]), 'weird', 'Z');
  const res = await applyLayer(tarReadable(tar), dest);
  assert.equal(res.files, 1);
  assert.throws(() => lstatSync(join(dest, 'weird')), /ENOENT/);
  assert.equal(readFileSync(join(dest, 'after'), 'utf8'), 'ok');
});

test('a truncated tar or failing stream rejects with layer context', async () => {
  const dest = freshDest();
  const tar = await makeTar([{ name: 'ok', content: 'fine' }, { name: 'big', content: Buffer.alloc(10000, 1) }]);
  await assert.rejects(applyLayer(tarReadable(tar.subarray(0, 2048)), dest, { context: { layer: 'sha256:abc' } }), (e: unknown) => {
    assert.ok(isBerthError(e), String(e));
    assert.equal(e.context.layer, 'sha256:abc');
    return true;
  });
  const failing = new Readable({ read() { this.destroy(new Error('network reset')); } });
  await assert.rejects(applyLayer(failing, freshDest(), { context: { layer: 'sha256:def' } }), /network reset/);
});
