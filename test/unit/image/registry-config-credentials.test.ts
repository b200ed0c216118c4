// Registry credentials from berthd's config: [image.auths] tables and a docker config.json auth file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configuredCredentials, parseDockerConfigAuths } from '../../../src/image/registry/config-credentials';

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('tables: looked up by host; docker.io answers for its other names; no entry, no credentials', async () => {
  const p = configuredCredentials({
    auths: {
      'registry.example.com:5000': { username: 'alice', password: 'pw' },
      'https://index.docker.io/v1/': { auth: b64('bob:pw2') },
      'empty.example.com': {},
    },
  });
  assert.deepEqual(await p('registry.example.com:5000'), { username: 'alice', password: 'pw' });
  assert.equal(await p('registry.example.com'), undefined, 'the port is part of the host');
  for (const h of ['docker.io', 'registry-1.docker.io', 'index.docker.io']) assert.deepEqual(await p(h), { auth: b64('bob:pw2') }, h);
  assert.equal(await p('empty.example.com'), undefined);
  assert.equal(await p('other.example.com'), undefined);
});

test('auth file: read when needed, again when it changes; tables win; missing or broken means none', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-creds-'));
  try {
    const file = join(dir, 'config.json');
    const p = configuredCredentials({ authFile: file, auths: { 'pinned.example.com': { username: 'table', password: 't' } } });
    assert.equal(await p('registry.example.com'), undefined, 'no file yet');

    writeFileSync(file, JSON.stringify({ auths: { 'https://registry.example.com/v2/': { auth: b64('u1:p1') }, 'pinned.example.com': { auth: b64('file:f') } } }));
    assert.deepEqual(await p('registry.example.com'), { auth: b64('u1:p1') });
    assert.deepEqual(await p('pinned.example.com'), { username: 'table', password: 't' }, 'the table wins over the file');

    writeFileSync(file, JSON.stringify({ auths: { 'registry.example.com': { identitytoken: 'refresh-token-2', username: '<token>' } }, credsStore: 'x' }));
    assert.deepEqual(await p('registry.example.com'), { username: '<token>', identityToken: 'refresh-token-2' }, 'a rewritten file is read again');

    writeFileSync(file, '{ not json');
    assert.equal(await p('registry.example.com'), undefined, 'a broken file gives no credentials (pulls that need none go on)');
    rmSync(file);
    assert.equal(await p('registry.example.com'), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('docker config.json parsing: clear errors for what is not a config', () => {
  assert.throws(() => parseDockerConfigAuths('[]', 'f.json'), /f\.json is not a JSON object/);
  assert.throws(() => parseDockerConfigAuths('{"auths": 3}', 'f.json'), /"auths" is not an object/);
  assert.throws(() => parseDockerConfigAuths('nope', 'f.json'), /f\.json is not valid JSON/);
  assert.equal(parseDockerConfigAuths('{}', 'f.json').size, 0);
  const m = parseDockerConfigAuths(JSON.stringify({ auths: { 'a.example': { auth: 'eA==' }, 'b.example': 'junk', '': { auth: 'eQ==' } } }), 'f.json');
  assert.deepEqual([...m.keys()], ['a.example']);
});
