// Cross-checks the image writer against independent implementations: skopeo reads our OCI
// layouts, umoci unpacks them (applying our whiteouts), the unpacked busybox runs under chroot,
// and the zstd CLI decompresses our zstd layers to the recorded diffId.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaType, type ImageManifest } from '../../src/image/oci-types';
import { buildLayerFromDirectory, buildLayerFromEntries } from '../../src/image/writer/layer';
import { writeOciLayout, layoutBlobPath } from '../../src/image/writer/layout';
import { buildBusyboxImage, multiArchIndex, APP_UID } from '../helpers/fixtures';

const BINARIES = ['skopeo', 'umoci', 'zstd', 'chroot', 'getfattr', 'setfattr', 'tar', 'mknod'];
let work: string;

function which(bin: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function sh(cmd: string, args: string[], input?: Buffer): string {
  return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...(input ? { input } : {}) });
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

before(() => {
  const missing = BINARIES.filter((b) => !which(b));
  assert.deepEqual(missing, [], `integration test needs these binaries (apt: skopeo umoci zstd attr coreutils tar): ${missing.join(', ')}`);
  assert.equal(process.getuid?.(), 0, 'this test unpacks with ownership and chroots: run as root');
  work = mkdtempSync(join(tmpdir(), 'berth-writer-it-'));
});

after(() => {
  rmSync(work, { recursive: true, force: true });
  assert.equal(existsSync(work), false);
});

test('skopeo reads our OCI layout: same manifest and config bytes, platform, env', async () => {
  const layout = join(work, 'layout-inspect');
  const img = await buildBusyboxImage({ cmd: ['sleep', '1'], user: 'app', labels: { 'x.y': 'z' } });
  await writeOciLayout(layout, [{ ref: 'v1', image: img }]);

  const info = JSON.parse(sh('skopeo', ['inspect', `oci:${layout}:v1`])) as Record<string, unknown>;
  assert.equal(info.Digest, img.manifest.descriptor.digest);
  assert.equal(info.Architecture, 'amd64');
  assert.equal(info.Os, 'linux');
  assert.deepEqual(info.Layers, [img.layers[0]!.digest]);
  assert.deepEqual(info.Labels, { 'x.y': 'z' });
  assert.ok((info.Env as string[]).some((e) => e.startsWith('PATH=')));

  assert.equal(sh('skopeo', ['inspect', '--raw', `oci:${layout}:v1`]), img.manifest.bytes.toString());
  assert.equal(sh('skopeo', ['inspect', '--config', '--raw', `oci:${layout}:v1`]), img.config.bytes.toString());
});

test('umoci unpacks the busybox image and the unpacked busybox runs under chroot', async () => {
  const layout = join(work, 'layout-umoci');
  const bundle = join(work, 'bundle');
  await writeOciLayout(layout, [{ ref: 'latest', image: await buildBusyboxImage() }]);
  sh('umoci', ['unpack', '--image', `${layout}:latest`, bundle]);
  const rootfs = join(bundle, 'rootfs');

  const bb = statSync(join(rootfs, 'bin/busybox'));
  assert.ok(bb.isFile() && (bb.mode & 0o111) !== 0, '/bin/busybox is an executable file');
  assert.equal(readlinkSync(join(rootfs, 'bin/sh')), 'busybox');
  assert.equal(statSync(join(rootfs, 'tmp')).mode & 0o7777, 0o1777);
  assert.equal(statSync(join(rootfs, 'root')).mode & 0o7777, 0o700);
  assert.equal(statSync(join(rootfs, 'home/app')).uid, APP_UID);
  assert.match(readFileSync(join(rootfs, 'etc/passwd'), 'utf8'), /^app:x:1000:1000:/m);

  assert.equal(sh('chroot', [rootfs, '/bin/busybox', 'echo', 'hi']), 'hi\n');
  assert.equal(sh('chroot', [rootfs, '/bin/sh', '-c', 'id -u app; id -gn nobody']), '1000\nnogroup\n');
});

