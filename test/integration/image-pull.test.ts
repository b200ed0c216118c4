// Acceptance tests of the image service through a real berthd over CRI: each test starts its own
// docker-registry and berthd, pushes fixture images built by berth's writer from busybox-static,
// and checks what PullImage/ListImages/ImageStatus/RemoveImage/ImageFsInfo report and what lands
// on disk (the merged snapshot view, the content store, garbage collection).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBerthd, call, type RunningBerthd } from '../helpers/berthd';
import { startRegistry, type TestRegistry } from '../helpers/registry';
import { BUSYBOX_BINARY, buildBusyboxImage, pushBusyboxImage, pushFixture, pushMultiArchIndex } from '../helpers/fixtures';
import { snapshotHost, assertNoLeaks, type HostSnapshot } from '../helpers/leaks';
import { OverlaySnapshotter } from '../../src/snapshot/overlay';
import type { LayerEntry } from '../../src/image/writer/layer';

interface CriImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: string;
  uid: { value: string } | null;
  username: string;
  pinned: boolean;
}

/** One registry + one berthd whose hosts dir sends the registry's host to it over plain http. */
class Env {
  hostsDir!: string;
  registry!: TestRegistry;
  berthd!: RunningBerthd;
  private before!: HostSnapshot;
  private readonly tmp = mkdtempSync(join(tmpdir(), 'berth-image-it-'));

  static async start(): Promise<Env> {
    const e = new Env();
    e.before = snapshotHost();
    e.hostsDir = join(e.tmp, 'certs.d');
    e.registry = await startRegistry();
    e.writeHosts(e.registry.host, `server = "${e.registry.url}"\n`);
    e.berthd = await startBerthd({ registryConfigDir: e.hostsDir });
    return e;
  }

  writeHosts(host: string, toml: string): void {
    mkdirSync(join(this.hostsDir, host), { recursive: true });
    writeFileSync(join(this.hostsDir, host, 'hosts.toml'), toml);
  }

  /** A mirror for `host` (e.g. docker.io): only the local registry is tried. */
  mirror(host: string): void {
    this.writeHosts(host, `[host."${this.registry.url}"]\n  capabilities = ["pull", "resolve"]\n`);
  }

  get image(): unknown {
    return this.berthd.clients.image;
  }

  async pull(ref: string): Promise<string> {
    const res = await call<object, { imageRef: string }>(this.image, 'PullImage', { image: { image: ref } });
    return res.imageRef;
  }

  async list(filter?: string): Promise<CriImage[]> {
    const res = await call<object, { images: CriImage[] }>(this.image, 'ListImages', filter ? { filter: { image: { image: filter } } } : {});
    return res.images;
  }

  async status(ref: string, verbose = false): Promise<{ image: CriImage | null; info: Record<string, string> }> {
    return call(this.image, 'ImageStatus', { image: { image: ref }, verbose });
  }

  async remove(ref: string): Promise<void> {
    await call(this.image, 'RemoveImage', { image: { image: ref } });
  }

  async usedBytes(): Promise<number> {
    const res = await call<object, { imageFilesystems: Array<{ usedBytes: { value: string }; inodesUsed: { value: string } }> }>(
      this.image,
      'ImageFsInfo',
      {},
    );
    assert.equal(res.imageFilesystems.length, 1);
    return Number(res.imageFilesystems[0]!.usedBytes.value);
  }

  async close(): Promise<void> {
    const root = this.berthd?.root;
    const base = this.berthd?.base;
    const pids = [this.berthd?.pid, this.registry?.pid].filter((p): p is number => p !== undefined);
    try {
      await this.berthd?.destroy();
      await this.registry?.stop();
      for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/, `process ${pid} is gone`);
      await assertNoLeaks(this.before, { mountDirs: [this.tmp, ...(root ? [root] : [])], processCmdlineIncludes: [this.tmp, ...(base ? [base] : [])] });
    } finally {
      rmSync(this.tmp, { recursive: true, force: true });
    }
  }
}

