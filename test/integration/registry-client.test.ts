// RegistryClient against real docker-registry processes (plain http, TLS + htpasswd, as a mirror)
// and against small node http servers that misbehave (tampered digests, stalls) on 127.0.0.1.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { hostPlatform, parseManifest, selectPlatform } from '../../src/image/manifest';
import { MediaType, type Descriptor, type ImageIndex, type ImageManifest } from '../../src/image/oci-types';
import { parseReference, withDigest, type ImageReference } from '../../src/image/reference';
import { RegistryClient, type RequestOptions } from '../../src/image/registry/client';
import { isBerthError, type BerthError, type ErrorKind } from '../../src/util/errors';
import { startRegistry, type TestRegistry } from '../helpers/registry';
import { makeTestPki, type TestPki } from '../helpers/tls';

const work = mkdtempSync(join(tmpdir(), 'berth-regclient-'));
const registries: TestRegistry[] = [];
const clients: RegistryClient[] = [];
const servers: Server[] = [];
let pki: TestPki | undefined;

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  for (const r of registries) await r.stop();
  pki?.cleanup();
  rmSync(work, { recursive: true, force: true });
  // Nothing we started may survive.
  for (const r of registries) assert.throws(() => process.kill(r.pid, 0), /ESRCH/, `registry pid ${r.pid} still alive`);
  assert.equal(existsSync(work), false);
  if (pki) assert.equal(existsSync(pki.dir), false);
});

let dirCount = 0;
function hostsDir(entries: Record<string, string>): string {
  const dir = join(work, `hosts-${dirCount++}`);
  for (const [host, text] of Object.entries(entries)) {
    mkdirSync(join(dir, host), { recursive: true });
    writeFileSync(join(dir, host, 'hosts.toml'), text);
  }
  return dir;
}

function client(dir: string | undefined, extra: ConstructorParameters<typeof RegistryClient>[0] = {}): RegistryClient {
  const c = new RegistryClient({ hostsDir: dir, retryBaseDelayMs: 10, progressTimeoutMs: 10_000, ...extra });
  clients.push(c);
  return c;
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const blob = (data: Buffer, mediaType: string): { desc: Descriptor; data: Buffer } => ({
  data,
  desc: { mediaType, digest: sha256(data), size: data.length },
});

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function rejectsWith(p: Promise<unknown>, kind: ErrorKind, re?: RegExp): Promise<BerthError> {
  try {
    await p;
  } catch (e) {
    assert.ok(isBerthError(e), `expected BerthError, got ${String(e)}`);
    assert.equal(e.kind, kind, `kind of: ${e.message}`);
    if (re) assert.match(e.message, re);
    return e;
  }
  assert.fail(`expected a ${kind} error`);
}

interface PushedImage {
  index: { desc: Descriptor; data: Buffer };
  manifests: Array<{ desc: Descriptor; data: Buffer; layers: Array<{ desc: Descriptor; data: Buffer }> }>;
}

/** Pushes a two-platform image (host platform + s390x) as an OCI index under `ref`'s tag. */
async function pushImage(c: RegistryClient, ref: ImageReference, opts: RequestOptions = {}): Promise<PushedImage> {
  const platforms = [hostPlatform(), { os: 'linux', architecture: 's390x' }];
  const manifests: PushedImage['manifests'] = [];
  for (const p of platforms) {
    const config = blob(Buffer.from(JSON.stringify({ architecture: p.architecture, os: p.os, rootfs: { type: 'layers', diff_ids: [] }, n: randomBytes(8).toString('hex') })), MediaType.OciConfig);
    const layers = [blob(randomBytes(200_000), MediaType.OciLayerGzip), blob(randomBytes(1234), MediaType.OciLayerZstd)];
    for (const b of [config, ...layers]) {
      const r = await c.pushBlob(ref, b.desc, () => b.data, opts);
      assert.equal(r.existed, false);
    }
    const m: ImageManifest = { schemaVersion: 2, mediaType: MediaType.OciManifest, config: config.desc, layers: layers.map((l) => l.desc) };
    const mb = blob(Buffer.from(JSON.stringify(m)), MediaType.OciManifest);
    assert.equal(await c.pushManifest(ref, MediaType.OciManifest, mb.data, mb.desc.digest, opts), mb.desc.digest);
    manifests.push({ ...mb, desc: { ...mb.desc, platform: p }, layers });
  }
  const idx: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: manifests.map((m) => m.desc) };
  const ib = blob(Buffer.from(JSON.stringify(idx)), MediaType.OciIndex);
  assert.equal(await c.pushManifest(ref, MediaType.OciIndex, ib.data, ref.tag!, opts), ib.desc.digest);
  return { index: ib, manifests };
}

