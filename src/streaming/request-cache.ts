// Single-use tokens for the URLs returned by Exec/Attach/PortForward: random, short-lived and
// bounded in number, so a URL can be used once, soon, by whoever the kubelet hands it to.
import { randomBytes } from 'node:crypto';
import { BerthError } from '../util/errors';

export interface RequestCacheOptions {
  ttlMs?: number;
  maxInFlight?: number;
  tokenBytes?: number;
  now?: () => number;
}

export class RequestCache<T> {
  private readonly entries = new Map<string, { value: T; expires: number }>();
  private readonly ttlMs: number;
  private readonly maxInFlight: number;
  private readonly tokenBytes: number;
  private readonly now: () => number;

  constructor(opts: RequestCacheOptions = {}) {
    this.ttlMs = opts.ttlMs ?? 60_000;
    this.maxInFlight = opts.maxInFlight ?? 1000;
    this.tokenBytes = Math.max(8, opts.tokenBytes ?? 16);
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Store a request; return its token. Throws 'resource-exhausted' when too many are pending. */
  insert(value: T): string {
    if (this.entries.size >= this.maxInFlight) this.evictExpired();
    if (this.entries.size >= this.maxInFlight) {
      throw new BerthError('resource-exhausted', 'maximum number of in-flight streaming requests exceeded', {
        maxInFlight: this.maxInFlight,
      });
    }
    let token: string;
    do token = randomBytes(this.tokenBytes).toString('base64url');
    while (this.entries.has(token));
    this.entries.set(token, { value, expires: this.now() + this.ttlMs });
    return token;
  }

  /** Take a request out (single use); undefined when unknown or expired. */
  consume(token: string): T | undefined {
    const e = this.entries.get(token);
    if (!e) return undefined;
    this.entries.delete(token);
    return e.expires > this.now() ? e.value : undefined;
  }

  private evictExpired(): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (e.expires <= now) this.entries.delete(k);
  }
}
