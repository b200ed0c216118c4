// Pod networking end to end with the real CNI plugins: pinned namespaces, a bridge + host-local +
// portmap chain on a bridge and subnet private to this test, pod-to-pod traffic, a host port on
// 127.0.0.1, DEL with and without the netns, and nothing left behind.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { CniConfigWatcher } from '../../src/network/cni-config';
import { PodNetwork } from '../../src/network/pod-network';
import { listPinned, pinNamespaces, releaseNamespaceDir, unpinNamespaces, type PinnedNamespaces } from '../../src/network/namespaces';
import { natRules, removeHostportChains } from '../helpers/cni';

const CNI_BIN = process.env.BERTH_TEST_CNI_BIN ?? '/usr/lib/cni';
const BUSYBOX = process.env.BERTH_TEST_BUSYBOX ?? '/bin/busybox';
const TOOLS = ['unshare', 'nsenter', 'ip', 'iptables', 'mount', 'umount'];

function requireTools(): void {
  for (const t of TOOLS) {
    try {
      execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'pipe' });
    } catch {
      throw new Error(`${t} is missing: install util-linux / iproute2 / iptables`);
    }
  }
  for (const p of ['bridge', 'host-local', 'portmap']) {
    if (!existsSync(join(CNI_BIN, p))) throw new Error(`CNI plugin ${join(CNI_BIN, p)} is missing: install containernetworking-plugins`);
  }
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing: install busybox-static`);
}

const sh = (file: string, args: string[]): string => execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function linkExists(name: string): boolean {
  try {
    sh('ip', ['link', 'show', 'dev', name]);
    return true;
  } catch {
    return false;
  }
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('pod networking with real CNI plugins', { timeout: 180_000 }, () => {
  const tag = randomBytes(3).toString('hex');
  const bridge = `bt${tag}`;
  const netName = `berth-test-${tag}`;
  let subnetPrefix = '';
  let tmp = '';
  let confDir = '';
  let stateDir = '';
  let nsDir = '';
  let dataDir = '';
  let watcher: CniConfigWatcher;
  let pn: PodNetwork;
  const pinned = new Map<string, PinnedNamespaces>();
  const started: ChildProcess[] = [];
  let hadHostportChains = false;
  let ipForwardBefore = '';

  before(async () => {
    requireTools();
    const routes = sh('ip', ['-4', 'route', 'show', 'table', 'all']);
    for (;;) {
      subnetPrefix = `10.213.${randomInt(0, 256)}`;
      if (!routes.includes(`${subnetPrefix}.`)) break;
    }
    tmp = mkdtempSync(join(tmpdir(), 'berth-net-'));
    confDir = join(tmp, 'net.d');
    stateDir = join(tmp, 'state');
    nsDir = join(stateDir, 'ns');
    dataDir = join(tmp, 'ipam');
    hadHostportChains = natRules().includes('CNI-HOSTPORT-DNAT');
    ipForwardBefore = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
    watcher = new CniConfigWatcher(confDir, { debounceMs: 50, pollMs: 200, binDirs: [CNI_BIN] });
    await watcher.start();
    pn = new PodNetwork({
      stateDir,
      nsDir,
      binDirs: [CNI_BIN],
      network: () => watcher.current(),
      readiness: () => watcher.status(),
      timeoutMs: 30_000,
    });
  });

  after(async () => {
    for (const c of started) if (c.exitCode === null && c.signalCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
    watcher?.stop();
    // Best-effort teardown of whatever a failed test left, so the host stays clean.
    for (const id of pinned.keys()) await pn?.tearDownPodNetwork(id).catch(() => undefined);
    for (const id of pinned.keys()) await unpinNamespaces(nsDir, id).catch(() => undefined);
    if (nsDir && existsSync(nsDir)) await releaseNamespaceDir(nsDir).catch(() => undefined);
    if (linkExists(bridge)) sh('ip', ['link', 'del', bridge]);
    if (!hadHostportChains) removeHostportChains();
    // The bridge plugin turns on forwarding for gateway mode; put back what we found.
    if (ipForwardBefore === '0') writeFileSync('/proc/sys/net/ipv4/ip_forward', '0');
    if (tmp && mountsUnder(tmp).length === 0) rmSync(tmp, { recursive: true, force: true });
  });

  it('reports not ready until a config appears, then picks it up', async () => {
    assert.equal(watcher.status().ready, false);
    assert.equal(watcher.status().reason, 'NetworkPluginNotReady');
    await assert.rejects(
      pn.setUpPodNetwork('early', { podId: 'early', paths: { net: '/nonexistent' } }, { name: 'a', namespace: 'ns', uid: 'u' }),
      (e: Error & { kind?: string }) => e.kind === 'unavailable',
    );
    const conflist = {
      cniVersion: '1.0.0',
      name: netName,
      plugins: [
        {
          type: 'bridge',
          bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: `${subnetPrefix}.0/24` }]], dataDir, routes: [{ dst: `${subnetPrefix}.0/24` }] },
        },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ],
    };
    execFileSync('mkdir', ['-p', confDir]);
    writeFileSync(join(confDir, '10-test.conflist'), JSON.stringify(conflist));
    await waitFor('the watcher to load the config', () => watcher.status().ready);
    assert.equal(watcher.current()?.name, netName);
  });

  let ipA = '';
  let ipB = '';
  let hostVeths: string[] = [];

  it('pins namespaces and attaches two pods that can reach each other', async () => {
    for (const [id, host] of [['poda', 'pod-a'], ['podb', 'pod-b']] as const) {
      const ns = await pinNamespaces(nsDir, id, ['net', 'ipc', 'uts'], {
        hostname: host,
        sysctls: { 'net.ipv4.ip_unprivileged_port_start': '77', 'kernel.msgmax': '12345' },
      });
      pinned.set(id, ns);
    }
    const a = await pn.setUpPodNetwork('poda', pinned.get('poda')!, { name: 'a', namespace: 'default', uid: 'uid-a' });
    const hostPort = await freePort();
    const b = await pn.setUpPodNetwork('podb', pinned.get('podb')!, { name: 'b', namespace: 'default', uid: 'uid-b' }, [
      { protocol: 'TCP', containerPort: 8080, hostPort, hostIP: '127.0.0.1' },
      { protocol: 'TCP', containerPort: 9090 }, // no host port: must not reach portmap
    ]);
    ipA = a.ips[0];
    ipB = b.ips[0];
    assert.match(ipA, new RegExp(`^${subnetPrefix.replace(/\./g, '\\.')}\\.\\d+$`));
    assert.match(ipB, new RegExp(`^${subnetPrefix.replace(/\./g, '\\.')}\\.\\d+$`));
    assert.notEqual(ipA, ipB);
    hostVeths = [...a.result.interfaces, ...b.result.interfaces].filter((i) => !i.sandbox && i.name !== bridge).map((i) => i.name);
    assert.equal(hostVeths.length, 2);
    for (const v of hostVeths) assert.ok(linkExists(v), `host veth ${v} exists`);

    for (const [id, ip] of [['poda', ipA], ['podb', ipB]] as const) {
      const netns = pinned.get(id)!.paths.net!;
      const addrs = sh('nsenter', [`--net=${netns}`, 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
      assert.ok(addrs.includes(`${ip}/24`), `eth0 of ${id} has ${ip}: ${addrs}`);
      assert.match(sh('nsenter', [`--net=${netns}`, 'ip', '-o', 'link', 'show', 'dev', 'lo']), /[<,]UP[,>]/);
      assert.equal(sh('nsenter', [`--net=${netns}`, 'cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start']).trim(), '77');
      assert.equal(sh('nsenter', [`--ipc=${pinned.get(id)!.paths.ipc!}`, 'cat', '/proc/sys/kernel/msgmax']).trim(), '12345');
    }
    assert.equal(sh('nsenter', [`--uts=${pinned.get('poda')!.paths.uts!}`, 'hostname']).trim(), 'pod-a');
    assert.equal(sh('nsenter', [`--uts=${pinned.get('podb')!.paths.uts!}`, 'hostname']).trim(), 'pod-b');
    // The host's own values are untouched.
    assert.notEqual(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim(), '77');

    sh('nsenter', [`--net=${pinned.get('poda')!.paths.net!}`, BUSYBOX, 'ping', '-c', '1', '-W', '3', ipB]);
    sh('nsenter', [`--net=${pinned.get('podb')!.paths.net!}`, BUSYBOX, 'ping', '-c', '1', '-W', '3', ipA]);

    // The recorded attachment survives a restart of the facade.
    const again = await new PodNetwork({ stateDir, nsDir, binDirs: [CNI_BIN], network: () => undefined }).podNetworkStatus('podb');
    assert.deepEqual(again?.ips, [ipB]);
    await pn.checkPodNetwork('poda');

    // Host port on 127.0.0.1 → pod b's port 8080.
    const rules = natRules();
    assert.ok(rules.includes(`--dport ${hostPort}`), 'portmap installed a DNAT rule for the host port');
    assert.ok(!rules.includes('--dport 9090') && !/to-destination [0-9.]+:9090/.test(rules), 'no rule for the mapping without host port');
    const listener = spawn('nsenter', [`--net=${pinned.get('podb')!.paths.net!}`, BUSYBOX, 'nc', '-l', '-p', '8080'], { stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(listener);
    let got = '';
    listener.stdout!.on('data', (d: Buffer) => (got += d.toString()));
    const payload = `hello-${tag}`;
    await waitFor(
      'a connection through the host port',
      () =>
        new Promise<boolean>((resolve) => {
          const s = connect({ host: '127.0.0.1', port: hostPort }, () => s.end(payload, () => resolve(true)));
          s.on('error', () => resolve(false));
        }),
      10_000,
    );
    await waitFor('the pod to receive the payload', () => got.includes(payload), 5_000);
    await waitFor('nc to exit', () => listener.exitCode !== null || listener.signalCode !== null, 5_000);
  });

  it('detaches both pods and leaves nothing behind', async () => {
    await pn.tearDownPodNetwork('poda');
    await pn.tearDownPodNetwork('podb');
    await pn.tearDownPodNetwork('podb'); // idempotent
    for (const id of ['poda', 'podb']) {
      await unpinNamespaces(nsDir, id);
      await unpinNamespaces(nsDir, id); // idempotent
      pinned.delete(id);
      for (const k of ['net', 'ipc', 'uts']) assert.equal(existsSync(join(nsDir, k, id)), false, `${k}/${id} removed`);
    }
    await waitFor('host veths to disappear', () => hostVeths.every((v) => !linkExists(v)));
    assert.equal(sh('ip', ['-o', 'link', 'show', 'master', bridge]).trim(), '', 'nothing attached to the bridge');
    const ipamFiles = readdirSync(join(dataDir, netName));
    assert.deepEqual(ipamFiles.filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)), [], 'host-local released every address');
    assert.ok(!natRules().includes(ipB), 'portmap rules for pod b are gone');
    assert.deepEqual(await pn.driver.attachedIds(), []);
  });

  it('DEL succeeds after the netns is already gone', async () => {
    const ns = await pinNamespaces(nsDir, 'podc', ['net']);
    pinned.set('podc', ns);
    const c = await pn.setUpPodNetwork('podc', ns, { name: 'c', namespace: 'default', uid: 'uid-c' });
    const ipC = c.ips[0];
    assert.ok(existsSync(join(dataDir, netName, ipC)), 'address reserved');
    const veth = c.result.interfaces.find((i) => !i.sandbox && i.name !== bridge)!.name;
    await unpinNamespaces(nsDir, 'podc');
    pinned.delete('podc');
    await pn.tearDownPodNetwork('podc');
    assert.equal(existsSync(join(dataDir, netName, ipC)), false, 'address released without a netns');
    assert.deepEqual(await pn.driver.attachedIds(), []);
    await waitFor('veth of the destroyed netns to disappear', () => !linkExists(veth));
  });

  it('reconcile detaches and unpins pods that are not known', async () => {
    const ns = await pinNamespaces(nsDir, 'podd', ['net', 'uts'], { hostname: 'pod-d' });
    pinned.set('podd', ns);
    const d = await pn.setUpPodNetwork('podd', ns, { name: 'd', namespace: 'default', uid: 'uid-d' });
    const stale = await pinNamespaces(nsDir, 'pode', ['net']);
    pinned.set('pode', stale);
    const report = await pn.reconcileNetworks(['pode']);
    assert.deepEqual(report, { detached: ['podd'], unpinned: ['podd'], failures: [] });
    pinned.delete('podd');
    assert.equal(existsSync(join(dataDir, netName, d.ips[0])), false);
    await unpinNamespaces(nsDir, 'pode');
    pinned.delete('pode');
    assert.deepEqual(await listPinned(nsDir), []);
  });

  it('cleans up the namespace dir and the bridge', async () => {
    await releaseNamespaceDir(nsDir);
    assert.deepEqual(mountsUnder(tmp), [], 'no mounts left under the temp dir');
    assert.ok(linkExists(bridge), 'the bridge plugin created the test bridge');
    sh('ip', ['link', 'del', bridge]);
    assert.equal(linkExists(bridge), false);
  });
});
