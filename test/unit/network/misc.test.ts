import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mountsUnder, parseMountInfo } from '../../../src/network/mountinfo';
import { toCniPortMappings } from '../../../src/network/pod-network';
import { isBerthError } from '../../../src/util/errors';

describe('mountinfo', () => {
  const TEXT = [
    '27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
    '42 27 254:0 /tmp/x/ns /tmp/x/ns rw,relatime - ext4 /dev/vda rw',
    '46 42 0:4 net:[4026532179] /tmp/x/ns/net/pod\\0401 rw - nsfs nsfs rw',
    '47 27 0:4 net:[4026532180] /tmp/x/nsother rw - nsfs nsfs rw',
    '',
  ].join('\n');

  it('parses fields, optional tags and octal escapes', () => {
    const m = parseMountInfo(TEXT);
    assert.equal(m.length, 4);
    assert.deepEqual(m[0], { id: 27, parentId: 1, mountPoint: '/', optional: ['shared:1'], fsType: 'ext4' });
    assert.deepEqual(m[1].optional, []);
    assert.equal(m[2].mountPoint, '/tmp/x/ns/net/pod 1');
    assert.equal(m[2].fsType, 'nsfs');
  });

  it('finds mounts at or below a path, not siblings sharing a prefix', () => {
    assert.deepEqual(mountsUnder(parseMountInfo(TEXT), '/tmp/x/ns').map((e) => e.id), [42, 46]);
  });
});

describe('toCniPortMappings', () => {
  it('keeps host-port mappings, lower-cases protocols, drops empty host IPs', () => {
    assert.deepEqual(
      toCniPortMappings([
        { protocol: 'TCP', containerPort: 80, hostPort: 8080, hostIP: '' },
        { protocol: 'UDP', containerPort: 53, hostPort: 5353, hostIP: '127.0.0.1' },
        { containerPort: 443, hostPort: 8443 },
        { protocol: 'TCP', containerPort: 9090 },
        { protocol: 'TCP', containerPort: 9091, hostPort: 0 },
      ]),
      [
        { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
        { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1' },
        { hostPort: 8443, containerPort: 443, protocol: 'tcp' },
      ],
    );
  });

  it('rejects bad protocols and ports', () => {
    assert.throws(() => toCniPortMappings([{ protocol: 'ICMP', containerPort: 1, hostPort: 1 }]), (e: unknown) => isBerthError(e, 'invalid-argument'));
    assert.throws(() => toCniPortMappings([{ containerPort: 0, hostPort: 80 }]), (e: unknown) => isBerthError(e, 'invalid-argument'));
    assert.throws(() => toCniPortMappings([{ containerPort: 80, hostPort: 70000 }]), (e: unknown) => isBerthError(e, 'invalid-argument'));
  });
});