async function withEnv(fn: (env: Env) => Promise<void>): Promise<void> {
  const env = await Env.start();
  try {
    await fn(env);
  } catch (e) {
    // berthd's log explains most failures; keep its tail in the test output.
    const tail = env.berthd?.logs().split('\n').slice(-40).join('\n');
    throw new Error(`${(e as Error).message}\n--- berthd log (tail) ---\n${tail}`, { cause: e });
  } finally {
    await env.close();
  }
}

/** Mount the image's snapshot chain read-only, run fn on the merged view, always unmount. */
async function withMergedView(env: Env, ref: string, fn: (dir: string) => void | Promise<void>): Promise<void> {
  const st = await env.status(ref, true);
  assert.ok(st.image, `image ${ref} is known`);
  const info = JSON.parse(st.info.info ?? '{}') as { chainID?: string };
  assert.match(info.chainID ?? '', /^sha256:[a-f0-9]{64}$/, 'verbose ImageStatus has the top chain id');
  const target = mkdtempSync(join(tmpdir(), 'berth-image-view-'));
  const snaps = new OverlaySnapshotter(env.berthd.root);
  try {
    await snaps.mount(info.chainID!, target, true);
    try {
      await fn(target);
    } finally {
      await snaps.unmount(target);
    }
  } finally {
    rmSync(target, { recursive: true, force: true });
  }
}

const ls = (dir: string): string[] => readdirSync(dir).sort();
const mode = (p: string): number => lstatSync(p).mode & 0o7777;