/** Resolves `ref`, walks index → host platform manifest → layers, and checks every byte. */
async function pullAndCheck(c: RegistryClient, ref: ImageReference, img: PushedImage, opts: RequestOptions = {}): Promise<string> {
  const res = await c.resolve(ref, opts);
  assert.equal(res.descriptor.digest, img.index.desc.digest);
  assert.equal(res.descriptor.mediaType, MediaType.OciIndex);
  assert.equal(res.descriptor.size, img.index.data.length);
  assert.deepEqual(res.bytes, img.index.data);
  const parsed = parseManifest(res.bytes, res.descriptor.mediaType);
  assert.equal(parsed.kind, 'index');
  const chosen = selectPlatform((parsed as { index: ImageIndex }).index, hostPlatform());
  assert.equal(chosen.digest, img.manifests[0]!.desc.digest);
  const mbytes = await c.fetchManifest(ref, chosen.digest, opts);
  assert.deepEqual(mbytes, img.manifests[0]!.data);
  const m = parseManifest(mbytes, chosen.mediaType);
  assert.equal(m.kind, 'manifest');
  for (const [i, layer] of (m as { manifest: ImageManifest }).manifest.layers.entries()) {
    const data = await readAll(await c.fetchBlob(ref, layer, opts));
    assert.deepEqual(data, img.manifests[0]!.layers[i]!.data);
  }
  return res.endpoint;
}

test('plain-http registry configured in hosts.toml: push, resolve by tag and digest, fetch blobs', async () => {
  const reg = await startRegistry();
  registries.push(reg);
  const c = client(hostsDir({ [reg.host]: `server = "${reg.url}"\n` }));
  const ref = parseReference(`${reg.host}/berth/test:v1`);
  const img = await pushImage(c, ref);

  assert.equal(await pullAndCheck(c, ref, img), reg.url);
  const byDigest = await c.resolve(withDigest(ref, img.index.desc.digest));
  assert.deepEqual(byDigest.bytes, img.index.data);
  const both = await c.resolve(parseReference(`${reg.host}/berth/test:v1@${img.index.desc.digest}`));
  assert.equal(both.descriptor.digest, img.index.desc.digest);

  // Pushing again finds the blob in place.
  const layer = img.manifests[0]!.layers[0]!;
  assert.deepEqual(await c.pushBlob(ref, layer.desc, () => layer.data), { existed: true });

  const missing = await rejectsWith(c.resolve(parseReference(`${reg.host}/berth/test:nope`)), 'not-found', /MANIFEST_UNKNOWN/);
  assert.equal(missing.context.status, 404);
  assert.equal(missing.context.endpoint, reg.url);

  // A blob whose Content-Length exceeds its descriptor's size is refused up front.
  const short = { ...layer.desc, size: layer.desc.size - 10 };
  const err = await rejectsWith(c.fetchBlob(ref, short), 'failed-precondition', /200000 bytes, expected 199990/);
  assert.equal(err.context.digest, layer.desc.digest);

  // Without hosts.toml the same host is spoken to over https only: no silent downgrade to http.
  const noConfig = client(undefined, { retryAttempts: 1 });
  const e = await rejectsWith(noConfig.resolve(ref), 'unavailable', /TLS connection to https:/);
  assert.equal(e.context.endpoint, `https://${reg.host}`);
});

test('TLS + htpasswd registry: CA from hosts.toml, credentials, clear TLS and auth errors', async () => {
  pki = makeTestPki();
  const auth = { username: 'berth', password: `pw-${randomBytes(4).toString('hex')}` };
  const reg = await startRegistry({ auth, tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert } });
  registries.push(reg);
  const withCa = hostsDir({ [reg.host]: `server = "${reg.url}"\nca = "${pki.caCert}"\n` });
  const ref = parseReference(`${reg.host}/secure/img:1`);

  // Push with CRI-style credentials (base64 auth field); pull with credentials from the provider.
  const pusher = client(withCa);
  const img = await pushImage(pusher, ref, { auth: { auth: Buffer.from(`${auth.username}:${auth.password}`).toString('base64') } });
  const seenHosts: string[] = [];
  const puller = client(withCa, {
    credentials: (host) => {
      seenHosts.push(host);
      return host === reg.host ? auth : undefined;
    },
  });
  await pullAndCheck(puller, ref, img);
  assert.ok(seenHosts.includes(reg.host));

  // No CA configured → a TLS error that says what to configure.
  const noCa = client(hostsDir({ [reg.host]: `server = "${reg.url}"\n` }));
  const tlsErr = await rejectsWith(noCa.resolve(ref, { auth }), 'unavailable', /TLS connection to https:\/\/127\.0\.0\.1:\d+ failed.*ca/);
  assert.match(String(tlsErr.context.code), /CERT|SIGNATURE|ISSUER/);

  // Wrong or missing credentials → permission-denied (documented choice).
  const wrong = client(withCa);
  const denied = await rejectsWith(wrong.resolve(ref, { auth: { username: auth.username, password: 'wrong' } }), 'permission-denied', /401/);
  assert.equal(denied.context.status, 401);
  await rejectsWith(client(withCa).resolve(ref), 'permission-denied', /requires credentials/);
});

