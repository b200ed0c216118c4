import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { applyToml, configToToml, defaultConfig, loadConfig, withoutSecrets } from '../../../src/daemon/config';
import { parseDaemonArgs } from '../../../src/daemon/flags';
import { isBerthError } from '../../../src/util/errors';

test('missing config file means defaults; flags override', () => {
  const c = loadConfig('/nonexistent/berth.toml', { root: '/r', state: '/s', cniBinDir: ['/a', '/b'] });
  assert.equal(c.root, '/r');
  assert.equal(c.listen, '/s/berth.sock', 'socket follows the state dir');
  assert.deepEqual(c.network.cniBinDirs, ['/a', '/b']);
  assert.equal(c.runtime.runtimes.runc.root, '/s/runtimes/runc');
  assert.equal(c.image.maxConcurrentDownloads, 3);
});

test('a missing file named explicitly is an error', () => {
  assert.throws(() => loadConfig('/nonexistent/berth.toml', {}, true), (e) => isBerthError(e, 'invalid-argument'));
});

test('TOML file is applied, then flags win', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-cfg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'berth.toml');
  writeFileSync(
    f,
    `root = "/data"\nlisten = "/x.sock"\n[image]\nmax_concurrent_downloads = 5\n[runtime]\ncgroup_driver = "systemd"\n[runtime.runtimes.runsc]\npath = "/usr/bin/runsc"\n`,
  );
  const c = loadConfig(f, { listen: '/y.sock' });
  assert.equal(c.root, '/data');
  assert.equal(c.listen, '/y.sock');
  assert.equal(c.image.maxConcurrentDownloads, 5);
  assert.equal(c.runtime.cgroupDriver, 'systemd');
  assert.equal(c.runtime.runtimes.runsc.path, '/usr/bin/runsc');
  assert.equal(c.runtime.runtimes.runsc.root, '/run/berth/runtimes/runsc');
});

test('bad config: unknown keys, wrong types, bad driver, malformed TOML', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-cfg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [text, re] of [
    ['rooot = "/x"', /unknown key "rooot"/],
    ['root = 3', /root must be a string/],
    ['[runtime]\ncgroup_driver = "cgroupv3"', /cgroup_driver/],
    ['root = ', /berth.toml/],
    ['[image]\nmax_concurrent_downloads = 0', /positive integer/],
    ['[image.auths."r.example"]\nusername = "a"\npasword = "b"', /\[image\.auths\."r\.example"\]: unknown key "pasword"/],
    ['[image.auths."r.example"]\npassword = "b"', /needs username/],
    ['[image.auths]\n"r.example" = "user:pw"', /must be a table/],
    ['[image]\nauth_file = 1', /auth_file must be a string/],
  ] as const) {
    const f = join(dir, 'berth.toml');
    writeFileSync(f, text);
    assert.throws(() => loadConfig(f, {}), (e) => isBerthError(e, 'invalid-argument') && re.test((e as Error).message), text);
  }
});

test('registry credentials: [image.auths] and auth_file; secrets redacted where the config is shown', () => {
  const c = applyToml(
    defaultConfig(),
    parse(
      [
        '[image]',
        'auth_file = "/var/lib/kubelet/config.json"',
        '[image.auths."registry.example.com:5000"]',
        'username = "alice"',
        'password = "s3cret"',
        '[image.auths."docker.io"]',
        'auth = "Ym9iOnB3"',
        '[image.auths."ghcr.io"]',
        'identity_token = "refresh"',
      ].join('\n'),
    ) as Record<string, unknown>,
  );
  assert.equal(c.image.authFile, '/var/lib/kubelet/config.json');
  assert.deepEqual(c.image.auths, {
    'registry.example.com:5000': { username: 'alice', password: 's3cret' },
    'docker.io': { auth: 'Ym9iOnB3' },
    'ghcr.io': { identityToken: 'refresh' },
  });
  const shown = withoutSecrets(c);
  assert.deepEqual(shown.image.auths['registry.example.com:5000'], { username: 'alice', password: '<redacted>' });
  assert.equal(shown.image.auths['docker.io']!.auth, '<redacted>');
  assert.equal(shown.image.auths['ghcr.io']!.identityToken, '<redacted>');
  assert.doesNotMatch(JSON.stringify(shown), /s3cret|Ym9iOnB3|refresh"/);
  assert.equal(c.image.auths['registry.example.com:5000']!.password, 's3cret', 'the config itself is not changed');
  // Printed (unredacted) and parsed back: the same config.
  assert.deepEqual(applyToml(defaultConfig(), parse(configToToml(c)) as Record<string, unknown>), c);
});

test('printed config parses back to the same config', () => {
  const c = loadConfig('/nonexistent', { root: '/q' });
  const again = applyToml(defaultConfig(), parse(configToToml(c)) as Record<string, unknown>);
  assert.deepEqual(again, c);
});

test('daemon flags', () => {
  const a = parseDaemonArgs(['--root', '/r', '--cni-bin-dir', '/a', '/b', '--streaming-port', '1234', '--print-config'], '1');
  assert.equal(a.flags.root, '/r');
  assert.deepEqual(a.flags.cniBinDir, ['/a', '/b']);
  assert.equal(a.flags.streamingPort, 1234);
  assert.equal(a.printConfig, true);
  assert.equal(a.configGiven, false);
  assert.equal(parseDaemonArgs(['--config', '/c.toml'], '1').configGiven, true);
  assert.throws(() => parseDaemonArgs(['--log-level', 'loud'], '1'));
});
