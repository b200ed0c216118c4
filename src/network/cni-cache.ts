// On-disk record of each attachment: the exact network config and runtime args used for ADD and
// the result it returned. DEL and CHECK must use these even if the conf dir changed since, and
// reconcile finds orphans through them. One JSON file per container (pod) id, written atomically.
// The cache lives in the state dir (tmpfs /run in production) and describes attachments of this
// boot only, so it is written without fsync (PER_BOOT): atomic against a crash of berthd. Should a
// state dir on disk lose a write to a power cut, the empty file reads as no record, and reconcile
// detaches with the current config, which is all DEL needs after a reboot (IPAM frees by id).
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { isAtomicTemp, PER_BOOT, writeFileAtomic } from '../util/atomic-file';
import { internal } from '../util/errors';
import { logger } from '../util/log';
import type { NetworkConfigList } from './cni-config';
import type { RuntimeConf } from './cni-protocol';

const log = logger('cni-cache');

export interface CachedAttachment {
  /** Format version of this record. */
  format: 1;
  runtime: RuntimeConf;
  network: NetworkConfigList;
  /** Raw result of the last plugin, in the network's version; absent while (or if) ADD did not finish. */
  result?: unknown;
  updatedAt: string;
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export class CniResultCache {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'cni', 'results');
  }

  private file(id: string): string {
    if (!ID_RE.test(id)) throw internal(`invalid cache id "${id}"`);
    return join(this.dir, `${id}.json`);
  }

  async get(id: string): Promise<CachedAttachment | undefined> {
    let text: string;
    try {
      text = await fsp.readFile(this.file(id), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    if (text === '') {
      log.warn({ containerId: id, file: this.file(id) }, 'empty CNI cache entry (a write lost to a power cut?): treated as absent');
      return undefined;
    }
    try {
      const rec = JSON.parse(text) as CachedAttachment;
      if (rec.format !== 1 || !rec.network || !rec.runtime) throw new Error('unknown record format');
      return rec;
    } catch (e) {
      throw internal(`corrupt CNI cache entry ${this.file(id)}: ${(e as Error).message}`, { containerId: id });
    }
  }

  async put(rec: Omit<CachedAttachment, 'format' | 'updatedAt'>): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const full: CachedAttachment = { format: 1, ...rec, updatedAt: new Date().toISOString() };
    await writeFileAtomic(this.file(rec.runtime.containerId), JSON.stringify(full), 0o600, PER_BOOT);
  }

  async remove(id: string): Promise<void> {
    try {
      await fsp.rm(this.file(id));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  /** Ids with a record; also sweeps temp files a crash left behind. */
  async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const ids: string[] = [];
    for (const n of names) {
      if (isAtomicTemp(n)) {
        log.info({ file: n }, 'removing leftover temp file');
        await fsp.rm(join(this.dir, n), { force: true });
      } else if (n.endsWith('.json') && ID_RE.test(n.slice(0, -5))) ids.push(n.slice(0, -5));
    }
    return ids.sort();
  }
}
