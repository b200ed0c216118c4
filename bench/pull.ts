// Image pull benchmark: berthd against containerd (the yardstick), both started here in their own
// temp dirs and driven through the same CRI client. Each round pulls the benchmark image (~280 MB
// uncompressed, ~13.5k files, 5 gzip layers; bench/lib/bench-image.ts) cold into a freshly started
// daemon from a docker-registry on 127.0.0.1, and records the PullImage wall time, the daemon's
// peak RSS (VmHWM), the sampled peak RSS of its process tree, and its CPU time. Runtimes alternate
// order between rounds so neither always runs first. Reports medians and berth/containerd ratios.
//
//   scripts/bench.sh pull [--rounds N] [--out results.json] [--cpu-prof DIR] ...
//   node dist/bench/pull.js --help
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pushFixture } from '../test/helpers/fixtures';
import { benchImage, BENCH_IMAGE_VERSION, DEFAULT_CACHE_DIR, type BenchImageInfo } from './lib/bench-image';
import { commonOptions, intOption, requireRoot, runtimeList } from './lib/options';
import { berthdEntry, berthdNodeFlags, extraNodeFlags, repoRoot, startBerthd } from './lib/berthd';
import { startContainerd } from './lib/containerd';
import { collectCpuProfile, formatProfile, type ProfileSummary } from './lib/cpuprofile';
import type { BenchDaemon } from './lib/daemon';
import { onCleanup, runBenchmark } from './lib/procs';
import { setLogLevel } from '../src/util/log';
import { startBenchRegistry, type BenchRegistry } from './lib/registry';
import { cpuSeconds, currentRss, fmtMiB, MiB, peakRss, RssSampler, summarize, type Summary, type TreeSample } from './lib/stats';

const RUNTIMES = ['containerd', 'berth'] as const;
type Runtime = (typeof RUNTIMES)[number];

const USAGE = `usage: pull [options]
  --rounds N            measured pulls per runtime (default 3)
  --runtimes LIST       comma-separated, from containerd,berth (default both)
  --out FILE            write JSON results to FILE
  --workdir DIR         parent of the daemons' temp dirs (default ${tmpdir()})
  --cache DIR           built image cache (default ${DEFAULT_CACHE_DIR})
  --logs DIR            keep daemon logs in DIR (default: temp, kept only on failure)
  --cpu-prof DIR        after the measured rounds, profile one berthd pull (node --cpu-prof) into DIR
  --berth-log-level L   berthd --log-level (default info; containerd runs at info too)
  --help`;

interface Round {
  round: number;
  ok: boolean;
  error?: string;
  /** PullImage RPC wall time. */
  pullMs?: number;
  /** Daemon start until CRI Version answers. */
  startMs?: number;
  /** RSS right before the pull (after start-up), bytes. */
  idleRss?: number;
  /** VmHWM of the daemon after the pull (fresh process: the peak of start-up + pull), bytes. */
  vmHwm?: number;
  /** Largest sampled RSS sum of the daemon and its descendants/helpers during the pull, bytes. */
  treePeakRss?: number;
  /** Daemon CPU seconds (user+sys, incl. reaped children) spent during the pull. */
  cpuSec?: number;
  /** Bytes used under the daemon's root after the pull (du). */
  diskBytes?: number;
  imageRef?: string;
  imageSize?: string;
}

interface RuntimeResult {
  runtime: Runtime;
  version?: string;
  rounds: Round[];
  summary?: { pullMs: Summary; vmHwm: Summary; treePeakRss: Summary; cpuSec: Summary; idleRss: Summary };
}

function log(s: string): void {
  process.stderr.write(`[pull-bench] ${s}\n`);
}

function diskUsage(dir: string): number | undefined {
  try {
    return Number(execFileSync('du', ['-s', '-x', '-B1', dir], { encoding: 'utf8' }).split('\t')[0]);
  } catch {
    return undefined;
  }
}

interface Ctx {
  registry: BenchRegistry;
  reference: string;
  workdir: string;
  logsDir: string;
  berthLogLevel: string;
}

function startRuntime(rt: Runtime, ctx: Ctx, tag: string, cpuProfDir?: string): Promise<BenchDaemon> {
  const logFile = join(ctx.logsDir, `${rt}-${tag}.log`);
  if (rt === 'containerd') return startContainerd({ registryConfigDir: ctx.registry.hostsDir, parentDir: ctx.workdir, logFile });
  return startBerthd({
    registryConfigDir: ctx.registry.hostsDir,
    parentDir: ctx.workdir,
    logFile,
    logLevel: ctx.berthLogLevel,
    ...(cpuProfDir ? { cpuProfDir } : {}),
  });
}

