// The CNI driver against fake plugins (small node scripts) that record what they were given.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniDriver } from '../../../src/network/cni';
import { parseNetworkConfig, type NetworkConfigList } from '../../../src/network/cni-config';
import { isBerthError } from '../../../src/util/errors';

// One script, behaviour by the name it is invoked as.
const FAKE_PLUGIN = `
const fs = require('fs');
const path = require('path');
const name = path.basename(process.argv[1]);
const input = fs.readFileSync(0, 'utf8');
const log = process.env.FAKE_LOG;
const seq = String(fs.readdirSync(log).length).padStart(4, '0');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('CNI_')));
fs.writeFileSync(path.join(log, seq + '-' + name + '-' + process.env.CNI_COMMAND + '.json'), JSON.stringify({ env, stdin: input ? JSON.parse(input) : null }));
const conf = input ? JSON.parse(input) : {};
const cmd = process.env.CNI_COMMAND;
const out = (o) => process.stdout.write(JSON.stringify(o));
if (cmd === 'VERSION') { out({ cniVersion: '1.0.0', supportedVersions: ['1.0.0', '0.4.0', '0.3.1'] }); process.exit(0); }
switch (name) {
  case 'fake-first':
    if (cmd === 'ADD') out(JSON.parse(process.env.FAKE_RESULT));
    break;
  case 'fake-pass':
    if (cmd === 'ADD') out({ ...conf.prevResult, dns: { search: ['chained.' + conf.name] } });
    break;
  case 'fake-silent':
    break;
  case 'fake-fail':
    if (cmd === 'ADD' || process.env.FAKE_FAIL_DEL) {
      out({ cniVersion: conf.cniVersion, code: 7, msg: 'invalid network config', details: 'no frobnicator' });
      process.stderr.write('some log line');
      process.exit(1);
    }
    break;
  case 'fake-garbage':
    process.stdout.write('this is not json');
    break;
  case 'fake-slow': {
    const c = require('child_process').spawn('sleep', ['30'], { stdio: 'ignore' });
    fs.writeFileSync(path.join(log, 'grandchild.pid'), String(c.pid));
    setTimeout(() => {}, 60000);
    break;
  }
}
`;

const RESULT_100 = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:01', sandbox: '/nonexistent/netns' }],
  ips: [{ address: '10.77.0.9/24', gateway: '10.77.0.1', interface: 0 }],
  routes: [{ dst: '0.0.0.0/0', gw: '10.77.0.1' }],
  dns: {},
};

interface Call {
  file: string;
  plugin: string;
  command: string;
  env: Record<string, string>;
  stdin: Record<string, unknown> | null;
}

