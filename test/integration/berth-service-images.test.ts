// berth's own service (berth.v1.BerthService) through a real berthd, registry and skopeo: tag, pull
// with per-layer progress, history, push behind htpasswd and pull back by digest, save as
// docker-archive and OCI archive (read by skopeo), and load archives skopeo made (then run them).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { RuntimeEnv } from '../helpers/runtime-leaks';
import { startRegistry, type TestRegistry } from '../helpers/registry';
import { pushBusyboxImage } from '../helpers/fixtures';
import { createBerthClient, type BerthServiceClient } from '../../src/cri/berth-proto';

const SKOPEO = '/usr/bin/skopeo';

function skopeo(args: string[]): Promise<string> {
  if (!existsSync(SKOPEO)) throw new Error(`${SKOPEO} is missing: install skopeo`);
  return new Promise((res, rej) =>
    execFile(SKOPEO, args, { encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      err ? rej(new Error(`skopeo ${args.join(' ')}: ${stderr || err.message}`)) : res(stdout),
    ),
  );
}

function unary<T>(client: BerthServiceClient, method: string, req: object): Promise<T> {
  return new Promise((res, rej) =>
    (client as any)[method](req, { deadline: new Date(Date.now() + 120_000) }, (err: Error | null, r: T) => (err ? rej(err) : res(r))),
  );
}

async function collect<T>(stream: AsyncIterable<unknown>): Promise<T[]> {
  const out: T[] = [];
  for await (const m of stream) out.push(m as T);
  return out;
}

async function saveTo(client: BerthServiceClient, req: object, file: string): Promise<void> {
  const stream = client.SaveImage(req);
  await pipeline(
    Readable.from((async function* () {
      for await (const c of stream) yield (c as { data: Buffer }).data;
    })()),
    createWriteStream(file),
  );
}

function loadFrom(client: BerthServiceClient, file: string): Promise<{ images: Array<{ id: string; tags: string[] }> }> {
  return new Promise((res, rej) => {
    const call = client.LoadImage({ deadline: new Date(Date.now() + 120_000) }, (err, r) => (err ? rej(err) : res(r as any)));
    (async () => {
      for await (const chunk of createReadStream(file, { highWaterMark: 256 << 10 })) {
        if (!call.write({ data: chunk })) await new Promise((r) => call.once('drain', r));
      }
      call.end();
    })().catch(rej);
  });
}

interface Progress {
  digest: string;
  status: string;
  current: string;
  total: string;
  done: boolean;
  imageId: string;
}

describe('berth service: images', { timeout: 300_000 }, () => {
  let env: RuntimeEnv;
  let client: BerthServiceClient;
  let authRegistry: TestRegistry | undefined;
  before(async () => {
    env = await RuntimeEnv.start();
    client = createBerthClient(env.berthd.socket);
  });
  after(async () => {
    client?.close();
    await authRegistry?.stop();
    try {
      await env?.cleanAndCheck();
    } finally {
      await env?.close();
    }
  });

  it('TagImage: the new tag is listed over CRI; a digest target and an unknown source are refused', async () => {
    const res = await unary<{ imageId: string; target: string }>(client, 'TagImage', { source: env.image, target: 'berth.test/tagged:v1' });
    assert.equal(res.target, 'berth.test/tagged:v1');
    const list = await new Promise<any>((r, j) => env.berthd.clients.image.ListImages({}, (e: Error | null, x: any) => (e ? j(e) : r(x))));
    const img = list.images.find((i: any) => i.id === res.imageId);
    assert.ok(img, 'tagged image listed');
    assert.ok(img.repoTags.includes('berth.test/tagged:v1'), `tags: ${img.repoTags}`);
    assert.ok(img.repoTags.includes(env.image));
    await assert.rejects(unary(client, 'TagImage', { source: 'berth.test/none:x', target: 'berth.test/a:b' }), (e: any) => e.code === 5);
    await assert.rejects(unary(client, 'TagImage', { source: env.image, target: `berth.test/a@sha256:${'1'.repeat(64)}` }), (e: any) => e.code === 3);
  });

  it('PullImage streams every layer to done, then the image id; ImageHistory follows the config', async () => {
    const pushed = await pushBusyboxImage(env.registry.url, 'test/progress', {
      tag: 'v1',
      extraLayers: [[{ path: 'big.bin', type: 'file', content: Buffer.alloc(3 << 20, 9) }], [{ path: 'small', type: 'file', content: 'x' }]],
    });
    const msgs = await collect<Progress>(client.PullImage({ image: pushed.reference }));
    const last = msgs.at(-1)!;
    assert.equal(last.done, true);
    assert.equal(last.imageId, pushed.image.config.descriptor.digest);
    assert.equal(msgs[0]!.status, 'resolving');
    const layers = pushed.image.manifest.value.layers;
    for (const l of layers) {
      const mine = msgs.filter((m) => m.digest === l.digest);
      assert.ok(mine.length >= 2, `messages for ${l.digest}: ${JSON.stringify(mine)}`);
      assert.equal(mine[0]!.status, 'waiting');
      const end = mine.at(-1)!;
      assert.ok(end.status === 'done' || end.status === 'already exists', `last status of ${l.digest}: ${end.status}`);
      assert.equal(Number(end.current), l.size);
      assert.equal(Number(end.total), l.size);
    }
    // The busybox base layer is already there (same chain as the env's image): reported as such.
    assert.equal(msgs.filter((m) => m.digest === layers[0]!.digest).at(-1)!.status, 'already exists');
    // The fresh big layer was downloaded with byte counts that only grow.
    const big = msgs.filter((m) => m.digest === layers[1]!.digest && m.status === 'downloading').map((m) => Number(m.current));
    assert.ok(big.length >= 1, 'downloading reported for the new layer');
    assert.deepEqual([...big].sort((a, b) => a - b), big);

    const hist = await unary<{ imageId: string; entries: Array<{ layer: string; size: string; emptyLayer: boolean }> }>(client, 'ImageHistory', { image: pushed.reference });
    assert.equal(hist.imageId, last.imageId);
    const diffIds = pushed.image.config.value.rootfs.diff_ids;
    assert.deepEqual(hist.entries.map((e) => e.layer), [...diffIds].reverse());
    assert.deepEqual(hist.entries.map((e) => Number(e.size)), layers.map((l) => l.size).reverse());
    await assert.rejects(collect(client.PullImage({ image: 'Not A Ref' })), (e: any) => e.code === 3);
  });

  it('PushImage to a registry behind htpasswd (credentials required), then pull it back by digest', async () => {
    const auth = { username: 'berth', password: 's3cret-pw' };
    authRegistry = await startRegistry({ auth });
    mkdirSync(join(env.hostsDir, authRegistry.host), { recursive: true });
    writeFileSync(join(env.hostsDir, authRegistry.host, 'hosts.toml'), `server = "${authRegistry.url}"\n`);
    const target = `${authRegistry.host}/pushed/busybox:v2`;
    await assert.rejects(collect(client.PushImage({ image: env.image, target })), (e: any) => [7, 16].includes(e.code));
    const msgs = await collect<any>(client.PushImage({ image: env.image, target, auth }));
    const last = msgs.at(-1);
    assert.equal(last.done, true);
    assert.match(last.manifestDigest, /^sha256:[a-f0-9]{64}$/);
    assert.equal(last.reference, target);
    assert.ok(msgs.some((m) => m.kind === 'layer' && m.status === 'pushed'), 'a layer was uploaded');
    assert.ok(msgs.some((m) => m.kind === 'config' && m.status === 'pushed'), 'the config was uploaded');

    // The registry has it: pull by digest over CRI with the same credentials after forgetting the tag locally.
    const byDigest = `${authRegistry.host}/pushed/busybox@${last.manifestDigest}`;
    const pulled = await new Promise<any>((r, j) =>
      env.berthd.clients.image.PullImage({ image: { image: byDigest }, auth }, (e: Error | null, x: any) => (e ? j(e) : r(x))),
    );
    const status = await new Promise<any>((r, j) => env.berthd.clients.image.ImageStatus({ image: { image: env.image } }, (e: Error | null, x: any) => (e ? j(e) : r(x))));
    assert.equal(pulled.imageRef, status.image.id);
    assert.ok(status.image.repoDigests.includes(byDigest), `repoDigests: ${status.image.repoDigests}`);
  });

  it('SaveImage docker-archive: skopeo inspects it and copies it to an OCI layout', async () => {
    const file = join(env.tmp, 'saved-docker.tar');
    await saveTo(client, { images: [env.image], format: 'DOCKER_ARCHIVE' }, file);
    const info = JSON.parse(await skopeo(['inspect', `docker-archive:${file}`]));
    const st = await new Promise<any>((r, j) => env.berthd.clients.image.ImageStatus({ image: { image: env.image }, verbose: true }, (e: Error | null, x: any) => (e ? j(e) : r(x))));
    const cfg = JSON.parse(st.info.info).imageSpec;
    assert.deepEqual(info.Layers.length, cfg.rootfs.diff_ids.length);
    assert.equal(info.Architecture, 'amd64');
    assert.deepEqual(info.RepoTags ?? [], []);
    const oci = join(env.tmp, 'copied-oci');
    await skopeo(['--insecure-policy', 'copy', '--quiet', `docker-archive:${file}`, `oci:${oci}:copied`]);
    assert.ok(readdirSync(join(oci, 'blobs', 'sha256')).length >= 3);
    const raw = JSON.parse(await skopeo(['inspect', '--config', '--raw', `oci:${oci}:copied`]));
    assert.deepEqual(raw.rootfs.diff_ids, cfg.rootfs.diff_ids);
  });

  it('SaveImage OCI archive: skopeo inspects it; the image keeps its layers and digest', async () => {
    const file = join(env.tmp, 'saved-oci.tar');
    await saveTo(client, { images: [env.image], format: 'OCI_ARCHIVE' }, file);
    const info = JSON.parse(await skopeo(['inspect', `oci-archive:${file}`]));
    const st = await new Promise<any>((r, j) => env.berthd.clients.image.ImageStatus({ image: { image: env.image }, verbose: true }, (e: Error | null, x: any) => (e ? j(e) : r(x))));
    const verbose = JSON.parse(st.info.info);
    assert.equal(info.Digest, verbose.manifestDigest);
    assert.equal(info.Layers.length, verbose.imageSpec.rootfs.diff_ids.length);
  });

  for (const format of ['docker-archive', 'oci-archive'] as const) {
    it(`LoadImage of a ${format} made by skopeo: listed with its tag, and it runs`, async () => {
      const file = join(env.tmp, `skopeo-${format}.tar`);
      const name = `berth.test/loaded/${format.replace('-archive', '')}:v1`;
      await skopeo(['--insecure-policy', 'copy', '--quiet', '--src-tls-verify=false', `docker://${env.image}`, `${format}:${file}:${name}`]);
      const res = await loadFrom(client, file);
      assert.equal(res.images.length, 1);
      assert.deepEqual(res.images[0]!.tags, [name]);
      const st = await new Promise<any>((r, j) => env.berthd.clients.image.ImageStatus({ image: { image: name } }, (e: Error | null, x: any) => (e ? j(e) : r(x))));
      assert.equal(st.image.id, res.images[0]!.id);
      const pod = await env.runPod(`load-${format}`);
      const id = await env.createContainer(pod, 'c', ['sleep', '300'], { image: name });
      const out = await env.exec(id, ['echo', `loaded ${format}`]);
      assert.equal(out.exitCode, 0);
      assert.equal(out.stdout, `loaded ${format}\n`);
      await env.call('RemovePodSandbox', { podSandboxId: pod.id }).catch(async () => {
        await env.call('StopPodSandbox', { podSandboxId: pod.id });
        await env.call('RemovePodSandbox', { podSandboxId: pod.id });
      });
    });
  }

  it('a Docker schema-2 image: both archive formats are read by skopeo and load back into berth as the same image', async () => {
    const pushed = await pushBusyboxImage(env.registry.url, 'test/dockerfmt', { tag: 'v1', format: 'docker', extraLayers: [[{ path: 'd', type: 'file', content: 'd' }]] });
    const ref = pushed.reference;
    const id = (await new Promise<any>((r, j) => env.berthd.clients.image.PullImage({ image: { image: ref } }, (e: Error | null, x: any) => (e ? j(e) : r(x))))).imageRef;
    for (const [format, transport] of [['DOCKER_ARCHIVE', 'docker-archive'], ['OCI_ARCHIVE', 'oci-archive']] as const) {
      const file = join(env.tmp, `dockerfmt-${transport}.tar`);
      await saveTo(client, { images: [ref], format }, file);
      const info = JSON.parse(await skopeo(['inspect', `${transport}:${file}`]));
      assert.equal(info.Layers.length, 2, transport);
      await new Promise<void>((r, j) => env.berthd.clients.image.RemoveImage({ image: { image: id } }, (e: Error | null) => (e ? j(e) : r())));
      const res = await loadFrom(client, file);
      assert.deepEqual(res.images, [{ id, tags: [ref] }], transport);
    }
  });

  it('LoadImage of something that is not an image archive answers INVALID_ARGUMENT and leaves no temp dir', async () => {
    const file = join(env.tmp, 'junk.bin');
    writeFileSync(file, Buffer.alloc(4096, 1));
    await assert.rejects(loadFrom(client, file), (e: any) => e.code === 3);
    assert.deepEqual(readdirSync(join(env.berthd.root, 'tmp')), []);
  });
});
