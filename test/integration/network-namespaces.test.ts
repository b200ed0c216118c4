// Pinned pod namespaces on the real kernel: creation, rejection paths leave nothing behind,
// stale files are tolerated, and unpinning is idempotent.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  isNamespaceFile,
  listPinned,
  pinNamespaces,
  releaseNamespaceDir,
  unpinNamespaces,
} from '../../src/network/namespaces';
import { isBerthError } from '../../src/util/errors';

for (const t of ['unshare', 'nsenter', 'ip', 'mount', 'umount']) {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'pipe' });
  } catch {
    throw new Error(`${t} is missing: install util-linux / iproute2`);
  }
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)));
}

const nsenter = (args: string[]) => execFileSync('nsenter', args, { encoding: 'utf8' }).trim();

describe('pinned namespaces', { timeout: 60_000 }, () => {
  let tmp = '';
  let dir = '';
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-ns-'));
    dir = join(tmp, 'ns');
  });
  after(async () => {
    for (const p of await listPinned(dir).catch(() => [])) await unpinNamespaces(dir, p.podId).catch(() => undefined);
    await releaseNamespaceDir(dir).catch(() => undefined);
    if (mountsUnder(tmp).length === 0) rmSync(tmp, { recursive: true, force: true });
  });

  it('creates distinct namespaces with hostname and sysctls, on a private mount', async () => {
    const p = await pinNamespaces(dir, 'p1', ['net', 'ipc', 'uts'], {
      hostname: 'web-1.example',
      sysctls: { 'net.ipv4.ping_group_range': '0 2147483647', 'kernel.shmmni': '2048', 'fs.mqueue.msg_max': '20' },
    });
    for (const k of ['net', 'ipc', 'uts'] as const) {
      assert.equal(p.paths[k], join(dir, k, 'p1'));
      assert.ok(await isNamespaceFile(p.paths[k]!), `${k} pinned`);
      const inode = nsenter([`--${k}=${p.paths[k]}`, 'readlink', `/proc/self/ns/${k}`]);
      assert.notEqual(inode, readlinkSync(`/proc/self/ns/${k}`), `${k} differs from the host's`);
    }
    assert.equal(nsenter([`--uts=${p.paths.uts}`, 'hostname']), 'web-1.example');
    assert.equal(nsenter([`--net=${p.paths.net}`, 'cat', '/proc/sys/net/ipv4/ping_group_range']).replace(/\s+/g, ' '), '0 2147483647');
    assert.equal(nsenter([`--ipc=${p.paths.ipc}`, 'cat', '/proc/sys/kernel/shmmni']), '2048');
    assert.equal(nsenter([`--ipc=${p.paths.ipc}`, 'cat', '/proc/sys/fs/mqueue/msg_max']), '20');
    assert.notEqual(readFileSync('/proc/sys/kernel/shmmni', 'utf8').trim(), '2048');
    // Only lo, and it is up.
    assert.match(nsenter([`--net=${p.paths.net}`, 'ip', '-o', 'link']), /^1: lo: <[^>]*\bUP\b/);
    assert.equal(nsenter([`--net=${p.paths.net}`, 'ip', '-o', 'link']).split('\n').length, 1);
    const top = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === dir)!;
    assert.ok(!/ (shared|master):/.test(top.split(' - ')[0]), `namespace dir is private: ${top}`);
    await assert.rejects(pinNamespaces(dir, 'p1', ['net']), (e: unknown) => isBerthError(e, 'already-exists'));
    assert.deepEqual(await listPinned(dir), [p]);
  });

  it('rejects bad input before or during creation and leaves nothing pinned', async () => {
    const bad = (e: unknown) => isBerthError(e, 'invalid-argument');
    await assert.rejects(pinNamespaces(dir, '../evil', ['net']), bad);
    await assert.rejects(pinNamespaces(dir, 'p2', []), bad);
    await assert.rejects(pinNamespaces(dir, 'p2', ['net'], { hostname: 'x' }), bad); // no uts
    await assert.rejects(pinNamespaces(dir, 'p2', ['uts'], { hostname: 'bad_host!' }), bad);
    await assert.rejects(pinNamespaces(dir, 'p2', ['net', 'uts'], { sysctls: { 'kernel.pid_max': '4' } }), bad);
    await assert.rejects(pinNamespaces(dir, 'p2', ['uts'], { sysctls: { 'net.core.somaxconn': '4' } }), bad);
    // Accepted names, rejected by the kernel inside the helper: rolled back.
    await assert.rejects(pinNamespaces(dir, 'p2', ['net', 'ipc'], { sysctls: { 'net.ipv4.no_such_knob': '1' } }), bad);
    await assert.rejects(pinNamespaces(dir, 'p2', ['net', 'ipc'], { sysctls: { 'kernel.shmmni': 'lots' } }), bad);
    assert.deepEqual((await listPinned(dir)).map((p) => p.podId), ['p1']);
    assert.deepEqual(mountsUnder(dir).filter((m) => m.includes('p2')), []);
  });

  it('reuses a stale plain file, and unpins idempotently', async () => {
    mkdirSync(join(dir, 'net'), { recursive: true });
    writeFileSync(join(dir, 'net', 'p3'), '');
    assert.deepEqual((await listPinned(dir)).map((p) => p.podId), ['p1', 'p3']);
    const p = await pinNamespaces(dir, 'p3', ['net']);
    assert.ok(await isNamespaceFile(p.paths.net!));
    for (const id of ['p1', 'p3', 'p3', 'never-pinned']) await unpinNamespaces(dir, id);
    assert.deepEqual(await listPinned(dir), []);
    for (const k of ['net', 'ipc', 'uts']) assert.equal(existsSync(join(dir, k, 'p1')), false);
    await releaseNamespaceDir(dir);
    assert.deepEqual(mountsUnder(tmp), []);
  });

  it('refuses to release the dir while something is pinned', async () => {
    await pinNamespaces(dir, 'p4', ['uts']);
    await assert.rejects(releaseNamespaceDir(dir), (e: unknown) => isBerthError(e, 'failed-precondition'));
    await unpinNamespaces(dir, 'p4');
    await releaseNamespaceDir(dir);
    assert.deepEqual(mountsUnder(tmp), []);
  });
});
