// Detach keys for attach (docker's default ctrl-p ctrl-q): the sequence is held back from the
// container while it is being typed; a key that breaks it releases what was held.
import { CliError, EXIT } from '../errors';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** docker's --detach-keys syntax: comma-separated keys, each one character or ctrl-<char>. */
export function parseDetachKeys(spec: string): Buffer {
  const keys = spec.split(',').map((k) => k.trim());
  const out: number[] = [];
  for (const k of keys) {
    const ctrl = /^ctrl-(.)$/i.exec(k);
    if (ctrl) {
      const c = ctrl[1].toLowerCase();
      // ctrl-a..ctrl-z are 1..26; ctrl-@ [ \ ] ^ _ are 0 and 27..31.
      if (c >= 'a' && c <= 'z') out.push(c.charCodeAt(0) - 96);
      else if ('@[\\]^_'.includes(c)) out.push(c.charCodeAt(0) - 64);
      else throw new CliError(`invalid detach key "${k}": use ctrl-<a-z, @, [, \\, ], ^ or _> or one character`, EXIT.usage);
    } else if (k.length === 1) out.push(k.charCodeAt(0));
    else throw new CliError(`invalid detach key "${k}": use ctrl-<letter> or one character`, EXIT.usage);
  }
  if (!out.length) throw new CliError('--detach-keys is empty', EXIT.usage);
  return Buffer.from(out);
}

export class DetachKeyFilter {
  private matched = 0;
  /** Set once the whole sequence was typed. */
  detached = false;

  constructor(private readonly keys: Buffer = parseDetachKeys(DEFAULT_DETACH_KEYS)) {}

  /** What of `chunk` goes on to the container. After the sequence completes, nothing does. */
  push(chunk: Buffer): Buffer {
    if (this.detached) return Buffer.alloc(0);
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) {
          this.detached = true;
          return Buffer.from(out);
        }
        continue;
      }
      // A broken sequence: what was held goes through, and this key may start a new one.
      for (let i = 0; i < this.matched; i++) out.push(this.keys[i]);
      this.matched = 0;
      if (b === this.keys[0]) {
        this.matched = 1;
        if (this.keys.length === 1) {
          this.detached = true;
          return Buffer.from(out);
        }
      } else out.push(b);
    }
    return Buffer.from(out);
  }
}
