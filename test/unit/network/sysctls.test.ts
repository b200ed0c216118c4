import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planSysctls, sysctlNamespace, sysctlToPath } from '../../../src/network/sysctls';
import { isBerthError } from '../../../src/util/errors';

const invalid = (e: unknown) => isBerthError(e, 'invalid-argument');

describe('sysctls', () => {
  it('maps dotted and slashed names to /proc/sys paths', () => {
    assert.equal(sysctlToPath('net.ipv4.ip_forward'), 'net/ipv4/ip_forward');
    assert.equal(sysctlToPath('net/ipv4/ip_forward'), 'net/ipv4/ip_forward');
    assert.equal(sysctlToPath('net.ipv4.conf.eth0/100.rp_filter'), 'net/ipv4/conf/eth0.100/rp_filter');
    assert.equal(sysctlToPath('net/ipv4/conf/eth0.100/rp_filter'), 'net/ipv4/conf/eth0.100/rp_filter');
  });

  it('knows which namespace a sysctl belongs to', () => {
    assert.equal(sysctlNamespace('net.core.somaxconn'), 'net');
    assert.equal(sysctlNamespace('net/ipv4/ip_forward'), 'net');
    assert.equal(sysctlNamespace('kernel.shmmax'), 'ipc');
    assert.equal(sysctlNamespace('kernel.shm_rmid_forced'), 'ipc');
    assert.equal(sysctlNamespace('kernel.msgmnb'), 'ipc');
    assert.equal(sysctlNamespace('kernel.sem'), 'ipc');
    assert.equal(sysctlNamespace('fs.mqueue.msg_max'), 'ipc');
    assert.equal(sysctlNamespace('kernel.domainname'), 'uts');
    for (const host of ['kernel.pid_max', 'vm.swappiness', 'fs.file-max', 'kernel.semfoo', 'kernel.panic']) assert.equal(sysctlNamespace(host), undefined, host);
  });

  it('plans writes and rejects what a pod may not set', () => {
    assert.deepEqual(planSysctls({ 'net.ipv4.ip_unprivileged_port_start': '80', 'kernel.sem': '250 32000 32 128' }, ['net', 'ipc']), [
      { name: 'net.ipv4.ip_unprivileged_port_start', path: '/proc/sys/net/ipv4/ip_unprivileged_port_start', value: '80', namespace: 'net' },
      { name: 'kernel.sem', path: '/proc/sys/kernel/sem', value: '250 32000 32 128', namespace: 'ipc' },
    ]);
    assert.throws(() => planSysctls({ 'kernel.pid_max': '1' }, ['net', 'ipc', 'uts']), invalid);
    assert.throws(() => planSysctls({ 'net.core.somaxconn': '1' }, ['ipc', 'uts']), invalid); // host network
    assert.throws(() => planSysctls({ 'net/../../kernel/pid_max': '1' }, ['net']), invalid);
    assert.throws(() => planSysctls({ 'net..x': '1' }, ['net']), invalid);
    assert.throws(() => planSysctls({ 'net.ipv4.ip_forward': '1\n0' }, ['net']), invalid);
    assert.deepEqual(planSysctls({}, []), []);
  });
});
