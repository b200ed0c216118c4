// startAutoRemove: pods annotated io.berth.auto-remove=true go once all their containers exited,
// whether the exit is seen as an event or was recorded before it started watching.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AUTO_REMOVE_ANNOTATION, startAutoRemove } from '../../../src/runtime/auto-remove';
import { RuntimeEvents } from '../../../src/runtime/events';
import type { ContainerRecord, PodRecord } from '../../../src/runtime/types';

function fakeRuntime(pods: Array<{ id: string; auto: boolean; ctrs: Array<ContainerRecord['state']> }>) {
  const podRecs = new Map<string, PodRecord>();
  const ctrRecs = new Map<string, ContainerRecord[]>();
  for (const p of pods) {
    podRecs.set(p.id, { id: p.id, state: 'ready', spec: { annotations: p.auto ? { [AUTO_REMOVE_ANNOTATION]: 'true' } : {} } } as unknown as PodRecord);
    ctrRecs.set(p.id, p.ctrs.map((state, i) => ({ id: `${p.id}-c${i}`, podId: p.id, state }) as ContainerRecord));
  }
  const removed: string[] = [];
  const events = new RuntimeEvents();
  const rt = {
    events,
    pods: {
      get: (id: string) => podRecs.get(id),
      all: () => [...podRecs.values()],
      remove: async (id: string) => {
        removed.push(id);
        podRecs.delete(id);
      },
    },
    containers: { ofPod: (id: string) => ctrRecs.get(id) ?? [] },
  };
  const setState = (podId: string, i: number, state: ContainerRecord['state']) => (ctrRecs.get(podId)![i].state = state);
  return { rt: rt as unknown as Parameters<typeof startAutoRemove>[0], removed, events, setState };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('startAutoRemove', () => {
  it('removes at start the auto-remove pods whose containers all exited, and only those', async () => {
    const f = fakeRuntime([
      { id: 'gone', auto: true, ctrs: ['exited'] },
      { id: 'running', auto: true, ctrs: ['running'] },
      { id: 'plain', auto: false, ctrs: ['exited'] },
      { id: 'empty', auto: true, ctrs: [] },
      { id: 'half', auto: true, ctrs: ['exited', 'running'] },
    ]);
    const ar = startAutoRemove(f.rt);
    await settle();
    assert.deepEqual(f.removed, ['gone']);
    await ar.close();
  });

  it('removes a pod when its last container stops, once, and not after close', async () => {
    const f = fakeRuntime([
      { id: 'p', auto: true, ctrs: ['running', 'running'] },
      { id: 'q', auto: true, ctrs: ['running'] },
    ]);
    const ar = startAutoRemove(f.rt);
    f.setState('p', 0, 'exited');
    f.events.emit('stopped', 'p-c0', 'p');
    await settle();
    assert.deepEqual(f.removed, [], 'another container still runs');
    f.setState('p', 1, 'exited');
    f.events.emit('stopped', 'p-c1', 'p');
    f.events.emit('stopped', 'p-c1', 'p');
    await settle();
    assert.deepEqual(f.removed, ['p']);
    await ar.close();
    f.setState('q', 0, 'exited');
    f.events.emit('stopped', 'q-c0', 'q');
    await settle();
    assert.deepEqual(f.removed, ['p']);
  });
});