function dirEntries(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

test('multi-layer image with whiteouts and opaque dirs: the mounted chain shows the merged view', async () => {
  await withEnv(async (env) => {
    const layer2: LayerEntry[] = [
      { path: 'etc/motd', type: 'file', mode: 0o644, content: 'hello\n' },
      { path: 'opt', type: 'dir', mode: 0o755 },
      { path: 'opt/app', type: 'dir', mode: 0o755 },
      { path: 'opt/app/old1', type: 'file', mode: 0o644, content: 'old' },
      { path: 'opt/app/sub', type: 'dir', mode: 0o755 },
      { path: 'opt/app/sub/old2', type: 'file', mode: 0o644, content: 'old2' },
      { path: 'opt/keep', type: 'file', mode: 0o600, uid: 1000, gid: 1000, content: 'keep' },
    ];
    const layer3: LayerEntry[] = [
      { path: 'etc/group', type: 'whiteout' },
      { path: 'etc/motd', type: 'whiteout' },
      { path: 'opt/app', type: 'dir', mode: 0o750, uid: 1000, gid: 1000 },
      { path: 'opt/app', type: 'opaque' },
      { path: 'opt/app/new', type: 'file', mode: 0o640, uid: 1000, gid: 1000, content: 'new content' },
    ];
    const pushed = await pushBusyboxImage(env.registry.url, 'test/layers', { tag: 'v1', extraLayers: [layer2, layer3] });
    const id = await env.pull(pushed.reference);
    assert.equal(id, pushed.image.config.descriptor.digest);

    await withMergedView(env, pushed.reference, (root) => {
      assert.equal(existsSync(join(root, 'etc/group')), false, 'base file whited out');
      assert.equal(existsSync(join(root, 'etc/motd')), false, 'layer-2 file whited out');
      assert.deepEqual(ls(join(root, 'etc')), ['passwd']);
      assert.deepEqual(ls(join(root, 'opt/app')), ['new'], 'opaque dir shows only the new layer');
      assert.equal(mode(join(root, 'opt/app')), 0o750);
      assert.equal(lstatSync(join(root, 'opt/app')).uid, 1000);
      const n = lstatSync(join(root, 'opt/app/new'));
      assert.equal([n.mode & 0o7777, n.uid, n.gid].join(), [0o640, 1000, 1000].join());
      assert.equal(readFileSync(join(root, 'opt/app/new'), 'utf8'), 'new content');
      const k = lstatSync(join(root, 'opt/keep'));
      assert.equal([k.mode & 0o7777, k.uid, k.gid].join(), [0o600, 1000, 1000].join());
      assert.deepEqual(readFileSync(join(root, 'bin/busybox')), readFileSync(BUSYBOX_BINARY));
      assert.equal(mode(join(root, 'bin/busybox')), 0o755);
      assert.equal(lstatSync(join(root, 'home/app')).uid, 1000);
      assert.equal(mode(join(root, 'tmp')), 0o1777);
      assert.equal(lstatSync(join(root, 'bin/sh')).isSymbolicLink(), true);
      // No whiteout or opaque markers may show through.
      assert.equal(ls(join(root, 'etc')).some((n2) => n2.startsWith('.wh.')), false);
    });
  });
});

test('multi-arch OCI index: linux/amd64 is chosen; repoDigests names the index', async () => {
  await withEnv(async (env) => {
    const pushed = await pushMultiArchIndex(env.registry.url, 'test/multi', { tag: 'v1' });
    const amd64 = pushed.index.images.find((i) => i.platform.architecture === 'amd64')!;
    const arm64 = pushed.index.images.find((i) => i.platform.architecture === 'arm64')!;
    assert.notEqual(amd64.config.descriptor.digest, arm64.config.descriptor.digest);
    const id = await env.pull(pushed.reference);
    assert.equal(id, amd64.config.descriptor.digest);
    const st = await env.status(pushed.reference);
    assert.deepEqual(st.image?.repoTags, [pushed.reference]);
    assert.deepEqual(st.image?.repoDigests, [pushed.digestReference]);
    const images = await env.list();
    assert.deepEqual(images.map((i) => i.id), [id]);
  });
});

test('zstd layers and Docker schema 2 manifest lists pull with the right content', async () => {
  await withEnv(async (env) => {
    const zstd = await pushBusyboxImage(env.registry.url, 'test/zstd', {
      tag: 'v1',
      compression: 'zstd',
      extraLayers: [[{ path: 'zdata', type: 'file', mode: 0o644, content: 'compressed with zstd' }]],
    });
    assert.match(zstd.image.layers[0]!.mediaType, /zstd/);
    assert.equal(await env.pull(zstd.reference), zstd.image.config.descriptor.digest);
    await withMergedView(env, zstd.reference, (root) => {
      assert.equal(readFileSync(join(root, 'zdata'), 'utf8'), 'compressed with zstd');
      assert.deepEqual(readFileSync(join(root, 'bin/busybox')), readFileSync(BUSYBOX_BINARY));
    });

    const docker = await pushMultiArchIndex(env.registry.url, 'test/docker', { tag: 'v1', format: 'docker', cmd: ['true'] });
    assert.match(docker.index.index.descriptor.mediaType, /manifest\.list/);
    const amd64 = docker.index.images.find((i) => i.platform.architecture === 'amd64')!;
    assert.equal(await env.pull(docker.reference), amd64.config.descriptor.digest);
    const st = await env.status(docker.reference, true);
    assert.deepEqual(st.image?.repoDigests, [docker.digestReference]);
    const info = JSON.parse(st.info.info!) as { imageSpec: { config: { Cmd: string[] } }; manifestDigest: string };
    assert.deepEqual(info.imageSpec.config.Cmd, ['true']);
    assert.equal(info.manifestDigest, amd64.manifest.descriptor.digest);
    await withMergedView(env, docker.reference, (root) => {
      assert.deepEqual(readFileSync(join(root, 'bin/busybox')), readFileSync(BUSYBOX_BINARY));
    });
  });
});

test('a mirror in hosts.toml serves example.invalid; RepoTags keep the original name', async () => {
  await withEnv(async (env) => {
    const pushed = await pushBusyboxImage(env.registry.url, 'test/bb', { tag: 'v1' });
    env.mirror('example.invalid');
    const id = await env.pull('example.invalid/test/bb:v1');
    assert.equal(id, pushed.image.config.descriptor.digest);
    const st = await env.status('example.invalid/test/bb:v1');
    assert.deepEqual(st.image?.repoTags, ['example.invalid/test/bb:v1']);
    assert.deepEqual(st.image?.repoDigests, [`example.invalid/test/bb@${pushed.digest}`]);
    // The registry's own name was never used, so it does not find the image.
    assert.equal((await env.status(pushed.reference)).image, null);
  });
});

test('ImageStatus lookups, ListImages filter, idempotent RemoveImage, and GC to zero', async () => {
  await withEnv(async (env) => {
    env.mirror('docker.io');
    const bb = await pushBusyboxImage(env.registry.url, 'library/busybox', { tag: 'latest' });
    const other = await pushBusyboxImage(env.registry.url, 'test/other', { tag: 'v2', cmd: ['echo', 'other'], extraLayers: [[{ path: 'x', type: 'file', content: 'x' }]] });
    const emptyUsage = await env.usedBytes();
    assert.equal(emptyUsage, 0, 'a fresh berthd uses no bytes');

    const id = await env.pull('busybox');
    assert.equal(id, bb.image.config.descriptor.digest);
    const otherId = await env.pull(other.reference);
    assert.notEqual(otherId, id);

    const hex = id.slice('sha256:'.length);
    const specs = [
      id,
      hex,
      hex.slice(0, 12),
      'busybox',
      'busybox:latest',
      'library/busybox',
      'docker.io/library/busybox:latest',
      `docker.io/library/busybox@${bb.digest}`,
      `busybox@${bb.digest}`,
    ];
    for (const s of specs) {
      const st = await env.status(s);
      assert.equal(st.image?.id, id, `ImageStatus(${s}) finds busybox`);
    }
    const st = await env.status('busybox');
    assert.deepEqual(st.image?.repoTags, ['docker.io/library/busybox:latest']);
    assert.deepEqual(st.image?.repoDigests, [`docker.io/library/busybox@${bb.digest}`]);
    assert.equal(Number(st.image?.size), bb.image.config.descriptor.size + bb.image.layers.reduce((a, l) => a + l.size, 0));

    for (const missing of ['busybox:nope', 'example.invalid/none:1', `sha256:${'0'.repeat(64)}`, 'ffffffffffff']) {
      const r = await env.status(missing);
      assert.equal(r.image, null, `ImageStatus(${missing}) is null`);
    }

    assert.deepEqual((await env.list()).map((i) => i.id).sort(), [id, otherId].sort());
    assert.deepEqual((await env.list('busybox')).map((i) => i.id), [id]);
    assert.deepEqual((await env.list(other.reference)).map((i) => i.id), [otherId]);
    assert.deepEqual(await env.list('nothing-like-this:1'), []);

    assert.ok((await env.usedBytes()) > bb.image.layers[0]!.size, 'blobs and snapshots are counted');

    await env.remove('busybox');
    await env.remove('busybox');
    await env.remove(id);
    assert.equal((await env.status(id)).image, null);
    assert.deepEqual((await env.list()).map((i) => i.id), [otherId]);
    // The shared base layer snapshot is still needed by the other image.
    const snapsLeft = dirEntries(join(env.berthd.root, 'snapshots')).filter((n) => /^\d+$/.test(n));
    assert.equal(snapsLeft.length, 2, 'other image keeps base + its own layer');

    await env.remove(other.reference.split(':v2')[0] + ':v2');
    await env.remove(otherId);
    assert.deepEqual(await env.list(), []);
    assert.equal(await env.usedBytes(), 0);
    const root = env.berthd.root;
    assert.deepEqual(dirEntries(join(root, 'content/sha256')), []);
    assert.deepEqual(dirEntries(join(root, 'content/ingest')), []);
    assert.deepEqual(dirEntries(join(root, 'snapshots')).filter((n) => n !== 'meta.json'), []);
    const meta = JSON.parse(readFileSync(join(root, 'snapshots/meta.json'), 'utf8')) as { snapshots: object };
    assert.deepEqual(meta.snapshots, {});
  });
});

test('a tag that moves: the new image gets the tag, the old keeps only its repoDigest', async () => {
  await withEnv(async (env) => {
    const a = await pushBusyboxImage(env.registry.url, 'test/mv', { tag: 'v1', cmd: ['echo', 'a'] });
    const idA = await env.pull(a.reference);
    const b = await pushFixture(env.registry.url, 'test/mv', 'v1', await buildBusyboxImage({ cmd: ['echo', 'b'] }));
    assert.notEqual(a.digest, b.digest);
    const idB = await env.pull(b.reference);
    assert.notEqual(idA, idB);
    const byId = new Map((await env.list()).map((i) => [i.id, i]));
    assert.equal(byId.size, 2);
    assert.deepEqual(byId.get(idB)?.repoTags, [b.reference]);
    assert.deepEqual(byId.get(idB)?.repoDigests, [b.digestReference]);
    assert.deepEqual(byId.get(idA)?.repoTags, []);
    assert.deepEqual(byId.get(idA)?.repoDigests, [a.digestReference]);
    assert.equal((await env.status(a.reference)).image?.id, idB);
    assert.equal((await env.status(a.digestReference)).image?.id, idA);
    // Pulling the old digest again changes nothing about the tag.
    assert.equal(await env.pull(a.digestReference), idA);
    assert.equal((await env.status(a.reference)).image?.id, idB);
  });
});

test('the leak checker notices stray children, orphans by name, mounts and files (and passes once they are gone)', async () => {
  const { spawn, spawnSync } = await import('node:child_process');
  const { listProcesses } = await import('../helpers/leaks');
  const sys = await import('../../src/snapshot/sys');
  const dir = mkdtempSync(join(tmpdir(), 'berth-leakcheck-'));
  // Scoped to this dir: other tests on the host may start conmon/runc meanwhile.
  const scope = { mountDirs: [dir], fileDirs: [dir], processNames: ['sleep'], processCmdlineIncludes: [dir], settleMs: 200 };
  try {
    // Run sleep through a link in dir, so its command line names dir.
    const sleep = join(dir, 'sleep');
    symlinkSync('/bin/sleep', sleep);
    const before = snapshotHost({ fileDirs: [dir] });
    const child = spawn(sleep, ['30'], { stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    // An orphan (reparented away from us, like conmon) is found by name.
    spawnSync('sh', ['-c', `${sleep} 31 >/dev/null 2>&1 &`]);
    let orphan: ReturnType<typeof listProcesses>[number] | undefined;
    for (let i = 0; i < 100 && !orphan; i++) {
      orphan = listProcesses().find((p) => p.cmdline === `${sleep} 31`);
      if (!orphan) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(orphan, 'orphan started');
    assert.notEqual(orphan.ppid, process.pid);
    mkdirSync(join(dir, 'mnt'));
    sys.mount('tmpfs', join(dir, 'mnt'), 'tmpfs', 0, 'size=1m');
    try {
      await assert.rejects(assertNoLeaks(before, scope), (e: Error) => {
        assert.match(e.message, new RegExp(`process ${child.pid} .*sleep 30`));
        assert.match(e.message, new RegExp(`process ${orphan.pid} .*sleep 31`));
        assert.match(e.message, new RegExp(`mount ${join(dir, 'mnt')}`));
        assert.match(e.message, /file added in .*: d mnt/);
        return true;
      });
    } finally {
      sys.umount(join(dir, 'mnt'), 0);
      child.kill('SIGKILL');
      process.kill(orphan.pid, 'SIGKILL');
      await exited;
    }
    rmSync(join(dir, 'mnt'), { recursive: true });
    await assertNoLeaks(before, { ...scope, settleMs: 2000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
