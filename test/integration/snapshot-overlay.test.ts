// OverlaySnapshotter against the real kernel: whiteout/opaque semantics in the merged view,
// 128-layer mounts, removal rules, crash recovery (including SIGKILL mid-unpack), no leaked mounts.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyLayer } from '../../src/snapshot/apply';
import { OverlaySnapshotter } from '../../src/snapshot/overlay';
import { isBerthError } from '../../src/util/errors';
import { makeTar, tarReadable, type TarEntrySpec } from '../helpers/tar';

let base: string;

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[4]?.startsWith(dir));
}

before(() => {
  assert.equal(process.getuid?.(), 0, 'integration tests must run as root');
  base = mkdtempSync(join(tmpdir(), 'berth-overlay-'));
});
afterEach(() => assert.deepEqual(mountsUnder(base), [], 'a mount leaked'));
after(() => rmSync(base, { recursive: true, force: true }));

let rootN = 0;
function newRoot(): { snap: OverlaySnapshotter; root: string } {
  const root = join(base, `root${rootN++}`);
  return { snap: new OverlaySnapshotter(root), root };
}

function mountpoint(name: string): string {
  const p = join(base, 'mnt', name);
  mkdirSync(p, { recursive: true });
  return p;
}

async function addLayer(snap: OverlaySnapshotter, key: string, parent: string | undefined, entries: TarEntrySpec[]): Promise<void> {
  const dir = await snap.prepareLayer(key, parent);
  try {
    await applyLayer(tarReadable(await makeTar(entries)), dir, { parents: parent ? await snap.lowerdirs(parent) : [], context: { layer: key } });
  } catch (e) {
    await snap.abort(key);
    throw e;
  }
  await snap.commit(key);
}

test('whiteouts and opaque dirs hide lower content in the mounted overlay', async () => {
  const { snap } = newRoot();
  await snap.reconcile();
  await addLayer(snap, 'L1', undefined, [
    { name: 'etc/passwd', content: 'root' },
    { name: 'etc/keep', content: 'keep' },
    { name: 'var/lib/old', content: 'old' },
    { name: 'var/lib/sub/deep', content: 'deep' },
  ]);
  await addLayer(snap, 'L2', 'L1', [
    { name: 'etc/.wh.passwd', content: '' },
    { name: 'var/lib/.wh..wh..opq', content: '' },
    { name: 'var/lib/new', content: 'new' },
  ]);
  assert.deepEqual(await snap.lowerdirs('L2'), [join(snap.dir, '2', 'fs'), join(snap.dir, '1', 'fs')]);

  const active = await snap.prepareActive('ctr1', 'L2');
  assert.deepEqual(active.lowerdirs, await snap.lowerdirs('L2'));
  assert.ok(active.mountOptions().includes(`upperdir=${active.upperdir}`));
  const m = mountpoint('merged');
  await snap.mount('ctr1', m, false);
  try {
    assert.ok(!existsSync(join(m, 'etc/passwd')), 'whited-out file is gone');
    assert.equal(readFileSync(join(m, 'etc/keep'), 'utf8'), 'keep');
    assert.deepEqual(readdirSync(join(m, 'var/lib')).sort(), ['new'], 'opaque dir hides lower content');
    writeFileSync(join(m, 'written'), 'by container');
    assert.equal(readFileSync(join(active.upperdir, 'written'), 'utf8'), 'by container');
  } finally {
    await snap.unmount(m);
  }

  // Committed image view: read-only overlay of lowerdirs only.
  const ro = mountpoint('ro');
  await snap.mount('L2', ro, true);
  try {
    assert.ok(!existsSync(join(ro, 'etc/passwd')));
    assert.deepEqual(readdirSync(join(ro, 'var/lib')), ['new']);
    assert.throws(() => writeFileSync(join(ro, 'x'), 'x'), /EROFS/);
  } finally {
    await snap.unmount(ro);
  }
  // Single committed layer: read-only bind mount.
  await snap.mount('L1', ro, true);
  try {
    assert.equal(readFileSync(join(ro, 'etc/passwd'), 'utf8'), 'root');
    assert.throws(() => writeFileSync(join(ro, 'x'), 'x'), /EROFS/);
  } finally {
    await snap.unmount(ro);
  }
  await assert.rejects(snap.mount('L1', ro, false), (e: unknown) => isBerthError(e, 'failed-precondition'));
  await snap.unmount(ro); // not mounted: a no-op
});

