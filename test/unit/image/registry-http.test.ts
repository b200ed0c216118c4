// The registry client's HTTP driver against a node http server on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { drain, HttpTransport, readText } from '../../../src/image/registry/http';

async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server; sockets: Set<Socket> }> {
  const server = createServer(handler);
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, sockets };
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

test('status, headers and body; keep-alive reuses one connection', async () => {
  let connections = 0;
  const { url, server } = await serve((req, res) => {
    res.setHeader('docker-content-digest', 'sha256:abc');
    res.end(`${req.method} ${req.url} ${req.headers['x-test'] ?? ''}`);
  });
  server.on('connection', () => connections++);
  const t = new HttpTransport();
  try {
    for (let i = 0; i < 3; i++) {
      const res = await t.request(`${url}/v2/x`, { method: 'GET', headers: { 'x-test': String(i) } });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['docker-content-digest'], 'sha256:abc');
      assert.equal(await readText(res.body), `GET /v2/x ${i}`);
    }
    assert.equal(connections, 1, 'sequential requests share a keep-alive connection');
  } finally {
    t.close();
    await stop(server);
  }
});

test('request bodies: a buffer and a stream arrive whole', async () => {
  const { url, server } = await serve((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.end(`${req.headers['transfer-encoding'] ?? 'fixed'}:${Buffer.concat(chunks).length}`));
  });
  const t = new HttpTransport();
  try {
    const a = await t.request(url, { method: 'PUT', body: Buffer.alloc(1000, 1), headers: { 'content-length': '1000' } });
    assert.equal(await readText(a.body), 'fixed:1000');
    const b = await t.request(url, { method: 'PUT', body: Readable.from([Buffer.alloc(70_000), Buffer.alloc(30_000)]) });
    assert.equal(await readText(b.body), 'chunked:100000');
  } finally {
    t.close();
    await stop(server);
  }
});

test('a reset before the headers rejects the call; after them it errors the body stream', async () => {
  const { url, server } = await serve((req, res) => {
    if (req.url === '/early') {
      req.socket.destroy();
      return;
    }
    res.writeHead(200, { 'content-length': '1000000' });
    res.write(Buffer.alloc(1000));
    setTimeout(() => req.socket.destroy(), 20);
  });
  const t = new HttpTransport();
  try {
    await assert.rejects(t.request(`${url}/early`, { method: 'GET' }), (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET');
    const res = await t.request(`${url}/late`, { method: 'GET' });
    assert.equal(res.statusCode, 200);
    await assert.rejects(async () => {
      for await (const _ of res.body) {
        // reading until the reset
      }
    });
  } finally {
    t.close();
    await stop(server);
  }
});

test('abort signal: before the headers rejects, mid-body destroys the body', async () => {
  const { url, server } = await serve((req, res) => {
    if (req.url === '/hang') return; // never answers
    res.writeHead(200);
    res.write('x');
  });
  const t = new HttpTransport();
  try {
    const ac = new AbortController();
    const p = t.request(`${url}/hang`, { method: 'GET', signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop')), 30);
    await assert.rejects(p);
    const ac2 = new AbortController();
    const res = await t.request(`${url}/stream`, { method: 'GET', signal: ac2.signal });
    const done = new Promise<void>((r) => res.body.once('close', () => r()));
    ac2.abort(new Error('stop'));
    await done;
    assert.ok(res.body.destroyed);
  } finally {
    t.close();
    await stop(server);
  }
});

test('drain and readText stop at their limit and drop the connection', async () => {
  const { url, server, sockets } = await serve((_req, res) => {
    res.end(Buffer.alloc(256 * 1024, 0x61));
  });
  const t = new HttpTransport();
  try {
    const a = await t.request(url, { method: 'GET' });
    await drain(a.body, 64 * 1024);
    assert.ok(a.body.destroyed, 'over the limit: destroyed, not read to the end');
    const b = await t.request(url, { method: 'GET' });
    const text = await readText(b.body, 1000);
    assert.equal(text, 'a'.repeat(1000));
    const c = await t.request(url, { method: 'GET' });
    await drain(c.body, 1024 * 1024);
    assert.ok(c.body.complete, 'under the limit: read to the end');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(sockets.size, 1, 'only the connection of the fully read response is kept');
  } finally {
    t.close();
    await stop(server);
  }
});

test('an unsupported scheme is refused', async () => {
  const t = new HttpTransport();
  await assert.rejects(t.request('ftp://127.0.0.1/x', { method: 'GET' }), /unsupported URL scheme/);
  t.close();
});
