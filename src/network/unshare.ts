// Driver for util-linux unshare(1): create new namespaces, have unshare bind-mount each of them onto
// a file (which pins it after every process is gone), and run a command inside them first.
// Node cannot unshare/setns itself (it is multi-threaded), hence the external program.
import { run, tail } from '../util/run';
import { deadlineExceeded, internal } from '../util/errors';
import type { NamespaceKind } from './sysctls';

export interface UnshareOptions {
  /** Namespace kind → existing empty file on a private mount to bind the new namespace onto. */
  pinTo: Partial<Record<NamespaceKind, string>>;
  /** Command run inside the new namespaces before unshare exits. */
  argv: string[];
  timeoutMs?: number;
}

const SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export async function unshareAndPin(opts: UnshareOptions): Promise<void> {
  const args: string[] = [];
  for (const [kind, file] of Object.entries(opts.pinTo)) if (file) args.push(`--${kind}=${file}`);
  args.push('--', ...opts.argv);
  let r;
  try {
    r = await run('unshare', { args, timeoutMs: opts.timeoutMs ?? 30_000, env: { PATH: SAFE_PATH, LC_ALL: 'C' } });
  } catch (e) {
    throw internal(`cannot run unshare: ${(e as Error).message}`, { program: 'unshare' }, e);
  }
  if (r.timedOut) throw deadlineExceeded('unshare helper timed out', { program: 'unshare', stderr: tail(r.stderr) });
  if (r.code !== 0)
    throw internal(`namespace helper failed: ${tail(r.stderr) || `exit ${r.code ?? r.signal}`}`, { program: 'unshare', code: r.code });
}