test('128-layer overlay mount with relative lowerdirs', async () => {
  const { snap } = newRoot();
  await snap.reconcile();
  let parent: string | undefined;
  for (let i = 1; i <= 128; i++) {
    const key = `sha256:${'c'.repeat(58)}${String(i).padStart(6, '0')}`;
    await addLayer(snap, key, parent, [
      { name: `layers/f${i}`, content: String(i) },
      { name: 'common', content: `top is ${i}` },
    ]);
    parent = key;
  }
  const active = await snap.prepareActive('ctr128', parent);
  assert.equal(active.lowerdirs.length, 128);
  assert.ok(active.mountOptions().join(',').length > 4096, 'absolute options would not fit in one page');
  const m = mountpoint('m128');
  await snap.mount('ctr128', m, false);
  try {
    assert.equal(readdirSync(join(m, 'layers')).length, 128);
    assert.equal(readFileSync(join(m, 'common'), 'utf8'), 'top is 128');
    assert.equal(readFileSync(join(m, 'layers/f1'), 'utf8'), '1');
  } finally {
    await snap.unmount(m);
  }
  await snap.mount(parent!, m, true);
  try {
    assert.equal(readdirSync(join(m, 'layers')).length, 128);
  } finally {
    await snap.unmount(m);
  }
  assert.equal(process.cwd(), join(__dirname, '../..'), 'mounting must not move the process cwd');
});

test('remove refuses while children exist; keys, list, usage, exists', async () => {
  const { snap } = newRoot();
  await snap.reconcile();
  await addLayer(snap, 'A', undefined, [{ name: 'a', content: 'x'.repeat(10000) }, { name: 'h', type: 'link', linkname: 'a' }]);
  await addLayer(snap, 'B', 'A', [{ name: 'b', content: 'b' }]);
  await snap.prepareActive('C', 'B');
  await assert.rejects(snap.prepareLayer('A'), (e: unknown) => isBerthError(e, 'already-exists'));
  await assert.rejects(snap.prepareLayer('Z', 'nope'), (e: unknown) => isBerthError(e, 'not-found'));
  await assert.rejects(snap.prepareActive('D', 'C'), (e: unknown) => isBerthError(e, 'failed-precondition'));
  await assert.rejects(snap.remove('A'), (e: unknown) => isBerthError(e, 'failed-precondition'));
  await assert.rejects(snap.remove('B'), (e: unknown) => isBerthError(e, 'failed-precondition'));
  assert.deepEqual((await snap.list()).map((s) => [s.key, s.kind, s.parent ?? null]), [
    ['A', 'committed', null],
    ['B', 'committed', 'A'],
    ['C', 'active', 'B'],
  ]);
  const u = await snap.usage('A');
  assert.equal(u.inodes, 2, 'root dir + one inode for the hardlinked pair');
  assert.ok(u.bytes >= 10000);

  // An extraction on top of B also blocks removing B.
  await snap.remove('C');
  await snap.prepareLayer('X', 'B');
  await assert.rejects(snap.remove('B'), (e: unknown) => isBerthError(e, 'failed-precondition'));
  await snap.abort('X');
  await snap.remove('B');
  await snap.remove('A');
  assert.equal(await snap.exists('A'), false);
  assert.deepEqual(await snap.list(), []);
  assert.deepEqual(readdirSync(snap.dir), ['meta.json']);
});

