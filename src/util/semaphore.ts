// A counting semaphore for bounding concurrent work (e.g. layer downloads).
export class Semaphore {
  private waiters: (() => void)[] = [];
  private active = 0;
  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiters.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiters.shift()?.();
    }
  }
}

/** Many shared holders or one exclusive holder (pulls share; garbage collection is exclusive). */
export class SharedExclusiveLock {
  private shared = 0;
  private exclusive = false;
  private queue: { kind: 'shared' | 'exclusive'; go: () => void }[] = [];

  private pump(): void {
    while (this.queue.length > 0) {
      const next = this.queue[0];
      if (next.kind === 'shared' && !this.exclusive) {
        this.queue.shift();
        this.shared++;
        next.go();
      } else if (next.kind === 'exclusive' && !this.exclusive && this.shared === 0) {
        this.queue.shift();
        this.exclusive = true;
        next.go();
      } else return;
    }
  }

  async withShared<T>(fn: () => Promise<T>): Promise<T> {
    await new Promise<void>((go) => {
      this.queue.push({ kind: 'shared', go });
      this.pump();
    });
    try {
      return await fn();
    } finally {
      this.shared--;
      this.pump();
    }
  }

  async withExclusive<T>(fn: () => Promise<T>): Promise<T> {
    await new Promise<void>((go) => {
      this.queue.push({ kind: 'exclusive', go });
      this.pump();
    });
    try {
      return await fn();
    } finally {
      this.exclusive = false;
      this.pump();
    }
  }
}

/** Calls with the same key while one is in flight share its promise. */
export class SingleFlight<T> {
  private readonly inflight = new Map<string, Promise<T>>();
  do(key: string, fn: () => Promise<T>): Promise<T> {
    const cur = this.inflight.get(key);
    if (cur) return cur;
    const p = fn().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }
  has(key: string): boolean {
    return this.inflight.has(key);
  }
}
