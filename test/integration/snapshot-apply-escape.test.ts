// Hostile layers: every attempt to create, modify or follow something outside dest is refused or
// confined, and a full listing of the tree around dest (plus the host files the tars aim at) is
// unchanged afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyLayer } from '../../src/snapshot/apply';
import { llistxattr } from '../../src/snapshot/sys';
import { isBerthError } from '../../src/util/errors';
import { listTree, makeTar, tarReadable, type TarEntrySpec } from '../helpers/tar';

// base/
//   sentinel/{passwd, etc/hosts}     what escapes would hit
//   work/x                           next to dest
//   work/dest                        the layer dir
let base: string;
let sentinel: string;
let destN = 0;

before(() => {
  assert.equal(process.getuid?.(), 0, 'integration tests must run as root');
  base = mkdtempSync(join(tmpdir(), 'berth-escape-'));
  sentinel = join(base, 'sentinel');
  mkdirSync(join(sentinel, 'etc'), { recursive: true });
  writeFileSync(join(sentinel, 'passwd'), 'root:x:0:0\n');
  writeFileSync(join(sentinel, 'etc/hosts'), '127.0.0.1 localhost\n');
  mkdirSync(join(base, 'work'));
  writeFileSync(join(base, 'work/x'), 'next to dest\n');
});
after(() => rmSync(base, { recursive: true, force: true }));

function hostState(): string[] {
  const st = lstatSync('/etc/passwd');
  return [
    `passwd ino=${st.ino} nlink=${st.nlink} size=${st.size} mtime=${st.mtimeMs} mode=${st.mode}`,
    `/abs=${existsSync('/abs')} /x=${existsSync('/x')} /etc/x=${existsSync('/etc/x')} /etc/berth-escape=${existsSync('/etc/berth-escape')}`,
    `sentinel-xattrs=${llistxattr(sentinel).join(',')}`,
  ];
}

/** Everything outside dest: the base tree minus dest itself, plus host state. */
function outside(dest: string): string[] {
  const rel = dest.slice(base.length + 1);
  return [...listTree(base).filter((l) => !(l.startsWith(`${rel} `) || l.startsWith(`${rel}/`))), ...hostState()];
}

/** Applies `entries` to a fresh dest; returns dest and the error (if any); asserts nothing outside changed. */
async function run(entries: TarEntrySpec[]): Promise<{ dest: string; error: unknown }> {
  const dest = join(base, 'work', `dest${destN++}`);
  mkdirSync(dest);
  const before = outside(dest);
  let error: unknown;
  try {
    await applyLayer(tarReadable(await makeTar(entries)), dest, { context: { layer: 'sha256:evil' } });
  } catch (e) {
    error = e;
  }
  assert.deepEqual(outside(dest), before, 'something outside dest changed');
  return { dest, error };
}

function assertRefused(error: unknown, entry: string): void {
  assert.ok(isBerthError(error, 'invalid-argument'), `expected invalid-argument, got ${String(error)}`);
  assert.equal(error.context.entry, entry);
  assert.equal(error.context.layer, 'sha256:evil');
}

test('../../etc/x is refused', async () => {
  const { error } = await run([{ name: '../../etc/x', content: 'pwned' }]);
  assertRefused(error, '../../etc/x');
});

test('../x next to dest is refused, also when hidden behind a/../..', async () => {
  for (const name of ['../x', 'a/../../x', './../x']) {
    const { error } = await run([{ name, content: 'pwned' }]);
    assertRefused(error, name);
  }
});

test('/abs/path stays inside dest', async () => {
  const { dest, error } = await run([{ name: '/abs/path', content: 'inside' }]);
  assert.equal(error, undefined);
  assert.equal(readFileSync(join(dest, 'abs/path'), 'utf8'), 'inside');
});

test('symlink a -> /etc then a/passwd writes dest/etc/passwd, not the host file', async () => {
  const { dest, error } = await run([
    { name: 'a', type: 'symlink', linkname: '/etc' },
    { name: 'a/passwd', content: 'evil' },
    { name: 'a/berth-escape/', type: 'directory' },
  ]);
  assert.equal(error, undefined);
  assert.equal(readlinkSync(join(dest, 'a')), '/etc');
  assert.equal(readFileSync(join(dest, 'etc/passwd'), 'utf8'), 'evil');
  assert.ok(lstatSync(join(dest, 'etc/berth-escape')).isDirectory());
});

test('symlink a -> ../../.. then a/x lands at dest/x', async () => {
  const { dest, error } = await run([
    { name: 'a', type: 'symlink', linkname: '../../..' },
    { name: 'a/x', content: 'evil' },
    { name: 'b', type: 'symlink', linkname: '../../sentinel' },
    { name: 'b/passwd', content: 'evil2' },
  ]);
  assert.equal(error, undefined);
  assert.equal(readFileSync(join(dest, 'x'), 'utf8'), 'evil');
  assert.equal(readFileSync(join(dest, 'sentinel/passwd'), 'utf8'), 'evil2');
});

