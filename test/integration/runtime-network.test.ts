// Pod networking through a real berthd over CRI: two containers of one pod share the pod's
// network namespace (one serves HTTP on 127.0.0.1, the other fetches it), the pod IP comes from
// the test's own bridge network and is reachable from the host, another pod's loopback is its own,
// and two concurrent RunPodSandbox calls for the same pod make one pod. Nothing leaks.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { RuntimeEnv, waitFor } from '../helpers/runtime-leaks';

function httpGet(url: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

describe('pod networking over CRI', { timeout: 120_000 }, () => {
  let env: RuntimeEnv;
  before(async () => {
    env = await RuntimeEnv.start();
  });
  afterEach(async () => {
    await env.cleanAndCheck();
  });
  after(async () => {
    await env?.close();
  });

  it('containers of a pod share its network namespace; the pod IP is on the test bridge and reachable from the host', async () => {
    const token = randomBytes(8).toString('hex');
    const pod = await env.runPod('web');
    const a = await env.createContainer(pod, 'server', [
      'sh',
      '-c',
      `mkdir -p /www && echo "hello ${token}" > /www/index.html && exec httpd -f -p 8080 -h /www`,
    ]);
    const b = await env.createContainer(pod, 'client', ['sleep', '1000']);

    const st = await env.podStatus(pod.id);
    assert.equal(st.state, 'SANDBOX_READY');
    const ip: string = st.network.ip;
    assert.ok(env.net.inSubnet(ip), `pod IP ${ip} is in ${env.net.subnet}`);
    assert.notEqual(ip, env.net.gateway);
    assert.deepEqual(env.net.allocations(), [ip], 'host-local handed out exactly the pod IP');
    assert.equal(env.net.bridgePorts().length, 1, 'one veth on the test bridge');

    // B reaches A's server on its own loopback: same network namespace.
    const got = await waitFor('httpd in container A to answer container B', async () => {
      const r = await env.exec(b, ['wget', '-qO-', 'http://127.0.0.1:8080/index.html']);
      return r.exitCode === 0 ? r : undefined;
    });
    assert.equal(got.stdout, `hello ${token}\n`);

    // The host reaches the pod on its IP through the test's bridge.
    const res = await httpGet(`http://${ip}:8080/index.html`);
    assert.equal(res.status, 200);
    assert.equal(res.body, `hello ${token}\n`);

    // Both containers see the same interface address; A's own view agrees with the CRI status.
    const addrB = await env.exec(b, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
    const addrA = await env.exec(a, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
    assert.match(addrB.stdout, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/24`));
    assert.equal(addrA.stdout.split(/\s+/)[3], addrB.stdout.split(/\s+/)[3]);

    // Another pod has a loopback of its own: nothing listens on its 127.0.0.1:8080.
    const other = await env.runPod('other');
    const c = await env.createContainer(other, 'client', ['sleep', '1000']);
    const otherIp = (await env.podStatus(other.id)).network.ip;
    assert.ok(env.net.inSubnet(otherIp) && otherIp !== ip, `second pod IP ${otherIp}`);
    // (busybox wget -T segfaults; `timeout` bounds it instead.)
    const miss = await env.exec(c, ['timeout', '5', 'wget', '-qO-', 'http://127.0.0.1:8080/index.html']);
    assert.equal(miss.exitCode, 1, `the other pod must not reach the first pod on its loopback: ${JSON.stringify(miss)}`);
    assert.match(miss.stderr, /Connection refused/);
    // ...but reaches it over the bridge.
    const viaBridge = await env.exec(c, ['timeout', '5', 'wget', '-qO-', `http://${ip}:8080/index.html`]);
    assert.equal(viaBridge.stdout, `hello ${token}\n`, `exit ${viaBridge.exitCode}: ${viaBridge.stderr}`);
    assert.equal(env.net.allocations().length, 2);

    // The leak checker sees what live pods hold (so its silence after removal means something).
    const held = await env.leaks();
    for (const kind of ['mount', 'namespace pin', 'veth', 'host-local allocation', 'process', 'container', 'pod', 'cgroup', 'state entry', 'record', 'active snapshot']) {
      assert.ok(held.some((l) => l.startsWith(kind)), `leak check reports "${kind}" while pods run: ${held.join(', ')}`);
    }
  });

  it('two concurrent RunPodSandbox calls with the same config make one pod', async () => {
    const { config } = env.podConfig('twin', { labels: { twin: 'yes' } });
    const [r1, r2] = await Promise.all([
      env.call<{ podSandboxId: string }>('RunPodSandbox', { config }),
      env.call<{ podSandboxId: string }>('RunPodSandbox', { config }),
    ]);
    assert.ok(r1.podSandboxId.length > 0);
    assert.equal(r2.podSandboxId, r1.podSandboxId, 'both calls answer with the same pod');
    await env.track(r1.podSandboxId);
    // A third, later call with the same config also answers with it.
    const r3 = await env.call<{ podSandboxId: string }>('RunPodSandbox', { config });
    assert.equal(r3.podSandboxId, r1.podSandboxId);

    const listed = await env.call<any>('ListPodSandbox', { filter: { labelSelector: { twin: 'yes' } } });
    assert.deepEqual(listed.items.map((p: any) => p.id), [r1.podSandboxId]);
    const all = await env.call<any>('ListPodSandbox', {});
    assert.equal(all.items.length, 1);
    const nsNet = join(env.berthd.state, 'ns', 'net');
    assert.deepEqual(readdirSync(nsNet), [r1.podSandboxId], 'one network namespace pin');
    assert.equal(env.net.allocations().length, 1, 'one IP allocation');
    assert.equal(env.net.bridgePorts().length, 1, 'one veth');
  });
});
