// Container lifecycle events (CRI GetContainerEvents): created, started, stopped, deleted; and pod
// lifecycle events (berth's own Events stream): created, stopped, deleted.
import { EventEmitter } from 'node:events';

export type ContainerEventType = 'created' | 'started' | 'stopped' | 'deleted';

export interface ContainerEvent {
  containerId: string;
  podId: string;
  type: ContainerEventType;
  /** Nanoseconds since the epoch. */
  createdAt: string;
}

export type PodEventType = 'created' | 'stopped' | 'deleted';

export interface PodEvent {
  podId: string;
  type: PodEventType;
  /** Nanoseconds since the epoch. */
  createdAt: string;
}

export class RuntimeEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per streaming client (kubelets, crictl, tests).
    this.emitter.setMaxListeners(0);
  }

  emit(type: ContainerEventType, containerId: string, podId: string): void {
    const ev: ContainerEvent = { containerId, podId, type, createdAt: (BigInt(Date.now()) * 1_000_000n).toString() };
    this.emitter.emit('event', ev);
  }

  subscribe(fn: (ev: ContainerEvent) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }

  emitPod(type: PodEventType, podId: string): void {
    const ev: PodEvent = { podId, type, createdAt: (BigInt(Date.now()) * 1_000_000n).toString() };
    this.emitter.emit('pod', ev);
  }

  subscribePods(fn: (ev: PodEvent) => void): () => void {
    this.emitter.on('pod', fn);
    return () => this.emitter.off('pod', fn);
  }
}
