import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseNetworkConfig } from '../../../src/network/cni-config';
import {
  cniEnv,
  formatCniArgs,
  hasCheckAndDelPrevResult,
  parsePluginError,
  pluginError,
  pluginStdin,
  runtimeConfigFor,
  validateRuntimeConf,
} from '../../../src/network/cni-protocol';
import { isBerthError } from '../../../src/util/errors';

const invalid = (e: unknown) => isBerthError(e, 'invalid-argument');

describe('CNI_ARGS', () => {
  it('starts with IgnoreUnknown and keeps the given order', () => {
    assert.equal(
      formatCniArgs({ K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'web-0', K8S_POD_INFRA_CONTAINER_ID: 'abc', K8S_POD_UID: 'u-1' }),
      'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_UID=u-1',
    );
    assert.equal(formatCniArgs(), 'IgnoreUnknown=1');
    assert.equal(formatCniArgs({ IgnoreUnknown: '0', A: 'b' }), 'IgnoreUnknown=1;A=b');
  });

  it('rejects values that would break the format', () => {
    assert.throws(() => formatCniArgs({ K8S_POD_NAME: 'a;B=c' }), invalid);
    assert.throws(() => formatCniArgs({ K8S_POD_NAME: 'a=b' }), invalid);
    assert.throws(() => formatCniArgs({ 'BAD KEY': 'x' }), invalid);
  });
});

describe('runtimeConfig capability filtering', () => {
  const caps = {
    portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' as const }],
    bandwidth: { ingressRate: 1000 },
  };

  it('passes only capabilities the plugin declares as true and that have data', () => {
    assert.deepEqual(runtimeConfigFor({ type: 'portmap', capabilities: { portMappings: true } }, caps), { portMappings: caps.portMappings });
    assert.equal(runtimeConfigFor({ type: 'portmap', capabilities: { portMappings: false } }, caps), undefined);
    assert.equal(runtimeConfigFor({ type: 'bridge' }, caps), undefined);
    assert.deepEqual(runtimeConfigFor({ type: 'x', capabilities: { ipRanges: true, bandwidth: true } }, caps), { bandwidth: caps.bandwidth });
  });

  it('builds plugin stdin with list name/version, runtimeConfig and prevResult', () => {
    const net = parseNetworkConfig(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'mynet',
        plugins: [
          { type: 'bridge', name: 'ignored', cniVersion: '0.3.0', bridge: 'cni0' },
          { type: 'portmap', capabilities: { portMappings: true }, runtimeConfig: { keep: 1 } },
        ],
      }),
    );
    const first = pluginStdin(net, net.plugins[0], caps);
    assert.equal(first.name, 'mynet');
    assert.equal(first.cniVersion, '1.0.0');
    assert.equal(first.bridge, 'cni0');
    assert.equal('runtimeConfig' in first, false);
    assert.equal('prevResult' in first, false);
    const prev = { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] };
    const second = pluginStdin(net, net.plugins[1], caps, prev);
    assert.deepEqual(second.runtimeConfig, { keep: 1, portMappings: caps.portMappings });
    assert.deepEqual(second.prevResult, prev);
    // the stored config is not modified
    assert.equal(net.plugins[0].name, 'ignored');
  });
});

describe('plugin environment', () => {
  it('sets the CNI variables and drops stale ones', () => {
    const env = cniEnv(
      'ADD',
      { containerId: 'pod1', netnsPath: '/run/ns/net/pod1', args: { K8S_POD_NAME: 'p' } },
      '/run/ns/net/pod1',
      ['/opt/cni/bin', '/usr/lib/cni'],
      { PATH: '/bin', CNI_ARGS: 'stale', CNI_FOO: 'x', HOME: '/root' },
    );
    assert.deepEqual(
      Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('CNI_'))),
      {
        CNI_COMMAND: 'ADD',
        CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
        CNI_CONTAINERID: 'pod1',
        CNI_NETNS: '/run/ns/net/pod1',
        CNI_IFNAME: 'eth0',
        CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=p',
      },
    );
    assert.equal(env.PATH, '/bin');
    assert.equal(env.HOME, '/root');
  });

  it('validates container id and interface name', () => {
    assert.throws(() => validateRuntimeConf({ containerId: '-x', netnsPath: '/n' }), invalid);
    assert.throws(() => validateRuntimeConf({ containerId: 'x', netnsPath: '/n', ifName: 'a/b' }), invalid);
    assert.throws(() => validateRuntimeConf({ containerId: 'x', netnsPath: '/n', ifName: 'averyveryverylong0' }), invalid);
    assert.throws(() => validateRuntimeConf({ containerId: 'x', netnsPath: 'relative' }), invalid);
    validateRuntimeConf({ containerId: 'x', netnsPath: '' }, true);
  });

  it('knows which versions have CHECK and DEL prevResult', () => {
    assert.equal(hasCheckAndDelPrevResult('0.3.1'), false);
    assert.equal(hasCheckAndDelPrevResult('0.4.0'), true);
    assert.equal(hasCheckAndDelPrevResult('1.1.0'), true);
  });
});

describe('plugin errors', () => {
  it('parses the JSON error a plugin prints', () => {
    assert.deepEqual(parsePluginError('{"cniVersion":"1.0.0","code":7,"msg":"invalid config","details":"no bridge"}'), {
      code: 7,
      msg: 'invalid config',
      details: 'no bridge',
    });
    assert.equal(parsePluginError('panic: boom'), undefined);
    assert.equal(parsePluginError('{"cniVersion":"1.0.0"}'), undefined);
  });

  it('maps codes to error kinds and keeps plugin, command and network', () => {
    const ctx = { plugin: 'bridge', command: 'ADD' as const, network: 'n1', containerId: 'c1' };
    const e = pluginError({ code: 7, msg: 'bad', details: 'why' }, ctx);
    assert.equal(e.kind, 'failed-precondition');
    assert.match(e.message, /bridge ADD failed on network n1: bad \(why\)/);
    assert.equal(e.context.plugin, 'bridge');
    assert.equal(e.context.command, 'ADD');
    assert.equal(e.context.network, 'n1');
    assert.equal(e.context.code, 7);
    assert.equal(pluginError({ code: 11, msg: 'later' }, ctx).kind, 'unavailable');
    assert.equal(pluginError({ code: 3, msg: 'gone' }, ctx).kind, 'not-found');
    assert.equal(pluginError({ code: 100, msg: 'custom' }, ctx).kind, 'internal');
    assert.equal(pluginError({ msg: 'no code' }, ctx).kind, 'internal');
  });
});
