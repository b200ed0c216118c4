// Command-line options and checks shared by the benchmarks.
import { tmpdir } from 'node:os';

/** An integer option >= min, or an error naming the option. */
export function intOption(name: string, value: string | undefined, min: number): number {
  const x = Number(value);
  if (!Number.isInteger(x) || x < min) throw new Error(`--${name} must be an integer >= ${min}, got ${value}`);
  return x;
}

/** `--runtimes a,b`: each must be one of `known`. */
export function runtimeList<R extends string>(value: string, known: readonly R[]): R[] {
  const list = value.split(',').map((s) => s.trim()) as R[];
  for (const r of list) if (!known.includes(r)) throw new Error(`unknown runtime ${r} (known: ${known.join(', ')})`);
  return list;
}

export function requireRoot(why: string): void {
  if (process.getuid?.() !== 0) throw new Error(`run as root: ${why}`);
}

/** parseArgs specs every benchmark takes (runtimes, output, dirs, profiling, berthd log level, help). */
export function commonOptions(runtimes: readonly string[]) {
  return {
    runtimes: { type: 'string', default: runtimes.join(',') },
    out: { type: 'string' },
    workdir: { type: 'string', default: tmpdir() },
    logs: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'berth-log-level': { type: 'string', default: 'info' },
    help: { type: 'boolean', default: false },
  } as const;
}
