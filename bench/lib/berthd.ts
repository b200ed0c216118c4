// berthd for benchmarks: the compiled daemon (dist/, built by scripts/bench.sh) for fair numbers,
// or the TypeScript sources under tsx when dist/ is missing or BERTH_BENCH_FROM_SOURCE=1, with the
// node flags bin/berthd uses. Own temp root/state/socket, no metrics listener, the benchmark
// registry's hosts.toml directory.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RUNC_BIN } from './containerd';
import { cleanEnv, spawnDaemon, type BenchDaemon } from './daemon';

/** Repository root, whether this file runs from bench/lib (tsx) or dist/bench/lib (compiled). */
export function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src', 'daemon'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new Error(`cannot find the berth repository above ${__dirname}`);
}

export interface BerthdOptions {
  registryConfigDir: string;
  parentDir?: string;
  logFile?: string;
  cniConfDir?: string;
  logLevel?: string;
  /** Write a V8 CPU profile (.cpuprofile) into this dir when berthd exits. */
  cpuProfDir?: string;
  /** Extra node flags, after bin/berthd's own (e.g. --max-old-space-size=...). */
  nodeFlags?: string[];
  extraArgs?: string[];
}

/**
 * The node flags bin/berthd starts the daemon with (its `node_flags="..."` line): the benchmarks
 * measure the daemon as users run it, and the flags are kept in one place.
 */
export function berthdNodeFlags(): string[] {
  const script = join(repoRoot(), 'bin', 'berthd');
  const m = /^node_flags="([^"]*)"$/m.exec(readFileSync(script, 'utf8'));
  if (!m) throw new Error(`${script}: no node_flags="..." line; the benchmarks start berthd with its flags`);
  return m[1]!.split(/\s+/).filter(Boolean);
}

/**
 * Node flags for experiments, after bin/berthd's own: `BERTH_BENCH_NODE_FLAGS="--v8-pool-size=1"`
 * (A/B a flag, or `-r sampler.js` to look inside). Printed and stored with the results.
 */
export function extraNodeFlags(): string[] {
  return (process.env.BERTH_BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
}

/** How berthd is launched: compiled JS, or sources under tsx. */
export function berthdEntry(): { args: string[]; compiled: boolean } {
  const repo = repoRoot();
  const dist = join(repo, 'dist', 'src', 'daemon', 'main.js');
  if (process.env.BERTH_BENCH_FROM_SOURCE !== '1' && existsSync(dist)) return { args: [dist], compiled: true };
  return { args: ['--import', 'tsx', join(repo, 'src', 'daemon', 'main.ts')], compiled: false };
}

export async function startBerthd(opts: BerthdOptions): Promise<BenchDaemon> {
  const base = mkdtempSync(join(opts.parentDir ?? tmpdir(), 'berth-bench-berthd-'));
  const root = join(base, 'root');
  const state = join(base, 'state');
  const socket = join(state, 'berth.sock');
  const cniConfDir = opts.cniConfDir ?? join(base, 'net.d');
  mkdirSync(cniConfDir, { recursive: true });
  // An empty config file: defaults, overridden by the flags below (and never /etc/berth/berth.toml).
  const config = join(base, 'berth.toml');
  writeFileSync(config, '# berth benchmark: everything is set by flags\n');
  const prof = opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : [];
  const entry = berthdEntry();
  const args = [
    ...prof,
    ...berthdNodeFlags(),
    ...extraNodeFlags(),
    ...(opts.nodeFlags ?? []),
    ...entry.args,
    '--config', config,
    '--root', root,
    '--state', state,
    '--listen', socket,
    '--registry-config-dir', opts.registryConfigDir,
    '--cni-conf-dir', cniConfDir,
    '--metrics-address', '',
    '--log-level', opts.logLevel ?? 'info',
    ...(opts.extraArgs ?? []),
  ];
  // conmon and runc children of ours name paths under our state or root dir in their argv.
  const ours = (argv: string[]) => argv.some((a) => a.startsWith(`${state}/`) || a.startsWith(`${root}/`)) && !argv.includes(socket);
  return spawnDaemon({
    name: 'berth',
    command: process.execPath,
    args,
    env: cleanEnv(),
    cwd: repoRoot(),
    base,
    root,
    state,
    socket,
    logFile: opts.logFile ?? join(base, 'berthd.log'),
    helperMatch: (argv) => /conmon$/.test(argv[0] ?? '') && ours(argv),
    beforeUnmount: () => deleteOciContainers(join(state, 'runtimes')),
  });
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8' }, (err, out, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(out)));
  });
}

/**
 * Force-delete the containers berthd left in its OCI runtime roots (default `<state>/runtimes/<handler>`).
 * berthd leaves containers running when it stops (like containerd, so a restart finds them); a benchmark
 * stopped before it removed its pods (a failure, Ctrl-C) would otherwise leave their processes behind.
 */
async function deleteOciContainers(runtimesDir: string): Promise<void> {
  if (!existsSync(runtimesDir)) return;
  for (const handler of readdirSync(runtimesDir)) {
    const root = join(runtimesDir, handler);
    const bin = handler === 'crun' ? 'crun' : RUNC_BIN;
    let list: Array<{ id: string }> = [];
    try {
      list = (JSON.parse((await run(bin, ['--root', root, 'list', '--format', 'json'])) || '[]') as Array<{ id: string }> | null) ?? [];
    } catch {
      continue;
    }
    for (const c of list) await run(bin, ['--root', root, 'delete', '--force', c.id]).catch(() => undefined);
  }
}