test('umoci applies our whiteout and opaque markers', async () => {
  const layout = join(work, 'layout-whiteout');
  const bundle = join(work, 'bundle-whiteout');
  const img = await buildBusyboxImage({
    extraLayers: [
      [
        { path: 'etc/group', type: 'whiteout' },
        { path: 'home', type: 'opaque' },
        { path: 'home/new', type: 'file', content: 'fresh' },
      ],
    ],
  });
  await writeOciLayout(layout, [{ ref: 'latest', image: img }]);
  sh('umoci', ['unpack', '--image', `${layout}:latest`, bundle]);
  const rootfs = join(bundle, 'rootfs');
  assert.equal(existsSync(join(rootfs, 'etc/group')), false, 'whiteout removed etc/group');
  assert.equal(existsSync(join(rootfs, 'etc/passwd')), true, 'siblings stay');
  assert.equal(existsSync(join(rootfs, 'home/app')), false, 'opaque dir hides lower content');
  assert.equal(readFileSync(join(rootfs, 'home/new'), 'utf8'), 'fresh');
  assert.equal(existsSync(join(rootfs, 'etc/.wh.group')), false, 'markers are not materialized');
});

test('zstd layers decompress with the zstd CLI to the recorded diffId; skopeo reads the image', async () => {
  const img = await buildBusyboxImage({ compression: 'zstd' });
  const layer = img.layers[0]!;
  assert.equal(layer.mediaType, MediaType.OciLayerZstd);
  const blob = layer.blob as Buffer;
  assert.equal(sha(blob), layer.digest);
  const tarBytes = execFileSync('zstd', ['-dc'], { input: blob, maxBuffer: 64 * 1024 * 1024 });
  assert.equal(sha(tarBytes), layer.diffId);
  assert.notEqual(layer.digest, layer.diffId);

  const again = await buildLayerFromEntries([{ path: 'x', type: 'file', content: 'same' }], { compression: 'zstd' });
  const again2 = await buildLayerFromEntries([{ path: 'x', type: 'file', content: 'same' }], { compression: 'zstd' });
  assert.equal(again.digest, again2.digest, 'zstd output is reproducible');

  const layout = join(work, 'layout-zstd');
  await writeOciLayout(layout, [{ ref: 'z', image: img }]);
  const m = JSON.parse(sh('skopeo', ['inspect', '--raw', `oci:${layout}:z`])) as ImageManifest;
  assert.equal(m.layers[0]!.mediaType, MediaType.OciLayerZstd);
  assert.equal(sha(readFileSync(layoutBlobPath(layout, layer.digest))), layer.digest);
});

test('skopeo selects platforms from our multi-arch index', async () => {
  const layout = join(work, 'layout-multi');
  const index = await multiArchIndex();
  await writeOciLayout(layout, [{ ref: 'multi', image: index }]);
  // skopeo reports the index digest as Digest; the chosen instance shows in its config.
  const inspect = (arch: string) =>
    JSON.parse(sh('skopeo', ['--override-arch', arch, 'inspect', `oci:${layout}:multi`])) as { Digest: string; Architecture: string };
  const config = (arch: string) => sh('skopeo', ['--override-arch', arch, 'inspect', '--config', '--raw', `oci:${layout}:multi`]);
  const arm = inspect('arm64');
  assert.equal(arm.Digest, index.index.descriptor.digest);
  assert.equal(arm.Architecture, 'arm64');
  assert.equal(config('arm64'), index.images[1]!.config.bytes.toString());
  assert.equal(inspect('amd64').Architecture, 'amd64');
  assert.equal(config('amd64'), index.images[0]!.config.bytes.toString());
});

test('directory layers keep xattrs, devices and hardlinks as GNU tar reads them', async () => {
  const src = join(work, 'src-tree');
  const out = join(work, 'src-tree-extracted');
  mkdirSync(join(src, 'dev'), { recursive: true });
  mkdirSync(out);
  writeFileSync(join(src, 'data'), 'payload');
  sh('setfattr', ['-n', 'user.berth', '-v', 'kept', join(src, 'data')]);
  sh('mknod', ['-m', '0600', join(src, 'dev', 'null'), 'c', '1', '3']);
  sh('ln', [join(src, 'data'), join(src, 'data-hardlink')]);

  const l = await buildLayerFromDirectory(src, { xattrs: true, compression: 'gzip', outFile: join(work, 'tree.tgz') });
  assert.equal(sha(readFileSync(join(work, 'tree.tgz'))), l.digest);
  sh('tar', ['--xattrs', '--xattrs-include=*', '-xzpf', join(work, 'tree.tgz'), '-C', out]);

  assert.match(sh('getfattr', ['-n', 'user.berth', '--only-values', join(out, 'data')]), /^kept$/);
  const dev = lstatSync(join(out, 'dev', 'null'));
  assert.ok(dev.isCharacterDevice());
  assert.equal(dev.rdev, lstatSync('/dev/null').rdev);
  assert.equal(dev.mode & 0o7777, 0o600);
  assert.equal(statSync(join(out, 'data')).ino, statSync(join(out, 'data-hardlink')).ino, 'hardlink preserved');
});