describe('CniDriver', () => {
  let root = '';
  let bin = '';
  let bin2 = '';
  let logDir = '';
  let state = '';
  let driver: CniDriver;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'berth-cnidrv-'));
    bin = join(root, 'bin-empty');
    bin2 = join(root, 'bin');
    mkdirSync(bin);
    mkdirSync(bin2);
    for (const name of ['fake-first', 'fake-pass', 'fake-silent', 'fake-fail', 'fake-garbage', 'fake-slow']) {
      writeFileSync(join(bin2, name), `#!${process.execPath}\n${FAKE_PLUGIN}`);
      chmodSync(join(bin2, name), 0o755);
    }
    // A non-executable file of the same name in an earlier dir must be skipped.
    writeFileSync(join(bin, 'fake-first'), 'not executable');
    process.env.FAKE_RESULT = JSON.stringify(RESULT_100);
  });

  after(() => {
    delete process.env.FAKE_LOG;
    delete process.env.FAKE_RESULT;
    rmSync(root, { recursive: true, force: true });
  });

  let n = 0;
  function fresh(timeoutMs = 20_000): void {
    n++;
    logDir = join(root, `log${n}`);
    state = join(root, `state${n}`);
    mkdirSync(logDir);
    process.env.FAKE_LOG = logDir;
    driver = new CniDriver({ binDirs: [bin, bin2], stateDir: state, timeoutMs });
  }
  afterEach(() => delete process.env.FAKE_FAIL_DEL);

  function calls(): Call[] {
    return readdirSync(logDir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((file) => {
        const [, plugin, command] = /^\d+-(.+)-([A-Z]+)\.json$/.exec(file)!;
        return { file, plugin, command, ...(JSON.parse(readFileSync(join(logDir, file), 'utf8')) as Omit<Call, 'file' | 'plugin' | 'command'>) };
      });
  }

  const net = (plugins: unknown[], version = '1.0.0', extra: Record<string, unknown> = {}): NetworkConfigList =>
    parseNetworkConfig(JSON.stringify({ cniVersion: version, name: 'testnet', plugins, ...extra }));

  const rt = (id = 'pod1') => ({
    containerId: id,
    netnsPath: join(root, 'not-a-netns'),
    args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'web', K8S_POD_INFRA_CONTAINER_ID: id, K8S_POD_UID: 'uid-1' },
    capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' as const }], bandwidth: { ingressRate: 5 } },
  });

  it('runs the chain in order with prevResult, runtimeConfig and CNI env, and records the attachment', async () => {
    fresh();
    const n1 = net([{ type: 'fake-first', foo: 1 }, { type: 'fake-pass', capabilities: { portMappings: true, ipRanges: true } }, { type: 'fake-silent' }]);
    const result = await driver.add(n1, rt());
    assert.deepEqual(result.ips, [{ address: '10.77.0.9/24', gateway: '10.77.0.1', interface: 0 }]);
    assert.deepEqual(result.dns, { search: ['chained.testnet'] }, 'result of the last plugin that printed one');

    const c = calls();
    assert.deepEqual(c.map((x) => `${x.plugin} ${x.command}`), ['fake-first ADD', 'fake-pass ADD', 'fake-silent ADD']);
    assert.deepEqual(c[0].env, {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'pod1',
      CNI_NETNS: join(root, 'not-a-netns'),
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=pod1;K8S_POD_UID=uid-1',
      CNI_PATH: `${bin}:${bin2}`,
    });
    assert.equal(c[0].stdin!.name, 'testnet');
    assert.equal(c[0].stdin!.cniVersion, '1.0.0');
    assert.equal(c[0].stdin!.foo, 1);
    assert.equal('prevResult' in c[0].stdin!, false);
    assert.equal('runtimeConfig' in c[0].stdin!, false);
    assert.deepEqual(c[1].stdin!.prevResult, RESULT_100);
    assert.deepEqual(c[1].stdin!.runtimeConfig, { portMappings: rt().capabilityArgs.portMappings });
    assert.deepEqual((c[2].stdin!.prevResult as { dns: unknown }).dns, { search: ['chained.testnet'] });

    const rec = JSON.parse(readFileSync(join(state, 'cni', 'results', 'pod1.json'), 'utf8'));
    assert.equal(rec.network.name, 'testnet');
    assert.equal(rec.runtime.netnsPath, join(root, 'not-a-netns'));
    assert.deepEqual(rec.result.dns, { search: ['chained.testnet'] });
    assert.deepEqual(await driver.attachedIds(), ['pod1']);
    assert.deepEqual((await driver.attachment('pod1'))?.result?.ips[0].address, '10.77.0.9/24');

    await assert.rejects(driver.add(n1, rt()), (e: unknown) => isBerthError(e, 'already-exists'));
  });

  it('DELs in reverse with the recorded config and result, and an empty netns when it is gone', async () => {
    fresh();
    const n1 = net([{ type: 'fake-first' }, { type: 'fake-pass' }]);
    await driver.add(n1, rt());
    const before = calls().length;
    // A different config now in the conf dir must not matter.
    await driver.del('pod1', { net: net([{ type: 'fake-silent' }]), rt: rt() });
    const dels = calls().slice(before);
    assert.deepEqual(dels.map((x) => `${x.plugin} ${x.command}`), ['fake-pass DEL', 'fake-first DEL']);
    for (const d of dels) {
      assert.equal(d.env.CNI_NETNS, '', 'not a namespace any more: passed empty');
      assert.equal(d.env.CNI_CONTAINERID, 'pod1');
      assert.equal((d.stdin!.prevResult as { dns: unknown }).dns !== undefined, true, 'cached final result as prevResult');
    }
    assert.deepEqual(await driver.attachedIds(), []);
    await driver.del('pod1'); // idempotent, nothing recorded
    assert.equal(calls().length, before + 2);
  });

  it('omits prevResult on DEL and refuses CHECK for 0.3.x networks', async () => {
    fresh();
    await driver.add(net([{ type: 'fake-first' }], '0.3.1'), rt());
    await assert.rejects(driver.check('pod1'), (e: unknown) => isBerthError(e, 'failed-precondition'));
    await driver.del('pod1');
    const del = calls().find((x) => x.command === 'DEL')!;
    assert.equal('prevResult' in del.stdin!, false);
  });

  it('CHECKs in order with the recorded result, unless disableCheck', async () => {
    fresh();
    await driver.add(net([{ type: 'fake-first' }, { type: 'fake-silent' }], '0.4.0'), rt());
    await driver.check('pod1');
    const checks = calls().filter((x) => x.command === 'CHECK');
    assert.deepEqual(checks.map((x) => x.plugin), ['fake-first', 'fake-silent']);
    assert.deepEqual(checks[1].stdin!.prevResult, RESULT_100);
    await driver.del('pod1');

    fresh();
    await driver.add(net([{ type: 'fake-first' }], '1.0.0', { disableCheck: true }), rt());
    await driver.check('pod1');
    assert.equal(calls().filter((x) => x.command === 'CHECK').length, 0);
    await assert.rejects(driver.check('other'), (e: unknown) => isBerthError(e, 'failed-precondition'));
  });

  it('turns a plugin JSON error into a BerthError and cleans up the whole chain', async () => {
    fresh();
    const n1 = net([{ type: 'fake-first' }, { type: 'fake-fail' }, { type: 'fake-silent' }]);
    await assert.rejects(driver.add(n1, rt()), (e: unknown) => {
      assert.ok(isBerthError(e, 'failed-precondition'));
      assert.match(e.message, /fake-fail ADD failed on network testnet: invalid network config \(no frobnicator\)/);
      assert.equal(e.context.plugin, 'fake-fail');
      assert.equal(e.context.command, 'ADD');
      assert.equal(e.context.network, 'testnet');
      assert.equal(e.context.code, 7);
      assert.equal(e.context.stderr, 'some log line');
      return true;
    });
    assert.deepEqual(
      calls().map((x) => `${x.plugin} ${x.command}`),
      ['fake-first ADD', 'fake-fail ADD', 'fake-silent DEL', 'fake-fail DEL', 'fake-first DEL'],
    );
    assert.deepEqual(await driver.attachedIds(), [], 'nothing recorded after a clean rollback');
  });

  it('keeps calling every plugin on DEL when one fails, and keeps the record for a retry', async () => {
    fresh();
    const n1 = net([{ type: 'fake-first' }, { type: 'fake-fail' }]);
    await driver.add(net([{ type: 'fake-first' }, { type: 'fake-silent' }]), rt('a'));
    // Record an attachment whose DEL fails in the middle of the chain.
    process.env.FAKE_FAIL_DEL = '1';
    await assert.rejects(driver.add(n1, rt('b')));
    assert.deepEqual(await driver.attachedIds(), ['a', 'b'], 'failed rollback leaves the record for reconcile');
    const before = calls().length;
    await assert.rejects(driver.del('b'), (e: unknown) => isBerthError(e) && e.context.plugin === 'fake-fail');
    assert.deepEqual(calls().slice(before).map((x) => `${x.plugin} ${x.command}`), ['fake-fail DEL', 'fake-first DEL']);
    assert.deepEqual(await driver.attachedIds(), ['a', 'b']);
    delete process.env.FAKE_FAIL_DEL;
    await driver.del('b');
    await driver.del('a');
    assert.deepEqual(await driver.attachedIds(), []);
  });

  it('finishes an interrupted ADD with a DEL before adding again', async () => {
    fresh();
    const n1 = net([{ type: 'fake-first' }]);
    mkdirSync(join(state, 'cni', 'results'), { recursive: true });
    writeFileSync(
      join(state, 'cni', 'results', 'pod1.json'),
      JSON.stringify({ format: 1, runtime: { ...rt(), ifName: 'eth0' }, network: n1, updatedAt: new Date().toISOString() }),
    );
    await driver.add(n1, rt());
    assert.deepEqual(calls().map((x) => `${x.plugin} ${x.command}`), ['fake-first DEL', 'fake-first ADD']);
  });

  it('reports missing plugins, invalid output and timeouts', async () => {
    fresh(1500);
    await assert.rejects(driver.add(net([{ type: 'fake-nothere' }]), rt()), (e: unknown) => isBerthError(e, 'failed-precondition') && /fake-nothere/.test(e.message));
    await assert.rejects(driver.add(net([{ type: 'fake-garbage' }]), rt('g')), (e: unknown) => isBerthError(e, 'internal') && /invalid JSON/.test(e.message));
    const started = Date.now();
    await assert.rejects(driver.add(net([{ type: 'fake-slow' }]), rt('s')), (e: unknown) => isBerthError(e, 'deadline-exceeded') && e.context.plugin === 'fake-slow');
    assert.ok(Date.now() - started < 10_000);
    // The plugin's own child died with its process group.
    const pid = Number(readFileSync(join(logDir, 'grandchild.pid'), 'utf8'));
    const end = Date.now() + 3000;
    while (existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z')) {
      assert.ok(Date.now() < end, 'grandchild of a timed-out plugin still running');
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it('asks a plugin for its versions', async () => {
    fresh();
    assert.deepEqual(await driver.pluginVersions('fake-first'), ['0.3.1', '0.4.0', '1.0.0']);
  });
});
