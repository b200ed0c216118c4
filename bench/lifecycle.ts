// Pod + container lifecycle benchmark: berthd against containerd (the yardstick), both started here
// in their own temp dirs, on the same private CNI bridge, driven through the same CRI client, with
// raw `runc` on a prepared busybox bundle as the floor. Measures, alternating runtimes:
//   start  = RunPodSandbox + CreateContainer + StartContainer
//   stop   = StopContainer (grace 2 s; the workload exits on TERM) + StopPodSandbox
//   remove = RemoveContainer + RemovePodSandbox
// sequentially (N cycles) and 10 at once (a few rounds), as p50/p99; then the memory (RSS and PSS)
// of the daemon plus its monitors (berth: berthd + conmons (+ infra); containerd: containerd + its
// shims) with 50 pods running. Prints tables and berth/containerd and berth/floor ratios.
//
//   scripts/bench.sh lifecycle [-- --n 20 --out results.json --cpu-prof DIR ...]
//   node dist/bench/lifecycle.js --help
import { createHash, randomBytes } from 'node:crypto';
import { buildPauseImage } from './lib/pause-image';
import { commonOptions, intOption, requireRoot, runtimeList } from './lib/options';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildBusyboxImage, pushFixture } from '../test/helpers/fixtures';
import type { ContainerConfig, PodSandboxConfig } from '../src/cri/proto';
import { setLogLevel } from '../src/util/log';
import { berthdEntry, repoRoot, startBerthd } from './lib/berthd';
import { cgroupDirsUnder, removeCgroupTree } from './lib/cgroups';
import { createBenchCniNetwork, type BenchCniNetwork } from './lib/cni';
import { RUNC_BIN, startContainerd } from './lib/containerd';
import { collectCpuProfile, formatProfile, type ProfileSummary } from './lib/cpuprofile';
import { removeAllPods, type BenchDaemon } from './lib/daemon';
import { cmdline, descendants, interrupted, isAlive, mountsUnder, onCleanup, runBenchmark } from './lib/procs';
import { startBenchRegistry } from './lib/registry';
import { currentRss, fmtMiB, pssBytes, summarize, type Summary } from './lib/stats';

const RUNTIMES = ['containerd', 'berth'] as const;
type Runtime = (typeof RUNTIMES)[number];

const USAGE = `usage: lifecycle [options]
  --n N                 sequential start/stop/remove cycles per runtime (default 20)
  --concurrency C       pods started/stopped/removed at once (default 10)
  --conc-rounds R       rounds of the concurrent phase per runtime (default 3)
  --pods P              running pods for the memory reading (default 50)
  --stop-timeout S      StopContainer grace period, seconds (default 2)
  --runtimes LIST       comma-separated, from containerd,berth (default both)
  --no-floor            skip the raw runc floor
  --out FILE            write JSON results to FILE
  --workdir DIR         parent of all temp dirs (default ${tmpdir()})
  --logs DIR            keep daemon logs in DIR (default: temp, kept only on failure)
  --cpu-prof DIR        afterwards, profile berthd (node --cpu-prof) over N sequential cycles into DIR
  --berth-log-level L   berthd --log-level (default info; containerd runs at info too)
  --berth-runtime H     berth's runtime handler for the pods (default: its default, runc; e.g. crun)
  --help`;

/** Exits at once on SIGTERM (sh is PID 1 of its own PID namespace and would ignore an untrapped TERM). */
const WORKLOAD = ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"];

function log(s: string): void {
  process.stderr.write(`[lifecycle-bench] ${s}\n`);
}

const ms = (t0: number) => performance.now() - t0;

/** Start nothing new once a signal started the cleanups. */
function checkInterrupted(): void {
  const sig = interrupted();
  if (sig) throw new Error(`interrupted by ${sig}`);
}

// ---------------------------------------------------------------------------------------------
// One pod with one container through CRI
// ---------------------------------------------------------------------------------------------

interface Parts {
  runPod: number;
  create: number;
  start: number;
  stopCtr: number;
  stopPod: number;
  removeCtr: number;
  removePod: number;
}

interface Cycle {
  start: number;
  stop: number;
  remove: number;
  parts: Parts;
}

interface PodHandle {
  podId: string;
  ctrId: string;
  sandbox: PodSandboxConfig;
  logDir: string;
  parts: Partial<Parts>;
}

interface Ctx {
  busybox: string;
  cgroupParent: string;
  logRoot: string;
  stopTimeout: number;
  seq: number;
  /** RunPodSandbox runtime handler for berth pods ('' = its default). containerd always runs runc. */
  berthRuntime: string;
  /** Every sandbox containerd made (their shim sockets are checked at the end). */
  containerdSandboxes: string[];
  /** Every pod and container id either runtime returned (a mount naming one is a leak). */
  ids: Set<string>;
}

