// Container lifecycle events (CRI GetContainerEvents): created, started, stopped, deleted.
import { EventEmitter } from 'node:events';

export type ContainerEventType = 'created' | 'started' | 'stopped' | 'deleted';

export interface ContainerEvent {
  containerId: string;
  podId: string;
  type: ContainerEventType;
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
}
