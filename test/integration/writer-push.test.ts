// Pushes fixture images to a real docker-registry, through berth's own push path (pushImage over
// RegistryClient) and through skopeo, and checks what the registry then serves: the exact bytes
// and digests we built, the right media types, platform selection, and a runnable busybox.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { MediaType, type ImageIndex, type ImageManifest } from '../../src/image/oci-types';
import { startRegistry, type TestRegistry } from '../helpers/registry';
import { pushBusyboxImage, pushMultiArchIndex, pushFixture, buildBusyboxImage } from '../helpers/fixtures';

let registry: TestRegistry;
let work: string;
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

async function get(path: string, accept?: string): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const res = await request(`${registry.url}/v2/${path}`, { headers: accept ? { accept } : {} });
  const body = Buffer.from(await res.body.arrayBuffer());
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) headers[k] = String(v);
  return { status: res.statusCode, headers, body };
}

const ACCEPT_ALL = [MediaType.OciManifest, MediaType.OciIndex, MediaType.DockerManifest, MediaType.DockerManifestList].join(', ');

before(async () => {
  for (const bin of ['skopeo', 'umoci', 'chroot']) {
    assert.doesNotThrow(() => sh('sh', ['-c', `command -v ${bin}`]), `integration test needs ${bin} installed`);
  }
  registry = await startRegistry();
  work = mkdtempSync(join(tmpdir(), 'berth-writer-push-'));
});

after(async () => {
  await registry?.stop();
  if (registry) assert.throws(() => process.kill(registry.pid, 0), /ESRCH/, 'registry process is gone');
  rmSync(work, { recursive: true, force: true });
  assert.equal(existsSync(work), false);
});

test('pushImage over RegistryClient: the registry serves our exact manifest, config and layer', async () => {
  const pushed = await pushBusyboxImage(registry.url, 'test/busybox', { tag: 'v1', cmd: ['echo', 'hi'] });
  const m = await get('test/busybox/manifests/v1', ACCEPT_ALL);
  assert.equal(m.status, 200);
  assert.equal(m.headers['content-type'], MediaType.OciManifest);
  assert.equal(m.headers['docker-content-digest'], pushed.digest);
  assert.deepEqual(m.body, pushed.image.manifest.bytes);
  assert.equal(sha(m.body), pushed.digest);

  const manifest = JSON.parse(m.body.toString()) as ImageManifest;
  const cfg = await get(`test/busybox/blobs/${manifest.config.digest}`);
  assert.deepEqual(cfg.body, pushed.image.config.bytes);
  const layer = await get(`test/busybox/blobs/${manifest.layers[0]!.digest}`);
  assert.equal(sha(layer.body), pushed.image.layers[0]!.digest);

  // By digest too.
  const byDigest = await get(`test/busybox/manifests/${pushed.digest}`, ACCEPT_ALL);
  assert.equal(byDigest.status, 200);

  // An independent client agrees.
  const info = JSON.parse(sh('skopeo', ['inspect', '--tls-verify=false', `docker://${pushed.reference}`])) as { Digest: string };
  assert.equal(info.Digest, pushed.digest);
});

test('Docker schema 2 via skopeo: Docker media types, digest preserved', async () => {
  const pushed = await pushBusyboxImage(registry.url, 'test/docker', { format: 'docker', via: 'skopeo' });
  const m = await get('test/docker/manifests/latest', ACCEPT_ALL);
  assert.equal(m.headers['content-type'], MediaType.DockerManifest);
  assert.equal(m.headers['docker-content-digest'], pushed.digest);
  const manifest = JSON.parse(m.body.toString()) as ImageManifest;
  assert.equal(manifest.config.mediaType, MediaType.DockerConfig);
  assert.equal(manifest.layers[0]!.mediaType, MediaType.DockerLayerGzip);
});

test('multi-arch manifest list: children by digest, platform selection works', async () => {
  const pushed = await pushMultiArchIndex(registry.url, 'test/multi', { format: 'docker', tag: 'list' });
  const top = await get('test/multi/manifests/list', ACCEPT_ALL);
  assert.equal(top.headers['content-type'], MediaType.DockerManifestList);
  assert.equal(sha(top.body), pushed.digest);
  const list = JSON.parse(top.body.toString()) as ImageIndex;
  assert.deepEqual(
    list.manifests.map((d) => `${d.platform?.os}/${d.platform?.architecture}${d.platform?.variant ? `/${d.platform.variant}` : ''}`),
    ['linux/amd64', 'linux/arm64/v8'],
  );
  for (const d of list.manifests) {
    const child = await get(`test/multi/manifests/${d.digest}`, ACCEPT_ALL);
    assert.equal(child.status, 200);
    assert.equal(sha(child.body), d.digest);
  }
  const armConfig = sh('skopeo', ['--override-arch', 'arm64', 'inspect', '--tls-verify=false', '--config', '--raw', `docker://${pushed.reference}`]);
  assert.equal(JSON.parse(armConfig).architecture, 'arm64');
  assert.equal(armConfig, pushed.index.images[1]!.config.bytes.toString());
});

test('zstd OCI image pushes with its zstd layer media type', async () => {
  const pushed = await pushBusyboxImage(registry.url, 'test/zstd', { compression: 'zstd' });
  const m = await get('test/zstd/manifests/latest', ACCEPT_ALL);
  const manifest = JSON.parse(m.body.toString()) as ImageManifest;
  assert.equal(manifest.layers[0]!.mediaType, MediaType.OciLayerZstd);
  const layer = await get(`test/zstd/blobs/${manifest.layers[0]!.digest}`);
  assert.equal(sha(layer.body), pushed.image.layers[0]!.digest);
});

test('a pushed image round-trips: skopeo pulls it, umoci unpacks it, busybox runs', async () => {
  const img = await buildBusyboxImage({ extraLayers: [[{ path: 'etc/motd', type: 'file', content: 'pushed\n' }]] });
  const pushed = await pushFixture(registry.url, 'test/roundtrip', 'rt', img);
  const layout = join(work, 'pulled');
  sh('skopeo', ['--insecure-policy', 'copy', '--quiet', '--src-tls-verify=false', `docker://${pushed.reference}`, `oci:${layout}:rt`]);
  const bundle = join(work, 'bundle');
  sh('umoci', ['unpack', '--image', `${layout}:rt`, bundle]);
  assert.equal(sh('chroot', [join(bundle, 'rootfs'), '/bin/cat', '/etc/motd']), 'pushed\n');
});
