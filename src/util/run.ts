// Run an external program with stdin, captured output and a hard deadline. The child gets its own
// process group (detached → setsid) so a timeout kills it together with anything it spawned
// (a CNI plugin delegating to its IPAM plugin, unshare's helper child).
import { spawnProcess, type SpawnedProcess } from './spawn';

export interface RunOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv;
  stdin?: string;
  timeoutMs: number;
  /** Output beyond this many bytes per stream is dropped (a runaway plugin must not exhaust memory). */
  maxOutputBytes?: number;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export function run(file: string, opts: RunOptions): Promise<RunResult> {
  const max = opts.maxOutputBytes ?? 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    let child: SpawnedProcess;
    try {
      child = spawnProcess(file, opts.args ?? [], { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    } catch (e) {
      return reject(e);
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let timedOut = false;
    const killGroup = () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // group already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, opts.timeoutMs);
    child.stdout!.on('data', (b: Buffer) => {
      if (outLen < max) out.push(b);
      outLen += b.length;
    });
    child.stderr!.on('data', (b: Buffer) => {
      if (errLen < max) err.push(b);
      errLen += b.length;
    });
    void child.closed.then(({ code, signal }) => {
      clearTimeout(timer);
      // A timed-out leader may leave grandchildren behind holding no pipes; reap the group anyway.
      if (timedOut) killGroup();
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut });
    });
    // EPIPE when the program exits without reading stdin is harmless: its exit status tells the story.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(opts.stdin ?? '');
  });
}

/** Last few lines of a program's stderr, for error context. */
export function tail(s: string, maxChars = 2000): string {
  const t = s.trim();
  return t.length <= maxChars ? t : `…${t.slice(t.length - maxChars)}`;
}