function podConfig(ctx: Ctx, rt: Runtime): { sandbox: PodSandboxConfig; logDir: string } {
  const n = ++ctx.seq;
  const uid = randomBytes(8).toString('hex');
  const logDir = join(ctx.logRoot, `${rt}-${n}-${uid}`);
  mkdirSync(logDir, { recursive: true });
  const name = `lc-${rt}-${n}`;
  return {
    logDir,
    sandbox: {
      metadata: { name, namespace: 'berth-bench', uid, attempt: 0 },
      hostname: name,
      logDirectory: logDir,
      labels: { bench: 'lifecycle' },
      // As the kubelet sends for an ordinary pod: own PID namespace per container, pod network and IPC.
      linux: { cgroupParent: ctx.cgroupParent, securityContext: { namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
    },
  };
}

function containerConfig(ctx: Ctx): ContainerConfig {
  return {
    metadata: { name: 'sleeper', attempt: 0 },
    image: { image: ctx.busybox },
    command: WORKLOAD,
    logPath: 'sleeper.log',
    linux: { securityContext: { namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
  };
}

async function startPod(d: BenchDaemon, rt: Runtime, ctx: Ctx): Promise<PodHandle & { ms: number }> {
  checkInterrupted();
  const { sandbox, logDir } = podConfig(ctx, rt);
  const parts: Partial<Parts> = {};
  const t0 = performance.now();
  let t = t0;
  const podId = await d.cri.runPodSandbox(sandbox, rt === 'berth' ? ctx.berthRuntime : '');
  parts.runPod = ms(t);
  ctx.ids.add(podId);
  if (rt === 'containerd') ctx.containerdSandboxes.push(podId);
  t = performance.now();
  const ctrId = await d.cri.createContainer(podId, containerConfig(ctx), sandbox);
  parts.create = ms(t);
  ctx.ids.add(ctrId);
  t = performance.now();
  await d.cri.startContainer(ctrId);
  parts.start = ms(t);
  return { podId, ctrId, sandbox, logDir, parts, ms: ms(t0) };
}

async function stopPod(d: BenchDaemon, h: PodHandle, ctx: Ctx): Promise<number> {
  const t0 = performance.now();
  await d.cri.stopContainer(h.ctrId, ctx.stopTimeout);
  h.parts.stopCtr = ms(t0);
  const t = performance.now();
  await d.cri.stopPodSandbox(h.podId);
  h.parts.stopPod = ms(t);
  return ms(t0);
}

async function removePod(d: BenchDaemon, h: PodHandle): Promise<number> {
  const t0 = performance.now();
  await d.cri.removeContainer(h.ctrId);
  h.parts.removeCtr = ms(t0);
  const t = performance.now();
  await d.cri.removePodSandbox(h.podId);
  h.parts.removePod = ms(t);
  rmSync(h.logDir, { recursive: true, force: true });
  return ms(t0);
}

async function cycle(d: BenchDaemon, rt: Runtime, ctx: Ctx): Promise<Cycle> {
  const h = await startPod(d, rt, ctx);
  const stop = await stopPod(d, h, ctx);
  const remove = await removePod(d, h);
  return { start: h.ms, stop, remove, parts: h.parts as Parts };
}

/** `concurrency` pods at once: all start, then all stop, then all are removed; per-pod latencies. */
async function concurrentRound(d: BenchDaemon, rt: Runtime, ctx: Ctx, concurrency: number): Promise<{ cycles: Cycle[]; wallMs: { start: number; stop: number; remove: number } }> {
  let t = performance.now();
  const hs = await Promise.all(Array.from({ length: concurrency }, () => startPod(d, rt, ctx)));
  const startWall = ms(t);
  t = performance.now();
  const stops = await Promise.all(hs.map((h) => stopPod(d, h, ctx)));
  const stopWall = ms(t);
  t = performance.now();
  const removes = await Promise.all(hs.map((h) => removePod(d, h)));
  const removeWall = ms(t);
  return {
    cycles: hs.map((h, i) => ({ start: h.ms, stop: stops[i]!, remove: removes[i]!, parts: h.parts as Parts })),
    wallMs: { start: startWall, stop: stopWall, remove: removeWall },
  };
}

// ---------------------------------------------------------------------------------------------
// Memory of the daemon and its monitors
// ---------------------------------------------------------------------------------------------

interface MemReading {
  pods: number;
  daemonRss: number;
  daemonPss: number;
  monitors: number;
  monitorRss: number;
  monitorPss: number;
  totalRss: number;
  totalPss: number;
}

/**
 * The processes that are the runtime's cost: the daemon and the helpers found by their argv naming
 * our own socket or dirs (containerd shims: `-address <our socket>`; conmons: our state/root paths),
 * plus berth's pod infra processes (catatonit under unshare, children of berthd) if any. Container
 * workloads (pause, sh, sleep) are not counted on either side.
 */
function monitorPids(d: BenchDaemon): number[] {
  const pids = new Set(d.helperPids());
  if (d.name === 'berth') {
    for (const p of descendants(d.pid)) if (/(catatonit|unshare)$/.test(cmdline(p)[0] ?? '')) pids.add(p);
  }
  pids.delete(d.pid);
  return [...pids];
}

function readMemory(d: BenchDaemon, pods: number): MemReading {
  const mon = monitorPids(d);
  const sum = (f: (p: number) => number | undefined) => mon.reduce((a, p) => a + (f(p) ?? 0), 0);
  const daemonRss = currentRss(d.pid) ?? NaN;
  const daemonPss = pssBytes(d.pid) ?? NaN;
  const monitorRss = sum(currentRss);
  const monitorPss = sum(pssBytes);
  return { pods, daemonRss, daemonPss, monitors: mon.length, monitorRss, monitorPss, totalRss: daemonRss + monitorRss, totalPss: daemonPss + monitorPss };
}

const sleep = (n: number) => new Promise((r) => setTimeout(r, n));

/** Median reading (by total PSS) of a few samples, after letting start-up work settle. */
async function settledMemory(d: BenchDaemon, pods: number, samples = 5): Promise<MemReading> {
  await sleep(3000);
  const rs: MemReading[] = [];
  for (let i = 0; i < samples; i++) {
    rs.push(readMemory(d, pods));
    await sleep(400);
  }
  rs.sort((a, b) => a.totalPss - b.totalPss);
  return rs[Math.floor(rs.length / 2)]!;
}

interface MemoryResult {
  idle: MemReading;
  loaded: MemReading;
  startWallMs: number;
  /** Monitors still alive after every pod was removed (should be 0). */
  monitorsLeftAfterRemove: number;
}

async function measureMemory(d: BenchDaemon, rt: Runtime, ctx: Ctx, pods: number, concurrency: number): Promise<MemoryResult> {
  const idle = await settledMemory(d, 0, 3);
  const hs: PodHandle[] = [];
  const t = performance.now();
  try {
    for (let i = 0; i < pods; i += concurrency) {
      const batch = await Promise.all(Array.from({ length: Math.min(concurrency, pods - i) }, () => startPod(d, rt, ctx)));
      hs.push(...batch);
    }
    const startWallMs = ms(t);
    const loaded = await settledMemory(d, pods);
    return { idle, loaded, startWallMs, monitorsLeftAfterRemove: -1 };
  } finally {
    for (let i = 0; i < hs.length; i += concurrency) {
      await Promise.all(hs.slice(i, i + concurrency).map(async (h) => {
        await stopPod(d, h, ctx);
        await removePod(d, h);
      }));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The floor: raw runc on a prepared busybox bundle (host network, no CNI, no image, no monitor)
// ---------------------------------------------------------------------------------------------

interface FloorResult {
  /** `runc run -d`: create + start. */
  createStart: Summary;
  /** `runc kill TERM` until the process is gone (the workload traps TERM). */
  stop: Summary;
  /** `runc delete`. */
  remove: Summary;
  /** `runc delete -f` of a running container: SIGKILL + delete. */
  forceDelete: Summary;
}

function runcCmd(args: string[], errFile: string): Promise<void> {
  return new Promise((ok, ko) => {
    if (args.includes('run')) checkInterrupted();
    // Never pipes: the detached container inherits runc's stdio and would keep a pipe open forever.
    const fd = openSync(errFile, 'w');
    const child = spawn(RUNC_BIN, args, { stdio: ['ignore', 'ignore', fd] });
    closeSync(fd);
    child.once('error', ko);
    child.once('exit', (code) => (code === 0 ? ok() : ko(new Error(`runc ${args.join(' ')} exited ${code}: ${readFileSync(errFile, 'utf8').trim()}`))));
  });
}

async function measureFloor(workdir: string, cgroupParent: string, n: number): Promise<FloorResult> {
  const dir = mkdtempSync(join(workdir, 'berth-bench-runc-'));
  const root = join(dir, 'runc-root');
  const bundle = join(dir, 'bundle');
  const errFile = join(dir, 'runc.err');
  const live = new Set<string>();
  // The runc command in flight, awaited by the cleanup so a container it is creating is deleted too.
  let inflight: Promise<unknown> = Promise.resolve();
  const runc = (args: string[]) => {
    const p = runcCmd(args, errFile);
    inflight = p.catch(() => undefined);
    return p;
  };
  const cleanup = async () => {
    await inflight;
    for (const id of live) await runcCmd(['--root', root, 'delete', '--force', id], errFile).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  const unregister = onCleanup('runc floor containers', cleanup);
  try {
    const rootfs = join(bundle, 'rootfs');
    for (const d of ['bin', 'proc', 'dev', 'sys', 'tmp', 'etc']) mkdirSync(join(rootfs, d), { recursive: true });
    copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
    for (const a of ['sh', 'sleep']) symlinkSync('busybox', join(rootfs, 'bin', a));
    execFileSync(RUNC_BIN, ['spec', '--bundle', bundle]);
    const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    spec.process.terminal = false;
    spec.process.args = WORKLOAD;
    spec.linux.namespaces = spec.linux.namespaces.filter((ns: { type: string }) => ns.type !== 'network');
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
    const cs: number[] = [];
    const st: number[] = [];
    const rm: number[] = [];
    const fd: number[] = [];
    const setCgroup = (id: string) => {
      spec.linux.cgroupsPath = `${cgroupParent}/runc-${id}`;
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
    };
    for (let i = 0; i < n + 1; i++) {
      // Graceful: run, TERM, wait for exit, delete. Iteration 0 warms up (page cache) and is dropped.
      const id = `floor-${i}`;
      setCgroup(id);
      const pidFile = join(dir, `${id}.pid`);
      let t = performance.now();
      live.add(id);
      await runc(['--root', root, 'run', '-d', '--pid-file', pidFile, '--bundle', bundle, id]);
      const a = ms(t);
      const pid = Number(readFileSync(pidFile, 'utf8'));
      await sleep(20); // let sh install its trap
      t = performance.now();
      await runc(['--root', root, 'kill', id, 'TERM']);
      while (isAlive(pid)) await sleep(1);
      const b = ms(t);
      t = performance.now();
      await runc(['--root', root, 'delete', id]);
      live.delete(id);
      const c = ms(t);
      // Forced: run, delete -f.
      const id2 = `floorf-${i}`;
      setCgroup(id2);
      live.add(id2);
      await runc(['--root', root, 'run', '-d', '--bundle', bundle, id2]);
      t = performance.now();
      await runc(['--root', root, 'delete', '--force', id2]);
      live.delete(id2);
      const e = ms(t);
      if (i > 0) {
        cs.push(a);
        st.push(b);
        rm.push(c);
        fd.push(e);
      }
    }
    return { createStart: summarize(cs), stop: summarize(st), remove: summarize(rm), forceDelete: summarize(fd) };
  } finally {
    unregister();
    await cleanup();
  }
}

// ---------------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

interface PhaseSummary {
  start: Summary;
  stop: Summary;
  remove: Summary;
  parts: Record<keyof Parts, Summary>;
}

interface RuntimeResult {
  runtime: Runtime;
  version?: string;
  error?: string;
  sequential: Cycle[];
  concurrent: Cycle[];
  concurrentWallMs: Array<{ start: number; stop: number; remove: number }>;
  memory?: MemoryResult;
  summary?: { sequential: PhaseSummary; concurrent?: PhaseSummary };
}

function phaseSummary(cs: Cycle[]): PhaseSummary {
  const keys: Array<keyof Parts> = ['runPod', 'create', 'start', 'stopCtr', 'stopPod', 'removeCtr', 'removePod'];
  return {
    start: summarize(cs.map((c) => c.start)),
    stop: summarize(cs.map((c) => c.stop)),
    remove: summarize(cs.map((c) => c.remove)),
    parts: Object.fromEntries(keys.map((k) => [k, summarize(cs.map((c) => c.parts[k]))])) as Record<keyof Parts, Summary>,
  };
}

function fmtTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');

function latencyTable(results: RuntimeResult[], floor: FloorResult | undefined, concurrency: number): string {
  const rows: string[][] = [['runtime', 'phase', 'start p50', 'start p99', 'stop p50', 'stop p99', 'remove p50', 'remove p99', 'n']];
  for (const r of results) {
    for (const [label, s] of [['sequential', r.summary?.sequential], [`${concurrency} at once`, r.summary?.concurrent]] as const) {
      if (!s) continue;
      rows.push([r.runtime, label, f1(s.start.p50), f1(s.start.p99), f1(s.stop.p50), f1(s.stop.p99), f1(s.remove.p50), f1(s.remove.p99), String(s.start.n)]);
    }
  }
  if (floor) rows.push(['runc', 'floor', f1(floor.createStart.p50), f1(floor.createStart.p99), f1(floor.stop.p50), f1(floor.stop.p99), f1(floor.remove.p50), f1(floor.remove.p99), String(floor.createStart.n)]);
  return fmtTable(rows);
}

function partsTable(results: RuntimeResult[]): string {
  const keys: Array<keyof Parts> = ['runPod', 'create', 'start', 'stopCtr', 'stopPod', 'removeCtr', 'removePod'];
  const rows: string[][] = [['runtime', 'phase', ...keys.map((k) => `${k} p50`)]];
  for (const r of results) {
    for (const [label, s] of [['sequential', r.summary?.sequential], ['concurrent', r.summary?.concurrent]] as const) {
      if (s) rows.push([r.runtime, label, ...keys.map((k) => f1(s.parts[k].p50))]);
    }
  }
  return fmtTable(rows);
}

function memoryTable(results: RuntimeResult[]): string {
  const rows: string[][] = [['runtime', 'pods', 'daemon RSS', 'daemon PSS', 'monitors', 'monitors RSS', 'monitors PSS', 'total RSS', 'total PSS']];
  for (const r of results) {
    if (!r.memory) continue;
    for (const m of [r.memory.idle, r.memory.loaded]) {
      rows.push([r.runtime, String(m.pods), fmtMiB(m.daemonRss), fmtMiB(m.daemonPss), String(m.monitors), fmtMiB(m.monitorRss), fmtMiB(m.monitorPss), fmtMiB(m.totalRss), fmtMiB(m.totalPss)]);
    }
  }
  return fmtTable(rows);
}

// ---------------------------------------------------------------------------------------------
// Leak check (what we started must be gone)
// ---------------------------------------------------------------------------------------------

/** containerd 1.6's shim socket for a shim group: /run/containerd/s/sha256(<address>/<namespace>/<group id>). */
function shimSocketPath(address: string, sandboxId: string): string {
  return join('/run/containerd/s', createHash('sha256').update(join(address, 'k8s.io', sandboxId)).digest('hex'));
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      ...commonOptions(RUNTIMES),
      n: { type: 'string', default: '20' },
      concurrency: { type: 'string', default: '10' },
      'conc-rounds': { type: 'string', default: '3' },
      pods: { type: 'string', default: '50' },
      'stop-timeout': { type: 'string', default: '2' },
      'no-floor': { type: 'boolean', default: false },
      'berth-runtime': { type: 'string', default: '' },
    },
  });
  setLogLevel('warn');
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  requireRoot('the runtimes mount overlayfs and create namespaces');
  const n = intOption('n', values.n, 1);
  const concurrency = intOption('concurrency', values.concurrency, 1);
  const concRounds = intOption('conc-rounds', values['conc-rounds'], 0);
  const podsForMemory = intOption('pods', values.pods, 0);
  const stopTimeout = intOption('stop-timeout', values['stop-timeout'], 0);
  const runtimes = runtimeList(values.runtimes!, RUNTIMES);
  for (const bin of [RUNC_BIN, '/usr/bin/conmon', '/usr/bin/catatonit', '/bin/busybox']) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing (install runc, conmon, catatonit, busybox-static)`);
  }
  const workdir = resolve(values.workdir!);
  const logsDir = values.logs ? resolve(values.logs) : mkdtempSync(join(workdir, 'berth-bench-logs-'));
  mkdirSync(logsDir, { recursive: true });
  const forgetLogs = onCleanup('log notice', () => log(`interrupted: daemon logs kept in ${logsDir}`));
  const loadBefore = loadavg();
  log(`load average before: ${loadBefore.map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} CPUs (other work skews results)`);

  // Registered first, so it is released last (after the daemons and their pods are gone).
  const cgName = `berth-bench-${randomBytes(4).toString('hex')}`;
  const cgroupParent = `/${cgName}`;
  const forgetCg = onCleanup(`cgroup ${cgroupParent}`, () => void removeCgroupTree(cgName));
  const net: BenchCniNetwork = createBenchCniNetwork(workdir);
  log(`CNI: bridge ${net.bridge}, ${net.subnet}, conf ${net.confDir}; cgroup parent ${cgroupParent}`);
  const logRoot = mkdtempSync(join(workdir, 'berth-bench-podlogs-'));
  const forgetPodLogs = onCleanup('pod log dirs', () => rmSync(logRoot, { recursive: true, force: true }));
  const registry = await startBenchRegistry(workdir);
  const daemons = new Map<Runtime, BenchDaemon>();
  const results = new Map<Runtime, RuntimeResult>(runtimes.map((r) => [r, { runtime: r, sequential: [], concurrent: [], concurrentWallMs: [] }]));
  let shimSocketsKnown = false;
  const mountBaseline = new Map<Runtime, Set<string>>();
  let failed = false;
  let floor: FloorResult | undefined;
  let profile: ProfileSummary | undefined;
  const leaks: string[] = [];
  const notes: string[] = [];
  try {
    const busybox = await pushFixture(registry.url, 'bench/busybox', '1', await buildBusyboxImage(), { hostsDir: registry.hostsDir });
    const pause = await pushFixture(registry.url, 'bench/pause', '1', await buildPauseImage(), { hostsDir: registry.hostsDir });
    log(`pushed ${busybox.reference} and ${pause.reference} to docker-registry pid ${registry.pid}`);
    const ctx: Ctx = { busybox: busybox.reference, cgroupParent, logRoot, stopTimeout, seq: 0, berthRuntime: values['berth-runtime']!, containerdSandboxes: [], ids: new Set() };

    for (const rt of runtimes) {
      const logFile = join(logsDir, `${rt}.log`);
      const d =
        rt === 'containerd'
          ? await startContainerd({ registryConfigDir: registry.hostsDir, parentDir: workdir, logFile, cniConfDir: net.confDir, cniBinDir: net.binDir, sandboxImage: pause.reference })
          : await startBerthd({ registryConfigDir: registry.hostsDir, parentDir: workdir, logFile, cniConfDir: net.confDir, logLevel: values['berth-log-level']! });
      daemons.set(rt, d);
      results.get(rt)!.version = `${d.version.runtimeName} ${d.version.runtimeVersion}`;
      // Pulls are not timed; containerd also needs its sandbox image.
      await d.cri.pullImage(busybox.reference, { deadlineMs: 120_000 });
      if (rt === 'containerd') await d.cri.pullImage(pause.reference, { deadlineMs: 120_000 });
      mountBaseline.set(rt, new Set(mountsUnder([d.base])));
      log(`${rt} pid ${d.pid} ready (${results.get(rt)!.version}), image pulled`);
    }

    // Wraps containerd's daemon so every sandbox it made is remembered (shim socket check).
    const alive = (rt: Runtime) => !results.get(rt)!.error;
    const guarded = async <T>(rt: Runtime, what: string, fn: (d: BenchDaemon) => Promise<T>): Promise<T | undefined> => {
      if (!alive(rt)) return undefined;
      const d = daemons.get(rt)!;
      try {
        return await fn(d);
      } catch (e) {
        if (interrupted()) throw e;
        const msg = `${what}: ${(e as Error).message}`;
        results.get(rt)!.error = msg;
        failed = true;
        log(`${rt} FAILED ${msg}\n--- ${rt} log tail (${d.logFile}) ---\n${d.logTail(40)}`);
        await removeAllPods(d).catch(() => undefined);
        return undefined;
      }
    };

    // Warm-up (not measured): first CNI ADD, first snapshot, code paths JIT-compiled.
    for (const rt of runtimes) {
      await guarded(rt, 'warm-up', async (d) => {
        for (let i = 0; i < 3; i++) {
          const h = await startPod(d, rt, ctx);
          if (rt === 'containerd' && i === 0) {
            const sock = shimSocketPath(d.socket, h.podId);
            if (existsSync(sock)) shimSocketsKnown = true;
            else notes.push(`containerd shim socket not found where expected (${sock}); /run/containerd/s is not checked`);
          }
          await stopPod(d, h, ctx);
          await removePod(d, h);
        }
      });
    }

    log(`sequential: ${n} cycles per runtime, alternating`);
    for (let i = 0; i < n; i++) {
      const order = i % 2 === 0 ? runtimes : [...runtimes].reverse();
      for (const rt of order) {
        const c = await guarded(rt, `sequential cycle ${i + 1}`, (d) => cycle(d, rt, ctx));
        if (c) results.get(rt)!.sequential.push(c);
      }
    }
    for (const r of results.values()) {
      if (r.sequential.length) {
        const s = phaseSummary(r.sequential);
        log(`  ${r.runtime}: start p50 ${f1(s.start.p50)} ms, stop p50 ${f1(s.stop.p50)} ms, remove p50 ${f1(s.remove.p50)} ms`);
      }
    }

    if (concRounds > 0) log(`concurrent: ${concRounds} rounds of ${concurrency} pods per runtime, alternating`);
    for (let i = 0; i < concRounds; i++) {
      const order = i % 2 === 0 ? runtimes : [...runtimes].reverse();
      for (const rt of order) {
        const r = await guarded(rt, `concurrent round ${i + 1}`, (d) => concurrentRound(d, rt, ctx, concurrency));
        if (r) {
          results.get(rt)!.concurrent.push(...r.cycles);
          results.get(rt)!.concurrentWallMs.push(r.wallMs);
        }
      }
    }

    if (podsForMemory > 0) {
      log(`memory: ${podsForMemory} running pods per runtime`);
      for (const rt of runtimes) {
        const m = await guarded(rt, 'memory', (d) => measureMemory(d, rt, ctx, podsForMemory, concurrency));
        if (m) {
          const d = daemons.get(rt)!;
          await sleep(1000); // conmons / shims exit asynchronously after removal
          m.monitorsLeftAfterRemove = monitorPids(d).length;
          if (m.monitorsLeftAfterRemove > 0) leaks.push(`${rt}: ${m.monitorsLeftAfterRemove} monitor processes alive after every pod was removed`);
          results.get(rt)!.memory = m;
          log(`  ${rt}: ${m.loaded.monitors} monitors, total RSS ${fmtMiB(m.loaded.totalRss)}, PSS ${fmtMiB(m.loaded.totalPss)}`);
        }
      }
    }

    for (const r of results.values()) {
      if (r.sequential.length) r.summary = { sequential: phaseSummary(r.sequential), ...(r.concurrent.length ? { concurrent: phaseSummary(r.concurrent) } : {}) };
    }

    if (!values['no-floor']) {
      log(`floor: raw runc, ${n} cycles`);
      floor = await measureFloor(workdir, cgroupParent, n);
    }

    // Leftovers the runtimes should have released through CRI, before anything is forced.
    const leftPorts = net.bridgePorts();
    if (leftPorts.length) leaks.push(`veths left on ${net.bridge} after every pod was removed: ${leftPorts.join(' ')}`);
    const leftIps = net.allocations();
    if (leftIps.length) leaks.push(`IPs still allocated after every pod was removed: ${leftIps.join(' ')}`);
    for (const [rt, d] of daemons) {
      // Per-pod mounts name the pod or container; others (e.g. berth's ns dir bind-mounted onto itself
      // at the first pod, as iproute2 does /run/netns) live as long as the daemon.
      const added = mountsUnder([d.base]).filter((x) => !mountBaseline.get(rt)?.has(x));
      const perPod = added.filter((x) => [...ctx.ids].some((id) => x.includes(id)));
      if (perPod.length) leaks.push(`${rt}: mounts of removed pods/containers left: ${perPod.join(' ')}`);
      const other = added.filter((x) => !perPod.includes(x));
      if (other.length) notes.push(`${rt}: daemon-lifetime mounts added after start (removed at stop): ${other.join(' ')}`);
    }
    const busyCg = cgroupDirsUnder(cgName).filter((dir) => existsSync(join(dir, 'cgroup.procs')) && readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim() !== '');
    if (busyCg.length) leaks.push(`cgroups with processes under ${cgroupParent}: ${busyCg.slice(0, 5).join(' ')}`);

    if (values['cpu-prof'] && runtimes.includes('berth')) {
      profile = await profileBerth(resolve(values['cpu-prof']), registry.hostsDir, workdir, logsDir, net, busybox.reference, ctx, n);
    }

    const list = [...results.values()];
    const out: string[] = [''];
    out.push(`Pod + container lifecycle (busybox \`${WORKLOAD.join(' ')}\`, StopContainer grace ${stopTimeout} s), ${n} sequential cycles, ${concRounds}x${concurrency} concurrent, ${podsForMemory} pods for memory; times in ms`);
    for (const r of list) out.push(`${r.runtime.padEnd(10)} ${r.version ?? '(did not start)'}${r.runtime === 'berth' ? `, OCI runtime ${ctx.berthRuntime || 'runc (default)'}` : ', OCI runtime runc'}${r.error ? `  FAILED: ${r.error.split('\n')[0]}` : ''}`);
    out.push('', latencyTable(list, floor, concurrency), '', 'sub-phases (p50 ms):', partsTable(list));
    if (floor) out.push(`runc floor: delete -f of a running container p50 ${f1(floor.forceDelete.p50)} p99 ${f1(floor.forceDelete.p99)}`);
    const conc = (rt: Runtime) => results.get(rt)?.concurrentWallMs ?? [];
    for (const rt of runtimes) {
      const w = conc(rt);
      if (w.length) out.push(`${rt} concurrent batch wall time (median of ${w.length}): start ${f1(summarize(w.map((x) => x.start)).p50)}, stop ${f1(summarize(w.map((x) => x.stop)).p50)}, remove ${f1(summarize(w.map((x) => x.remove)).p50)}`);
    }
    if (list.some((r) => r.memory)) out.push('', `memory of the daemon + its monitors (median of 5 readings; idle, then ${podsForMemory} pods running):`, memoryTable(list));

    const b = results.get('berth');
    const c = results.get('containerd');
    const ratios: Record<string, number> = {};
    const verdict = (x: number, target: number) => (!Number.isFinite(x) ? '' : x <= target ? `meets target <= ${target}x` : `MISSES target <= ${target}x`);
    if (b?.summary && c?.summary) {
      const bs = b.summary;
      const cs = c.summary;
      ratios.startSeqP50 = bs.sequential.start.p50 / cs.sequential.start.p50;
      ratios.startSeqP99 = bs.sequential.start.p99 / cs.sequential.start.p99;
      ratios.stopSeqP50 = bs.sequential.stop.p50 / cs.sequential.stop.p50;
      ratios.stopSeqP99 = bs.sequential.stop.p99 / cs.sequential.stop.p99;
      ratios.removeSeqP50 = bs.sequential.remove.p50 / cs.sequential.remove.p50;
      ratios.removeSeqP99 = bs.sequential.remove.p99 / cs.sequential.remove.p99;
      if (bs.concurrent && cs.concurrent) {
        ratios.startConcP50 = bs.concurrent.start.p50 / cs.concurrent.start.p50;
        ratios.startConcP99 = bs.concurrent.start.p99 / cs.concurrent.start.p99;
        ratios.stopConcP50 = bs.concurrent.stop.p50 / cs.concurrent.stop.p50;
        ratios.stopConcP99 = bs.concurrent.stop.p99 / cs.concurrent.stop.p99;
        ratios.removeConcP50 = bs.concurrent.remove.p50 / cs.concurrent.remove.p50;
        ratios.removeConcP99 = bs.concurrent.remove.p99 / cs.concurrent.remove.p99;
      }
      out.push('', 'berth / containerd:');
      const line = (label: string, k: string, target?: number) =>
        ratios[k] !== undefined && out.push(`  ${label.padEnd(26)} ${ratios[k]!.toFixed(2)}x   ${target ? verdict(ratios[k]!, target) : ''}`);
      line('start  sequential p50', 'startSeqP50', 0.6);
      line('start  sequential p99', 'startSeqP99', 0.6);
      const at = `${concurrency} at once`.padEnd(10);
      line(`start  ${at} p50`, 'startConcP50', 0.6);
      line(`start  ${at} p99`, 'startConcP99', 0.6);
      line('stop   sequential p50', 'stopSeqP50', 0.5);
      line('stop   sequential p99', 'stopSeqP99', 0.5);
      line(`stop   ${at} p50`, 'stopConcP50', 0.5);
      line(`stop   ${at} p99`, 'stopConcP99', 0.5);
      line('remove sequential p50', 'removeSeqP50');
      line('remove sequential p99', 'removeSeqP99');
      line(`remove ${at} p50`, 'removeConcP50');
      line(`remove ${at} p99`, 'removeConcP99');
      if (b.memory && c.memory) {
        ratios.memoryRss = b.memory.loaded.totalRss / c.memory.loaded.totalRss;
        ratios.memoryPss = b.memory.loaded.totalPss / c.memory.loaded.totalPss;
        line(`memory ${podsForMemory} pods, RSS sum`, 'memoryRss', 0.5);
        line(`memory ${podsForMemory} pods, PSS sum`, 'memoryPss', 0.5);
      }
    } else out.push('', 'no berth/containerd ratio: a runtime has no successful cycle');
    if (b?.summary && floor) {
      ratios.startOverFloorP50 = b.summary.sequential.start.p50 / floor.createStart.p50;
      ratios.stopOverFloorP50 = b.summary.sequential.stop.p50 / floor.stop.p50;
      ratios.removeOverFloorP50 = b.summary.sequential.remove.p50 / floor.remove.p50;
      out.push('', 'over the raw runc floor (sequential p50; the floor has no CNI, no image, no monitor):');
      out.push(`  berth      start ${ratios.startOverFloorP50.toFixed(2)}x  stop ${ratios.stopOverFloorP50.toFixed(2)}x  remove ${ratios.removeOverFloorP50.toFixed(2)}x`);
      if (c?.summary) {
        ratios.containerdStartOverFloorP50 = c.summary.sequential.start.p50 / floor.createStart.p50;
        ratios.containerdStopOverFloorP50 = c.summary.sequential.stop.p50 / floor.stop.p50;
        ratios.containerdRemoveOverFloorP50 = c.summary.sequential.remove.p50 / floor.remove.p50;
        out.push(`  containerd start ${ratios.containerdStartOverFloorP50.toFixed(2)}x  stop ${ratios.containerdStopOverFloorP50.toFixed(2)}x  remove ${ratios.containerdRemoveOverFloorP50.toFixed(2)}x`);
      }
    }
    if (profile) {
      out.push('', `berthd CPU profile (${n} extra sequential cycles, not in the numbers above):`);
      out.push(formatProfile({ ...profile, topTotal: profile.topTotal.slice(0, 15), byFile: profile.byFile.slice(0, 15), topSelf: profile.topSelf.slice(0, 15) }));
    }

    // Stop the daemons now (normal path), then check what is left on the host.
    for (const d of daemons.values()) {
      await removeAllPods(d).catch(() => undefined);
      await d.stop();
    }
    const bases = [...daemons.values()].map((d) => d.base);
    const mounts = mountsUnder(bases);
    if (mounts.length) leaks.push(`mounts left: ${mounts.join(' ')}`);
    let shimSocks = 0;
    const sandboxIds = shimSocketsKnown ? ctx.containerdSandboxes : [];
    for (const id of sandboxIds) {
      const s = shimSocketPath(daemons.get('containerd')!.socket, id);
      if (existsSync(s)) {
        shimSocks++;
        rmSync(s, { force: true });
      }
    }
    if (sandboxIds.length) notes.push(`containerd shim sockets in /run/containerd/s checked for ${sandboxIds.length} sandbox(es): ${shimSocks} left (removed)`);
    const ports = net.bridgePorts();
    if (ports.length) leaks.push(`veths on ${net.bridge} after both daemons stopped: ${ports.join(' ')}`);
    net.cleanup();
    const cg = removeCgroupTree(cgName);
    forgetCg();
    if (cg.busy.length) leaks.push(`cgroups with processes: ${cg.busy.join(' ')}`);
    out.push('', leaks.length ? `LEAKS:\n  ${leaks.join('\n  ')}` : `no leaks: no monitors after removal, no veths/IPs on ${net.bridge}, no busy cgroups, no mounts; bridge ${net.bridge} deleted, ${cg.removed} cgroup dirs removed`);
    if (notes.length) out.push(...notes.map((x) => `note: ${x}`));
    process.stdout.write(`${out.join('\n')}\n`);

    if (values.out) {
      const json = {
        benchmark: 'lifecycle',
        date: new Date().toISOString(),
        host: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memBytes: totalmem(), kernel: release(), node: process.version, loadavgBefore: loadBefore, loadavgAfter: loadavg() },
        berthd: berthdEntry().compiled ? 'dist (compiled)' : 'src (tsx)',
        params: { berthRuntime: ctx.berthRuntime || 'default', n, concurrency, concRounds, podsForMemory, stopTimeout, workload: WORKLOAD, image: busybox.reference },
        results: list.map((r) => ({ ...r, sequential: r.sequential, concurrent: r.concurrent })),
        floor,
        ratios,
        leaks,
        notes,
        ...(profile ? { berthProfile: profile } : {}),
      };
      writeFileSync(resolve(values.out), `${JSON.stringify(json, null, 2)}\n`);
      log(`results written to ${resolve(values.out)}`);
    }
  } finally {
    forgetLogs();
    for (const d of daemons.values()) await d.stop();
    await registry.stop();
    net.cleanup();
    forgetPodLogs();
    rmSync(logRoot, { recursive: true, force: true });
    if (failed || values.logs) log(`daemon logs kept in ${logsDir}`);
    else rmSync(logsDir, { recursive: true, force: true });
  }
  return failed || leaks.length ? 1 : 0;
}

async function profileBerth(dir: string, hostsDir: string, workdir: string, logsDir: string, net: BenchCniNetwork, image: string, ctx: Ctx, n: number): Promise<ProfileSummary | undefined> {
  mkdirSync(dir, { recursive: true });
  const before = new Set(readdirSync(dir));
  const d = await startBerthd({ registryConfigDir: hostsDir, parentDir: workdir, logFile: join(logsDir, 'berth-cpuprof.log'), cniConfDir: net.confDir, cpuProfDir: dir });
  try {
    await d.cri.pullImage(image, { deadlineMs: 120_000 });
    for (let i = 0; i < 3; i++) await cycle(d, 'berth', ctx);
    const t = performance.now();
    for (let i = 0; i < n; i++) await cycle(d, 'berth', ctx);
    log(`profiled berth: ${n} cycles in ${(ms(t) / 1000).toFixed(2)} s (with profiler overhead)`);
  } finally {
    await removeAllPods(d).catch(() => undefined);
    await d.stop(); // the profile is written when berthd exits
  }
  return collectCpuProfile(dir, before, repoRoot(), log);
}

runBenchmark('lifecycle', main);
