import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sys from '../../../src/snapshot/sys';

test('failed syscalls throw Node-style errno errors with path and syscall', () => {
  const missing = join(tmpdir(), `berth-no-such-${process.pid}`, 'f');
  assert.throws(() => sys.llistxattr(missing), (e: NodeJS.ErrnoException) => {
    assert.equal(e.code, 'ENOENT');
    assert.equal(e.syscall, 'llistxattr');
    assert.equal(e.path, missing);
    assert.ok(e.errno! < 0);
    return true;
  });
  assert.throws(() => sys.umount(missing), { code: 'ENOENT', syscall: 'umount2' });
});

test('fifo creation and user xattrs on a regular file', () => {
  const d = mkdtempSync(join(tmpdir(), 'berth-sys-'));
  try {
    sys.mknod(join(d, 'fifo'), 'fifo', 0o640);
    assert.ok(lstatSync(join(d, 'fifo')).isFIFO());
    assert.throws(() => sys.mknod(join(d, 'fifo'), 'fifo', 0o640), { code: 'EEXIST' });
    writeFileSync(join(d, 'f'), '');
    sys.lsetxattr(join(d, 'f'), 'user.a', Buffer.from([0, 1, 255]));
    sys.lsetxattr(join(d, 'f'), 'user.b', Buffer.alloc(0));
    assert.deepEqual(sys.llistxattr(join(d, 'f')).sort(), ['user.a', 'user.b']);
    assert.deepEqual([...sys.lgetxattr(join(d, 'f'), 'user.a')], [0, 1, 255]);
    assert.equal(sys.lgetxattr(join(d, 'f'), 'user.b').length, 0);
    assert.throws(() => sys.lgetxattr(join(d, 'f'), 'user.c'), { code: 'ENODATA' });
    assert.throws(() => sys.lsetxattr(join(d, 'f'), 'user.a', Buffer.from('x'), sys.XATTR_CREATE), { code: 'EEXIST' });
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
