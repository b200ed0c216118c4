// `berth login` checks the credentials with the registry (through berthd) before it keeps them, as
// docker does: an htpasswd registry behind TLS (basic flow) and a token-auth registry stand-in
// (bearer flow: /v2/ challenges, the token realm checks the password). Wrong password: exit 1,
// one clear line, nothing saved.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { startBerthd, type RunningBerthd } from '../helpers/berthd';
import { runBerthCli, type CliResult } from '../helpers/cli';
import { startRegistry, type TestRegistry } from '../helpers/registry';
import { makeTestPki, type TestPki } from '../helpers/tls';



/** A registry's /v2/ behind the docker token protocol; the realm takes one user (basic) and hands out tokens. */
function startTokenRegistry(user: string, password: string): Promise<{ server: Server; host: string; tokenRequests: string[] }> {
  const tokenRequests: string[] = [];
  const token = 'tok-' + Math.random().toString(36).slice(2);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const host = req.headers.host;
    if (url.pathname === '/token') {
      tokenRequests.push(url.search);
      const want = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      if (req.headers.authorization !== want) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
      return;
    }
    if (url.pathname === '/v2/') {
      if (req.headers.authorization === `Bearer ${token}`) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="test-registry"`, 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, host: `127.0.0.1:${(server.address() as AddressInfo).port}`, tokenRequests })),
  );
}

describe('berth login checks credentials with the registry', { timeout: 300_000 }, () => {
  const auth = { username: 'login-user', password: 'login-s3cret' };
  const dockerConfig = mkdtempSync(join(tmpdir(), 'berth-cli-login-config-'));
  const hostsDir = mkdtempSync(join(tmpdir(), 'berth-cli-login-hosts-'));
  const configFile = join(dockerConfig, 'config.json');
  let pki: TestPki;
  let registry: TestRegistry;
  let tokenRegistry: Awaited<ReturnType<typeof startTokenRegistry>>;
  let berthd: RunningBerthd;

  function berth(args: string[], input = ''): Promise<CliResult> {
    return runBerthCli(args, { host: `unix://${berthd.socket}`, input, env: { DOCKER_CONFIG: dockerConfig }, timeoutMs: 120_000 });
  }

  const saved = (): Record<string, { auth: string }> => (existsSync(configFile) ? JSON.parse(readFileSync(configFile, 'utf8')).auths ?? {} : {});

  before(async () => {
    pki = makeTestPki();
    registry = await startRegistry({ auth, tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert } });
    mkdirSync(join(hostsDir, registry.host), { recursive: true });
    writeFileSync(join(hostsDir, registry.host, 'hosts.toml'), `server = "${registry.url}"\nca = "${pki.caCert}"\n`);
    tokenRegistry = await startTokenRegistry(auth.username, auth.password);
    mkdirSync(join(hostsDir, tokenRegistry.host), { recursive: true });
    writeFileSync(join(hostsDir, tokenRegistry.host, 'hosts.toml'), `server = "http://${tokenRegistry.host}"\n`);
    berthd = await startBerthd({ registryConfigDir: hostsDir });
  });

  after(async () => {
    const keepAlive = setInterval(() => undefined, 100);
    try {
      await berthd?.destroy();
      await registry?.stop();
      await new Promise((r) => (tokenRegistry ? tokenRegistry.server.close(r) : r(undefined)));
    } finally {
      clearInterval(keepAlive);
      pki?.cleanup();
      rmSync(dockerConfig, { recursive: true, force: true });
      rmSync(hostsDir, { recursive: true, force: true });
    }
  });

  it('basic auth over TLS: a wrong password fails and saves nothing; the right one is saved', async () => {
    const host = registry.host;
    const wrong = await berth(['login', '-u', auth.username, '--password-stdin', host], 'not-the-password\n');
    assert.equal(wrong.code, 1, wrong.stdout);
    assert.match(wrong.stderr, new RegExp(`^berth: login to ${host.replace(/\./g, '\\.')} failed: the registry refused the credentials for "${auth.username}"`, 'm'));
    assert.equal(wrong.stderr.split('\n').filter(Boolean).length, 1, wrong.stderr);
    assert.equal(wrong.stdout, '');
    assert.equal(saved()[host], undefined, 'nothing saved');
    const unknownUser = await berth(['login', '-u', 'nobody-here', '-p', auth.password, host]);
    assert.equal(unknownUser.code, 1);
    assert.equal(saved()[host], undefined);

    const good = await berth(['login', '-u', auth.username, '--password-stdin', host], `${auth.password}\n`);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /Login Succeeded/);
    assert.equal(Buffer.from(saved()[host].auth, 'base64').toString(), `${auth.username}:${auth.password}`);
  });

  it('token auth: the realm judges the password; success is saved', async () => {
    const host = tokenRegistry.host;
    const wrong = await berth(['login', '-u', auth.username, '-p', 'wrong', host]);
    assert.equal(wrong.code, 1, wrong.stdout);
    assert.match(wrong.stderr, /^berth: login to .* failed: the registry refused the credentials/m);
    assert.equal(saved()[host], undefined);
    assert.ok(tokenRegistry.tokenRequests.length >= 1, 'the token realm was asked');
    assert.match(tokenRegistry.tokenRequests[0], /service=test-registry/);
    assert.doesNotMatch(tokenRegistry.tokenRequests[0], /scope=/, 'a login token has no repository scope');

    const good = await berth(['login', '-u', auth.username, '-p', auth.password, host]);
    assert.equal(good.code, 0, good.stderr);
    assert.equal(Buffer.from(saved()[host].auth, 'base64').toString(), `${auth.username}:${auth.password}`);
  });

  it('an unreachable registry fails with its reason and saves nothing', async () => {
    const r = await berth(['login', '-u', 'a', '-p', 'b', '127.0.0.1:1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^berth: .*127\.0\.0\.1:1/m);
    assert.equal(saved()['127.0.0.1:1'], undefined);
  });
});
