import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHostsToml, registryEndpoints } from '../../../src/image/registry/hosts';
import { isBerthError } from '../../../src/util/errors';

const root = mkdtempSync(join(tmpdir(), 'berth-hosts-'));
after(() => rmSync(root, { recursive: true, force: true }));

function writeHosts(dir: string, host: string, text: string): void {
  mkdirSync(join(dir, host), { recursive: true });
  writeFileSync(join(dir, host, 'hosts.toml'), text);
}

test('no config dir or no host dir → https upstream; docker.io → registry-1.docker.io', async () => {
  const none = await registryEndpoints('quay.io');
  assert.deepEqual(none.map((e) => [e.url, e.pathPrefix, e.capabilities.join(',')]), [['https://quay.io', '/v2', 'pull,resolve,push']]);
  const dir = mkdtempSync(join(root, 'empty-'));
  assert.equal((await registryEndpoints('docker.io', dir))[0]!.url, 'https://registry-1.docker.io');
  // No implicit plain http, not even for localhost.
  assert.equal((await registryEndpoints('localhost:5000', dir))[0]!.url, 'https://localhost:5000');
  assert.equal((await registryEndpoints('127.0.0.1:5000', dir))[0]!.url, 'https://127.0.0.1:5000');
});

test('mirrors in file order, then server; capabilities, tls, headers, paths', async () => {
  const dir = mkdtempSync(join(root, 'full-'));
  writeHosts(
    dir,
    'docker.io',
    `
server = "https://registry-1.docker.io"

[host."http://127.0.0.1:5000"]
  capabilities = ["pull", "resolve"]
  [host."http://127.0.0.1:5000".header]
    x-one = "1"
    x-many = ["a", "b"]

[host."https://mirror.example.com/base"]
  capabilities = ["pull"]
  ca = "certs/ca.pem"
  client = [["/abs/cert.pem", "key.pem"]]
  skip_verify = true

[host."https://override.example.com/api/x"]
  override_path = true
`,
  );
  const eps = await registryEndpoints('docker.io', dir);
  assert.deepEqual(
    eps.map((e) => [e.url, e.pathPrefix, e.capabilities.join(','), e.upstream]),
    [
      ['http://127.0.0.1:5000', '/v2', 'pull,resolve', false],
      ['https://mirror.example.com', '/base/v2', 'pull', false],
      ['https://override.example.com', '/api/x', 'pull,resolve,push', false],
      ['https://registry-1.docker.io', '/v2', 'pull,resolve,push', true],
    ],
  );
  assert.deepEqual(eps[0]!.headers, { 'x-one': ['1'], 'x-many': ['a', 'b'] });
  assert.deepEqual(eps[1]!.tls, {
    skipVerify: true,
    ca: [join(dir, 'docker.io', 'certs/ca.pem')],
    cert: '/abs/cert.pem',
    key: join(dir, 'docker.io', 'key.pem'),
    clients: [{ cert: '/abs/cert.pem', key: join(dir, 'docker.io', 'key.pem') }],
  });
  assert.deepEqual(eps[3]!.tls, { skipVerify: false });
});

test('host:port directory, _default, and no fallback to an unlisted upstream', async () => {
  const dir = mkdtempSync(join(root, 'ports-'));
  writeHosts(dir, 'reg.local:5443', 'server = "http://reg.local:5443"\n');
  writeHosts(dir, '_default', '[host."https://catchall.example"]\ncapabilities = ["pull", "resolve"]\n');
  writeHosts(dir, 'example.test', '[host."http://127.0.0.1:6000"]\ncapabilities = ["pull", "resolve"]\n');
  assert.deepEqual((await registryEndpoints('reg.local:5443', dir)).map((e) => e.url), ['http://reg.local:5443']);
  // reg.local without port has no own dir → _default
  assert.deepEqual((await registryEndpoints('reg.local', dir)).map((e) => e.url), ['https://catchall.example']);
  // mirrors without `server` → only the mirrors (containerd would add https://example.test)
  assert.deepEqual((await registryEndpoints('example.test', dir)).map((e) => e.url), ['http://127.0.0.1:6000']);
});

test('top-level settings without server apply to the implied upstream', () => {
  const eps = parseHostsToml('ca = "/etc/ca.pem"\n[header]\nx = "y"\n', 'ghcr.io', '/cfg/ghcr.io');
  assert.equal(eps.length, 1);
  assert.equal(eps[0]!.url, 'https://ghcr.io');
  assert.deepEqual(eps[0]!.tls.ca, ['/etc/ca.pem']);
  assert.deepEqual(eps[0]!.headers, { x: ['y'] });
  // server without scheme means https
  assert.equal(parseHostsToml('server = "reg.example:444"', 'x', '/')[0]!.url, 'https://reg.example:444');
  // client as a single combined PEM
  const c = parseHostsToml('server = "https://a"\nclient = "both.pem"', 'a', '/d')[0]!.tls;
  assert.deepEqual([c.cert, c.key], ['/d/both.pem', '/d/both.pem']);
});

test('invalid configs throw invalid-argument naming the file', () => {
  const bad: Array<[string, RegExp]> = [
    ['server = ', /hosts\.toml/],
    ['server = "ftp://x"', /http/],
    ['[host."https://m"]\ncapabilities = ["pull", "fly"]', /unknown capability/],
    ['[host."https://m"]\nskip_verify = "yes"', /skip_verify/],
    ['[host."https://m"]\nca = 3', /ca/],
    ['[host."https://m"]\nclient = [["a"]]', /client/],
    ['server = "https://user:pw@x"', /credentials/],
  ];
  for (const [text, re] of bad) {
    assert.throws(
      () => parseHostsToml(text, 'x', '/d', '/d/x/hosts.toml'),
      (e: unknown) => isBerthError(e, 'invalid-argument') && re.test(e.message) && e.message.includes('/d/x/hosts.toml'),
      text,
    );
  }
});
