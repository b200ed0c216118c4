// RegistryClient protocol details against in-process fake registries on 127.0.0.1:
// token auth, redirects, retries, endpoint fallback, uploads, size enforcement.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MediaType, type Descriptor } from '../../../src/image/oci-types';
import { parseReference } from '../../../src/image/reference';
import { RegistryClient } from '../../../src/image/registry/client';
import { isBerthError, type BerthError, type ErrorKind } from '../../../src/util/errors';

const work = mkdtempSync(join(tmpdir(), 'berth-regunit-'));
const servers: Server[] = [];
const clients: RegistryClient[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  rmSync(work, { recursive: true, force: true });
});

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
async function serve(handler: Handler): Promise<{ url: string; host: string }> {
  const srv = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks)));
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}` };
}

let n = 0;
function clientFor(hosts: Record<string, string>, opts: ConstructorParameters<typeof RegistryClient>[0] = {}): RegistryClient {
  const dir = join(work, `h${n++}`);
  for (const [h, text] of Object.entries(hosts)) {
    mkdirSync(join(dir, h), { recursive: true });
    writeFileSync(join(dir, h, 'hosts.toml'), text);
  }
  const c = new RegistryClient({ hostsDir: dir, retryBaseDelayMs: 5, progressTimeoutMs: 5000, ...opts });
  clients.push(c);
  return c;
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] }));

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

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('bearer token flow: challenge, token with Basic creds, access_token accepted, token cached per scope', async () => {
  const tokenRequests: URL[] = [];
  const tokenAuth: Array<string | undefined> = [];
  const auth = await serve((req, res) => {
    const u = new URL(req.url!, 'http://x');
    tokenRequests.push(u);
    tokenAuth.push(req.headers.authorization);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ access_token: `tok-${u.searchParams.get('scope')}`, expires_in: 300 }));
  });
  const seen: Array<string | undefined> = [];
  const reg = await serve((req, res) => {
    seen.push(req.headers.authorization);
    if (req.headers.authorization !== 'Bearer tok-repository:lib/app:pull') {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${auth.url}/token",service="fake",scope="repository:lib/app:pull"` });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    res.writeHead(200, { 'content-type': MediaType.OciIndex });
    res.end(manifest);
  });
  const c = clientFor({ [reg.host]: `server = "${reg.url}"` });
  const ref = parseReference(`${reg.host}/lib/app:1`);
  const creds = { username: 'u', password: 'p' };
  const r1 = await c.resolve(ref, { auth: creds });
  assert.equal(r1.descriptor.digest, sha256(manifest));
  await c.resolve(ref, { auth: creds });
  assert.equal(tokenRequests.length, 1, 'token reused from cache');
  assert.equal(tokenRequests[0]!.searchParams.get('service'), 'fake');
  assert.equal(tokenRequests[0]!.searchParams.get('scope'), 'repository:lib/app:pull');
  assert.equal(tokenAuth[0], `Basic ${Buffer.from('u:p').toString('base64')}`);
  // first request unauthenticated, then token; the second resolve authenticates up front
  assert.deepEqual(seen, [undefined, 'Bearer tok-repository:lib/app:pull', 'Bearer tok-repository:lib/app:pull']);
});

test('token server rejecting credentials → permission-denied', async () => {
  const auth = await serve((_req, res) => res.writeHead(401).end());
  const reg = await serve((_req, res) => {
    res.writeHead(401, { 'www-authenticate': `Bearer realm="${auth.url}/token",service="s"` }).end();
  });
  const c = clientFor({ [reg.host]: `server = "${reg.url}"` });
  await rejectsWith(c.resolve(parseReference(`${reg.host}/a:1`), { auth: { username: 'x', password: 'y' } }), 'permission-denied', /rejected the credentials/);
});

test('redirect to another origin drops the registry Authorization and configured headers', async () => {
  const data = Buffer.from('blob-bytes-0123456789');
  const desc: Descriptor = { mediaType: MediaType.OciLayerGzip, digest: sha256(data), size: data.length };
  const storageHeaders: IncomingMessage['headers'][] = [];
  const storage = await serve((req, res) => {
    storageHeaders.push(req.headers);
    res.writeHead(200, { 'content-length': String(data.length) });
    res.end(data);
  });
  const reg = await serve((req, res) => {
    if (!req.headers.authorization) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
      return;
    }
    assert.equal(req.headers['x-mirror-key'], 'k');
    res.writeHead(307, { location: `${storage.url.replace('127.0.0.1', 'localhost')}/bucket/obj?sig=1` }).end();
  });
  const c = clientFor({ [reg.host]: `server = "${reg.url}"\n[header]\nx-mirror-key = "k"\n` });
  const s = await c.fetchBlob(parseReference(`${reg.host}/a/b:1`), desc, { auth: { username: 'u', password: 'p' } });
  assert.deepEqual(await readAll(s), data);
  assert.equal(storageHeaders.length, 1);
  assert.equal(storageHeaders[0]!.authorization, undefined);
  assert.equal(storageHeaders[0]!['x-mirror-key'], undefined);
});

