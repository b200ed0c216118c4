// The pod's /dev/shm tmpfs on the real kernel: mount options, size limit, idempotent unmount,
// and no mount or directory left behind.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountPodShm, removePodFiles, unmountPodShm, writePodFiles } from '../../src/runtime/pod-files';
import { isBerthError } from '../../src/util/errors';

interface MountLine {
  mountPoint: string;
  options: string;
  fsType: string;
  superOptions: string;
}

function mountsUnder(dir: string): MountLine[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l)
    .map((l) => {
      const [pre, post] = l.split(' - ');
      const f = pre.split(' ');
      const g = post.split(' ');
      return { mountPoint: f[4], options: f[5], fsType: g[0], superOptions: g[2] };
    })
    .filter((m) => m.mountPoint === dir || m.mountPoint.startsWith(`${dir}/`));
}

describe('pod shm', { timeout: 30_000 }, () => {
  let tmp = '';
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-shm-'));
  });
  after(() => {
    for (const m of mountsUnder(tmp).reverse()) execFileSync('umount', ['-l', m.mountPoint]);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('mounts a nosuid,nodev,noexec tmpfs with mode 1777 and the given size, and unmounts it idempotently', async () => {
    const shm = join(tmp, 'pod1', 'shm');
    await mountPodShm(shm, 4 * 1024 * 1024);
    const m = mountsUnder(tmp);
    assert.equal(m.length, 1);
    assert.equal(m[0].mountPoint, shm);
    assert.equal(m[0].fsType, 'tmpfs');
    for (const o of ['nosuid', 'nodev', 'noexec']) assert.ok(m[0].options.split(',').includes(o), `${o} in ${m[0].options}`);
    assert.match(m[0].superOptions, /\bsize=4096k\b/);
    assert.equal(statSync(shm).mode & 0o7777, 0o1777);
    // The size limit is enforced: 5 MiB does not fit.
    assert.throws(() => execFileSync('dd', ['if=/dev/zero', `of=${join(shm, 'big')}`, 'bs=1M', 'count=5'], { stdio: 'pipe' }));

    await unmountPodShm(shm);
    assert.deepEqual(mountsUnder(tmp), []);
    assert.equal(existsSync(shm), false);
    await unmountPodShm(shm); // idempotent
  });

  it('defaults to 64 MiB, refuses nonsense sizes, and removes pod files next to it', async () => {
    const dir = join(tmp, 'pod2');
    await writePodFiles(dir, { hostname: 'p2', hostNetwork: false });
    const shm = join(dir, 'shm');
    await mountPodShm(shm);
    assert.match(mountsUnder(tmp)[0].superOptions, /\bsize=65536k\b/);
    await assert.rejects(mountPodShm(join(tmp, 'x'), 0), (e: unknown) => isBerthError(e, 'invalid-argument'));
    await assert.rejects(mountPodShm(join(tmp, 'y'), 1.5), (e: unknown) => isBerthError(e, 'invalid-argument'));
    await unmountPodShm(shm);
    await removePodFiles(dir);
    assert.equal(existsSync(dir), false);
    assert.deepEqual(mountsUnder(tmp), []);
  });
});
