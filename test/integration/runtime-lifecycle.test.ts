// Container and pod lifecycle through a real berthd over CRI: stop signals and timeouts, exit
// reasons, forced and repeated removal, pod stop/remove, the error codes the kubelet relies on, and
// the GetContainerEvents stream.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { RuntimeEnv, grpcCode, GrpcStatus, procAlive, waitFor, type Pod } from '../helpers/runtime-leaks';

const NO_SUCH_ID = 'e'.repeat(64);

describe('container and pod lifecycle over CRI', { timeout: 180_000 }, () => {
  let env: RuntimeEnv;
  let usr1Image = '';
  before(async () => {
    env = await RuntimeEnv.start();
    usr1Image = await env.pushAndPull('test/usr1', { stopSignal: 'SIGUSR1' });
  });
  afterEach(async () => {
    await env.cleanAndCheck();
  });
  after(async () => {
    await env?.close();
  });

  /** A shell that installs `traps`, says so in /tmp/ready, and loops. */
  async function trapper(pod: Pod, name: string, traps: string, image?: string): Promise<string> {
    const id = await env.createContainer(pod, name, ['sh', '-c', `${traps}; touch /tmp/ready; while true; do sleep 0.1; done`], { image });
    await waitFor(`${name} to install its traps`, async () => (await env.exec(id, ['test', '-f', '/tmp/ready'])).exitCode === 0);
    return id;
  }

  async function timedStop(id: string, timeout: number): Promise<number> {
    const t0 = Date.now();
    await env.call('StopContainer', { containerId: id, timeout }, (timeout + 40) * 1000);
    return Date.now() - t0;
  }

  it('StopContainer sends SIGTERM (or the image StopSignal) and reports the exit', async () => {
    const pod = await env.runPod('stop');
    const term = await trapper(pod, 'term', "trap 'exit 42' TERM");
    const usr1 = await trapper(pod, 'usr1', "trap 'exit 43' USR1; trap 'exit 44' TERM", usr1Image);

    const took = await timedStop(term, 30);
    assert.ok(took < 5000, `the trap ended it long before the timeout (${took} ms)`);
    const st = (await env.containerStatus(term)).status;
    assert.equal(st.state, 'CONTAINER_EXITED');
    assert.equal(st.exitCode, 42);
    assert.equal(st.reason, 'Error');
    assert.ok(BigInt(st.finishedAt) >= BigInt(st.startedAt) && BigInt(st.startedAt) > 0n);

    await timedStop(usr1, 30);
    const su = (await env.containerStatus(usr1)).status;
    assert.equal(su.exitCode, 43, 'the image StopSignal (SIGUSR1) was sent, not SIGTERM');

    // Stopping an exited container again is fine and changes nothing.
    await timedStop(term, 5);
    assert.equal((await env.containerStatus(term)).status.exitCode, 42);
  });

  it('a container ignoring the stop signal is killed after the timeout (137)', async () => {
    const pod = await env.runPod('stubborn');
    const id = await trapper(pod, 'ignore', "trap '' TERM");
    const took = await timedStop(id, 2);
    assert.ok(took >= 1900 && took < 8000, `waited for the 2 s timeout, then killed (${took} ms)`);
    const st = (await env.containerStatus(id)).status;
    assert.equal(st.exitCode, 137);
    assert.equal(st.reason, 'Error');

    // PID 1 of its own PID namespace: the kernel drops SIGTERM without a handler; SIGKILL still ends it.
    const own = await env.runPod('pid1', { pid: 'CONTAINER' });
    const sleeper = await env.createContainer(own, 'sleeper', ['sleep', '1000']);
    const took2 = await timedStop(sleeper, 1);
    assert.ok(took2 >= 900, `waited for the timeout (${took2} ms)`);
    assert.equal((await env.containerStatus(sleeper)).status.exitCode, 137);

    // timeout 0: SIGKILL at once.
    const now = await trapper(pod, 'now', "trap '' TERM");
    assert.ok((await timedStop(now, 0)) < 3000);
    assert.equal((await env.containerStatus(now)).status.exitCode, 137);
  });

  it('exit reasons: Completed for 0, Error otherwise', async () => {
    const pod = await env.runPod('exits');
    const ok = await env.createContainer(pod, 'ok', ['sh', '-c', 'exit 0']);
    const bad = await env.createContainer(pod, 'bad', ['sh', '-c', 'exit 7']);
    const s0 = await env.waitExited(ok);
    const s7 = await env.waitExited(bad);
    assert.deepEqual([s0.exitCode, s0.reason], [0, 'Completed']);
    assert.deepEqual([s7.exitCode, s7.reason], [7, 'Error']);
    const listed = await env.call<any>('ListContainers', { filter: { state: { state: 'CONTAINER_EXITED' }, podSandboxId: pod.id } });
    assert.deepEqual(listed.containers.map((c: any) => c.id).sort(), [ok, bad].sort());
    const running = await env.call<any>('ListContainers', { filter: { state: { state: 'CONTAINER_RUNNING' }, podSandboxId: pod.id } });
    assert.deepEqual(running.containers, []);
  });

  it('RemoveContainer forces a running container; removing twice is fine', async () => {
    const pod = await env.runPod('remove');
    const id = await env.createContainer(pod, 'runner', ['sleep', '1000']);
    const proc = env.containers.get(id)!.proc!;
    assert.ok(procAlive(proc));
    await env.call('RemoveContainer', { containerId: id });
    assert.equal(procAlive(proc), false, 'the process was killed');
    await assert.rejects(env.containerStatus(id), (e) => grpcCode(e) === GrpcStatus.NOT_FOUND);
    await env.call('RemoveContainer', { containerId: id });
    // A created (never started) container is removed too.
    const created = await env.createContainer(pod, 'created', ['true'], { start: false });
    assert.equal((await env.containerStatus(created)).status.state, 'CONTAINER_CREATED');
    await env.call('RemoveContainer', { containerId: created });
    assert.deepEqual((await env.call<any>('ListContainers', { filter: { podSandboxId: pod.id } })).containers, []);
  });

  it('StopPodSandbox twice, then RemovePodSandbox removes its containers; statuses are NOT_FOUND', async () => {
    const pod = await env.runPod('podstop', { labels: { lifecycle: 'podstop' } });
    const a = await env.createContainer(pod, 'a', ['sleep', '1000']);
    const b = await env.createContainer(pod, 'b', ['sh', '-c', "trap 'exit 0' TERM; while true; do sleep 0.1; done"]);
    const infra = env.pods.get(pod.id)!.infra!;
    assert.ok(procAlive(infra), 'a POD-pid pod has an infra process');
    const procs = [a, b].map((id) => env.containers.get(id)!.proc!);

    await env.call('StopPodSandbox', { podSandboxId: pod.id });
    const st = await env.podStatus(pod.id);
    assert.equal(st.state, 'SANDBOX_NOTREADY');
    for (const id of [a, b]) assert.equal((await env.containerStatus(id)).status.state, 'CONTAINER_EXITED');
    for (const p of procs) assert.equal(procAlive(p), false);
    assert.equal(procAlive(infra), false, 'the infra process is stopped with the pod');
    assert.deepEqual(env.net.allocations(), [], 'the IP is released at stop');
    assert.deepEqual(env.net.bridgePorts(), []);
    assert.equal(existsSync(`${env.berthd.state}/ns/net/${pod.id}`), false, 'the netns pin is gone at stop');
    await env.call('StopPodSandbox', { podSandboxId: pod.id });
    const notReady = await env.call<any>('ListPodSandbox', { filter: { state: { state: 'SANDBOX_NOTREADY' }, labelSelector: { lifecycle: 'podstop' } } });
    assert.deepEqual(notReady.items.map((p: any) => p.id), [pod.id]);

    // A stopped pod takes no new containers.
    await assert.rejects(env.createContainer(pod, 'late', ['true']), (e) => grpcCode(e) === GrpcStatus.FAILED_PRECONDITION);

    await env.call('RemovePodSandbox', { podSandboxId: pod.id });
    await assert.rejects(env.podStatus(pod.id), (e) => grpcCode(e) === GrpcStatus.NOT_FOUND);
    for (const id of [a, b]) await assert.rejects(env.containerStatus(id), (e) => grpcCode(e) === GrpcStatus.NOT_FOUND);
    await env.call('RemovePodSandbox', { podSandboxId: pod.id });
    await env.call('StopPodSandbox', { podSandboxId: NO_SUCH_ID }).then(
      () => undefined,
      (e) => assert.equal(grpcCode(e), GrpcStatus.NOT_FOUND, 'stopping an unknown pod is NOT_FOUND (or OK)'),
    );
    assert.deepEqual((await env.call<any>('ListPodSandbox', {})).items, []);
    assert.deepEqual((await env.call<any>('ListContainers', {})).containers, []);
  });

  it('RemovePodSandbox of a running pod stops and removes everything', async () => {
    const pod = await env.runPod('podrm');
    const a = await env.createContainer(pod, 'a', ['sleep', '1000']);
    const proc = env.containers.get(a)!.proc!;
    await env.call('RemovePodSandbox', { podSandboxId: pod.id });
    assert.equal(procAlive(proc), false);
    await assert.rejects(env.containerStatus(a), (e) => grpcCode(e) === GrpcStatus.NOT_FOUND);
    await env.checkLeaks();
  });

  it('answers with the error codes the kubelet expects', async () => {
    const pod = await env.runPod('errors');
    const ctr = (name: string, image = env.image) => ({
      metadata: { name, attempt: 0 },
      image: { image },
      command: ['sleep', '1000'],
      logPath: `${name}.log`,
    });
    const code = (c: number) => (e: unknown) => {
      assert.equal(grpcCode(e), c, `expected code ${c}, got ${grpcCode(e)}: ${(e as Error).message}`);
      return true;
    };
    await assert.rejects(
      env.call('CreateContainer', { podSandboxId: NO_SUCH_ID, config: ctr('x'), sandboxConfig: pod.config }),
      code(GrpcStatus.NOT_FOUND),
    );
    await assert.rejects(
      env.call('CreateContainer', { podSandboxId: pod.id, config: ctr('x', `${env.registry.host}/test/nonexistent:latest`), sandboxConfig: pod.config }),
      code(GrpcStatus.NOT_FOUND),
    );
    await assert.rejects(env.call('CreateContainer', { podSandboxId: pod.id, config: { ...ctr('x'), metadata: null }, sandboxConfig: pod.config }), code(GrpcStatus.INVALID_ARGUMENT));

    const first = await env.createContainer(pod, 'dup', ['sleep', '1000'], { start: false });
    await assert.rejects(
      env.call('CreateContainer', { podSandboxId: pod.id, config: ctr('dup'), sandboxConfig: pod.config }),
      code(GrpcStatus.ALREADY_EXISTS),
    );
    await env.startContainer(first);
    await assert.rejects(env.call('StartContainer', { containerId: first }), code(GrpcStatus.FAILED_PRECONDITION));
    await assert.rejects(env.call('StartContainer', { containerId: NO_SUCH_ID }), code(GrpcStatus.NOT_FOUND));
    await assert.rejects(env.call('StopContainer', { containerId: NO_SUCH_ID, timeout: 1 }), code(GrpcStatus.NOT_FOUND));
    await assert.rejects(env.call('ContainerStatus', { containerId: NO_SUCH_ID }), code(GrpcStatus.NOT_FOUND));
    await assert.rejects(env.call('PodSandboxStatus', { podSandboxId: NO_SUCH_ID }), code(GrpcStatus.NOT_FOUND));
    // After removal the name is free again.
    await env.call('RemoveContainer', { containerId: first });
    const again = await env.createContainer(pod, 'dup', ['true'], { start: false });
    assert.notEqual(again, first);

    const { config } = env.podConfig('badhandler');
    await assert.rejects(env.call('RunPodSandbox', { config, runtimeHandler: 'no-such-runtime' }), code(GrpcStatus.INVALID_ARGUMENT));
    await assert.rejects(env.call('RunPodSandbox', { config: { ...config, metadata: null } }), code(GrpcStatus.INVALID_ARGUMENT));
    await assert.rejects(env.call('RunPodSandbox', { config: { ...config, metadata: { ...config.metadata, uid: '' } } }), code(GrpcStatus.INVALID_ARGUMENT));
    // The same pod name with a different config is taken.
    await assert.rejects(
      env.call('RunPodSandbox', { config: { ...pod.config, labels: { other: 'labels' } } }),
      code(GrpcStatus.ALREADY_EXISTS),
    );
    // Nothing half-made by the refusals.
    assert.deepEqual((await env.call<any>('ListPodSandbox', {})).items.map((p: any) => p.id), [pod.id]);
    assert.equal(env.net.allocations().length, 1);
  });

  it('GetContainerEvents streams CREATED, STARTED, STOPPED and DELETED', async () => {
    const pod = await env.runPod('events');
    const events: Array<{ id: string; type: string; state: string }> = [];
    const stream = env.rt.GetContainerEvents({});
    stream.on('data', (ev: any) => events.push({ id: ev.containerId, type: ev.containerEventType, state: ev.containersStatuses[0]?.state ?? '' }));
    const ended = new Promise<void>((resolve) => {
      stream.on('error', () => resolve());
      stream.on('end', () => resolve());
    });
    try {
      // The subscription is live once an event of a warm-up container arrives.
      const warm = await env.createContainer(pod, 'warm', ['true'], { start: false });
      await waitFor('the event stream to deliver', () => events.some((e) => e.id === warm));
      const id = await env.createContainer(pod, 'watched', ['sh', '-c', "trap 'exit 0' TERM; while true; do sleep 0.1; done"]);
      await env.call('StopContainer', { containerId: id, timeout: 10 });
      await env.call('RemoveContainer', { containerId: id });
      const mine = await waitFor('four events', () => {
        const m = events.filter((e) => e.id === id);
        return m.length >= 4 ? m : undefined;
      });
      assert.deepEqual(
        mine.map((e) => e.type),
        ['CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT', 'CONTAINER_STOPPED_EVENT', 'CONTAINER_DELETED_EVENT'],
      );
      assert.deepEqual(mine.slice(0, 3).map((e) => e.state), ['CONTAINER_CREATED', 'CONTAINER_RUNNING', 'CONTAINER_EXITED']);
    } finally {
      stream.cancel();
      await ended;
    }
  });
});

