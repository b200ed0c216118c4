// One daemon per state dir: a pid file naming a live berthd makes a second start fail early
// instead of both fighting over the same containers.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { failedPrecondition } from '../util/errors';
import { writeFileAtomicSync } from '../util/atomic-file';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('berthd') || readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('daemon/main');
  } catch {
    return false;
  }
}

export function acquirePidFile(stateDir: string): () => void {
  const file = join(stateDir, 'berthd.pid');
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (pid && pid !== process.pid && alive(pid)) throw failedPrecondition(`another berthd (pid ${pid}) uses state dir ${stateDir}`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && !(e instanceof Error && e.name === 'BerthError')) throw e;
    if (e instanceof Error && e.name === 'BerthError') throw e;
  }
  writeFileAtomicSync(file, `${process.pid}\n`);
  return () => rmSync(file, { force: true });
}
