import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatPort,
  mergeEnv,
  parseCpus,
  parseEnv,
  parseEnvFile,
  parseFilter,
  parseLabel,
  parseMemory,
  parsePublish,
  parseUser,
  parseVolume,
} from '../../../src/cli/flags';

describe('parsePublish (-p)', () => {
  it('takes every docker form', () => {
    assert.deepEqual(parsePublish('80'), [{ hostIp: '', hostPort: 0, containerPort: 80, protocol: 'tcp' }]);
    assert.deepEqual(parsePublish('8080:80'), [{ hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
    assert.deepEqual(parsePublish('127.0.0.1:8080:80/udp'), [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'udp' }]);
    assert.deepEqual(parsePublish('127.0.0.1::80'), [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, protocol: 'tcp' }]);
    assert.deepEqual(parsePublish('[::1]:8080:80'), [{ hostIp: '::1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
    assert.deepEqual(
      parsePublish('8000-8001:80-81/sctp').map((p) => [p.hostPort, p.containerPort, p.protocol]),
      [
        [8000, 80, 'sctp'],
        [8001, 81, 'sctp'],
      ],
    );
  });
  it('refuses bad ports, protocols and shapes', () => {
    assert.throws(() => parsePublish('99999:80'), /invalid host port "99999"/);
    assert.throws(() => parsePublish('80:0'), /invalid container port/);
    assert.throws(() => parsePublish('80/icmp'), /invalid protocol "icmp"/);
    assert.throws(() => parsePublish('a:b:c:d'), /invalid port mapping/);
    assert.throws(() => parsePublish('8000-8002:80-81'), /differ in length/);
    assert.throws(() => parsePublish('host.example:80:80'), /invalid host IP/);
  });
  it('formats as docker ps does', () => {
    assert.equal(formatPort({ hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' }), '0.0.0.0:8080->80/tcp');
    assert.equal(formatPort({ hostIp: '::1', hostPort: 1, containerPort: 2, protocol: 'udp' }), '[::1]:1->2/udp');
  });
});

describe('parseVolume (-v)', () => {
  it('bind mounts with options', () => {
    assert.deepEqual(parseVolume('/data:/srv'), { hostPath: '/data', containerPath: '/srv', readonly: false, selinuxRelabel: false, propagation: 'PROPAGATION_PRIVATE' });
    const ro = parseVolume('/data:/srv:ro,Z,rslave');
    assert.equal(ro.readonly, true);
    assert.equal(ro.selinuxRelabel, true);
    assert.equal(ro.propagation, 'PROPAGATION_HOST_TO_CONTAINER');
    assert.equal(parseVolume('/a:/b:shared').propagation, 'PROPAGATION_BIDIRECTIONAL');
    assert.equal(parseVolume('./x:/b', '/home/me').hostPath, '/home/me/x');
  });
  it('takes named volumes (berthd resolves them) and refuses bad names, relative container paths and unknown options', () => {
    assert.deepEqual(parseVolume('data:/srv:ro'), { hostPath: '', volume: 'data', containerPath: '/srv', readonly: true, selinuxRelabel: false, propagation: 'PROPAGATION_PRIVATE' });
    assert.equal(parseVolume('my.vol-1_x:/srv').volume, 'my.vol-1_x');
    assert.equal(parseVolume('/data:/srv').volume, undefined);
    assert.throws(() => parseVolume('-bad:/srv'), /invalid volume name "-bad"/);
    assert.throws(() => parseVolume('a b:/srv'), /invalid volume name/);
    assert.throws(() => parseVolume('/data:srv'), /container path must be absolute/);
    assert.throws(() => parseVolume('/data:/srv:rw,bogus'), /invalid volume option "bogus"/);
    assert.throws(() => parseVolume('/data'), /invalid volume/);
  });
});

describe('parseEnv, parseEnvFile (-e, --env-file)', () => {
  it('takes KEY=VALUE and KEY from this environment', () => {
    assert.deepEqual(parseEnv('A=1=2'), { key: 'A', value: '1=2' });
    assert.deepEqual(parseEnv('EMPTY='), { key: 'EMPTY', value: '' });
    assert.deepEqual(parseEnv('HOME', { HOME: '/root' }), { key: 'HOME', value: '/root' });
    assert.equal(parseEnv('UNSET_HERE', {}), undefined);
    assert.throws(() => parseEnv('=x'), /invalid environment variable/);
  });
  it('reads files with comments and blank lines; later values win', () => {
    const vars = parseEnvFile('# comment\n\nA=1\n  B=two words\r\nPASS\nA=3\n', { PASS: 'through' });
    assert.deepEqual(vars, [
      { key: 'A', value: '1' },
      { key: 'B', value: 'two words' },
      { key: 'PASS', value: 'through' },
      { key: 'A', value: '3' },
    ]);
    assert.deepEqual(mergeEnv(vars), [
      { key: 'A', value: '3' },
      { key: 'B', value: 'two words' },
      { key: 'PASS', value: 'through' },
    ]);
  });
});

describe('parseUser (-u)', () => {
  it('maps uid[:gid] and name[:gid] to CRI fields', () => {
    assert.deepEqual(parseUser('1000'), { runAsUser: 1000 });
    assert.deepEqual(parseUser('0:10'), { runAsUser: 0, runAsGroup: 10 });
    assert.deepEqual(parseUser('app'), { runAsUsername: 'app' });
    assert.deepEqual(parseUser('app:1000'), { runAsUsername: 'app', runAsGroup: 1000 });
  });
  it('refuses group names and junk', () => {
    assert.throws(() => parseUser('app:staff'), /numeric gid/);
    assert.throws(() => parseUser('1:2:3'), /invalid user/);
    assert.throws(() => parseUser(''), /invalid user/);
    assert.throws(() => parseUser('a b'), /invalid user name/);
    assert.throws(() => parseUser('99999999999'), /out of range/);
  });
});

describe('parseMemory, parseCpus', () => {
  it('reads sizes in binary units', () => {
    assert.equal(parseMemory('512m'), 512 * 1024 * 1024);
    assert.equal(parseMemory('1.5g'), 1.5 * 1024 ** 3);
    assert.equal(parseMemory('64MiB'), 64 * 1024 * 1024);
    assert.equal(parseMemory('10000000'), 10_000_000);
    assert.equal(parseMemory('8192k'), 8 * 1024 * 1024);
    assert.throws(() => parseMemory('lots'), /invalid memory size/);
    assert.throws(() => parseMemory('1k'), /below the minimum/);
  });
  it('turns --cpus into a CFS quota', () => {
    assert.deepEqual(parseCpus('1.5'), { cpuPeriod: 100_000, cpuQuota: 150_000 });
    assert.deepEqual(parseCpus('2'), { cpuPeriod: 100_000, cpuQuota: 200_000 });
    assert.deepEqual(parseCpus('0.01'), { cpuPeriod: 100_000, cpuQuota: 1000 });
    assert.throws(() => parseCpus('0'), /minimum is 0.01/);
    assert.throws(() => parseCpus('-1'), /invalid --cpus/);
    assert.throws(() => parseCpus('one'), /invalid --cpus/);
  });
});

describe('parseLabel, parseFilter', () => {
  it('splits at the first =', () => {
    assert.deepEqual(parseLabel('a=b=c'), ['a', 'b=c']);
    assert.deepEqual(parseLabel('flag'), ['flag', '']);
    assert.throws(() => parseLabel('=x'), /invalid label/);
  });
  it('accepts only known filter keys', () => {
    assert.deepEqual(parseFilter('Name=web', ['name']), { key: 'name', value: 'web' });
    assert.deepEqual(parseFilter('label=a=b', ['label']), { key: 'label', value: 'a=b' });
    assert.throws(() => parseFilter('color=red', ['name', 'label']), /invalid filter "color": use one of name, label/);
    assert.throws(() => parseFilter('name', ['name']), /use key=value/);
  });
});
