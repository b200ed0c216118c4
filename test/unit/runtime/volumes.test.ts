// VolumeStore: records and directories, idempotent create, in-use refusal, crash leftovers, prune.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VolumeStore, type MountUser } from '../../../src/runtime/volumes';
import { isBerthError } from '../../../src/util/errors';

describe('VolumeStore', () => {
  const roots: string[] = [];
  const newRoot = () => {
    const r = mkdtempSync(join(tmpdir(), 'berth-volumes-'));
    roots.push(r);
    return r;
  };
  after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

  async function open(root: string, users: MountUser[] = []) {
    const s = new VolumeStore({ root, users: () => users });
    await s.load();
    return s;
  }

  it('creates a directory and a record; create again returns it unchanged; a new store loads it', async () => {
    const root = newRoot();
    const s = await open(root);
    const v = await s.create('data', { team: 'a' });
    assert.equal(v.mountpoint, join(root, 'volumes', 'data', '_data'));
    assert.ok(existsSync(v.mountpoint));
    assert.deepEqual(v.labels, { team: 'a' });
    assert.ok(!Number.isNaN(Date.parse(v.createdAt)));
    writeFileSync(join(v.mountpoint, 'f'), 'x');
    const again = await s.create('data', { other: 'b' });
    assert.deepEqual(again.labels, { team: 'a' });
    assert.equal(again.createdAt, v.createdAt);
    // Concurrent creates of one name make one volume.
    const [a, b] = await Promise.all([s.create('twice'), s.create('twice')]);
    assert.equal(a.createdAt, b.createdAt);
    const reloaded = await open(root);
    assert.deepEqual(reloaded.list().map((x) => x.name), ['data', 'twice']);
    assert.ok(existsSync(join(reloaded.get('data').mountpoint, 'f')), 'data survives a reload');
  });

  it('refuses bad names and reports missing volumes as not-found', async () => {
    const s = await open(newRoot());
    for (const bad of ['', 'a/b', '..', '.hidden', '-x', 'a b']) {
      assert.throws(() => s.create(bad), (e: unknown) => isBerthError(e, 'invalid-argument'), bad);
    }
    assert.throws(() => s.get('nope'), (e: unknown) => isBerthError(e, 'not-found'));
    await assert.rejects(s.remove('nope'), (e: unknown) => isBerthError(e, 'not-found'));
    assert.equal(await s.remove('nope', true), false);
  });

  it('knows which containers mount a volume (or a path inside it) and refuses to remove it then', async () => {
    const root = newRoot();
    const users: MountUser[] = [];
    const s = await open(root, users);
    const v = await s.create('used');
    await s.create('usedx');
    users.push({ id: 'c1'.padEnd(64, '0'), hostPaths: [join(v.mountpoint, 'sub')] }, { id: 'c2'.padEnd(64, '0'), hostPaths: ['/elsewhere', v.mountpoint] });
    assert.deepEqual(s.get('used').usedBy.length, 2);
    assert.deepEqual(s.get('usedx').usedBy, [], 'a name that shares a prefix is not in use');
    await assert.rejects(s.remove('used'), (e: unknown) => isBerthError(e, 'failed-precondition') && /in use by containers c10000000000, c20000000000/.test((e as Error).message));
    await assert.rejects(s.remove('used', true), (e: unknown) => isBerthError(e, 'failed-precondition'));
    assert.deepEqual(await s.prune(), ['usedx']);
    users.length = 0;
    assert.equal(await s.remove('used'), true);
    assert.equal(existsSync(join(root, 'volumes', 'used')), false);
    assert.deepEqual(readdirSync(join(root, 'meta', 'volumes')), []);
  });

  it('removes at load the directories a crash left without a record', async () => {
    const root = newRoot();
    const s = await open(root);
    await s.create('kept');
    mkdirSync(join(root, 'volumes', 'halfmade', '_data'), { recursive: true });
    const reloaded = await open(root);
    assert.deepEqual(reloaded.list().map((x) => x.name), ['kept']);
    assert.equal(existsSync(join(root, 'volumes', 'halfmade')), false);
    assert.ok(existsSync(join(root, 'volumes', 'kept', '_data')));
  });

  it('volumeAt names the volume whose mount point a path is', async () => {
    const root = newRoot();
    const s = await open(root);
    const v = await s.create('vat');
    assert.equal(s.volumeAt(v.mountpoint), 'vat');
    assert.equal(s.volumeAt(join(v.mountpoint, 'sub')), undefined, 'a path inside it is a plain bind mount');
    assert.equal(s.volumeAt(join(root, 'volumes', 'missing', '_data')), undefined);
    assert.equal(s.volumeAt('/etc'), undefined);
  });

  it('populate copies the image directory into an empty volume once, owners and links kept; a cut-short copy is redone', async () => {
    const root = newRoot();
    const s = await open(root);
    const v = await s.create('pop');
    const src = join(root, 'image-dir');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'sub', 'conf'), 'from the image\n');
    symlinkSync('/etc/shadow', join(src, 'link'));
    chownSync(src, 999, 998);
    chownSync(join(src, 'sub', 'conf'), 1234, 1235);
    chmodSync(src, 0o750);

    assert.equal(await s.populate('pop', async () => undefined), false, 'nothing at the mount path: nothing copied');
    assert.deepEqual(readdirSync(v.mountpoint), []);

    assert.equal(await s.populate('pop', async () => src), true);
    assert.equal(readFileSync(join(v.mountpoint, 'sub', 'conf'), 'utf8'), 'from the image\n');
    assert.equal(statSync(join(v.mountpoint, 'sub', 'conf')).uid, 1234);
    assert.equal(readlinkSync(join(v.mountpoint, 'link')), '/etc/shadow', 'symlinks are copied, not followed');
    assert.ok(lstatSync(join(v.mountpoint, 'link')).isSymbolicLink());
    const top = statSync(v.mountpoint);
    assert.deepEqual([top.uid, top.gid, top.mode & 0o7777], [999, 998, 0o750], 'the mount point takes the image directory\'s owner and mode');
    assert.equal(JSON.stringify(s.get('pop')).includes('copying'), false);

    writeFileSync(join(v.mountpoint, 'sub', 'conf'), 'changed by a container\n');
    assert.equal(await s.populate('pop', async () => src), false, 'a volume with data is never copied over');
    assert.equal(readFileSync(join(v.mountpoint, 'sub', 'conf'), 'utf8'), 'changed by a container\n');

    // A crash during a copy: the record says copying, the directory holds part of it.
    const v2 = await s.create('cut');
    writeFileSync(join(root, 'meta', 'volumes', 'cut.json'), JSON.stringify({ name: 'cut', createdAt: v2.createdAt, labels: {}, copying: true }));
    writeFileSync(join(v2.mountpoint, 'partial'), 'x');
    const reopened = await open(root);
    assert.equal(await reopened.populate('cut', async () => src), true);
    assert.deepEqual(readdirSync(v2.mountpoint).sort(), ['link', 'sub']);
    assert.equal(JSON.parse(readFileSync(join(root, 'meta', 'volumes', 'cut.json'), 'utf8')).copying, undefined);
    await assert.rejects(s.populate('nope', async () => src), (e) => isBerthError(e, 'not-found'));
  });
});
