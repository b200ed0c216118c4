// Driver for cp(1), the one program that copies an image directory into a named volume: owners,
// modes, times, xattrs, hard links and special files are kept, and symlinks inside the tree are
// copied as links, never followed. GNU cp does all of that well; Node's fs.cp keeps none of the owners.
import { BerthError } from '../util/errors';
import { run, tail } from '../util/run';

const CP = '/bin/cp';
/** A copy-up is part of a CreateContainer call; a huge directory must not hold it forever. */
const TIMEOUT_MS = 10 * 60_000;

/** Copies the directory `src` onto the existing directory `dst` (its owner, mode and times included). */
export async function copyTree(src: string, dst: string): Promise<void> {
  const res = await run(CP, { args: ['-a', '-T', '--', src, dst], timeoutMs: TIMEOUT_MS, maxOutputBytes: 64 * 1024 });
  if (res.code !== 0) {
    const why = res.timedOut ? `timed out after ${TIMEOUT_MS / 1000} s` : tail(res.stderr).trim() || `exit ${res.code ?? res.signal}`;
    throw new BerthError('internal', `copying ${src} to ${dst} failed: ${why}`, { source: src, target: dst });
  }
}
