// One daemon per state dir: a pid file naming a live berthd makes a second start fail early
// instead of both fighting over the same containers.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { failedPrecondition } from '../util/errors';
import { writeFileAtomicSync } from '../util/atomic-file';

/** The file's contents, or undefined when there is none. */
function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** A live process that is a berthd (bin/berthd runs daemon/main); a reused pid is not. */
function isBerthd(pid: number): boolean {
  const argv = readIfPresent(`/proc/${pid}/cmdline`);
  return argv !== undefined && (argv.includes('berthd') || argv.includes('daemon/main'));
}

export function acquirePidFile(stateDir: string): () => void {
  const file = join(stateDir, 'berthd.pid');
  const pid = Number(readIfPresent(file)?.trim());
  if (pid && pid !== process.pid && isBerthd(pid)) throw failedPrecondition(`another berthd (pid ${pid}) uses state dir ${stateDir}`);
  writeFileAtomicSync(file, `${process.pid}\n`);
  return () => rmSync(file, { force: true });
}
