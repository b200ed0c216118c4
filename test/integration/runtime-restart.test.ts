// berthd killed with SIGKILL: containers keep running under conmon, exits that happen while it is
// down are picked up on the next start, the pods stay as they were; and a kill in the middle of
// RunPodSandbox is rolled back at the next start without leaving namespaces, IPs or veths behind.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RuntimeEnv, grpcCode, GrpcStatus, procAlive, runtimeProcesses, sleep } from '../helpers/runtime-leaks';

describe('berthd restarts', { timeout: 180_000 }, () => {
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

  it('after SIGKILL and 5 s down: running containers are adopted, exits while down are recorded', async () => {
    const pod = await env.runPod('survivor');
    const own = await env.runPod('own-pid', { pid: 'CONTAINER' });
    const runner = await env.createContainer(pod, 'runner', ['sleep', '1000']);
    const quitter = await env.createContainer(pod, 'quitter', ['sh', '-c', 'sleep 3; exit 7']);
    const solo = await env.createContainer(own, 'solo', ['sh', '-c', "trap 'exit 9' TERM; while true; do sleep 0.1; done"]);
    const before = {
      pod: await env.podStatus(pod.id),
      runnerPid: (await env.containerStatus(runner, true)).info.pid,
      netnsIno: statSync(join(env.berthd.state, 'ns', 'net', pod.id)).ino,
      allocations: env.net.allocations(),
    };
    const runnerProc = env.containers.get(runner)!.proc!;
    const infra = env.pods.get(pod.id)!.infra!;

    const killedAt = Date.now();
    await env.restart({ signal: 'SIGKILL', downMs: 5000 });
    const upAt = Date.now();

    // The running container is the same process, still running, and reachable.
    const rs = await env.containerStatus(runner, true);
    assert.equal(rs.status.state, 'CONTAINER_RUNNING');
    assert.equal(rs.info.pid, before.runnerPid);
    assert.ok(procAlive(runnerProc), 'the container process was never restarted');
    assert.deepEqual(await env.exec(runner, ['echo', 'still here']), { stdout: 'still here\n', stderr: '', exitCode: 0 });
    assert.equal((await env.containerStatus(solo)).status.state, 'CONTAINER_RUNNING');

    // The one that exited while berthd was down.
    const qs = (await env.containerStatus(quitter)).status;
    assert.equal(qs.state, 'CONTAINER_EXITED');
    assert.equal(qs.exitCode, 7);
    assert.equal(qs.reason, 'Error');
    const finished = Number(BigInt(qs.finishedAt) / 1_000_000n);
    assert.ok(finished >= killedAt - 1000 && finished <= upAt, `finishedAt (${new Date(finished).toISOString()}) is when it exited, while berthd was down`);

    // The pod is untouched: same IP, namespace, infra, allocations.
    const ps = await env.podStatus(pod.id);
    assert.equal(ps.state, 'SANDBOX_READY');
    assert.equal(ps.network.ip, before.pod.network.ip);
    assert.equal(statSync(join(env.berthd.state, 'ns', 'net', pod.id)).ino, before.netnsIno);
    assert.ok(procAlive(infra), 'the infra process survived');
    assert.deepEqual(env.net.allocations(), before.allocations);
    assert.equal(env.net.bridgePorts().length, 2);

    // Everything still works on the adopted state.
    const fresh = await env.createContainer(pod, 'fresh', ['sleep', '1000']);
    assert.equal((await env.exec(fresh, ['echo', 'new'])).stdout, 'new\n');
    await env.call('StopContainer', { containerId: solo, timeout: 10 });
    assert.equal((await env.containerStatus(solo)).status.exitCode, 9, 'the stop signal reached the adopted container');
    await env.call('StopContainer', { containerId: runner, timeout: 1 });
    assert.equal(procAlive(runnerProc), false);
    await env.call('RemovePodSandbox', { podSandboxId: pod.id });
    await env.call('RemovePodSandbox', { podSandboxId: own.id });
    await assert.rejects(env.containerStatus(runner), (e) => grpcCode(e) === GrpcStatus.NOT_FOUND);
  });

  it('a container whose conmon died while berthd was down is ended, reported exited (255, Unknown) and can be removed', async () => {
    const pod = await env.runPod('orphan', { pid: 'CONTAINER' });
    const id = await env.createContainer(pod, 'lost', ['sleep', '1000']);
    const proc = env.containers.get(id)!.proc!;
    const conmonPid = Number(readFileSync(join(env.berthd.state, 'containers', id, 'conmon.pid'), 'utf8').trim());
    assert.ok(conmonPid > 0);
    await env.restart({
      signal: 'SIGKILL',
      whileDown: () => process.kill(conmonPid, 'SIGKILL'),
    });
    const st = (await env.containerStatus(id)).status;
    assert.equal(st.state, 'CONTAINER_EXITED');
    assert.equal(st.exitCode, 255);
    assert.equal(st.reason, 'Unknown');
    assert.match(st.message, /conmon/);
    assert.equal(procAlive(proc), false, 'the start-up ended the process conmon no longer watched');
    await env.call('RemovePodSandbox', { podSandboxId: pod.id });
    await assert.rejects(env.containerStatus(id), (e) => grpcCode(e) === GrpcStatus.NOT_FOUND);
  });

  it('SIGKILL in the middle of RunPodSandbox: the next start rolls the half pod back', async () => {
    // How long a RunPodSandbox takes here, to spread the kills over it.
    const t0 = Date.now();
    const probe = await env.runPod('probe');
    const took = Date.now() - t0;
    await env.call('RemovePodSandbox', { podSandboxId: probe.id });
    await env.checkLeaks();

    const stages: string[] = [];
    const state = realpathSync(env.berthd.state);
    const infraRunning = () => runtimeProcesses(state).some((p) => p.includes('catatonit'));
    // Fractions of the measured duration, and 'infra': the moment the pod's catatonit shows up
    // (before berthd has recorded it).
    const points: Array<number | 'infra'> = [0, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9, 1.2, 'infra', 'infra'];
    for (const [i, frac] of points.entries()) {
      const { config } = env.podConfig(`half-${i}`);
      const pending = env.call<{ podSandboxId: string }>('RunPodSandbox', { config }, 30_000).then(
        (r) => r.podSandboxId,
        () => undefined,
      );
      if (frac === 'infra') {
        const end = Date.now() + 10_000;
        while (!infraRunning() && Date.now() < end) await new Promise((r) => setImmediate(r));
      } else {
        await sleep(Math.round(took * frac));
      }
      let recorded: Record<string, string> = {};
      // What the killed berthd had got to, from its record of the pod (before the new one decides).
      let infraUp = false;
      await env.restart({
        signal: 'SIGKILL',
        whileDown: () => {
          recorded = env.podRecordStates();
          infraUp = infraRunning();
        },
      });
      const answered = await pending;
      stages.push(`${frac}: ${answered ? 'answered' : 'no answer'} [${Object.values(recorded).join(',') || 'no record'}${infraUp ? ', catatonit up' : ''}]`);
      const listed = (await env.call<any>('ListPodSandbox', {})).items;
      if (answered) {
        // Completed before the kill: a whole pod, which must work.
        assert.deepEqual(listed.map((p: any) => p.id), [answered]);
        assert.equal(listed[0].state, 'SANDBOX_READY');
        await env.track(answered);
        const c = await env.createContainer({ id: answered, config, logDirectory: config.logDirectory }, 'c', ['sleep', '1000']);
        assert.equal((await env.exec(c, ['true'])).exitCode, 0);
      } else {
        assert.ok(listed.every((p: any) => p.state === 'SANDBOX_READY'), `no half pod listed: ${JSON.stringify(listed)}`);
      }
      await env.cleanAndCheck().catch((e: Error) => {
        e.message = `after a kill at ${stages.at(-1)}: ${e.message}`;
        throw e;
      });
      // The name is usable again afterwards.
      const again = await env.call<{ podSandboxId: string }>('RunPodSandbox', { config });
      await env.track(again.podSandboxId);
      await env.cleanAndCheck();
    }
    assert.ok(stages.some((s) => s.includes('[creating')), `at least one kill hit a RunPodSandbox in flight: ${stages.join(', ')}`);
    console.log(`RunPodSandbox took ${took} ms; kills: ${stages.join('; ')}`);
  });

  it('SIGKILL in the middle of CreateContainer: the next start removes the half container', async () => {
    const pod = await env.runPod('ctr-kill');
    const t0 = Date.now();
    const probe = await env.createContainer(pod, 'probe', ['sleep', '1000'], { start: false });
    const took = Date.now() - t0;
    await env.call('RemoveContainer', { containerId: probe });
    const state = realpathSync(env.berthd.state);
    const conmonRunning = () => runtimeProcesses(state).some((p) => / conmon|^\d+ \/usr\/bin\/conmon/.test(p));
    const stages: string[] = [];
    const points: Array<number | 'conmon'> = [0.2, 0.4, 0.6, 0.8, 'conmon', 'conmon'];
    for (const [i, frac] of points.entries()) {
      const name = `half-${i}`;
      const pending = env
        .call<{ containerId: string }>('CreateContainer', {
          podSandboxId: pod.id,
          sandboxConfig: pod.config,
          config: { metadata: { name, attempt: 0 }, image: { image: env.image }, command: ['sleep', '1000'], logPath: `${name}.log` },
        }, 30_000)
        .then((r) => r.containerId, () => undefined);
      if (frac === 'conmon') {
        const end = Date.now() + 10_000;
        while (!conmonRunning() && Date.now() < end) await new Promise((r) => setImmediate(r));
      } else {
        await sleep(Math.round(took * frac));
      }
      let records: string[] = [];
      await env.restart({
        signal: 'SIGKILL',
        whileDown: () => {
          const dir = join(env.berthd.root, 'meta', 'containers');
          records = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')).state);
        },
      });
      const answered = await pending;
      stages.push(`${frac}: ${answered ? 'answered' : 'no answer'} [${records.join(',') || 'no record'}]`);
      const listed = (await env.call<any>('ListContainers', {})).containers;
      if (answered) {
        assert.deepEqual(listed.map((c: any) => c.id), [answered]);
        env.containers.set(answered, {});
        await env.startContainer(answered);
        assert.equal((await env.exec(answered, ['true'])).exitCode, 0);
        await env.call('RemoveContainer', { containerId: answered });
      } else {
        for (const c of listed) await env.call('RemoveContainer', { containerId: c.id });
      }
      // Only the pod is left: its own state is fine, nothing of the container is.
      const leaks = (await env.leaks()).filter((l) => !l.includes(pod.id.slice(0, 12)) && !l.includes(pod.id) && !/^(veth|host-local|process \d+ (unshare|\/usr\/bin\/catatonit))/.test(l));
      assert.deepEqual(leaks, [], `after a kill at ${stages.at(-1)}: container leftovers`);
    }
    assert.ok(stages.some((s) => s.includes('[creating')), `at least one kill hit a CreateContainer in flight: ${stages.join(', ')}`);
    console.log(`CreateContainer took ${took} ms; kills: ${stages.join('; ')}`);
  });
});