test('an absolute symlink to the real sentinel dir is re-rooted at dest', async () => {
  const { dest, error } = await run([
    { name: 's', type: 'symlink', linkname: sentinel },
    { name: 's/passwd', content: 'evil' },
    { name: 's/.wh..wh..opq', content: '' },
    { name: 's/etc/.wh.hosts', content: '' },
  ]);
  assert.equal(error, undefined);
  assert.equal(readFileSync(join(dest, sentinel, 'passwd'), 'utf8'), 'evil');
  assert.ok(lstatSync(join(dest, sentinel, 'etc/hosts')).isCharacterDevice());
});

test('symlink loops are refused, not followed forever', async () => {
  const { error } = await run([
    { name: 'l1', type: 'symlink', linkname: 'l2' },
    { name: 'l2', type: 'symlink', linkname: 'l1' },
    { name: 'l1/x', content: 'x' },
  ]);
  assertRefused(error, 'l1/x');
});

test('a file entry replaces a symlink instead of writing through it', async () => {
  const { dest, error } = await run([
    { name: 'f', type: 'symlink', linkname: join(sentinel, 'passwd') },
    { name: 'f', content: 'replaced', mode: 0o4755 },
    { name: 'g', type: 'symlink', linkname: '../x' },
    { name: 'g', type: 'fifo' },
    { name: 'd', type: 'symlink', linkname: sentinel },
    { name: 'd/', type: 'directory', mode: 0o700 },
    { name: 'h', type: 'symlink', linkname: join(sentinel, 'etc') },
    { name: 'h', type: 'character-device', devmajor: 1, devminor: 3 },
  ]);
  assert.equal(error, undefined);
  assert.ok(lstatSync(join(dest, 'f')).isFile());
  assert.equal(readFileSync(join(dest, 'f'), 'utf8'), 'replaced');
  assert.ok(lstatSync(join(dest, 'g')).isFIFO());
  assert.ok(lstatSync(join(dest, 'd')).isDirectory());
  assert.ok(lstatSync(join(dest, 'h')).isCharacterDevice());
});

test('hardlink to /etc/passwd is confined to dest (refused when dest has none)', async () => {
  const r1 = await run([{ name: 'h', type: 'link', linkname: '/etc/passwd' }]);
  assertRefused(r1.error, 'h');
  const r2 = await run([
    { name: 'etc/passwd', content: 'layer passwd' },
    { name: 'h', type: 'link', linkname: '/etc/passwd' },
  ]);
  assert.equal(r2.error, undefined);
  assert.equal(lstatSync(join(r2.dest, 'h')).ino, lstatSync(join(r2.dest, 'etc/passwd')).ino);
});

test('hardlink to ../outside is refused', async () => {
  const { error } = await run([{ name: 'h', type: 'link', linkname: '../x' }]);
  assertRefused(error, 'h');
  const r2 = await run([{ name: 'h', type: 'link', linkname: 'a/../../../sentinel/passwd' }]);
  assertRefused(r2.error, 'h');
});

test('hardlink via a symlinked parent does not reach the real target', async () => {
  const { error } = await run([
    { name: 'd', type: 'symlink', linkname: sentinel },
    { name: 'h', type: 'link', linkname: 'd/passwd' },
  ]);
  assertRefused(error, 'h');
  const r2 = await run([
    { name: 'd', type: 'symlink', linkname: '../../sentinel' },
    { name: 'h', type: 'link', linkname: 'd/passwd' },
  ]);
  assertRefused(r2.error, 'h');
});

test('hardlink to a symlink that points outside is refused', async () => {
  const { error } = await run([
    { name: 's', type: 'symlink', linkname: '/etc/passwd' },
    { name: 'h', type: 'link', linkname: 's' },
  ]);
  assertRefused(error, 'h');
  const r2 = await run([
    { name: 'sub/s', type: 'symlink', linkname: '../../x' },
    { name: 'h', type: 'link', linkname: 'sub/s' },
  ]);
  assertRefused(r2.error, 'h');
});

test('hardlink to a directory is refused', async () => {
  const { error } = await run([
    { name: 'dir/', type: 'directory' },
    { name: 'h', type: 'link', linkname: 'dir' },
  ]);
  assertRefused(error, 'h');
});

test('whiteouts of ../x are refused', async () => {
  for (const name of ['../.wh.x', 'a/.wh...', '.wh...', '.wh.', 'a/../../.wh.x']) {
    const { error } = await run([{ name, content: '' }]);
    assertRefused(error, name);
  }
});

test('a whiteout through a symlinked parent only touches dest', async () => {
  const { dest, error } = await run([
    { name: 'p', type: 'symlink', linkname: '../..' },
    { name: 'p/.wh.x', content: '' },
    { name: 'q', type: 'symlink', linkname: '/' },
    { name: 'q/.wh..wh..opq', content: '' },
  ]);
  assert.equal(error, undefined);
  assert.ok(lstatSync(join(dest, 'x')).isCharacterDevice());
  assert.ok(llistxattr(dest).includes('trusted.overlay.opaque'));
});
