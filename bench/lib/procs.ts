// Process bookkeeping for benchmarks: every daemon a benchmark starts is stopped by its PID, and
// cleanups run even when the benchmark fails or is interrupted (SIGINT/SIGTERM).
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

type Cleanup = () => Promise<void> | void;

const cleanups = new Map<number, { what: string; fn: Cleanup }>();
let nextId = 1;
let handlersInstalled = false;
let interruptedBy: NodeJS.Signals | undefined;

/**
 * The signal that interrupted the benchmark, if any. Cleanups run while the benchmark's own code is
 * still awaiting something; it should check this before starting anything new (a container made
 * after the cleanups ran would be left behind).
 */
export function interrupted(): NodeJS.Signals | undefined {
  return interruptedBy;
}

/** Register a cleanup; the returned function unregisters it (call it once you cleaned up yourself). */
export function onCleanup(what: string, fn: Cleanup): () => void {
  installSignalHandlers();
  const id = nextId++;
  cleanups.set(id, { what, fn });
  return () => void cleanups.delete(id);
}

/** Run every registered cleanup, newest first; errors are reported, not thrown. */
export async function runCleanups(): Promise<void> {
  const entries = [...cleanups.entries()].reverse();
  cleanups.clear();
  for (const [, c] of entries) {
    try {
      await c.fn();
    } catch (e) {
      process.stderr.write(`bench: cleanup of ${c.what} failed: ${(e as Error).message}\n`);
    }
  }
}

function installSignalHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const onSignal = (sig: NodeJS.Signals) => {
    interruptedBy = sig;
    process.stderr.write(`bench: ${sig}: stopping what the benchmark started\n`);
    runCleanups().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers kill(0); it has exited for our purposes.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * SIGTERM the process, wait up to `timeoutMs` for it to go, then SIGKILL. `exited` (from the child's
 * 'exit' event) is preferred over polling when we are its parent, because our own child stays a
 * zombie until node reaps it.
 */
export async function stopPid(pid: number, opts: { timeoutMs?: number; exited?: Promise<unknown> } = {}): Promise<'term' | 'kill' | 'gone'> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const gone = (): Promise<boolean> =>
    opts.exited ? Promise.race([opts.exited.then(() => true), sleep(50).then(() => false)]) : Promise.resolve(!isAlive(pid));
  if (await gone()) return 'gone';
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'gone';
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await gone()) return 'term';
    if (!opts.exited) await sleep(50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return 'term';
  }
  for (let i = 0; i < 100 && !(await gone()); i++) if (!opts.exited) await sleep(50);
  return 'kill';
}

/** Command line of a process as argv (empty if it is gone). */
export function cmdline(pid: number): string[] {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((s, i, a) => s !== '' || i < a.length - 1);
  } catch {
    return [];
  }
}

/** PIDs of all processes whose argv matches `pred`. */
export function findProcesses(pred: (argv: string[], pid: number) => boolean): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const argv = cmdline(pid);
    if (argv.length > 0 && pred(argv, pid)) out.push(pid);
  }
  return out;
}

/** Parent PID from /proc/<pid>/stat (undefined if gone). */
export function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parens: fields start after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[1]);
  } catch {
    return undefined;
  }
}

/** All live descendants of `pid` (children, grandchildren, ...), by scanning /proc. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const p = Number(name);
    const pp = parentPid(p);
    if (pp === undefined) continue;
    const list = children.get(pp);
    if (list) list.push(p);
    else children.set(pp, [p]);
  }
  const out: number[] = [];
  const stack = [...(children.get(pid) ?? [])];
  while (stack.length > 0) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/** Mount points at or below any of `dirs`, deepest first (from /proc/self/mountinfo). */
export function mountsUnder(dirs: string[]): string[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => unescape(l.split(' ')[4]!));
  const inside = points.filter((p) => dirs.some((d) => p === d || p.startsWith(`${d.replace(/\/+$/, '')}/`)));
  return [...new Set(inside)].sort((a, b) => b.length - a.length);
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, (err, _out, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve()));
  });
}

/** Unmount everything mounted at or below `dirs` (lazy detach as a last resort). */
export async function unmountUnder(dirs: string[]): Promise<string[]> {
  const points = mountsUnder(dirs);
  for (const p of points) {
    try {
      await run('umount', [p]);
    } catch {
      await run('umount', ['-l', p]).catch(() => undefined);
    }
  }
  return points;
}

/** Run a benchmark's main(): cleanups always run, the exit code is main's (2 on a failure). */
export function runBenchmark(name: string, main: () => Promise<number>): void {
  main()
    .then(
      (code) => runCleanups().then(() => code),
      async (e: unknown) => {
        // After a signal, whatever was in flight fails as its daemon is stopped: not worth a stack.
        if (interrupted()) process.stderr.write(`${name} benchmark interrupted (${(e as Error).message})\n`);
        else process.stderr.write(`${name} benchmark failed: ${(e as Error).stack ?? String(e)}\n`);
        await runCleanups();
        return 2;
      },
    )
    .then((code) => process.exit(code));
}