async function measureRound(rt: Runtime, round: number, ctx: Ctx, result: RuntimeResult): Promise<Round> {
  // Flush the previous round's writeback so it does not slow this one down.
  execFileSync('sync');
  const t0 = performance.now();
  let d: BenchDaemon | undefined;
  try {
    d = await startRuntime(rt, ctx, `round${round}`);
    const startMs = performance.now() - t0;
    result.version ??= `${d.version.runtimeName} ${d.version.runtimeVersion}`;
    await new Promise((r) => setTimeout(r, 500)); // let start-up work (GC, plugin init) settle
    const idleRss = currentRss(d.pid);
    const cpu0 = cpuSeconds(d.pid) ?? 0;
    const sampler = new RssSampler(d.pid, { intervalMs: 25, scanEveryMs: 250, extraPids: d.helperPids }).start();
    const p0 = performance.now();
    let imageRef: string;
    let tree: TreeSample;
    try {
      imageRef = await d.cri.pullImage(ctx.reference, { deadlineMs: 600_000 });
    } finally {
      tree = sampler.stop();
    }
    const pullMs = performance.now() - p0;
    const vmHwm = peakRss(d.pid);
    const cpuSec = (cpuSeconds(d.pid) ?? 0) - cpu0;
    const status = await d.cri.imageStatus(ctx.reference);
    if (!status.image) throw new Error(`ImageStatus after a successful pull has no image for ${ctx.reference}`);
    const diskBytes = diskUsage(d.root);
    return {
      round,
      ok: true,
      pullMs,
      startMs,
      ...(idleRss !== undefined ? { idleRss } : {}),
      ...(vmHwm !== undefined ? { vmHwm } : {}),
      treePeakRss: tree.peakTreeRss,
      cpuSec,
      ...(diskBytes !== undefined ? { diskBytes } : {}),
      imageRef,
      imageSize: status.image.size,
    };
  } catch (e) {
    const msg = (e as Error).message;
    log(`${rt} round ${round} FAILED: ${msg}`);
    if (d) log(`--- ${rt} log tail (${d.logFile}) ---\n${d.logTail(60)}`);
    return { round, ok: false, error: msg };
  } finally {
    await d?.stop();
  }
}

async function profileBerth(ctx: Ctx, dir: string): Promise<ProfileSummary | undefined> {
  mkdirSync(dir, { recursive: true });
  const before = new Set(readdirSync(dir));
  execFileSync('sync');
  const d = await startRuntime('berth', ctx, 'cpuprof', dir);
  try {
    const t = performance.now();
    await d.cri.pullImage(ctx.reference, { deadlineMs: 600_000 });
    log(`profiled berth pull: ${((performance.now() - t) / 1000).toFixed(2)} s (with profiler overhead)`);
  } finally {
    await d.stop(); // the profile is written when berthd exits
  }
  return collectCpuProfile(dir, before, repoRoot(), log);
}

function summaryOf(rounds: Round[]): RuntimeResult['summary'] {
  const ok = rounds.filter((r) => r.ok);
  if (ok.length === 0) return undefined;
  const pick = (f: (r: Round) => number | undefined) => ok.map(f).filter((x): x is number => x !== undefined);
  return {
    pullMs: summarize(pick((r) => r.pullMs)),
    vmHwm: summarize(pick((r) => r.vmHwm)),
    treePeakRss: summarize(pick((r) => r.treePeakRss)),
    cpuSec: summarize(pick((r) => r.cpuSec)),
    idleRss: summarize(pick((r) => r.idleRss)),
  };
}

