// Hostile layers pulled through berthd over CRI: entries that try to reach outside the layer
// (../ paths, absolute paths, writes through symlinks, hardlinks to host files, whiteouts of ../)
// must fail the pull or stay confined to the image, and nothing outside berthd's root may change:
// not the sentinels in the test's temp dir, not the files next to the root, not /etc/passwd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as Code } from '@grpc/grpc-js';
import { startBerthd, call, type RunningBerthd } from '../helpers/berthd';
import { startRegistry, type TestRegistry } from '../helpers/registry';
import { busyboxLayers, DEFAULT_PATH, pushBusyboxImage, pushFixture } from '../helpers/fixtures';
import { snapshotHost, assertNoLeaks } from '../helpers/leaks';
import { listTree } from '../helpers/tar';
import { buildLayerFromEntries, type LayerEntry } from '../../src/image/writer/layer';
import { buildImage } from '../../src/image/writer/image';
import { OverlaySnapshotter } from '../../src/snapshot/overlay';

interface GrpcError extends Error {
  code: number;
  details: string;
}

function passwdState(): string {
  const st = lstatSync('/etc/passwd');
  return `ino=${st.ino} nlink=${st.nlink} size=${st.size} mtime=${st.mtimeMs} mode=${st.mode} ${readFileSync('/etc/passwd', 'base64')}`;
}

/** busybox base + one layer written raw (names exactly as given). */
async function pushHostile(registry: TestRegistry, name: string, entries: LayerEntry[]): Promise<string> {
  const layers = [...(await busyboxLayers()), await buildLayerFromEntries(entries, { raw: true })];
  const image = buildImage({ layers, config: { Env: [DEFAULT_PATH], Cmd: ['sh'] }, format: 'oci' });
  return (await pushFixture(registry.url, name, 'v1', image)).reference;
}

