// docker's config.json as berth's credential store: keys, encoding, mode 0600, other keys kept.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialStore, DOCKER_HUB_KEY, dockerConfigDir, registryKey, registryOfReference } from '../../../src/cli/credentials';

describe('credential store (docker config.json)', () => {
  const dirs: string[] = [];
  const fresh = () => {
    const d = mkdtempSync(join(tmpdir(), 'berth-creds-'));
    dirs.push(d);
    return d;
  };
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('names registries as docker does', () => {
    assert.equal(registryKey('docker.io'), DOCKER_HUB_KEY);
    assert.equal(registryKey('https://index.docker.io/v1/'), DOCKER_HUB_KEY);
    assert.equal(registryKey('https://reg.example.com:5000/v2/'), 'reg.example.com:5000');
    assert.equal(registryOfReference('busybox:latest'), DOCKER_HUB_KEY);
    assert.equal(registryOfReference('library/busybox'), DOCKER_HUB_KEY);
    assert.equal(registryOfReference('127.0.0.1:5000/a/b:v1'), '127.0.0.1:5000');
    assert.equal(registryOfReference('localhost/a'), 'localhost');
    assert.equal(dockerConfigDir({ DOCKER_CONFIG: '/x' }), '/x');
    assert.equal(dockerConfigDir({ HOME: '/home/u' }), '/home/u/.docker');
  });

  it('writes auths.<server>.auth = base64(user:pass) with mode 0600 and reads it back', async () => {
    const dir = join(fresh(), 'nested');
    const store = new CredentialStore(dir);
    assert.equal(store.get('reg:5000'), undefined);
    await store.set('http://reg:5000', { username: 'alice', password: 'p:ss wörd' });
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.equal(cfg.auths['reg:5000'].auth, Buffer.from('alice:p:ss wörd').toString('base64'));
    assert.equal(statSync(join(dir, 'config.json')).mode & 0o777, 0o600);
    assert.deepEqual(store.get('reg:5000'), { username: 'alice', password: 'p:ss wörd' });
    assert.deepEqual(new CredentialStore(dir).get('reg:5000/some/image'), { username: 'alice', password: 'p:ss wörd' });
    // No temp files left behind.
    assert.deepEqual(readdirSync(dir), ['config.json']);
  });

  it('keeps the rest of an existing file and removes only the server asked for', async () => {
    const dir = fresh();
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ credsStore: 'pass', auths: { 'https://other.io': { auth: Buffer.from('u:p').toString('base64') } } }));
    const store = new CredentialStore(dir);
    assert.deepEqual(store.get('other.io'), { username: 'u', password: 'p' });
    await store.set('docker.io', { username: 'bob', password: 'x' });
    let cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.equal(cfg.credsStore, 'pass');
    assert.ok(cfg.auths[DOCKER_HUB_KEY]);
    assert.equal(await store.remove('other.io'), true);
    assert.equal(await store.remove('other.io'), false);
    cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.deepEqual(Object.keys(cfg.auths), [DOCKER_HUB_KEY]);
    assert.deepEqual(store.get(registryOfReference('busybox')), { username: 'bob', password: 'x' });
  });

  it('refuses a config.json that is not a JSON object', () => {
    const dir = fresh();
    writeFileSync(join(dir, 'config.json'), '[1,2');
    assert.throws(() => new CredentialStore(dir).get('x.io'), /not a JSON object/);
  });
});