function table(results: RuntimeResult[]): string {
  const rows: string[][] = [['runtime', 'round', 'pull s', 'peak RSS (VmHWM)', 'tree peak RSS', 'idle RSS', 'CPU s', 'disk', 'start ms']];
  for (const r of results) {
    for (const x of r.rounds) {
      rows.push(
        x.ok
          ? [
              r.runtime,
              String(x.round),
              (x.pullMs! / 1000).toFixed(2),
              fmtMiB(x.vmHwm ?? NaN),
              fmtMiB(x.treePeakRss ?? NaN),
              fmtMiB(x.idleRss ?? NaN),
              (x.cpuSec ?? NaN).toFixed(2),
              fmtMiB(x.diskBytes ?? NaN),
              (x.startMs ?? NaN).toFixed(0),
            ]
          : [r.runtime, String(x.round), 'FAILED', (x.error ?? '').split('\n')[0]!.slice(0, 60), '', '', '', '', ''],
      );
    }
    const s = r.summary;
    if (s) {
      rows.push([
        r.runtime,
        'median',
        (s.pullMs.p50 / 1000).toFixed(2),
        fmtMiB(s.vmHwm.p50),
        fmtMiB(s.treePeakRss.p50),
        fmtMiB(s.idleRss.p50),
        s.cpuSec.p50.toFixed(2),
        '',
        '',
      ]);
      rows.push([r.runtime, 'p99', (s.pullMs.p99 / 1000).toFixed(2), fmtMiB(s.vmHwm.p99), fmtMiB(s.treePeakRss.p99), '', s.cpuSec.p99.toFixed(2), '', '']);
      rows.push([r.runtime, 'mean', (s.pullMs.mean / 1000).toFixed(2), fmtMiB(s.vmHwm.mean), fmtMiB(s.treePeakRss.mean), '', s.cpuSec.mean.toFixed(2), '', '']);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      ...commonOptions(RUNTIMES),
      rounds: { type: 'string', default: '3' },
      cache: { type: 'string', default: DEFAULT_CACHE_DIR },
    },
  });
  setLogLevel('warn'); // berth's own modules used here (image writer, push) log at info
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  requireRoot('both daemons mount overlayfs');
  const rounds = intOption('rounds', values.rounds, 1);
  const runtimes = runtimeList(values.runtimes!, RUNTIMES);
  const workdir = resolve(values.workdir!);
  const logsDir = values.logs ? resolve(values.logs) : mkdtempSync(join(workdir, 'berth-bench-logs-'));
  mkdirSync(logsDir, { recursive: true });
  // Interrupted runs keep their logs (the normal path below decides for itself).
  const forgetLogs = onCleanup('log notice', () => log(`interrupted: daemon logs kept in ${logsDir}`));

  log(`image ${BENCH_IMAGE_VERSION} (cache ${values.cache})`);
  const img: BenchImageInfo = await benchImage(values.cache, log);
  log(
    `image: ${img.layers.length} gzip layers, ${img.totalFiles} files, ${(img.totalContent / MiB).toFixed(0)} MiB of file content, ` +
      `${(img.totalCompressed / MiB).toFixed(0)} MiB compressed${img.cached ? ' (cached)' : `, built in ${img.buildMs} ms`}`,
  );

  const loadBefore = loadavg();
  log(`load average before: ${loadBefore.map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} CPUs (other work skews results)`);
  const registry = await startBenchRegistry(workdir);
  let failed = false;
  try {
    const tp = performance.now();
    const pushed = await pushFixture(registry.url, 'bench/pull', 'v1', img.image, { hostsDir: registry.hostsDir });
    log(`pushed ${pushed.reference} (${pushed.digest}) to docker-registry pid ${registry.pid} in ${((performance.now() - tp) / 1000).toFixed(1)} s`);
    const ctx: Ctx = { registry, reference: pushed.reference, workdir, logsDir, berthLogLevel: values['berth-log-level']! };

    const results = new Map<Runtime, RuntimeResult>(runtimes.map((r) => [r, { runtime: r, rounds: [] }]));
    for (let round = 1; round <= rounds; round++) {
      // Alternate the order so page-cache and writeback effects do not always favour one runtime.
      const order = round % 2 === 1 ? runtimes : [...runtimes].reverse();
      for (const rt of order) {
        const res = results.get(rt)!;
        if (res.rounds.some((r) => !r.ok)) continue; // a failing runtime is not retried
        log(`round ${round}/${rounds}: ${rt} pulling ${ctx.reference}`);
        const r = await measureRound(rt, round, ctx, res);
        res.rounds.push(r);
        if (r.ok) {
          log(`  ${rt}: ${(r.pullMs! / 1000).toFixed(2)} s, VmHWM ${fmtMiB(r.vmHwm ?? NaN)}, tree peak ${fmtMiB(r.treePeakRss ?? NaN)}, CPU ${r.cpuSec?.toFixed(2)} s`);
        } else failed = true;
      }
    }
    for (const r of results.values()) {
      const s = summaryOf(r.rounds);
      if (s) r.summary = s;
    }

    let profile: ProfileSummary | undefined;
    if (values['cpu-prof'] && runtimes.includes('berth') && results.get('berth')!.summary) {
      profile = await profileBerth(ctx, resolve(values['cpu-prof']));
    }

    const list = [...results.values()];
    const out: string[] = ['', `PullImage of ${pushed.reference}: ${img.totalFiles} files, ${(img.totalContent / MiB).toFixed(0)} MiB content, ${(img.totalCompressed / MiB).toFixed(0)} MiB gzip, ${img.layers.length} layers; ${rounds} cold rounds per runtime`, ''];
    for (const r of list) out.push(`${r.runtime.padEnd(10)} ${r.version ?? '(did not start)'}${r.runtime === 'berth' ? ` (node ${[...berthdNodeFlags(), ...extraNodeFlags()].join(' ')})` : ''}`);
    out.push('', table(list), '');
    const b = results.get('berth')?.summary;
    const c = results.get('containerd')?.summary;
    let ratios: Record<string, number> | undefined;
    if (b && c) {
      ratios = {
        pullTimeMedian: b.pullMs.p50 / c.pullMs.p50,
        peakRssVmHwmMedian: b.vmHwm.p50 / c.vmHwm.p50,
        treePeakRssMedian: b.treePeakRss.p50 / c.treePeakRss.p50,
        cpuSecMedian: b.cpuSec.p50 / c.cpuSec.p50,
      };
      const verdict = (x: number) => (x <= 1 ? 'meets target <= 1.0x' : 'MISSES target <= 1.0x');
      out.push('berth / containerd (median):');
      out.push(`  pull time        ${ratios.pullTimeMedian.toFixed(2)}x   ${verdict(ratios.pullTimeMedian)}`);
      out.push(`  peak RSS (VmHWM) ${ratios.peakRssVmHwmMedian.toFixed(2)}x   ${verdict(ratios.peakRssVmHwmMedian)}`);
      out.push(`  tree peak RSS    ${ratios.treePeakRssMedian.toFixed(2)}x`);
      out.push(`  CPU time         ${ratios.cpuSecMedian.toFixed(2)}x`);
      const refs = new Set(list.flatMap((r) => r.rounds.filter((x) => x.ok).map((x) => x.imageRef)));
      if (refs.size > 1) out.push(`  note: runtimes report different image refs: ${[...refs].join(', ')}`);
    } else {
      out.push('no ratio: a runtime has no successful round');
    }
    if (profile) out.push('', 'berthd CPU profile (one extra pull, not in the numbers above):', formatProfile({ ...profile, topTotal: profile.topTotal.slice(0, 15), byFile: profile.byFile.slice(0, 15), topSelf: profile.topSelf.slice(0, 15) }));
    process.stdout.write(`${out.join('\n')}\n`);

    if (values.out) {
      const json = {
        benchmark: 'pull',
        date: new Date().toISOString(),
        host: {
          cpus: cpus().length,
          cpuModel: cpus()[0]?.model,
          memBytes: totalmem(),
          kernel: release(),
          node: process.version,
          loadavgBefore: loadBefore,
          loadavgAfter: loadavg(),
        },
        berthd: berthdEntry().compiled ? 'dist (compiled)' : 'src (tsx)',
        berthdNodeFlags: [...berthdNodeFlags(), ...extraNodeFlags()],
        image: {
          version: BENCH_IMAGE_VERSION,
          reference: pushed.reference,
          digest: pushed.digest,
          layers: img.layers,
          files: img.totalFiles,
          contentBytes: img.totalContent,
          compressedBytes: img.totalCompressed,
        },
        rounds,
        results: list,
        ratios,
        ...(profile ? { berthProfile: profile } : {}),
      };
      writeFileSync(resolve(values.out), `${JSON.stringify(json, null, 2)}\n`);
      log(`results written to ${resolve(values.out)}`);
    }
  } finally {
    forgetLogs();
    await registry.stop();
    if (failed || values.logs) log(`daemon logs kept in ${logsDir}`);
    else rmSync(logsDir, { recursive: true, force: true });
  }
  return failed ? 1 : 0;
}

runBenchmark('pull', main);
