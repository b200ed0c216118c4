import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { additionalIPs, parseCniResult, podIPs, primaryIPv4 } from '../../../src/network/cni-result';
import { isBerthError } from '../../../src/util/errors';

const invalid = (e: unknown) => isBerthError(e, 'invalid-argument');

// Shaped like a bridge + host-local result in spec 0.4.0: IPs carry "version".
const RESULT_040 = {
  cniVersion: '0.4.0',
  interfaces: [
    { name: 'cni0', mac: '0a:58:0a:16:00:01' },
    { name: 'veth1234', mac: '5e:1a:22:33:44:55' },
    { name: 'eth0', mac: '0a:58:0a:16:00:05', sandbox: '/run/berth/ns/net/p1' },
  ],
  ips: [{ version: '4', address: '10.22.0.5/16', gateway: '10.22.0.1', interface: 2 }],
  routes: [{ dst: '0.0.0.0/0' }],
  dns: { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] },
};

// Dual-stack 1.0.0 result listing the IPv6 address first, plus an address on a host interface.
const RESULT_100 = {
  cniVersion: '1.0.0',
  interfaces: [
    { name: 'br0', mac: '0a:58:0a:16:00:01' },
    { name: 'eth0', mac: '0a:58:0a:16:00:05', sandbox: '/run/ns/p2', mtu: 1450 },
  ],
  ips: [
    { address: 'fd00:10::5/64', gateway: 'fd00:10::1', interface: 1 },
    { address: '10.23.0.5/24', gateway: '10.23.0.1', interface: 1 },
    { address: '10.23.0.1/24', interface: 0 },
    { address: '10.23.1.9/32', interface: 1 },
  ],
  routes: [
    { dst: '0.0.0.0/0', gw: '10.23.0.1', priority: 10 },
    { dst: '::/0', gw: 'fd00:10::1' },
  ],
  dns: {},
};

describe('parseCniResult', () => {
  it('converts a 0.4.0 result, dropping ip versions', () => {
    const r = parseCniResult(RESULT_040);
    assert.equal(r.cniVersion, '0.4.0');
    assert.deepEqual(r.ips, [{ address: '10.22.0.5/16', gateway: '10.22.0.1', interface: 2 }]);
    assert.equal(r.interfaces[2].sandbox, '/run/berth/ns/net/p1');
    assert.deepEqual(r.routes, [{ dst: '0.0.0.0/0' }]);
    assert.deepEqual(r.dns, { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] });
  });

  it('parses a 1.0.0 result with extra route and interface fields', () => {
    const r = parseCniResult(RESULT_100);
    assert.equal(r.interfaces[1].mtu, 1450);
    assert.deepEqual(r.routes[0], { dst: '0.0.0.0/0', gw: '10.23.0.1', priority: 10 });
    assert.equal(r.ips.length, 4);
  });

  it('converts a legacy ip4/ip6 result', () => {
    const r = parseCniResult({ cniVersion: '0.2.0', ip4: { ip: '10.1.0.3/24', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0' }] } });
    assert.deepEqual(r.ips, [{ address: '10.1.0.3/24', gateway: '10.1.0.1' }]);
    assert.deepEqual(r.routes, [{ dst: '0.0.0.0/0' }]);
  });

  it('tolerates a result with no ips at all', () => {
    assert.deepEqual(parseCniResult({ cniVersion: '1.0.0' }), { cniVersion: '1.0.0', interfaces: [], ips: [], routes: [], dns: {} });
  });

  it('rejects malformed results', () => {
    assert.throws(() => parseCniResult('x'), invalid);
    assert.throws(() => parseCniResult({ ips: [{ address: '10.0.0.300/24' }] }), invalid);
    assert.throws(() => parseCniResult({ ips: [{ address: '10.0.0.3' }] }), invalid);
    assert.throws(() => parseCniResult({ ips: [{ address: '10.0.0.3/33' }] }), invalid);
    assert.throws(() => parseCniResult({ ips: [{ address: '10.0.0.3/24', interface: 0 }] }), invalid);
    assert.throws(() => parseCniResult({ ips: [{ address: '10.0.0.3/24', gateway: 'gw' }] }), invalid);
    assert.throws(() => parseCniResult({ interfaces: [{ mac: 'x' }] }), invalid);
    assert.throws(() => parseCniResult({ routes: [{ gw: '10.0.0.1' }] }), invalid);
    assert.throws(() => parseCniResult({ dns: { nameservers: 'x' } }), invalid);
  });
});

describe('pod IP selection', () => {
  it('uses the sandbox interface and puts IPv4 first', () => {
    const r = parseCniResult(RESULT_100);
    assert.deepEqual(podIPs(r), ['10.23.0.5', 'fd00:10::5', '10.23.1.9']);
    assert.equal(primaryIPv4(r), '10.23.0.5');
    assert.deepEqual(additionalIPs(r), ['fd00:10::5', '10.23.1.9']);
  });

  it('handles 0.4.0 results and other interface names', () => {
    const r = parseCniResult(RESULT_040);
    assert.deepEqual(podIPs(r), ['10.22.0.5']);
    assert.deepEqual(additionalIPs(r), []);
    // no sandbox interface of that name: fall back to every address
    assert.deepEqual(podIPs(r, 'net1'), ['10.22.0.5']);
  });

  it('keeps an IPv6-only pod', () => {
    const r = parseCniResult({ cniVersion: '1.0.0', ips: [{ address: 'fd00::7/64' }] });
    assert.deepEqual(podIPs(r), ['fd00::7']);
    assert.equal(primaryIPv4(r), undefined);
  });
});
