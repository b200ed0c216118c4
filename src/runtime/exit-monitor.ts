// Learns of container exits without polling: conmon writes <exitDir>/<id> (atomically, by rename)
// when the container's process ends; an fs.watch on the directory tells us at once.
import { watch, type FSWatcher, readdirSync, mkdirSync } from 'node:fs';
import { readExitCode } from '../oci/conmon';
import { logger } from '../util/log';
import { errorMessage } from '../util/errors';

const log = logger('exits');

export type ExitHandler = (id: string, exitCode: number) => void;

export class ExitMonitor {
  private watcher: FSWatcher | undefined;
  private readonly waiters = new Map<string, Set<(code: number) => void>>();

  constructor(readonly exitDir: string, private readonly onExit: ExitHandler) {
    mkdirSync(exitDir, { recursive: true, mode: 0o700 });
  }

  start(): void {
    this.watcher = watch(this.exitDir, (_event, name) => {
      if (name) void this.check(name.toString());
    });
    this.watcher.on('error', (e) => log.error({ err: errorMessage(e) }, 'exit dir watch failed'));
    // Exits that happened while berthd was not running (or before the watch began).
    for (const name of readdirSync(this.exitDir)) void this.check(name);
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  async check(id: string): Promise<void> {
    if (id.startsWith('.')) return;
    let code: number | undefined;
    try {
      code = await readExitCode(this.exitDir, id);
    } catch (e) {
      log.warn({ containerId: id, err: errorMessage(e) }, 'unreadable exit file');
      return;
    }
    if (code === undefined) return;
    this.onExit(id, code);
    const ws = this.waiters.get(id);
    if (ws) {
      this.waiters.delete(id);
      for (const w of ws) w(code);
    }
  }

  /** Resolves with the exit code when the container exits, or undefined after timeoutMs. */
  wait(id: string, timeoutMs: number): Promise<number | undefined> {
    return new Promise((resolve) => {
      const set = this.waiters.get(id) ?? new Set();
      this.waiters.set(id, set);
      const done = (code: number | undefined) => {
        clearTimeout(t);
        set.delete(done);
        resolve(code);
      };
      const t = setTimeout(() => done(undefined), Math.max(0, timeoutMs));
      set.add(done);
      // It may have exited between the caller's check and now.
      void this.check(id);
    });
  }
}
