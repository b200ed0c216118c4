import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveUser, parsePasswd, parseGroup } from '../../../src/oci/user';
import { resolveInRoot, readFileInRoot } from '../../../src/oci/rootfs-path';
import { isBerthError } from '../../../src/util/errors';

let base: string;
let rootfs: string;
let hostile: string;
let outside: string;

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  '# comment',
  'app:x:1000:1001:App:/home/app:/bin/sh',
  'web:x:33:33::/var/www:/bin/false',
  'broken:x:notanumber:1',
  '',
].join('\n');
const GROUP = ['root:x:0:', 'appgrp:x:1001:', 'wheel:x:10:app,web', 'docker:x:999: app ', 'www-data:x:33:'].join('\n');

before(async () => {
  base = await fsp.mkdtemp(join(tmpdir(), 'berth-user-'));
  rootfs = join(base, 'rootfs');
  await fsp.mkdir(join(rootfs, 'etc'), { recursive: true });
  await fsp.writeFile(join(rootfs, 'etc/passwd'), PASSWD);
  await fsp.writeFile(join(rootfs, 'etc/group'), GROUP);

  // A "host" file outside the rootfs that hostile images try to make us read.
  outside = join(base, 'host-etc');
  await fsp.mkdir(outside);
  await fsp.writeFile(join(outside, 'passwd'), 'hostonly:x:4242:4242::/host:/bin/sh\n');
  await fsp.writeFile(join(outside, 'group'), 'hostgrp:x:4343:hostonly\n');

  hostile = join(base, 'hostile');
  await fsp.mkdir(join(hostile, 'etc'), { recursive: true });
  await fsp.symlink(join(outside, 'passwd'), join(hostile, 'etc/passwd')); // absolute → host
  await fsp.symlink('../../../host-etc/group', join(hostile, 'etc/group')); // relative escape
});

after(async () => {
  await fsp.rm(base, { recursive: true, force: true });
});

test('parsers skip comments and malformed lines', () => {
  assert.deepEqual(parsePasswd(PASSWD).map((e) => e.name), ['root', 'app', 'web']);
  assert.deepEqual(parseGroup(GROUP).find((g) => g.name === 'docker')?.members, ['app']);
});

test('no user anywhere → root', async () => {
  assert.deepEqual(await resolveUser(rootfs, {}), { uid: 0, gid: 0, additionalGids: [0], username: 'root', home: '/root' });
});

test('image USER forms', async () => {
  const app = await resolveUser(rootfs, { imageUser: 'app' });
  assert.deepEqual(app, { uid: 1000, gid: 1001, additionalGids: [1001, 10, 999], username: 'app', home: '/home/app' });
  assert.deepEqual(await resolveUser(rootfs, { imageUser: '1000' }), app, 'numeric uid finds the passwd entry');
  const nameGroup = await resolveUser(rootfs, { imageUser: 'app:www-data' });
  assert.equal(nameGroup.gid, 33);
  assert.deepEqual(nameGroup.additionalGids, [33, 10, 999]);
  const numeric = await resolveUser(rootfs, { imageUser: '5000:6000' });
  assert.deepEqual(numeric, { uid: 5000, gid: 6000, additionalGids: [6000], username: undefined, home: '/' });
  assert.equal((await resolveUser(rootfs, { imageUser: '5000' })).gid, 0, 'unknown uid without group → gid 0');
  assert.equal((await resolveUser(rootfs, { imageUser: 'web:10' })).gid, 10);
  await assert.rejects(resolveUser(rootfs, { imageUser: 'nobody' }), (e) => isBerthError(e, 'invalid-argument'));
  await assert.rejects(resolveUser(rootfs, { imageUser: 'app:nogroup' }), (e) => isBerthError(e, 'invalid-argument'));
});

test('CRI run_as_* win over the image, supplemental groups are appended', async () => {
  const r = await resolveUser(rootfs, { runAsUser: 33, imageUser: 'app', supplementalGroups: [5, 10] });
  assert.deepEqual(r, { uid: 33, gid: 33, additionalGids: [33, 10, 5], username: 'web', home: '/var/www' });
  assert.equal((await resolveUser(rootfs, { runAsUsername: 'app', runAsGroup: 7 })).gid, 7);
  assert.equal((await resolveUser(rootfs, { runAsUser: 0, runAsUsername: 'app' })).uid, 0, 'run_as_user beats run_as_username');
  await assert.rejects(resolveUser(rootfs, { runAsGroup: 5, imageUser: 'app' }), (e) => isBerthError(e, 'invalid-argument'));
  await assert.rejects(resolveUser(rootfs, { runAsUsername: 'ghost' }), (e) => isBerthError(e, 'invalid-argument'));
  await assert.rejects(resolveUser(rootfs, { runAsUser: -1 }), (e) => isBerthError(e, 'invalid-argument'));
});

test('symlinks in the image never lead to host files', async () => {
  // The host files do hold these names; a resolver following the links would find them.
  assert.match(await fsp.readFile(join(hostile, 'etc/passwd'), 'utf8'), /hostonly/);
  await assert.rejects(resolveUser(hostile, { imageUser: 'hostonly' }), (e) => isBerthError(e, 'invalid-argument'));
  const numeric = await resolveUser(hostile, { runAsUser: 4242 });
  assert.deepEqual(numeric, { uid: 4242, gid: 0, additionalGids: [0], username: undefined, home: '/' });
  await assert.rejects(resolveUser(hostile, { imageUser: '0:hostgrp' }), (e) => isBerthError(e, 'invalid-argument'));
});

test('resolveInRoot re-roots absolute links and clamps ..', async () => {
  assert.equal(await resolveInRoot(hostile, '/etc/passwd'), join(hostile, outside, 'passwd'));
  assert.equal(await resolveInRoot(hostile, '/etc/group'), join(hostile, 'host-etc/group'));
  assert.equal(await resolveInRoot(rootfs, '/../../etc/./passwd'), join(rootfs, 'etc/passwd'));
  const inside = join(base, 'inside');
  await fsp.mkdir(join(inside, 'real'), { recursive: true });
  await fsp.writeFile(join(inside, 'real/file'), 'ok');
  await fsp.symlink('/real', join(inside, 'link'));
  assert.equal(await readFileInRoot(inside, '/link/file'), 'ok', 'links inside the rootfs still work');
  await fsp.symlink('loop', join(inside, 'loop'));
  await assert.rejects(resolveInRoot(inside, '/loop'), (e) => isBerthError(e, 'invalid-argument'));
  assert.equal(await readFileInRoot(inside, '/missing/file'), undefined);
  assert.equal(await readFileInRoot(inside, '/real'), undefined, 'a directory is not a file');
  await fsp.writeFile(join(inside, 'big'), Buffer.alloc(2048));
  await assert.rejects(readFileInRoot(inside, '/big', 1024), (e) => isBerthError(e, 'invalid-argument'));
});
