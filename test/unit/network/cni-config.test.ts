import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { CniConfigWatcher, compareVersions, loadConfDir, loadDefaultNetwork, parseNetworkConfig } from '../../../src/network/cni-config';
import { isBerthError } from '../../../src/util/errors';

const list = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ cniVersion: '1.0.0', name: 'net1', plugins: [{ type: 'bridge', bridge: 'cni0' }, { type: 'portmap', capabilities: { portMappings: true } }], ...extra });

const invalid = (e: unknown) => isBerthError(e, 'invalid-argument');

describe('parseNetworkConfig', () => {
  it('parses a configuration list', () => {
    const c = parseNetworkConfig(list(), 'a.conflist');
    assert.equal(c.name, 'net1');
    assert.equal(c.cniVersion, '1.0.0');
    assert.equal(c.disableCheck, false);
    assert.deepEqual(c.plugins.map((p) => p.type), ['bridge', 'portmap']);
    assert.equal(c.source, 'a.conflist');
  });

  it('wraps a single plugin config into a one-plugin list', () => {
    const c = parseNetworkConfig(JSON.stringify({ cniVersion: '0.4.0', name: 'single', type: 'bridge', bridge: 'br9', ipam: { type: 'host-local' } }));
    assert.equal(c.name, 'single');
    assert.equal(c.cniVersion, '0.4.0');
    assert.equal(c.plugins.length, 1);
    assert.equal(c.plugins[0].type, 'bridge');
    assert.equal(c.plugins[0].bridge, 'br9');
  });

  it('accepts every supported version and rejects others', () => {
    for (const v of ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']) assert.equal(parseNetworkConfig(list({ cniVersion: v })).cniVersion, v);
    for (const v of ['0.1.0', '0.2.0', '2.0.0', '', 1]) assert.throws(() => parseNetworkConfig(list({ cniVersion: v })), invalid);
    assert.throws(() => parseNetworkConfig(JSON.stringify({ name: 'n', plugins: [{ type: 'x' }] })), invalid);
  });

  it('picks the highest supported entry of cniVersions (1.1.0 lists)', () => {
    assert.equal(parseNetworkConfig(list({ cniVersion: undefined, cniVersions: ['0.4.0', '1.1.0', '1.0.0', '9.9.9'] })).cniVersion, '1.1.0');
    assert.equal(parseNetworkConfig(list({ cniVersion: '1.0.0', cniVersions: ['7.0.0'] })).cniVersion, '1.0.0');
    assert.throws(() => parseNetworkConfig(list({ cniVersion: undefined, cniVersions: ['7.0.0'] })), invalid);
  });

  it('validates name, plugins and plugin fields', () => {
    assert.throws(() => parseNetworkConfig('{not json'), invalid);
    assert.throws(() => parseNetworkConfig('[]'), invalid);
    assert.throws(() => parseNetworkConfig(list({ name: undefined })), invalid);
    assert.throws(() => parseNetworkConfig(list({ name: '-bad' })), invalid);
    assert.throws(() => parseNetworkConfig(list({ plugins: [] })), invalid);
    assert.throws(() => parseNetworkConfig(list({ plugins: [{ bridge: 'x' }] })), invalid);
    assert.throws(() => parseNetworkConfig(list({ plugins: [{ type: '../../bin/sh' }] })), invalid);
    assert.throws(() => parseNetworkConfig(list({ plugins: [{ type: 'x', capabilities: { portMappings: 'yes' } }] })), invalid);
    assert.throws(() => parseNetworkConfig(list({ plugins: [{ type: 'x', ipam: 'host-local' }] })), invalid);
    assert.throws(() => parseNetworkConfig(JSON.stringify({ cniVersion: '1.0.0', name: 'n' })), invalid);
  });

  it('reads disableCheck', () => {
    assert.equal(parseNetworkConfig(list({ disableCheck: true })).disableCheck, true);
    assert.equal(parseNetworkConfig(list({ disableCheck: 'true' })).disableCheck, true);
    assert.throws(() => parseNetworkConfig(list({ disableCheck: 3 })), invalid);
  });

  it('orders versions numerically', () => {
    assert.ok(compareVersions('0.10.0', '0.4.0') > 0);
    assert.ok(compareVersions('0.4.0', '1.0.0') < 0);
    assert.equal(compareVersions('1.1.0', '1.1.0'), 0);
  });
});

describe('loadConfDir', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-cniconf-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('treats a missing dir as empty', async () => {
    assert.deepEqual(await loadConfDir(join(dir, 'nope')), { configs: [], errors: [] });
    assert.equal(await loadDefaultNetwork(join(dir, 'nope')), undefined);
  });

  it('selects the first valid config by file name and reports broken ones', async () => {
    writeFileSync(join(dir, '30-z.conflist'), list({ name: 'zeta' }));
    writeFileSync(join(dir, '20-single.conf'), JSON.stringify({ cniVersion: '0.3.1', name: 'single', type: 'bridge' }));
    writeFileSync(join(dir, '25-j.json'), list({ name: 'jay' }));
    writeFileSync(join(dir, '10-broken.conflist'), '{');
    writeFileSync(join(dir, '00-ignored.txt'), list({ name: 'txt' }));
    writeFileSync(join(dir, '.01-hidden.conflist'), list({ name: 'hidden' }));
    mkdirSync(join(dir, '05-dir.conflist'));
    const r = await loadConfDir(dir);
    assert.deepEqual(r.configs.map((c) => c.name), ['single', 'jay', 'zeta']);
    assert.deepEqual(r.errors.map((e) => e.file), [join(dir, '10-broken.conflist')]);
    assert.equal((await loadDefaultNetwork(dir))?.name, 'single');
  });
});