test('hostile layers fail the pull or stay confined; nothing outside the root changes', async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'berth-image-hostile-'));
  const sentinel = join(tmp, 'sentinel');
  mkdirSync(join(sentinel, 'etc'), { recursive: true });
  writeFileSync(join(sentinel, 'passwd'), 'root:x:0:0\n');
  writeFileSync(join(sentinel, 'etc/hosts'), '127.0.0.1 localhost\n');
  const hostsDir = join(tmp, 'certs.d');
  const before = snapshotHost();
  let registry: TestRegistry | undefined;
  let berthd: RunningBerthd | undefined;
  try {
    registry = await startRegistry();
    mkdirSync(join(hostsDir, registry.host), { recursive: true });
    writeFileSync(join(hostsDir, registry.host, 'hosts.toml'), `server = "${registry.url}"\n`);
    berthd = await startBerthd({ registryConfigDir: hostsDir });
    const image = berthd.clients.image;
    // Next to the root: <base>/root is berthd's; <base>/beside is what ../../../../ reaches from a layer dir.
    const beside = join(berthd.base, 'beside');
    mkdirSync(beside);
    writeFileSync(join(beside, 'x'), 'next to the root\n');
    const pull = async (ref: string): Promise<GrpcError | string> => {
      try {
        return (await call<object, { imageRef: string }>(image, 'PullImage', { image: { image: ref } })).imageRef;
      } catch (e) {
        return e as GrpcError;
      }
    };
    const list = async () => (await call<object, { images: Array<{ id: string; repoTags: string[] }> }>(image, 'ListImages', {})).images;
    const usedBytes = async () =>
      Number((await call<object, { imageFilesystems: Array<{ usedBytes: { value: string } }> }>(image, 'ImageFsInfo', {})).imageFilesystems[0]!.usedBytes.value);

    const good = await pushBusyboxImage(registry.url, 'test/good', { tag: 'v1' });
    assert.equal(await pull(good.reference), good.image.config.descriptor.digest);
    const baseline = await usedBytes();
    const sentinelBefore = listTree(sentinel);
    const besideBefore = listTree(beside);
    const baseBefore = readdirSync(berthd.base).filter((n) => !n.endsWith('.log')).sort();
    const passwdBefore = passwdState();

    const deep = '../'.repeat(12);
    const mustFail: Record<string, LayerEntry[]> = {
      dotdot: [{ path: '../../../../beside/dotdot', type: 'file', content: 'escaped' }],
      'dotdot-to-sentinel': [{ path: `${deep}${sentinel.slice(1)}/dotdot`, type: 'file', content: 'escaped' }],
      'hidden-dotdot': [
        { path: 'a', type: 'dir' },
        { path: 'a/../../../../../beside/hidden', type: 'file', content: 'escaped' },
      ],
      'hardlink-passwd': [{ path: 'hl', type: 'hardlink', linkname: '/etc/passwd' }],
      'hardlink-dotdot': [{ path: 'hl', type: 'hardlink', linkname: `${deep}etc/passwd` }],
      'whiteout-dotdot': [{ path: '../../../../beside/x', type: 'whiteout' }],
    };
    const failures: Record<string, GrpcError> = {};
    for (const [name, entries] of Object.entries(mustFail)) {
      const ref = await pushHostile(registry, `hostile/${name}`, entries);
      const r = await pull(ref);
      assert.notEqual(typeof r, 'string', `${name}: the pull must fail`);
      failures[name] = r as GrpcError;
    }

    // Confined: the names are re-rooted at the layer, the image is usable and shows them inside.
    const confined: Record<string, { entries: LayerEntry[]; inside: string; content: string }> = {
      absolute: { entries: [{ path: `${sentinel}/abs`, type: 'file', content: 'abs' }], inside: `${sentinel.slice(1)}/abs`, content: 'abs' },
      'symlink-write-through': {
        entries: [
          { path: 'evil', type: 'symlink', linkname: sentinel },
          { path: 'evil/passwd', type: 'file', content: 'pwned' },
        ],
        inside: `${sentinel.slice(1)}/passwd`,
        content: 'pwned',
      },
      'symlink-up-write-through': {
        entries: [
          { path: 'up', type: 'symlink', linkname: deep },
          { path: `up/${sentinel.slice(1)}/etc/hosts`, type: 'file', content: 'pwned' },
        ],
        inside: `${sentinel.slice(1)}/etc/hosts`,
        content: 'pwned',
      },
    };
    const outcomes: string[] = [];
    for (const [name, c] of Object.entries(confined)) {
      const ref = await pushHostile(registry, `hostile/${name}`, c.entries);
      const r = await pull(ref);
      if (typeof r !== 'string') {
        outcomes.push(`${name}: refused (${r.code} ${r.details})`);
        continue;
      }
      outcomes.push(`${name}: confined`);
      const st = await call<object, { info: Record<string, string> }>(image, 'ImageStatus', { image: { image: ref }, verbose: true });
      const chainId = (JSON.parse(st.info.info!) as { chainID: string }).chainID;
      const view = mkdtempSync(join(tmpdir(), 'berth-image-view-'));
      const snaps = new OverlaySnapshotter(berthd.root);
      try {
        await snaps.mount(chainId, view, true);
        try {
          assert.equal(readFileSync(join(view, c.inside), 'utf8'), c.content, `${name}: the entry landed inside the image`);
        } finally {
          await snaps.unmount(view);
        }
      } finally {
        rmSync(view, { recursive: true, force: true });
      }
      await call(image, 'RemoveImage', { image: { image: r } });
    }

    for (const o of outcomes) t.diagnostic(o);
    // What escaped? Nothing.
    assert.deepEqual(listTree(sentinel), sentinelBefore, 'sentinel dir unchanged');
    assert.deepEqual(listTree(beside), besideBefore, 'dir next to the root unchanged');
    assert.deepEqual(readdirSync(berthd.base).filter((n) => !n.endsWith('.log')).sort(), baseBefore, 'nothing new next to the root');
    assert.equal(passwdState(), passwdBefore, '/etc/passwd unchanged');
    assert.equal(existsSync('/dotdot') || existsSync('/beside') || existsSync('/etc/hl'), false);

    for (const [name, e] of Object.entries(failures)) {
      t.diagnostic(`${name}: refused with code ${e.code}: ${e.details}`);
      assert.ok(![Code.UNKNOWN, Code.OK].includes(e.code), `${name}: a real gRPC error (${e.code} ${e.details})`);
      assert.notEqual(e.code, Code.INTERNAL, `${name}: a hostile layer is the image's fault, not berthd's: ${e.details}`);
      assert.match(e.details, /layer sha256:[a-f0-9]{64} of 127\.0\.0\.1:\d+\/hostile\//, `${name}: the error names the layer and image`);
    }
    assert.deepEqual((await list()).map((i) => i.repoTags), [[good.reference]], `only the good image is recorded (${outcomes.join('; ')})`);
    const deadline = Date.now() + 5000;
    while ((await usedBytes()) !== baseline && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await usedBytes(), baseline, 'failed pulls left no blobs or snapshots');
    const leftovers = [
      ...readdirSync(join(berthd.root, 'content/ingest')),
      ...readdirSync(join(berthd.root, 'snapshots')).filter((n) => n.startsWith('extract-')),
    ];
    assert.deepEqual(leftovers, [], 'no ingest files or extract dirs left');
    assert.doesNotMatch(berthd.logs(), /unhandled rejection/);
  } catch (e) {
    const tail = berthd?.logs().split('\n').filter((l) => /"level":(40|50)/.test(l)).slice(-20).join('\n');
    throw new Error(`${(e as Error).message}\n--- berthd warnings/errors ---\n${tail}`, { cause: e });
  } finally {
    const pids = [berthd?.pid, registry?.pid].filter((p): p is number => p !== undefined);
    const base = berthd?.base;
    await berthd?.destroy();
    await registry?.stop();
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/);
    await assertNoLeaks(before, { mountDirs: [tmp, ...(base ? [base] : [])], processCmdlineIncludes: [tmp, ...(base ? [base] : [])] });
    rmSync(tmp, { recursive: true, force: true });
  }
});
