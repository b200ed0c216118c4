// Unique pod and container names, with in-flight sharing: a repeated request for a name whose
// first request is still running (the kubelet retries after its deadline) waits for and returns
// the first one's result instead of failing with "name is reserved" or creating an orphan.
import { alreadyExists } from '../util/errors';

export class NameRegistry {
  private readonly owners = new Map<string, string>();
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(private readonly kind: string) {}

  owner(name: string): string | undefined {
    return this.owners.get(name);
  }

  /** Record an existing owner (start-up). */
  claim(name: string, id: string): void {
    this.owners.set(name, id);
  }

  release(name: string, id: string): void {
    if (this.owners.get(name) === id) this.owners.delete(name);
  }

  /**
   * Run `create` for `name` unless it is in flight (then share its result) or already owned
   * (then `existing` decides: return an id to answer with it, or undefined to refuse).
   */
  run(name: string, existing: (id: string) => string | undefined, create: () => Promise<string>): Promise<string> {
    const cur = this.inflight.get(name);
    if (cur) return cur;
    const owner = this.owners.get(name);
    if (owner !== undefined) {
      const same = existing(owner);
      if (same !== undefined) return Promise.resolve(same);
      return Promise.reject(alreadyExists(`${this.kind} name "${name}" is already in use by ${owner}`, { name, id: owner }));
    }
    const p = create()
      .then((id) => {
        this.owners.set(name, id);
        return id;
      })
      .finally(() => this.inflight.delete(name));
    this.inflight.set(name, p);
    return p;
  }
}
