// Pulls through berthd against registries that misbehave or need more than plain http: htpasswd +
// TLS with a test CA, a proxy that corrupts a layer, a proxy that counts blob downloads (concurrent
// pulls share one), and a proxy that stalls a big layer so berthd can be SIGKILLed mid-pull.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as Code } from '@grpc/grpc-js';
import { startBerthd, call, type RunningBerthd } from '../helpers/berthd';
import { startRegistry, type RegistryOptions, type TestRegistry } from '../helpers/registry';
import { makeTestPki, type TestPki } from '../helpers/tls';
import { buildBusyboxImage, pushBusyboxImage, pushFixture } from '../helpers/fixtures';
import { snapshotHost, assertNoLeaks, type HostSnapshot } from '../helpers/leaks';

interface CriImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
}

interface GrpcError extends Error {
  code: number;
  details: string;
}

class Env {
  hostsDir!: string;
  registry!: TestRegistry;
  berthd!: RunningBerthd;
  proxies: Proxy[] = [];
  private before!: HostSnapshot;
  readonly tmp = mkdtempSync(join(tmpdir(), 'berth-image-it-'));

  static async start(opts: { registry?: RegistryOptions; hosts?: (env: Env) => string; configToml?: (env: Env) => string } = {}): Promise<Env> {
    const e = new Env();
    e.before = snapshotHost();
    e.hostsDir = join(e.tmp, 'certs.d');
    e.registry = await startRegistry(opts.registry);
    e.writeHosts(e.registry.host, opts.hosts ? opts.hosts(e) : `server = "${e.registry.url}"\n`);
    e.berthd = await startBerthd({ registryConfigDir: e.hostsDir, configToml: opts.configToml?.(e) });
    return e;
  }

  writeHosts(host: string, toml: string): void {
    mkdirSync(join(this.hostsDir, host), { recursive: true });
    writeFileSync(join(this.hostsDir, host, 'hosts.toml'), toml);
  }

  async proxy(opts: ProxyOptions = {}): Promise<Proxy> {
    const p = await startProxy(this.registry.url, opts);
    this.proxies.push(p);
    this.writeHosts(p.host, `server = "${p.url}"\n`);
    return p;
  }

  async restart(configToml?: string): Promise<void> {
    const { base, root, state } = this.berthd;
    this.berthd = await startBerthd({ registryConfigDir: this.hostsDir, dirs: { base, root, state }, configToml });
  }

  async pull(ref: string, auth?: object): Promise<string> {
    const res = await call<object, { imageRef: string }>(this.berthd.clients.image, 'PullImage', { image: { image: ref }, ...(auth ? { auth } : {}) });
    return res.imageRef;
  }

  async pullError(ref: string, auth?: object): Promise<GrpcError> {
    try {
      await this.pull(ref, auth);
    } catch (e) {
      return e as GrpcError;
    }
    assert.fail(`pull of ${ref} succeeded but should have failed`);
  }

  async list(): Promise<CriImage[]> {
    return (await call<object, { images: CriImage[] }>(this.berthd.clients.image, 'ListImages', {})).images;
  }

  async usedBytes(): Promise<number> {
    const res = await call<object, { imageFilesystems: Array<{ usedBytes: { value: string } }> }>(this.berthd.clients.image, 'ImageFsInfo', {});
    return Number(res.imageFilesystems[0]!.usedBytes.value);
  }

  /** Files berthd would have to clean up: blob ingests and layer extraction dirs. */
  leftovers(): string[] {
    const root = this.berthd.root;
    const ingest = join(root, 'content/ingest');
    const snaps = join(root, 'snapshots');
    return [
      ...(existsSync(ingest) ? readdirSync(ingest).map((n) => `ingest/${n}`) : []),
      ...(existsSync(snaps) ? readdirSync(snaps).filter((n) => n.startsWith('extract-') || n.includes('.tmp')).map((n) => `snapshots/${n}`) : []),
    ];
  }

