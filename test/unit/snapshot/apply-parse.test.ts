import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanEntryPath, parsePaxXattrs } from '../../../src/snapshot/apply';
import { paxXattrHeader } from '../../helpers/tar';

test('cleanEntryPath strips leading slashes and dot components', () => {
  assert.equal(cleanEntryPath('a/b'), 'a/b');
  assert.equal(cleanEntryPath('/abs/path'), 'abs/path');
  assert.equal(cleanEntryPath('//abs//path/'), 'abs/path');
  assert.equal(cleanEntryPath('./a/./b'), 'a/b');
  assert.equal(cleanEntryPath('a/../b'), 'b');
  assert.equal(cleanEntryPath('./'), '');
  assert.equal(cleanEntryPath('/'), '');
  assert.equal(cleanEntryPath('a/..'), '');
  assert.equal(cleanEntryPath('...'), '...');
  assert.equal(cleanEntryPath('a/.wh...'), 'a/.wh...');
});

test('cleanEntryPath rejects names that climb above the root', () => {
  for (const n of ['..', '../x', '../../etc/x', 'a/../../x', '/../x', './..', 'a/b/../../../c']) {
    assert.equal(cleanEntryPath(n), null, n);
  }
});

test('parsePaxXattrs keeps binary xattr values byte-exact', () => {
  const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0xc0, 0x20, 0x00, 0x00, 0xff, 0x80, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0, 0, 0, 0]);
  const raw = Buffer.concat([
    Buffer.from('30 mtime=1700000000.123456789\n'),
    paxXattrHeader({ 'security.capability': cap, 'user.note': 'héllo=world\n' }),
  ]);
  const x = parsePaxXattrs(raw);
  assert.deepEqual([...x.keys()], ['security.capability', 'user.note']);
  assert.ok(x.get('security.capability')!.equals(cap));
  assert.equal(x.get('user.note')!.toString('utf8'), 'héllo=world\n');
});

test('parsePaxXattrs stops at a malformed record instead of reading past it', () => {
  const good = paxXattrHeader({ 'user.a': 'x' });
  const x = parsePaxXattrs(Buffer.concat([good, Buffer.from('999 SCHILY.xattr.user.b=y\n')]));
  assert.deepEqual([...x.keys()], ['user.a']);
});
