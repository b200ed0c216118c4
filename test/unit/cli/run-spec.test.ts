import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildRunSpec, configFromAnnotation, parseRunOptions, portsOf } from '../../../src/cli/run-spec';
import { ANN_CONFIG, ANN_PORTS, LABEL_CLI } from '../../../src/cli/resolve';
import { commandOf } from '../../../src/cli/container-ops';
import { generateName, hostnameFor } from '../../../src/cli/names';

describe('run flags → CRI configs', () => {
  const options = {
    env: ['A=1', 'FROM_HOST'],
    publish: ['127.0.0.1:8080:80', '53:53/udp'],
    volume: ['/srv/data:/data:ro'],
    entrypoint: '/bin/sh',
    workdir: '/tmp',
    user: '1000:1001',
    memory: '512m',
    cpus: '1.5',
    label: ['tier=web'],
    tty: true,
    runtime: 'crun',
  };
  const parsed = parseRunOptions(options, ['B=2\n# no\nA=0\n'], { FROM_HOST: 'yes' });

  it('parses every flag, env files first and -e winning', () => {
    assert.deepEqual(parsed.env, [
      { key: 'B', value: '2' },
      { key: 'A', value: '1' },
      { key: 'FROM_HOST', value: 'yes' },
    ]);
    assert.equal(parsed.ports.length, 2);
    assert.deepEqual(parsed.resources, { memoryLimitInBytes: 512 * 1024 * 1024, cpuPeriod: 100_000, cpuQuota: 150_000 });
    assert.equal(parsed.hostNetwork, false);
  });

  it('builds a pod of one container', () => {
    const spec = buildRunSpec({ name: 'my_web', image: 'busybox', args: ['-c', 'echo hi'], options, parsed, ports: parsed.ports });
    assert.equal(spec.runtimeHandler, 'crun');
    assert.equal(spec.pod.metadata!.name, 'my_web');
    assert.equal(spec.pod.metadata!.namespace, 'berth');
    assert.match(spec.pod.metadata!.uid!, /^[0-9a-f-]{36}$/);
    assert.equal(spec.pod.hostname, 'my-web');
    assert.equal(spec.pod.labels![LABEL_CLI], 'true');
    assert.deepEqual(spec.pod.portMappings, [
      { protocol: 'TCP', containerPort: 80, hostPort: 8080, hostIp: '127.0.0.1' },
      { protocol: 'UDP', containerPort: 53, hostPort: 53, hostIp: '' },
    ]);
    assert.deepEqual(spec.pod.linux!.securityContext!.namespaceOptions, { network: 'POD', pid: 'CONTAINER', ipc: 'POD' });
    const c = spec.container;
    assert.deepEqual(c.command, ['/bin/sh']);
    assert.deepEqual(c.args, ['-c', 'echo hi']);
    assert.equal(c.workingDir, '/tmp');
    assert.deepEqual(c.envs!.map((e) => [e.key, String(e.value)]), [['B', '2'], ['A', '1'], ['FROM_HOST', 'yes']]);
    assert.deepEqual(c.mounts, [{ hostPath: '/srv/data', containerPath: '/data', readonly: true, selinuxRelabel: false, propagation: 'PROPAGATION_PRIVATE' }]);
    assert.deepEqual(c.labels, { tier: 'web', [LABEL_CLI]: 'true' });
    assert.equal(c.tty, true);
    assert.equal(c.stdin, false);
    assert.deepEqual(c.linux!.resources, { memoryLimitInBytes: 512 * 1024 * 1024, cpuQuota: 150_000, cpuPeriod: 100_000 });
    assert.deepEqual(c.linux!.securityContext!.runAsUser, { value: 1000 });
    assert.deepEqual(c.linux!.securityContext!.runAsGroup, { value: 1001 });
    assert.deepEqual(portsOf(c.annotations), parsed.ports);
  });

  it('host network: NODE, the node\'s hostname, and no -p', () => {
    const p = parseRunOptions({ network: 'host', user: 'app' });
    const spec = buildRunSpec({ name: 'h', image: 'busybox', args: [], options: { network: 'host', user: 'app' }, parsed: p, ports: [] });
    assert.equal(spec.pod.linux!.securityContext!.namespaceOptions!.network, 'NODE');
    assert.equal(spec.pod.hostname, '');
    assert.equal(spec.container.linux!.securityContext!.runAsUsername, 'app');
    assert.equal(spec.container.linux!.resources, undefined);
    assert.deepEqual(spec.container.command, [], 'no --entrypoint keeps the image\'s');
    assert.throws(() => parseRunOptions({ network: 'host', publish: ['80:80'] }), /-p has no effect with --network host/);
    assert.throws(() => parseRunOptions({ network: 'overlay' }), /unsupported --network "overlay"/);
  });

  it('records the config so start/restart can make the container again', () => {
    const spec = buildRunSpec({ name: 'r', image: 'busybox', args: ['true'], options, parsed, ports: parsed.ports });
    const again = configFromAnnotation(spec.container.annotations![ANN_CONFIG]);
    assert.deepEqual(again.args, ['true']);
    assert.deepEqual(again.envs!.map((e) => [e.key, Buffer.from(e.value as Buffer).toString()]), [['B', '2'], ['A', '1'], ['FROM_HOST', 'yes']]);
    assert.equal(again.annotations![ANN_PORTS], spec.container.annotations![ANN_PORTS]);
    assert.equal(again.annotations![ANN_CONFIG], spec.container.annotations![ANN_CONFIG]);
  });
});

describe('commandOf', () => {
  const image = { entrypoint: ['/entry'], cmd: ['default'] };
  it('applies CRI\'s command/args rule over the image', () => {
    assert.deepEqual(commandOf({ config: { config: { command: ['sh'], args: ['-c', 'x'] } } }, image), ['sh', '-c', 'x']);
    assert.deepEqual(commandOf({ config: { config: { command: [], args: ['x'] } } }, image), ['/entry', 'x']);
    assert.deepEqual(commandOf({ config: { config: {} } }, image), ['/entry', 'default']);
    assert.deepEqual(commandOf({ config: { process: { args: ['oci', 'args'] } } }, image), ['oci', 'args']);
    assert.deepEqual(commandOf({}), []);
  });
});

describe('names', () => {
  it('generates a free docker-style name', () => {
    let i = 0;
    const seq = (n: number) => [0, 0, 0, 0, 1, 1][i++ % 6] % n;
    const first = generateName(new Set(), seq);
    assert.match(first, /^[a-z]+_[a-z]+$/);
    i = 0;
    const second = generateName(new Set([first]), seq);
    assert.notEqual(second, first);
  });
  it('makes hostnames from names', () => {
    assert.equal(hostnameFor('My_Web.1'), 'my-web-1');
    assert.equal(hostnameFor('___'), 'berth');
    assert.equal(hostnameFor('a'.repeat(70)).length, 63);
  });
});
