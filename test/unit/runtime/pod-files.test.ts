import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MAX_DNS_SEARCHES,
  removePodFiles,
  renderHosts,
  renderResolvConf,
  updatePodHosts,
  writePodFiles,
} from '../../../src/runtime/pod-files';
import { isBerthError } from '../../../src/util/errors';

const invalid = (e: unknown) => isBerthError(e, 'invalid-argument');

describe('renderResolvConf', () => {
  it('writes search, nameserver and options lines in resolv.conf order', () => {
    assert.equal(
      renderResolvConf({ servers: ['10.96.0.10', 'fd00::a', 'fe80::1%eth0'], searches: ['ns.svc.cluster.local', 'cluster.local'], options: ['ndots:5', 'edns0'] }),
      'search ns.svc.cluster.local cluster.local\nnameserver 10.96.0.10\nnameserver fd00::a\nnameserver fe80::1%eth0\noptions ndots:5 edns0\n',
    );
    assert.equal(renderResolvConf({ servers: ['1.1.1.1'], searches: [], options: [] }), 'nameserver 1.1.1.1\n');
  });

  it('refuses invalid servers, injected tokens and over-long search lists', () => {
    for (const servers of [['10.0.0.256'], ['dns.example'], ['1.2.3.4%eth0'], ['fe80::1%'], [''], ['1.1.1.1\nnameserver 6.6.6.6']])
      assert.throws(() => renderResolvConf({ servers, searches: [], options: [] }), invalid, servers.join());
    assert.throws(() => renderResolvConf({ servers: [], searches: ['a b'], options: [] }), invalid);
    assert.throws(() => renderResolvConf({ servers: [], searches: ['a\nnameserver 6.6.6.6'], options: [] }), invalid);
    assert.throws(() => renderResolvConf({ servers: [], searches: [], options: ['ndots:5\nsearch evil'] }), invalid);
    const many = Array.from({ length: MAX_DNS_SEARCHES + 1 }, (_, i) => `d${i}.example`);
    assert.throws(() => renderResolvConf({ servers: [], searches: many, options: [] }), invalid);
    assert.doesNotThrow(() => renderResolvConf({ servers: [], searches: many.slice(1), options: [] }));
    const long = Array.from({ length: 9 }, (_, i) => `${String(i).padEnd(250, 'x')}.example`); // 9 x 258 + 8 > 2048
    assert.throws(() => renderResolvConf({ servers: [], searches: long, options: [] }), invalid);
  });
});

describe('renderHosts', () => {
  it('has the localhost block and one line per pod IP', () => {
    const lines = renderHosts('web-0', ['10.1.2.3', 'fd00::3']).split('\n');
    assert.ok(lines.includes('127.0.0.1\tlocalhost'));
    assert.ok(lines.includes('::1\tlocalhost ip6-localhost ip6-loopback'));
    for (const l of ['fe00::0\tip6-localnet', 'ff00::0\tip6-mcastprefix', 'ff02::1\tip6-allnodes', 'ff02::2\tip6-allrouters'])
      assert.ok(lines.includes(l), l);
    assert.deepEqual(lines.slice(-3), ['10.1.2.3\tweb-0', 'fd00::3\tweb-0', '']);
    assert.ok(!renderHosts('web-0').includes('web-0'));
    assert.throws(() => renderHosts('web-0', ['10.1.2']), invalid);
  });
});

