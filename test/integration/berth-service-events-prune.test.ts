// berth's Events stream and Prune through a real berthd: image pull/tag/delete and container
// create/start/die/destroy events arrive (with filters applied), and Prune removes an exited
// container's not-ready pod and an unused image, reporting what it removed and the bytes freed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ClientReadableStream } from '@grpc/grpc-js';
import { RuntimeEnv, waitFor } from '../helpers/runtime-leaks';
import { pushBusyboxImage } from '../helpers/fixtures';
import { createBerthClient, type BerthServiceClient, type Event__Output } from '../../src/cri/berth-proto';

function unary<T>(client: BerthServiceClient, method: string, req: object): Promise<T> {
  return new Promise((res, rej) =>
    (client as any)[method](req, { deadline: new Date(Date.now() + 120_000) }, (err: Error | null, r: T) => (err ? rej(err) : res(r))),
  );
}

/** Subscribe and keep every event; cancel() ends the stream. */
function watch(client: BerthServiceClient, req: object): { events: Event__Output[]; stream: ClientReadableStream<Event__Output>; cancel(): void } {
  const stream = client.Events(req);
  const events: Event__Output[] = [];
  stream.on('data', (e: Event__Output) => events.push(e));
  stream.on('error', () => undefined); // CANCELLED after cancel()
  return { events, stream, cancel: () => stream.cancel() };
}

const pullCri = (env: RuntimeEnv, image: string): Promise<any> =>
  new Promise((r, j) => env.berthd.clients.image.PullImage({ image: { image } }, (e: Error | null, x: any) => (e ? j(e) : r(x))));

describe('berth service: events and prune', { timeout: 300_000 }, () => {
  let env: RuntimeEnv;
  let client: BerthServiceClient;
  before(async () => {
    env = await RuntimeEnv.start();
    client = createBerthClient(env.berthd.socket);
  });
  after(async () => {
    client?.close();
    try {
      await env?.cleanAndCheck();
    } finally {
      await env?.close();
    }
  });

  it('Events: image pull, tag and delete; container create, start, die and destroy; filters apply', async () => {
    const all = watch(client, {});
    const imagesOnly = watch(client, { types: ['IMAGE'], actions: ['tag'] });
    // The server subscribes when the call arrives: give it a moment before acting.
    await new Promise((r) => setTimeout(r, 300));
    const pushed = await pushBusyboxImage(env.registry.url, 'test/events', { tag: 'v1', extraLayers: [[{ path: 'e', type: 'file', content: 'e' }]] });
    const id = (await pullCri(env, pushed.reference)).imageRef as string;
    await unary(client, 'TagImage', { source: pushed.reference, target: 'berth.test/events:t' });
    await new Promise<void>((r, j) => env.berthd.clients.image.RemoveImage({ image: { image: id } }, (e: Error | null) => (e ? j(e) : r())));

    const pod = await env.runPod('events');
    // It lives a moment: an instant exit can be seen before StartContainer has reported the start.
    const cid = await env.createContainer(pod, 'c', ['sh', '-c', 'sleep 0.5; exit 3']);
    await env.waitExited(cid);
    await env.call('RemoveContainer', { containerId: cid });

    const want = (type: string, action: string, objId: string) => () => all.events.find((e) => e.type === type && e.action === action && e.id === objId);
    const pullEv = await waitFor('image pull event', want('IMAGE', 'pull', id));
    assert.equal(pullEv.attributes.name, pushed.reference);
    assert.match(pullEv.time, /^\d{19}$/);
    const tagEv = await waitFor('image tag event', want('IMAGE', 'tag', id));
    assert.equal(tagEv.attributes.name, 'berth.test/events:t');
    await waitFor('image delete event', want('IMAGE', 'delete', id));
    for (const action of ['create', 'start', 'die', 'destroy']) await waitFor(`container ${action} event`, want('CONTAINER', action, cid));
    const die = all.events.find((e) => e.action === 'die' && e.id === cid)!;
    assert.equal(die.attributes.exitCode, '3');
    assert.equal(die.attributes.pod, pod.id);
    const order = all.events.filter((e) => e.id === cid).map((e) => e.action);
    assert.deepEqual(order, ['create', 'start', 'die', 'destroy']);

    assert.ok(imagesOnly.events.length >= 1);
    assert.ok(imagesOnly.events.every((e) => e.type === 'IMAGE' && e.action === 'tag'), JSON.stringify(imagesOnly.events));
    all.cancel();
    imagesOnly.cancel();
    await env.call('StopPodSandbox', { podSandboxId: pod.id });
    await env.call('RemovePodSandbox', { podSandboxId: pod.id });
  });

  it('Prune: removes the not-ready pod with its exited container and the unused image, keeps what is used', async () => {
    const pushed = await pushBusyboxImage(env.registry.url, 'test/prunable', { tag: 'v1', extraLayers: [[{ path: 'p.bin', type: 'file', content: Buffer.alloc(1 << 20, 5) }]] });
    const unusedId = (await pullCri(env, pushed.reference)).imageRef as string;
    const running = await env.runPod('keep');
    const keepId = await env.createContainer(running, 'k', ['sleep', '300']);
    const gone = await env.runPod('gone');
    const exited = await env.createContainer(gone, 'x', ['true']);
    await env.waitExited(exited);
    await env.call('StopPodSandbox', { podSandboxId: gone.id });

    const report = await unary<{ removedImages: string[]; removedContainers: string[]; removedPods: string[]; reclaimedBytes: string }>(client, 'Prune', {
      images: 'ALL_UNUSED',
      containers: true,
      pods: true,
    });
    assert.deepEqual(report.removedPods, [gone.id]);
    assert.deepEqual(report.removedContainers, [exited]);
    assert.deepEqual(report.removedImages, [unusedId]);
    assert.ok(Number(report.reclaimedBytes) >= 1 << 20, `reclaimed ${report.reclaimedBytes}`);
    const list = await new Promise<any>((r, j) => env.berthd.clients.image.ListImages({}, (e: Error | null, x: any) => (e ? j(e) : r(x))));
    const ids = list.images.map((i: any) => i.id);
    assert.ok(!ids.includes(unusedId), 'unused image removed');
    assert.equal(ids.length, 1, 'the image the running container uses stays');
    const pods = await env.call<any>('ListPodSandbox', {});
    assert.deepEqual(pods.items.map((p: any) => p.id), [running.id]);
    const { status } = await env.containerStatus(keepId);
    assert.equal(status.state, 'CONTAINER_RUNNING');

    // Nothing left to prune: an empty report.
    const again = await unary<any>(client, 'Prune', { images: 'ALL_UNUSED', containers: true, pods: true });
    assert.deepEqual([again.removedImages, again.removedContainers, again.removedPods], [[], [], []]);
  });
});