test('mirror via hosts.toml: example.test resolved through 127.0.0.1, no fallback to the upstream', async () => {
  const reg = await startRegistry();
  registries.push(reg);
  const direct = client(hostsDir({ [reg.host]: `server = "${reg.url}"\n` }));
  const img = await pushImage(direct, parseReference(`${reg.host}/foo:1`));

  const dir = hostsDir({ 'example.test': `[host."${reg.url}"]\n  capabilities = ["pull", "resolve"]\n` });
  const c = client(dir);
  const ref = parseReference('example.test/foo:1');
  assert.equal(await pullAndCheck(c, ref, img), reg.url);

  const miss = await rejectsWith(c.resolve(parseReference('example.test/foo:2')), 'not-found');
  assert.deepEqual(miss.context.endpoints, [reg.url]);
  assert.equal(miss.context.url, `${reg.url}/v2/foo/manifests/2`);
  // The mirror may not be pushed to, and nothing else is configured.
  await rejectsWith(c.pushManifest(ref, MediaType.OciIndex, img.index.data, '9'), 'failed-precondition', /push/);
});

/** A node http server on 127.0.0.1 with a custom handler. */
async function fakeRegistry(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; host: string }> {
  const srv = createServer(handler);
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}` };
}

test('tampered manifests are detected', async () => {
  const real = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] }));
  const evil = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [], x: 1 }));
  const fake = await fakeRegistry((req, res) => {
    if (req.url?.startsWith('/v2/t/manifests/')) {
      res.writeHead(200, { 'content-type': MediaType.OciIndex, 'docker-content-digest': sha256(real) });
      res.end(evil);
    } else res.writeHead(404).end();
  });
  const c = client(hostsDir({ [fake.host]: `server = "${fake.url}"\n` }));
  const ref = parseReference(`${fake.host}/t:latest`);
  const byDigest = await rejectsWith(c.resolve(withDigest(ref, sha256(real))), 'failed-precondition', /digest mismatch/);
  assert.equal(byDigest.context.actual, sha256(evil));
  await rejectsWith(c.fetchManifest(ref, sha256(real)), 'failed-precondition', /digest mismatch/);
  // By tag, the Docker-Content-Digest header is checked.
  await rejectsWith(c.resolve(ref), 'failed-precondition', /Docker-Content-Digest/);
});

test('progress deadline: a server that stalls mid-body or before headers', async () => {
  const digest = `sha256:${'1'.repeat(64)}`;
  let manifestHits = 0;
  const fake = await fakeRegistry((req, res) => {
    if (req.url?.includes('/blobs/')) {
      res.writeHead(200, { 'content-length': '1000', 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(100)); // then nothing
    } else if (req.url?.includes('/manifests/')) {
      manifestHits++; // never answer
    }
  });
  const c = client(hostsDir({ [fake.host]: `server = "${fake.url}"\n` }), { retryAttempts: 2 });
  const ref = parseReference(`${fake.host}/slow:1`);
  const desc: Descriptor = { mediaType: MediaType.OciLayerGzip, digest, size: 1000 };
  const t0 = Date.now();
  const stream = await c.fetchBlob(ref, desc, { progressTimeoutMs: 300 });
  const err = await rejectsWith(readAll(stream), 'deadline-exceeded', new RegExp(`blob ${digest}.*${fake.host.replace(/\./g, '\\.')}`));
  assert.ok(Date.now() - t0 >= 250, 'fired too early');
  assert.equal(err.context.host, fake.host);

  await rejectsWith(c.resolve(ref, { progressTimeoutMs: 200 }), 'deadline-exceeded', /no data received/);
  assert.equal(manifestHits, 2, 'a stalled request before headers is retried (retryAttempts = 2)');
});

test('cancellation via AbortSignal, before headers and mid-stream', async () => {
  const fake = await fakeRegistry((req, res) => {
    if (req.url?.includes('/blobs/')) {
      res.writeHead(200, { 'content-length': '1000' });
      res.write(Buffer.alloc(10));
    }
  });
  const c = client(hostsDir({ [fake.host]: `server = "${fake.url}"\n` }));
  const ref = parseReference(`${fake.host}/c:1`);
  const desc: Descriptor = { mediaType: MediaType.OciLayerGzip, digest: `sha256:${'2'.repeat(64)}`, size: 1000 };

  const ac = new AbortController();
  const stream = await c.fetchBlob(ref, desc, { signal: ac.signal });
  setTimeout(() => ac.abort(), 100);
  await rejectsWith(readAll(stream), 'cancelled');

  const ac2 = new AbortController();
  setTimeout(() => ac2.abort(), 100);
  await rejectsWith(c.resolve(ref, { signal: ac2.signal }), 'cancelled');
  await rejectsWith(c.resolve(ref, { signal: AbortSignal.abort() }), 'cancelled');
});
