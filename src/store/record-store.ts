// Metadata records: one JSON file per record under <dir>/<bucket>/, each written atomically
// (temp file + fsync + rename). A crash leaves each record either old or new; a record that does
// not parse is reported and set aside, so one bad record never stops the daemon from starting.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { isAtomicTemp, writeFileAtomic } from '../util/atomic-file';
import { logger } from '../util/log';

const log = logger('records');

/** File names must not contain '/' and should stay readable: ':' and other bytes are %-escaped. */
export function encodeKey(key: string): string {
  return encodeURIComponent(key).replace(/\./g, '%2E');
}

export function decodeKey(name: string): string {
  return decodeURIComponent(name);
}

export class RecordStore<T> {
  private readonly dir: string;
  /** Keys whose file (and directory entry) is known to be on disk. */
  private readonly durable = new Set<string>();

  constructor(root: string, readonly bucket: string) {
    this.dir = join(root, bucket);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  private file(key: string): string {
    return join(this.dir, `${encodeKey(key)}.json`);
  }

  async put(key: string, value: T): Promise<void> {
    // A record already on disk durably is replaced without syncing the directory: a power cut
    // leaves the old record or the new one, both states the start-up reconcile handles.
    const replacing = this.durable.has(key);
    await writeFileAtomic(this.file(key), JSON.stringify(value), 0o600, { syncDir: !replacing });
    this.durable.add(key);
  }

  async delete(key: string): Promise<void> {
    this.durable.delete(key);
    await fsp.rm(this.file(key), { force: true });
  }

  /** Load every record (start-up). Temp files of interrupted writes are removed; corrupt records are quarantined. */
  loadAll(): Map<string, T> {
    const out = new Map<string, T>();
    for (const name of readdirSync(this.dir)) {
      const full = join(this.dir, name);
      if (isAtomicTemp(name)) {
        rmSync(full, { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      const key = decodeKey(name.slice(0, -'.json'.length));
      try {
        out.set(key, JSON.parse(readFileSync(full, 'utf8')) as T);
      } catch (e) {
        log.error({ bucket: this.bucket, key, err: (e as Error).message }, 'corrupt record set aside');
        renameSync(full, `${full}.corrupt`);
      }
    }
    return out;
  }
}
