// Terminal resize messages: a stream of JSON objects {"Width":w,"Height":h} (Go's TerminalSize),
// concatenated or newline-separated, split arbitrarily across frames.
import type { TerminalSize } from './types';

/** Splits a byte stream into top-level JSON object texts. */
export class JsonObjectSplitter {
  private buf = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start = -1;
  private scanned = 0;

  /** Bound on one message, so a client cannot grow the buffer without end. */
  constructor(private readonly maxMessage = 4096) {}

  push(chunk: string): string[] {
    this.buf += chunk;
    const out: string[] = [];
    for (let i = this.scanned; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (c === '"' && this.depth > 0) this.inString = true;
      else if (c === '{') {
        if (this.depth === 0) this.start = i;
        this.depth++;
      } else if (c === '}' && this.depth > 0) {
        this.depth--;
        if (this.depth === 0) {
          out.push(this.buf.slice(this.start, i + 1));
          this.start = -1;
        }
      }
    }
    // Keep only an unfinished object.
    if (this.depth === 0) {
      this.buf = '';
      this.scanned = 0;
    } else {
      this.buf = this.buf.slice(this.start);
      this.start = 0;
      this.scanned = this.buf.length;
      if (this.buf.length > this.maxMessage) throw new Error(`resize message longer than ${this.maxMessage} bytes`);
    }
    return out;
  }
}

/** Parse one resize message; undefined for anything that is not a sane size. */
export function parseTerminalSize(text: string): TerminalSize | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const w = o.Width ?? o.width;
  const h = o.Height ?? o.height;
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffff;
  return ok(w) && ok(h) ? { width: w, height: h } : undefined;
}

/**
 * An async-iterable queue of sizes fed by the protocol side. If the runtime falls behind, old
 * sizes are dropped: only the latest size of a terminal matters.
 */
export class ResizeQueue implements AsyncIterable<TerminalSize> {
  private readonly items: TerminalSize[] = [];
  private waiter: ((r: IteratorResult<TerminalSize>) => void) | undefined;
  private ended = false;

  constructor(private readonly maxQueued = 64) {}

  put(s: TerminalSize): void {
    if (this.ended) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: s, done: false });
      return;
    }
    this.items.push(s);
    if (this.items.length > this.maxQueued) this.items.shift();
  }

  end(): void {
    this.ended = true;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: undefined, done: true });
    }
  }

  /** Feed from a byte stream of JSON messages. */
  feedFrom(stream: NodeJS.ReadableStream): void {
    const splitter = new JsonObjectSplitter();
    stream.on('data', (chunk: Buffer | string) => {
      let msgs: string[];
      try {
        msgs = splitter.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      } catch {
        return this.end();
      }
      for (const m of msgs) {
        const s = parseTerminalSize(m);
        if (s) this.put(s);
      }
    });
    stream.on('end', () => this.end());
    stream.on('close', () => this.end());
  }

  [Symbol.asyncIterator](): AsyncIterator<TerminalSize> {
    return {
      next: () => {
        const s = this.items.shift();
        if (s) return Promise.resolve({ value: s, done: false });
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.waiter = resolve;
        });
      },
      return: () => {
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