describe('CniConfigWatcher', () => {
  let root = '';
  let bin = '';
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'berth-cniwatch-'));
    bin = join(root, 'bin');
    mkdirSync(bin);
    for (const p of ['bridge', 'portmap']) {
      writeFileSync(join(bin, p), '#!/bin/sh\n');
      chmodSync(join(bin, p), 0o755);
    }
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  // Replace files atomically so a reload never sees a half-written one.
  function put(file: string, text: string): void {
    const tmp = join(dirname(file), `.tmp-${basename(file)}`);
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  }

  async function eventually(cond: () => boolean, what: string): Promise<void> {
    const end = Date.now() + 5000;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('follows the conf dir: created later, changed, emptied', async () => {
    const dir = join(root, 'net.d');
    const w = new CniConfigWatcher(dir, { debounceMs: 20, pollMs: 100, binDirs: [bin] });
    const changes: (string | undefined)[] = [];
    w.on('change', (c) => changes.push(c?.name));
    await w.start();
    try {
      assert.equal(w.current(), undefined);
      assert.deepEqual(w.status().ready, false);
      assert.equal(w.status().reason, 'NetworkPluginNotReady');
      assert.match(w.status().message ?? '', /no valid CNI network config/);

      mkdirSync(dir);
      put(join(dir, '50-a.conflist'), list({ name: 'alpha' }));
      await eventually(() => w.status().ready, 'ready after a config appears');
      assert.equal(w.current()?.name, 'alpha');

      put(join(dir, '10-b.conflist'), list({ name: 'beta' }));
      await eventually(() => w.current()?.name === 'beta', 'lower file name wins');

      put(join(dir, '10-b.conflist'), list({ name: 'beta', plugins: [{ type: 'missing-plugin' }] }));
      await eventually(() => !w.status().ready, 'not ready with a missing plugin binary');
      assert.match(w.status().message ?? '', /missing-plugin/);

      unlinkSync(join(dir, '10-b.conflist'));
      unlinkSync(join(dir, '50-a.conflist'));
      put(join(dir, '60-bad.conflist'), '{"name": "x"}');
      await eventually(() => w.current() === undefined, 'no config after removal');
      assert.equal(w.status().ready, false);
      assert.match(w.status().message ?? '', /60-bad\.conflist/);
      // beta twice: its content changed in between.
      assert.deepEqual(changes, ['alpha', 'beta', 'beta', undefined]);
    } finally {
      w.stop();
    }
  });
});