test('retries 5xx with backoff, bounded; error carries status and registry code', async () => {
  let hits = 0;
  const data = Buffer.from('x'.repeat(50));
  const desc: Descriptor = { mediaType: MediaType.OciLayer, digest: sha256(data), size: data.length };
  const reg = await serve((req, res) => {
    hits++;
    if (req.url!.includes('/fail/') || hits < 3) {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'try later' }] }));
      return;
    }
    res.writeHead(200).end(data);
  });
  const c = clientFor({ [reg.host]: `server = "${reg.url}"` });
  assert.deepEqual(await readAll(await c.fetchBlob(parseReference(`${reg.host}/ok:1`), desc)), data);
  assert.equal(hits, 3);
  hits = 0;
  const e = await rejectsWith(c.fetchBlob(parseReference(`${reg.host}/fail/x:1`), desc), 'unavailable', /HTTP 503 \(UNAVAILABLE: try later\)/);
  assert.equal(hits, 4, 'four attempts, then give up');
  assert.equal(e.context.status, 503);
  assert.equal(e.context.registryCode, 'UNAVAILABLE');
});

test('endpoints in order: mirror 404 → upstream; all failing → aggregated error with per-endpoint reasons', async () => {
  const mirror = await serve((_req, res) => res.writeHead(404).end());
  const upstream = await serve((req, res) => {
    if (req.url!.includes('/only-here/')) res.writeHead(200, { 'content-type': MediaType.OciIndex }).end(manifest);
    else res.writeHead(500).end('boom');
  });
  const host = 'reg.example';
  const c = clientFor(
    { [host]: `server = "${upstream.url}"\n[host."${mirror.url}"]\ncapabilities = ["pull", "resolve"]\n` },
    { retryAttempts: 1 },
  );
  const ok = await c.resolve(parseReference(`${host}/only-here:1`));
  assert.equal(ok.endpoint, upstream.url);
  const e = await rejectsWith(c.resolve(parseReference(`${host}/gone:1`)), 'unavailable', /all 2 endpoints failed.*HTTP 404.*HTTP 500/);
  assert.deepEqual(e.context.endpoints, [mirror.url, upstream.url]);
  assert.deepEqual((e.context.failures as Array<{ kind: string }>).map((f) => f.kind), ['not-found', 'unavailable']);
});

test('blob stream without Content-Length fails when more than desc.size bytes arrive', async () => {
  const reg = await serve((_req, res) => {
    res.writeHead(200); // chunked
    res.write(Buffer.alloc(60));
    res.end(Buffer.alloc(60));
  });
  const c = clientFor({ [reg.host]: `server = "${reg.url}"` });
  const desc: Descriptor = { mediaType: MediaType.OciLayer, digest: `sha256:${'3'.repeat(64)}`, size: 100 };
  await rejectsWith(readAll(await c.fetchBlob(parseReference(`${reg.host}/big:1`), desc)), 'failed-precondition', /more than the expected 100 bytes/);
});

test('pushBlob: HEAD, POST, PUT to an absolute Location keeping its query; pushManifest returns the digest', async () => {
  const data = Buffer.from('layer-data');
  const desc: Descriptor = { mediaType: MediaType.OciLayer, digest: sha256(data), size: data.length };
  const log: string[] = [];
  let stored: Buffer | undefined;
  let storedManifest: { type?: string; body: Buffer } | undefined;
  const reg = await serve((req, res, body) => {
    log.push(`${req.method} ${req.url}`);
    const u = new URL(req.url!, 'http://x');
    if (req.method === 'HEAD') return void res.writeHead(stored ? 200 : 404).end();
    if (req.method === 'POST') return void res.writeHead(202, { location: `http://${req.headers.host}/upload/abc?_state=s1` }).end();
    if (req.method === 'PUT' && u.pathname === '/upload/abc') {
      assert.equal(u.searchParams.get('_state'), 's1');
      assert.equal(u.searchParams.get('digest'), desc.digest);
      stored = body;
      return void res.writeHead(201).end();
    }
    if (req.method === 'PUT' && u.pathname.includes('/manifests/')) {
      storedManifest = { type: req.headers['content-type'], body };
      return void res.writeHead(201, { 'docker-content-digest': sha256(body) }).end();
    }
    res.writeHead(400).end();
  });
  const c = clientFor({ [reg.host]: `server = "${reg.url}"` });
  const ref = parseReference(`${reg.host}/p/q:1`);
  assert.deepEqual(await c.pushBlob(ref, desc, () => Readable.from([data])), { existed: false });
  assert.deepEqual(stored, data);
  assert.deepEqual(await c.pushBlob(ref, desc, () => data), { existed: true });
  assert.deepEqual(log.slice(0, 3), [`HEAD /v2/p/q/blobs/${desc.digest}`, 'POST /v2/p/q/blobs/uploads/', `PUT /upload/abc?_state=s1&digest=${encodeURIComponent(desc.digest)}`]);
  assert.equal(await c.pushManifest(ref, MediaType.OciIndex, manifest, 'v1'), sha256(manifest));
  assert.equal(storedManifest?.type, MediaType.OciIndex);
  assert.deepEqual(storedManifest?.body, manifest);
  // A digest reference must match the bytes.
  await rejectsWith(c.pushManifest(ref, MediaType.OciIndex, manifest, `sha256:${'0'.repeat(64)}`), 'failed-precondition', /hash to/);
});