describe('writePodFiles', () => {
  let tmp = '';
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-podfiles-'));
    writeFileSync(join(tmp, 'host-resolv.conf'), 'nameserver 192.0.2.53\nsearch corp.example\n');
    writeFileSync(join(tmp, 'host-hosts'), '127.0.0.1 localhost\n192.0.2.7 node-1\n');
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('writes the three files with mode 0644 from dnsConfig', async () => {
    const dir = join(tmp, 'p1');
    const p = await writePodFiles(dir, {
      hostname: 'web-0',
      hostNetwork: false,
      dnsConfig: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local'], options: ['ndots:5'] },
      hostResolvConf: join(tmp, 'host-resolv.conf'),
      ips: ['10.1.2.3'],
    });
    assert.deepEqual(p, { hostnamePath: join(dir, 'hostname'), hostsPath: join(dir, 'hosts'), resolvConfPath: join(dir, 'resolv.conf') });
    assert.equal(readFileSync(p.hostnamePath, 'utf8'), 'web-0\n');
    assert.equal(readFileSync(p.resolvConfPath, 'utf8'), 'search default.svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n');
    assert.match(readFileSync(p.hostsPath, 'utf8'), /\n10\.1\.2\.3\tweb-0\n$/);
    for (const f of Object.values(p)) assert.equal(statSync(f).mode & 0o777, 0o644, f);
    assert.deepEqual(readdirSync(dir).sort(), ['hostname', 'hosts', 'resolv.conf']);
  });

  it('copies the host resolv.conf for an empty dnsConfig and the host hosts file for host-network pods', async () => {
    const dir = join(tmp, 'p2');
    const p = await writePodFiles(dir, {
      hostname: 'node-1',
      hostNetwork: true,
      dnsConfig: { servers: [], searches: [], options: [] },
      hostResolvConf: join(tmp, 'host-resolv.conf'),
      hostHosts: join(tmp, 'host-hosts'),
    });
    assert.equal(readFileSync(p.resolvConfPath, 'utf8'), readFileSync(join(tmp, 'host-resolv.conf'), 'utf8'));
    assert.equal(readFileSync(p.hostsPath, 'utf8'), readFileSync(join(tmp, 'host-hosts'), 'utf8'));
    // A copy of the node's hosts file is not berth's to rewrite.
    await assert.rejects(updatePodHosts(dir, 'node-1', ['10.0.0.1']), (e: unknown) => isBerthError(e, 'failed-precondition'));
  });

  it('validates before writing anything', async () => {
    const dir = join(tmp, 'p3');
    for (const hostname of ['bad_host', '-x', 'a'.repeat(65), 'a..b'])
      await assert.rejects(writePodFiles(dir, { hostname, hostNetwork: false, hostResolvConf: join(tmp, 'host-resolv.conf') }), invalid, hostname);
    await assert.rejects(
      writePodFiles(dir, { hostname: 'ok', hostNetwork: false, dnsConfig: { servers: ['nope'], searches: [], options: [] } }),
      invalid,
    );
    await assert.rejects(
      writePodFiles(dir, { hostname: 'ok', hostNetwork: false, hostResolvConf: join(tmp, 'missing') }),
      (e: unknown) => isBerthError(e, 'failed-precondition'),
    );
    assert.equal(existsSync(dir), false);
  });

  it('updates the pod IP lines and removes only its own files', async () => {
    const dir = join(tmp, 'p4');
    const p = await writePodFiles(dir, { hostname: 'db-1', hostNetwork: false, hostResolvConf: join(tmp, 'host-resolv.conf') });
    assert.ok(!readFileSync(p.hostsPath, 'utf8').includes('db-1'));
    await updatePodHosts(dir, 'db-1', ['10.9.8.7']);
    assert.match(readFileSync(p.hostsPath, 'utf8'), /\n10\.9\.8\.7\tdb-1\n$/);
    assert.equal(statSync(p.hostsPath).mode & 0o777, 0o644);

    writeFileSync(join(dir, '.hosts.tmp-0123456789ab'), 'torn');
    mkdirSync(join(dir, 'shm'));
    await removePodFiles(dir);
    assert.deepEqual(readdirSync(dir), ['shm'], 'foreign entries stay, so the directory stays');
    rmSync(join(dir, 'shm'), { recursive: true });
    await removePodFiles(dir);
    assert.equal(existsSync(dir), false);
    await removePodFiles(dir); // idempotent
  });
});
