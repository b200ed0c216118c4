// Container and pod stats through a real berthd: figures from the containers' cgroups (a shell
// holding 16 MiB in the pod's shm, one burning CPU), the writable layer, pod sums, and the filters
// of ListContainerStats / ListPodSandboxStats.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RuntimeEnv, grpcCode, GrpcStatus, sleep, waitFor, type Pod } from '../helpers/runtime-leaks';

const MiB = 1 << 20;
const n = (v: { value: string } | null | undefined): number => Number(v?.value ?? 0);

describe('stats over CRI', { timeout: 120_000 }, () => {
  let env: RuntimeEnv;
  let pod: Pod;
  let other: Pod;
  let holder = '';
  let burner = '';
  let bystander = '';
  before(async () => {
    env = await RuntimeEnv.start();
    pod = await env.runPod('stats', { labels: { stats: 'yes' } });
    other = await env.runPod('bystander');
    // 16 MiB of shm (anonymous, so in the working set) and 2 MiB in the writable layer.
    holder = await env.createContainer(
      pod,
      'holder',
      ['sh', '-c', 'head -c 16777216 /dev/zero > /dev/shm/hold && head -c 2097152 /dev/zero > /layer-file && touch /tmp/ready && exec sleep 1000'],
      { labels: { role: 'holder' } },
    );
    burner = await env.createContainer(pod, 'burner', ['sh', '-c', 'while true; do :; done'], { labels: { role: 'burner' } });
    bystander = await env.createContainer(other, 'idle', ['sleep', '1000'], { labels: { role: 'holder' } });
    await waitFor('the holder to fill its memory', async () => (await env.exec(holder, ['test', '-f', '/tmp/ready'])).exitCode === 0);
  });
  after(async () => {
    try {
      await env?.cleanAndCheck();
    } finally {
      await env?.close();
    }
  });

  it('ContainerStats reports memory, CPU and the writable layer from the container', async () => {
    const s = (await env.call<any>('ContainerStats', { containerId: holder })).stats;
    assert.equal(s.attributes.id, holder);
    assert.equal(s.attributes.metadata.name, 'holder');
    assert.equal(s.attributes.labels.role, 'holder');
    const ws = n(s.memory.workingSetBytes);
    assert.ok(ws >= 16 * MiB && ws < 256 * MiB, `working set ${ws} holds the 16 MiB of shm`);
    assert.ok(n(s.cpu.usageCoreNanoSeconds) > 0, 'CPU time used');
    assert.ok(BigInt(s.cpu.timestamp) > 0n);
    const used = n(s.writableLayer?.usedBytes);
    assert.ok(used >= 2 * MiB && used < 64 * MiB, `writable layer ${used} holds the 2 MiB file`);
    assert.ok(n(s.writableLayer?.inodesUsed) >= 1);

    // A busy loop: cumulative CPU grows by about a core's worth, and the rate shows it.
    const a = (await env.call<any>('ContainerStats', { containerId: burner })).stats;
    await sleep(1000);
    const b = (await env.call<any>('ContainerStats', { containerId: burner })).stats;
    const grew = n(b.cpu.usageCoreNanoSeconds) - n(a.cpu.usageCoreNanoSeconds);
    assert.ok(grew > 100e6, `a busy loop used more than 0.1 s of CPU in a second (${grew} ns)`);
    assert.ok(n(b.cpu.usageNanoCores) > 100e6, `usage_nano_cores shows the busy loop (${n(b.cpu.usageNanoCores)})`);
    const idle = (await env.call<any>('ContainerStats', { containerId: holder })).stats;
    assert.ok(n(idle.cpu.usageCoreNanoSeconds) < n(b.cpu.usageCoreNanoSeconds), 'the sleeping container used less CPU than the busy one');

    await assert.rejects(env.call('ContainerStats', { containerId: 'a'.repeat(64) }), (e) => grpcCode(e) === GrpcStatus.NOT_FOUND);
  });

  it('PodSandboxStats sums its containers', async () => {
    const s = (await env.call<any>('PodSandboxStats', { podSandboxId: pod.id })).stats;
    assert.equal(s.attributes.id, pod.id);
    const ctrs = s.linux.containers;
    assert.deepEqual(ctrs.map((c: any) => c.attributes.id).sort(), [holder, burner].sort());
    const sum = (f: (c: any) => number) => ctrs.reduce((acc: number, c: any) => acc + f(c), 0);
    assert.equal(n(s.linux.memory.workingSetBytes), sum((c) => n(c.memory.workingSetBytes)));
    assert.equal(n(s.linux.cpu.usageCoreNanoSeconds), sum((c) => n(c.cpu.usageCoreNanoSeconds)));
    assert.ok(n(s.linux.memory.workingSetBytes) >= 16 * MiB);
    assert.ok(n(s.linux.process.processCount) >= 2, `at least the two containers' processes (${n(s.linux.process.processCount)})`);
  });

  it('ListContainerStats and ListPodSandboxStats filter', async () => {
    const ids = async (filter: object) =>
      ((await env.call<any>('ListContainerStats', { filter })).stats as any[]).map((s) => s.attributes.id).sort();
    assert.deepEqual(await ids({}), [holder, burner, bystander].sort());
    assert.deepEqual(await ids({ podSandboxId: pod.id }), [holder, burner].sort());
    assert.deepEqual(await ids({ podSandboxId: other.id }), [bystander]);
    assert.deepEqual(await ids({ id: burner }), [burner]);
    assert.deepEqual(await ids({ labelSelector: { role: 'holder' } }), [holder, bystander].sort());
    assert.deepEqual(await ids({ labelSelector: { role: 'holder' }, podSandboxId: pod.id }), [holder]);
    assert.deepEqual(await ids({ labelSelector: { role: 'nobody' } }), []);

    const pods = async (filter: object) =>
      ((await env.call<any>('ListPodSandboxStats', { filter })).stats as any[]).map((s) => s.attributes.id).sort();
    assert.deepEqual(await pods({}), [pod.id, other.id].sort());
    assert.deepEqual(await pods({ id: other.id }), [other.id]);
    assert.deepEqual(await pods({ labelSelector: { stats: 'yes' } }), [pod.id]);
  });
});