  async close(): Promise<void> {
    const root = this.berthd?.root;
    const base = this.berthd?.base;
    const pids = [this.berthd?.pid, this.registry?.pid].filter((p): p is number => p !== undefined);
    try {
      await this.berthd?.destroy();
      for (const p of this.proxies) await p.stop();
      await this.registry?.stop();
      for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/, `process ${pid} is gone`);
      await assertNoLeaks(this.before, { mountDirs: [this.tmp, ...(root ? [root] : [])], processCmdlineIncludes: [this.tmp, ...(base ? [base] : [])] });
    } finally {
      rmSync(this.tmp, { recursive: true, force: true });
    }
  }
}

async function withEnv(opts: Parameters<typeof Env.start>[0], fn: (env: Env) => Promise<void>): Promise<void> {
  const env = await Env.start(opts);
  try {
    await fn(env);
    assert.doesNotMatch(env.berthd.logs(), /unhandled rejection|uncaught/i, 'berthd logged no unhandled errors');
  } catch (e) {
    const tail = env.berthd?.logs().split('\n').slice(-40).join('\n');
    throw new Error(`${(e as Error).message}\n--- berthd log (tail) ---\n${tail}`, { cause: e });
  } finally {
    await env.close();
  }
}

// ---- a tiny HTTP proxy in front of the registry -------------------------------------------------

interface ProxyOptions {
  /** Flip one byte in the middle of this blob (same length, so only the digest check can notice). */
  corruptDigest?: string;
  /** Send this blob's first `afterBytes` bytes, then hold the rest until `gate` resolves. */
  stall?: { digest: string; afterBytes: number; gate: Promise<void> };
}

interface Proxy {
  url: string;
  host: string;
  /** GET /v2/<name>/blobs/<digest> count per digest. */
  blobGets: Map<string, number>;
  /** Resolves once the stalled blob's first `afterBytes` were sent. */
  stalled: Promise<void>;
  stop(): Promise<void>;
}