test('state survives a restart and reconcile removes crash leftovers', async () => {
  const { snap, root } = newRoot();
  await snap.reconcile();
  await addLayer(snap, 'L1', undefined, [{ name: 'f', content: '1' }]);
  await snap.prepareActive('ctr', 'L1');
  // Simulated crash debris: an extraction in progress, a renamed-but-unrecorded snapshot dir,
  // and a half-written metadata temp file.
  const sdir = join(root, 'snapshots');
  mkdirSync(join(sdir, 'extract-0123456789abcdef', 'fs', 'usr'), { recursive: true });
  writeFileSync(join(sdir, 'extract-0123456789abcdef', 'fs', 'usr', 'half'), 'partial');
  mkdirSync(join(sdir, '77', 'fs'), { recursive: true });
  writeFileSync(join(sdir, '.meta.json.tmp-aabbccddeeff'), '{"version":1,"nextId":');

  const restarted = new OverlaySnapshotter(root);
  const report = await restarted.reconcile();
  assert.deepEqual(report.removedDirs.sort(), [join(sdir, '77'), join(sdir, 'extract-0123456789abcdef')].sort());
  assert.deepEqual(report.removedTempFiles, [join(sdir, '.meta.json.tmp-aabbccddeeff')]);
  assert.deepEqual(readdirSync(sdir).sort(), ['1', '2', 'meta.json']);
  assert.deepEqual((await restarted.list()).map((s) => s.key), ['L1', 'ctr']);
  assert.equal((await restarted.active('ctr')).lowerdirs[0], join(sdir, '1', 'fs'));
  // New ids do not collide with existing ones.
  await addLayer(restarted, 'L2', 'L1', [{ name: 'g', content: '2' }]);
  assert.equal((await restarted.stat('L2')).id, 3);
});

test('SIGKILL in the middle of an unpack leaves only committed snapshots after reconcile', async () => {
  const { snap, root } = newRoot();
  await snap.reconcile();
  await addLayer(snap, 'base', undefined, [{ name: 'f', content: 'base' }]);
  const repo = join(__dirname, '../..');
  // The child prepares a layer and feeds it an endless tar (one huge file), then gets SIGKILLed.
  const script = `
    const { Readable } = require('node:stream');
    const { OverlaySnapshotter } = require(${JSON.stringify(join(repo, 'src/snapshot/overlay.ts'))});
    const { applyLayer } = require(${JSON.stringify(join(repo, 'src/snapshot/apply.ts'))});
    const { makeTar } = require(${JSON.stringify(join(repo, 'test/helpers/tar.ts'))});
    (async () => {
      const snap = new OverlaySnapshotter(${JSON.stringify(root)});
      const dir = await snap.prepareLayer('top', 'base');
      const head = (await makeTar([{ name: 'a/done', content: 'x' }, { name: 'big', content: Buffer.alloc(1 << 30) }])).subarray(0, 4096);
      let sent = false;
      const src = new Readable({ read() {
        if (!sent) { sent = true; this.push(head); return; }
        setTimeout(() => { this.push(Buffer.alloc(65536)); if (!globalThis.told) { globalThis.told = true; process.stdout.write('extracting ' + dir + '\\n'); } }, 5);
      } });
      await applyLayer(src, dir);
    })();
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
  });
  const extractDir = line.replace(/^extracting /, '');
  assert.ok(existsSync(join(extractDir, 'a', 'done')), 'child was mid-unpack');
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid!, 'SIGKILL');
  await exited;

  const restarted = new OverlaySnapshotter(root);
  const report = await restarted.reconcile();
  assert.equal(report.removedDirs.length, 1);
  assert.deepEqual(readdirSync(join(root, 'snapshots')).sort(), ['1', 'meta.json']);
  assert.deepEqual((await restarted.list()).map((s) => [s.key, s.kind]), [['base', 'committed']]);
  assert.equal(await restarted.exists('top'), false);
});
