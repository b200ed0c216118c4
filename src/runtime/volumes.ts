// Named volumes (`berth run -v NAME:/path`, `berth volume ...`): directories berth manages under
// <root>/volumes/<name>/_data, each described by a record written atomically under
// <root>/meta/volumes/. The record is the volume: a directory without one is what a crash left in
// the middle of a create or a remove, and is deleted at start-up.
import { existsSync, readdirSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { copyTree } from './copy-tree';
import { RecordStore } from '../store/record-store';
import { errorMessage, failedPrecondition, invalidArgument, notFound } from '../util/errors';
import { logger } from '../util/log';
import { KeyedSerial } from '../util/keyed-serial';

const log = logger('volumes');

/** docker's rule for volume names, one character allowed. */
export const VOLUME_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export interface VolumeRecord {
  name: string;
  /** RFC 3339. */
  createdAt: string;
  labels: Record<string, string>;
  /** Set while an image's files are copied in: a copy cut short is emptied and done again. */
  copying?: boolean;
}

export interface VolumeInfo extends Omit<VolumeRecord, 'copying'> {
  /** The host directory containers mount. */
  mountpoint: string;
  /** Containers (any state) with a mount of the volume or of something inside it. */
  usedBy: string[];
}

/** A container and the host paths it mounts (to tell which volumes are in use). */
export interface MountUser {
  id: string;
  hostPaths: string[];
}

export interface VolumeStoreOptions {
  /** berthd's root (volumes live in <root>/volumes, records in <root>/meta/volumes). */
  root: string;
  /** Every container berthd knows, with its mounts' host paths. */
  users: () => Iterable<MountUser>;
}

export class VolumeStore {
  private readonly dir: string;
  private readonly records: RecordStore<VolumeRecord>;
  private readonly volumes = new Map<string, VolumeRecord>();
  /** Creates and removes of one name run one after the other. */
  private readonly locks = new KeyedSerial();

  constructor(private readonly opts: VolumeStoreOptions) {
    this.dir = join(opts.root, 'volumes');
    this.records = new RecordStore<VolumeRecord>(join(opts.root, 'meta'), 'volumes');
  }

  /** Start-up: load the records; remove directories no record claims (an interrupted create or remove). */
  async load(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o711 });
    for (const [name, rec] of this.records.loadAll()) {
      if (rec?.name === name && VOLUME_NAME_RE.test(name)) this.volumes.set(name, rec);
    }
    for (const name of existsSync(this.dir) ? readdirSync(this.dir) : []) {
      if (this.volumes.has(name)) continue;
      log.warn({ volume: name }, 'removing a volume directory without a record (interrupted create or remove)');
      await fsp.rm(join(this.dir, name), { recursive: true, force: true }).catch((e) => log.error({ volume: name, err: errorMessage(e) }, 'removing volume directory failed'));
    }
  }

  mountpoint(name: string): string {
    return join(this.dir, name, '_data');
  }

  private checkName(name: string): void {
    if (!VOLUME_NAME_RE.test(name)) {
      throw invalidArgument(`invalid volume name "${name}": use letters, digits, '_', '.' and '-', starting with a letter or digit`, { volume: name });
    }
  }


  private info(rec: VolumeRecord): VolumeInfo {
    const mp = this.mountpoint(rec.name);
    const usedBy: string[] = [];
    for (const u of this.opts.users()) {
      if (u.hostPaths.some((p) => p === mp || p.startsWith(mp + sep))) usedBy.push(u.id);
    }
    const { copying: _copying, ...shown } = rec;
    return { ...shown, labels: { ...rec.labels }, mountpoint: mp, usedBy };
  }

  /** The volume whose mount point `hostPath` is, if any. */
  volumeAt(hostPath: string): string | undefined {
    const parts = relative(this.dir, hostPath).split(sep);
    return parts.length === 2 && parts[1] === '_data' && this.volumes.has(parts[0]!) ? parts[0] : undefined;
  }

  /**
   * docker's copy-up: when an empty named volume is mounted, the image's files at the mount path
   * (`source()`: a directory in the container's rootfs, or undefined) are copied into it first.
   * Returns whether anything was copied. A copy a crash or error cut short is redone from empty.
   */
  populate(name: string, source: () => Promise<string | undefined>): Promise<boolean> {
    return this.locks.run(name, async () => {
      const rec = this.volumes.get(name);
      if (!rec) throw notFound(`no such volume: ${name}`, { volume: name });
      const mp = this.mountpoint(rec.name);
      if (rec.copying) {
        for (const entry of await fsp.readdir(mp)) await fsp.rm(join(mp, entry), { recursive: true, force: true });
      } else if ((await fsp.readdir(mp)).length > 0) return false;
      const src = await source();
      if (!src) return false;
      rec.copying = true;
      await this.records.put(name, rec);
      await copyTree(src, mp);
      delete rec.copying;
      await this.records.put(name, rec);
      log.info({ volume: name, source: src }, 'volume populated from the image');
      return true;
    });
  }

  /** Creates the volume, or returns the existing one unchanged (its labels stay as they were). */
  create(name: string, labels: Record<string, string> = {}): Promise<VolumeInfo> {
    this.checkName(name);
    return this.locks.run(name, async () => {
      const existing = this.volumes.get(name);
      if (existing) return this.info(existing);
      // Directory first: a record always names a directory that exists.
      await fsp.mkdir(this.mountpoint(name), { recursive: true, mode: 0o755 });
      const rec: VolumeRecord = { name, createdAt: new Date().toISOString(), labels: { ...labels } };
      await this.records.put(name, rec);
      this.volumes.set(name, rec);
      log.info({ volume: name }, 'volume created');
      return this.info(rec);
    });
  }

  get(name: string): VolumeInfo {
    const rec = this.volumes.get(name);
    if (!rec) throw notFound(`no such volume: ${name}`, { volume: name });
    return this.info(rec);
  }

  list(): VolumeInfo[] {
    return [...this.volumes.values()].sort((a, b) => a.name.localeCompare(b.name)).map((r) => this.info(r));
  }

  /**
   * Removes the volume and its data. Refused while any container (running or exited) mounts it, as
   * docker does; `force` only makes a missing volume no error. Returns whether one was removed.
   */
  remove(name: string, force = false): Promise<boolean> {
    return this.locks.run(name, async () => {
      const rec = this.volumes.get(name);
      if (!rec) {
        if (force) return false;
        throw notFound(`no such volume: ${name}`, { volume: name });
      }
      const { usedBy } = this.info(rec);
      if (usedBy.length) {
        throw failedPrecondition(`volume ${name} is in use by container${usedBy.length > 1 ? 's' : ''} ${usedBy.map((id) => id.slice(0, 12)).join(', ')}`, { volume: name, usedBy });
      }
      // Record first: a crash before the directory is gone leaves a directory start-up removes.
      this.volumes.delete(name);
      await this.records.delete(name);
      await fsp.rm(join(this.dir, name), { recursive: true, force: true });
      log.info({ volume: name }, 'volume removed');
      return true;
    });
  }

  /** Removes every volume no container mounts; returns their names. */
  async prune(): Promise<string[]> {
    const removed: string[] = [];
    for (const v of this.list()) {
      if (v.usedBy.length) continue;
      try {
        if (await this.remove(v.name)) removed.push(v.name);
      } catch (e) {
        log.warn({ volume: v.name, err: errorMessage(e) }, 'volume not pruned');
      }
    }
    return removed;
  }
}
