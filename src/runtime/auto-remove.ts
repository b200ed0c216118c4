// `berth run --rm -d`: a pod annotated io.berth.auto-remove=true is removed (with its containers)
// once its containers have exited, by berthd itself, since no client is left waiting. Exits seen
// while berthd was down are caught by a scan at start.
import { errorMessage } from '../util/errors';
import { logger } from '../util/log';
import type { Runtime } from './runtime';
import type { PodRecord } from './types';

const log = logger('auto-remove');

/** Pod sandbox annotation that asks for removal once every container of the pod has exited. */
export const AUTO_REMOVE_ANNOTATION = 'io.berth.auto-remove';

export interface AutoRemover {
  /** Stop watching; waits for removals under way. */
  close(): Promise<void>;
}

export function wantsAutoRemove(pod: PodRecord): boolean {
  return pod.spec.annotations?.[AUTO_REMOVE_ANNOTATION] === 'true';
}

/** Watches container exits of `rt` and removes auto-remove pods whose containers have all exited. */
export function startAutoRemove(rt: Pick<Runtime, 'pods' | 'containers' | 'events'>): AutoRemover {
  const pending = new Map<string, Promise<void>>();
  let closed = false;

  const consider = (podId: string): void => {
    if (closed || pending.has(podId)) return;
    const pod = rt.pods.get(podId);
    if (!pod || pod.state === 'creating' || !wantsAutoRemove(pod)) return;
    const ctrs = rt.containers.ofPod(podId);
    // A pod still being filled (no container yet) or with one not exited stays.
    if (!ctrs.length || ctrs.some((c) => c.state !== 'exited')) return;
    const p = (async () => {
      try {
        await rt.pods.remove(podId);
        log.info({ podId, containers: ctrs.map((c) => c.id) }, 'removed an auto-remove pod after its containers exited');
      } catch (e) {
        log.warn({ podId, err: errorMessage(e) }, 'auto-remove of a pod failed');
      } finally {
        pending.delete(podId);
      }
    })();
    pending.set(podId, p);
  };

  const off = rt.events.subscribe((ev) => {
    if (ev.type === 'stopped') consider(ev.podId);
  });
  // What exited before we listened (while berthd was down, or during the start-up reconcile).
  for (const pod of rt.pods.all()) consider(pod.id);

  return {
    async close() {
      closed = true;
      off();
      await Promise.all(pending.values());
    },
  };
}