async function startProxy(upstream: string, opts: ProxyOptions): Promise<Proxy> {
  const blobGets = new Map<string, number>();
  const sockets = new Set<Socket>();
  let markStalled!: () => void;
  const stalled = new Promise<void>((r) => (markStalled = r));
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const m = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(req.url ?? '');
    const digest = m?.[1];
    if (digest && req.method === 'GET') blobGets.set(digest, (blobGets.get(digest) ?? 0) + 1);
    const up = httpRequest(`${upstream}${req.url}`, { method: req.method, headers: { ...req.headers, host: new URL(upstream).host } }, async (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      try {
        if (digest && req.method === 'GET' && digest === opts.corruptDigest && ur.statusCode === 200) {
          const chunks: Buffer[] = [];
          for await (const c of ur) chunks.push(c as Buffer);
          const body = Buffer.concat(chunks);
          body[body.length >> 1] ^= 0x01;
          res.end(body);
          return;
        }
        if (digest && req.method === 'GET' && digest === opts.stall?.digest && ur.statusCode === 200) {
          let sent = 0;
          for await (const c of ur) {
            const chunk = c as Buffer;
            if (sent < opts.stall.afterBytes && sent + chunk.length >= opts.stall.afterBytes) {
              const head = opts.stall.afterBytes - sent;
              res.write(chunk.subarray(0, head));
              sent += head;
              markStalled();
              await opts.stall.gate;
              if (res.destroyed) return;
              res.write(chunk.subarray(head));
              sent += chunk.length - head;
            } else {
              if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
              sent += chunk.length;
            }
            if (res.destroyed) return;
          }
          res.end();
          return;
        }
        ur.pipe(res);
      } catch {
        res.destroy();
      }
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  };
  const server: Server = createServer(handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    blobGets,
    stalled,
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

// ---- tests ----------------------------------------------------------------------------------------

test('credentials from the config: an auth_file read again when it changes, [image.auths] tables; the request wins; Status hides them', async () => {
  const pki: TestPki = makeTestPki();
  const creds = { username: 'kube', password: 's3cret-pw' };
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  let authFile = '';
  try {
    await withEnv(
      {
        registry: { auth: creds, tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert } },
        hosts: (e) => `server = "${e.registry.url}"\nca = "${pki.caCert}"\n`,
        configToml: (e) => {
          authFile = join(e.tmp, 'kubelet-config.json');
          return `[image]\nauth_file = "${authFile}"\n`;
        },
      },
      async (env) => {
        const pushed = await pushBusyboxImage(env.registry.url, 'private/cfg', { tag: 'v1', hostsDir: env.hostsDir, auth: creds });
        const remove = (id: string) => call(env.berthd.clients.image, 'RemoveImage', { image: { image: id } });
        const fileWith = (password: string) =>
          writeFileSync(authFile, JSON.stringify({ auths: { [env.registry.host]: { auth: b64(`${creds.username}:${password}`) } } }));

        const none = await env.pullError(pushed.reference);
        assert.equal(none.code, Code.PERMISSION_DENIED, `no auth file yet: ${none.message}`);

        fileWith(creds.password);
        const id = await env.pull(pushed.reference);
        assert.equal(id, pushed.image.config.descriptor.digest, 'credentials from the auth file');
        await remove(id);

        fileWith('wrong-password');
        const wrong = await env.pullError(pushed.reference);
        assert.equal(wrong.code, Code.PERMISSION_DENIED, `the rewritten file is used: ${wrong.message}`);
        assert.equal(await env.pull(pushed.reference, creds), id, 'credentials in the request win over the file');
        await remove(id);

        await env.berthd.stop();
        await env.restart(
          `[image]\nauth_file = "${authFile}"\n[image.auths."${env.registry.host}"]\nusername = "${creds.username}"\npassword = "${creds.password}"\n`,
        );
        assert.equal(await env.pull(pushed.reference), id, 'a [image.auths] table wins over the (wrong) file');
        const status = await call<object, { info: Record<string, string> }>(env.berthd.clients.runtime, 'Status', { verbose: true });
        assert.match(status.info.config ?? '', /<redacted>/);
        assert.doesNotMatch(JSON.stringify(status), /s3cret-pw/, 'Status does not show the password');
      },
    );
  } finally {
    pki.cleanup();
  }
});

test('htpasswd + TLS with a test CA: right credentials pull; wrong or none are PERMISSION_DENIED', async () => {
  const pki: TestPki = makeTestPki();
  const creds = { username: 'kube', password: 's3cret-pw' };
  try {
    await withEnv(
      {
        registry: { auth: creds, tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert } },
        hosts: (e) => `server = "${e.registry.url}"\nca = "${pki.caCert}"\n`,
      },
      async (env) => {
        assert.match(env.registry.url, /^https:/);
        const pushed = await pushBusyboxImage(env.registry.url, 'private/bb', { tag: 'v1', hostsDir: env.hostsDir, auth: creds });

        const noCreds = await env.pullError(pushed.reference);
        assert.equal(noCreds.code, Code.PERMISSION_DENIED, `no credentials: ${noCreds.message}`);
        assert.match(noCreds.details, /credential|401|unauthori/i);

        const wrong = await env.pullError(pushed.reference, { username: creds.username, password: 'wrong' });
        assert.equal(wrong.code, Code.PERMISSION_DENIED, `wrong password: ${wrong.message}`);
        assert.match(wrong.details, /401|credential|unauthori|denied/i);
        assert.deepEqual(await env.list(), []);

        const id = await env.pull(pushed.reference, creds);
        assert.equal(id, pushed.image.config.descriptor.digest);
        // The kubelet may also send the docker-config "auth" field (base64 user:password).
        await call(env.berthd.clients.image, 'RemoveImage', { image: { image: id } });
        const auth = Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
        assert.equal(await env.pull(pushed.reference, { auth }), id);

        // Without the CA the TLS handshake must fail clearly, not as INTERNAL.
        env.writeHosts(env.registry.host, `server = "${env.registry.url}"\n`);
        await call(env.berthd.clients.image, 'RemoveImage', { image: { image: id } });
        const noCa = await env.pullError(pushed.reference, creds);
        assert.equal(noCa.code, Code.UNAVAILABLE, `untrusted CA: ${noCa.message}`);
        assert.match(noCa.details, /TLS|certificate/i);
      },
    );
  } finally {
    pki.cleanup();
  }
});

test('a layer blob corrupted in transit fails the pull with a digest error and leaves nothing behind', async () => {
  await withEnv({}, async (env) => {
    // A base image pulled first, so the pre-pull usage is not trivially zero.
    await pushBusyboxImage(env.registry.url, 'test/base', { tag: 'v1' });
    await pushFixture(
      env.registry.url,
      'test/bad',
      'v1',
      await buildBusyboxImage({
        extraLayers: [
          // Compressible, so a flipped bit breaks the deflate stream itself (the unpacker fails first).
          [{ path: 'payload', type: 'file', content: Array.from({ length: 20000 }, (_, i) => `line ${i} of the payload\n`).join('') }],
          [{ path: 'more', type: 'file', content: randomBytes(32 * 1024) }],
        ],
      }),
    );
    const proxy = await env.proxy();
    await env.pull(`${proxy.host}/test/base:v1`);
    const baseline = await env.usedBytes();
    assert.ok(baseline > 0);
    const contentBefore = readdirSync(join(env.berthd.root, 'content/sha256')).sort();
    const snapsBefore = readFileSync(join(env.berthd.root, 'snapshots/meta.json'), 'utf8');

    const manifest = JSON.parse(
      Buffer.from(await (await fetch(`${env.registry.url}/v2/test/bad/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).arrayBuffer()).toString(),
    ) as { layers: Array<{ digest: string }> };
    assert.equal(manifest.layers.length, 3);
    const target = manifest.layers[1]!.digest;

    const corrupting = await env.proxy({ corruptDigest: target });
    const err = await env.pullError(`${corrupting.host}/test/bad:v1`);
    assert.equal(corrupting.blobGets.get(target), 1, 'the corrupted layer was fetched through the proxy');
    assert.notEqual(err.code, Code.INTERNAL, `not INTERNAL: ${err.message}`);
    assert.notEqual(err.code, Code.UNKNOWN, `not UNKNOWN: ${err.message}`);
    assert.match(err.details, /digest mismatch/i);
    assert.equal(err.code, Code.FAILED_PRECONDITION, err.details);
    assert.ok(err.details.includes(target), `the error names the layer: ${err.details}`);

    assert.deepEqual((await env.list()).map((i) => i.repoTags), [[`${proxy.host}/test/base:v1`]], 'no image recorded');
    // Failed pulls clean up after themselves (possibly just after answering).
    const deadline = Date.now() + 5000;
    while ((await env.usedBytes()) !== baseline && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await env.usedBytes(), baseline, 'ImageFsInfo is back to the pre-pull value');
    assert.deepEqual(readdirSync(join(env.berthd.root, 'content/sha256')).sort(), contentBefore, 'no new blobs');
    assert.equal(readFileSync(join(env.berthd.root, 'snapshots/meta.json'), 'utf8'), snapsBefore, 'no new snapshots');
    assert.deepEqual(env.leftovers(), []);

    // Through an honest path the same image pulls fine afterwards.
    assert.match(await env.pull(`${proxy.host}/test/bad:v1`), /^sha256:/);
  });
});

test('five concurrent pulls of one image share one download and return one id', async () => {
  await withEnv({}, async (env) => {
    const pushed = await pushBusyboxImage(env.registry.url, 'test/conc', {
      tag: 'v1',
      extraLayers: [[{ path: 'blob1', type: 'file', content: randomBytes(512 * 1024) }]],
    });
    const proxy = await env.proxy();
    const byTag = `${proxy.host}/test/conc:v1`;
    const byDigest = `${proxy.host}/test/conc@${pushed.digest}`;
    const ids = await Promise.all([byTag, byTag, byDigest, byTag, byDigest].map((r) => env.pull(r)));
    assert.deepEqual(new Set(ids), new Set([pushed.image.config.descriptor.digest]));
    for (const l of pushed.image.layers) assert.equal(proxy.blobGets.get(l.digest), 1, `layer ${l.digest} downloaded once`);
    assert.equal(proxy.blobGets.get(pushed.image.config.descriptor.digest), 1, 'config downloaded once');
    const images = await env.list();
    assert.equal(images.length, 1);
    assert.deepEqual(images[0]!.repoTags, [byTag]);
    assert.deepEqual(images[0]!.repoDigests, [byDigest]);
  });
});

test('restart keeps images; SIGKILL mid-pull leaves no half image, no leftovers, and a new pull works', async () => {
  await withEnv({}, async (env) => {
    const small = await pushBusyboxImage(env.registry.url, 'test/small', { tag: 'v1' });
    const big = await pushFixture(
      env.registry.url,
      'test/big',
      'v1',
      await buildBusyboxImage({ extraLayers: [[{ path: 'big', type: 'file', content: randomBytes(6 * 1024 * 1024) }]] }),
    );
    const smallId = await env.pull(small.reference);
    const before = await env.list();

    assert.equal(await env.berthd.stop('SIGTERM'), 0, 'berthd exits 0 on SIGTERM');
    assert.equal(existsSync(env.berthd.socket), false, 'berthd removes its socket on SIGTERM');
    await env.restart();
    assert.deepEqual(await env.list(), before, 'same images after a clean restart');
    assert.equal((await call<object, { image: CriImage | null }>(env.berthd.clients.image, 'ImageStatus', { image: { image: small.reference } })).image?.id, smallId);

    const bigLayer = JSON.parse(
      Buffer.from(await (await fetch(`${env.registry.url}/v2/test/big/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).arrayBuffer()).toString(),
    ) as { layers: Array<{ digest: string; size: number }> };
    const layer = bigLayer.layers[1]!;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const proxy = await env.proxy({ stall: { digest: layer.digest, afterBytes: layer.size >> 1, gate } });
    const pulling = env.pull(`${proxy.host}/test/big:v1`).then(
      () => 'succeeded',
      (e: Error) => e.message,
    );
    await proxy.stalled;
    // Let the first half reach the ingest file and the unpacker.
    const until = Date.now() + 5000;
    while (env.leftovers().length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    const during = env.leftovers();
    assert.ok(during.some((l) => l.startsWith('ingest/')), `an ingest is in progress: ${during.join(', ')}`);
    assert.ok(during.some((l) => l.startsWith('snapshots/extract-')), `an extraction is in progress: ${during.join(', ')}`);
    const killedPid = env.berthd.pid;
    assert.equal(await env.berthd.stop('SIGKILL'), null);
    assert.throws(() => process.kill(killedPid, 0), /ESRCH/);
    assert.notEqual(await pulling, 'succeeded');
    release();

    // A SIGKILLed daemon leaves its socket behind; the helper waits for the socket file, so remove it.
    rmSync(join(env.berthd.state, 'berth.sock'), { force: true });
    await env.restart();
    assert.deepEqual(await env.list(), before, 'no half image listed after the crash');
    assert.deepEqual(env.leftovers(), [], 'start-up removed unfinished ingests and extractions');
    const meta = JSON.parse(readFileSync(join(env.berthd.root, 'snapshots/meta.json'), 'utf8')) as { snapshots: Record<string, { kind: string }> };
    assert.deepEqual(Object.values(meta.snapshots).map((s) => s.kind), ['committed'], 'only the small image snapshot exists');

    const plain = await env.proxy();
    const id = await env.pull(`${plain.host}/test/big:v1`);
    assert.match(id, /^sha256:/);
    assert.equal((await env.list()).length, 2);
  });
});
