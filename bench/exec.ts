// Exec round-trip latency benchmark: berthd against containerd (the yardstick), both started here
// in their own temp dirs, on the same private CNI bridge, driven through the same CRI client, with
// raw `runc exec` into a `runc run -d` container as the floor. One pod with a running busybox
// container (`sleep 3600`) per runtime, then N rounds, alternating runtimes (and the floor) every
// round, each round doing once, sequentially:
//   execSync true      ExecSync ["true"]                  (the CRI call: request to response)
//   execSync echo      ExecSync ["sh","-c","echo hi"]
//   stream SPDY        Exec ["echo","hi"] (stdout, no tty) -> URL -> SPDY upgrade (v4.channel.k8s.io)
//                      with the project's test client -> stdout until the error stream says Success
//   stream WebSocket   the same over WebSocket (v4.channel.k8s.io); compared only if containerd
//                      serves it (probed first), else berth's is printed as information
// The floor runs `runc exec <id> true`, `runc exec <id> sh -c "echo hi"` and `runc exec <id> echo hi`
// (stdout read from a pipe). As a diagnostic, each runtime's slot also runs `runc exec <id> true`
// straight into that runtime's own container (its runc root, bypassing the daemon): ExecSync true
// minus that is the daemon's own overhead, apart from what the container's config costs runc.
// Prints p50/p99, berth/containerd and over-the-floor ratios, and the CPU time per exec of the
// daemon plus its monitors, by themselves and with the children they reaped (runc).
//
//   scripts/bench.sh exec [-- --n 100 --out results.json --cpu-prof DIR ...]
//   node dist/bench/exec.js --help
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildBusyboxImage, pushFixture } from '../test/helpers/fixtures';
import { spdyExec, wsConnect } from '../test/helpers/stream-client';
import type { ContainerConfig, PodSandboxConfig } from '../src/cri/proto';
import { setLogLevel } from '../src/util/log';
import { berthdEntry, repoRoot, startBerthd } from './lib/berthd';
import { commonOptions, intOption, requireRoot, runtimeList } from './lib/options';
import { cgroupDirsUnder, removeCgroupTree } from './lib/cgroups';
import { createBenchCniNetwork, type BenchCniNetwork } from './lib/cni';
import { RUNC_BIN, startContainerd } from './lib/containerd';
import { collectCpuProfile, formatProfile, type ProfileSummary } from './lib/cpuprofile';
import { removeAllPods, type BenchDaemon } from './lib/daemon';
import { buildPauseImage, CATATONIT_BIN } from './lib/pause-image';
import { cmdline, descendants, findProcesses, interrupted, mountsUnder, onCleanup, runBenchmark } from './lib/procs';
import { startBenchRegistry } from './lib/registry';
import { BUSYBOX_BIN, prepareRuncFloor, type RuncFloor } from './lib/runc-floor';
import { cpuSeconds, ownCpuSeconds, summarize, type Summary } from './lib/stats';

const RUNTIMES = ['containerd', 'berth'] as const;
type Runtime = (typeof RUNTIMES)[number];

const OPS = ['execSyncTrue', 'execSyncEcho', 'streamSpdy', 'streamWs', 'runcTrue'] as const;
type Op = (typeof OPS)[number];
/** The CRI operations compared between runtimes ('runcTrue' is a diagnostic, see below). */
const CRI_OPS = ['execSyncTrue', 'execSyncEcho', 'streamSpdy', 'streamWs'] as const;
const OP_LABEL: Record<Op, string> = {
  execSyncTrue: 'ExecSync true',
  execSyncEcho: 'ExecSync sh -c "echo hi"',
  streamSpdy: 'Exec echo hi, SPDY',
  streamWs: 'Exec echo hi, WebSocket',
  runcTrue: 'runc exec true into its container',
};

const FLOOR_OPS = ['true', 'shEcho', 'echo'] as const;
type FloorOp = (typeof FLOOR_OPS)[number];
const FLOOR_LABEL: Record<FloorOp, string> = { true: 'runc exec true', shEcho: 'runc exec sh -c "echo hi"', echo: 'runc exec echo hi' };
/** The floor each CRI operation is compared with. */
const FLOOR_OF: Record<Op, FloorOp> = { execSyncTrue: 'true', execSyncEcho: 'shEcho', streamSpdy: 'echo', streamWs: 'echo', runcTrue: 'true' };

const WORKLOAD = ['sleep', '3600'];
const STREAM_PROTOCOL = 'v4.channel.k8s.io';
/** ExecSync timeout sent with every call (the kubelet always sends its probe timeout). */
const EXEC_SYNC_TIMEOUT_S = 10;

const USAGE = `usage: exec [options]
  --n N                 measured rounds (default 100); each round runs every operation once per runtime
  --warmup W            unmeasured rounds first (default 10)
  --runtimes LIST       comma-separated, from containerd,berth (default both)
  --no-floor            skip the raw runc exec floor
  --no-ws               skip streaming exec over WebSocket
  --out FILE            write JSON results (with every sample) to FILE
  --workdir DIR         parent of all temp dirs (default ${tmpdir()})
  --logs DIR            keep daemon logs in DIR (default: temp, kept only on failure)
  --cpu-prof DIR        afterwards, profile a fresh berthd (node --cpu-prof) over N rounds into DIR
  --berth-log-level L   berthd --log-level (default info; containerd runs at info too)
  --help`;

function log(s: string): void {
  process.stderr.write(`[exec-bench] ${s}\n`);
}

const ms = (t0: number) => performance.now() - t0;
const sleep = (n: number) => new Promise((r) => setTimeout(r, n));
const f1 = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x.toFixed(1) : '-');
const f2 = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? `${x.toFixed(2)}x` : '-');

function checkInterrupted(): void {
  const sig = interrupted();
  if (sig) throw new Error(`interrupted by ${sig}`);
}

// ---------------------------------------------------------------------------------------------
// The target: one pod with one running container per runtime
// ---------------------------------------------------------------------------------------------

interface Target {
  podId: string;
  ctrId: string;
  logDir: string;
  /** The daemon and its monitors for this pod (containerd: the pod's shim; berth: conmon). */
  cpuPids: number[];
  /** The runc --root that holds the container (for the raw `runc exec` diagnostic). */
  runcRoot: string;
}

interface Ctx {
  busybox: string;
  cgroupParent: string;
  logRoot: string;
  /** Every pod and container id either runtime returned (a mount naming one is a leak). */
  ids: Set<string>;
  containerdSandboxes: string[];
}

const NS = { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } as const;

async function startTarget(d: BenchDaemon, rt: string, ctx: Ctx): Promise<Target> {
  checkInterrupted();
  const uid = randomBytes(8).toString('hex');
  const logDir = join(ctx.logRoot, `${rt}-${uid}`);
  mkdirSync(logDir, { recursive: true });
  const name = `exec-${rt}`;
  const sandbox: PodSandboxConfig = {
    metadata: { name, namespace: 'berth-bench', uid, attempt: 0 },
    hostname: name,
    logDirectory: logDir,
    labels: { bench: 'exec' },
    linux: { cgroupParent: ctx.cgroupParent, securityContext: { namespaceOptions: NS } },
  };
  const podId = await d.cri.runPodSandbox(sandbox);
  ctx.ids.add(podId);
  if (d.name === 'containerd') ctx.containerdSandboxes.push(podId);
  const config: ContainerConfig = {
    metadata: { name: 'target', attempt: 0 },
    image: { image: ctx.busybox },
    command: WORKLOAD,
    logPath: 'target.log',
    linux: { securityContext: { namespaceOptions: NS } },
  };
  const ctrId = await d.cri.createContainer(podId, config, sandbox);
  ctx.ids.add(ctrId);
  await d.cri.startContainer(ctrId);
  return { podId, ctrId, logDir, cpuPids: [d.pid, ...d.helperPids()], runcRoot: findRuncRoot(d, ctrId) };
}

/** runc keeps `<root>/<id>/state.json`; find the root under the daemon's state dir. */
function findRuncRoot(d: BenchDaemon, ctrId: string): string {
  const walk = (dir: string, depth: number): string | undefined => {
    if (existsSync(join(dir, ctrId, 'state.json'))) return dir;
    if (depth === 0) return undefined;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory() && e.name !== ctrId) {
        const r = walk(join(dir, e.name), depth - 1);
        if (r) return r;
      }
    }
    return undefined;
  };
  const root = walk(d.state, 4);
  if (!root) throw new Error(`${d.name}: no runc state for container ${ctrId} under ${d.state}`);
  return root;
}

async function removeTarget(d: BenchDaemon, t: Target): Promise<void> {
  await d.cri.stopContainer(t.ctrId, 0); // sleep is PID 1 of its namespace and ignores TERM
  await d.cri.stopPodSandbox(t.podId);
  await d.cri.removeContainer(t.ctrId);
  await d.cri.removePodSandbox(t.podId);
  rmSync(t.logDir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// The operations
// ---------------------------------------------------------------------------------------------

interface Sample {
  total: number;
  /** Streaming only: the Exec RPC (URL returned). */
  rpc?: number;
  /** Streaming only: connect + upgrade + run + output + status. */
  stream?: number;
}

const HI = 'hi\n';

async function streamSpdy(d: BenchDaemon, ctrId: string): Promise<Sample> {
  const t0 = performance.now();
  const url = await d.cri.exec({ containerId: ctrId, cmd: ['echo', 'hi'], stdout: true, stderr: false, stdin: false, tty: false });
  const rpc = ms(t0);
  const t1 = performance.now();
  const r = await withTimeout(spdyExec(url, { protocols: [STREAM_PROTOCOL], stdout: true }), 30_000, 'SPDY exec');
  const total = ms(t0);
  const stream = ms(t1);
  r.client.close();
  if (r.protocol !== STREAM_PROTOCOL) throw new Error(`SPDY exec: server chose protocol '${r.protocol}', not ${STREAM_PROTOCOL}`);
  if (r.status?.status !== 'Success') throw new Error(`SPDY exec: error stream said ${JSON.stringify(r.errorText)}`);
  if (r.stdout.toString() !== HI) throw new Error(`SPDY exec: stdout ${JSON.stringify(r.stdout.toString())}, expected "hi\\n"`);
  return { total, rpc, stream };
}

async function streamWs(d: BenchDaemon, ctrId: string): Promise<Sample> {
  const t0 = performance.now();
  const url = await d.cri.exec({ containerId: ctrId, cmd: ['echo', 'hi'], stdout: true, stderr: false, stdin: false, tty: false });
  const rpc = ms(t0);
  const t1 = performance.now();
  const s = await withTimeout(wsConnect(url, [STREAM_PROTOCOL]), 30_000, 'WebSocket connect');
  try {
    // v4: the status (JSON) on the error channel ends the session; output comes before it.
    await withTimeout(
      new Promise<void>((ok, ko) => {
        const check = () => s.messages.some((m) => m.channel === 3) && ok();
        s.ws.on('message', check);
        s.ws.once('close', () => (check(), ko(new Error('WebSocket closed before a status arrived'))));
        check();
      }),
      30_000,
      'WebSocket exec',
    );
    const total = ms(t0);
    const stream = ms(t1);
    if (s.protocol !== STREAM_PROTOCOL) throw new Error(`WebSocket exec: server chose protocol '${s.protocol}', not ${STREAM_PROTOCOL}`);
    const status = s.channelData(3).toString();
    if (!/"status"\s*:\s*"Success"/.test(status)) throw new Error(`WebSocket exec: error channel said ${JSON.stringify(status)}`);
    const out = s.channelData(1).toString();
    if (out !== HI) throw new Error(`WebSocket exec: stdout ${JSON.stringify(out)}, expected "hi\\n"`);
    return { total, rpc, stream };
  } finally {
    s.ws.close();
  }
}

async function execSync(d: BenchDaemon, ctrId: string, cmd: string[], wantStdout: string): Promise<Sample> {
  const t0 = performance.now();
  const r = await d.cri.execSync(ctrId, cmd, EXEC_SYNC_TIMEOUT_S);
  const total = ms(t0);
  if (r.exitCode !== 0) throw new Error(`ExecSync ${cmd.join(' ')}: exit code ${r.exitCode}, stderr ${JSON.stringify(r.stderr.toString())}`);
  if (r.stdout.toString() !== wantStdout) throw new Error(`ExecSync ${cmd.join(' ')}: stdout ${JSON.stringify(r.stdout.toString())}, expected ${JSON.stringify(wantStdout)}`);
  return { total };
}

function runOp(op: Op, d: BenchDaemon, t: Pick<Target, 'ctrId' | 'runcRoot'>): Promise<Sample> {
  const ctrId = t.ctrId;
  switch (op) {
    case 'execSyncTrue':
      return execSync(d, ctrId, ['true'], '');
    case 'execSyncEcho':
      return execSync(d, ctrId, ['sh', '-c', 'echo hi'], HI);
    case 'streamSpdy':
      return streamSpdy(d, ctrId);
    case 'streamWs':
      return streamWs(d, ctrId);
    case 'runcTrue':
      return runcExec(t.runcRoot, ctrId, ['true'], '').then((total) => ({ total }));
  }
}

function withTimeout<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, ko) => (timer = setTimeout(() => ko(new Error(`${what}: no answer in ${timeoutMs} ms`)), timeoutMs))),
  ]);
}

/** CPU seconds of a set of processes: their own, and with the children they reaped. */
function cpuOf(pids: number[]): { own: number; all: number } {
  return { own: pids.reduce((a, p) => a + (ownCpuSeconds(p) ?? 0), 0), all: pids.reduce((a, p) => a + (cpuSeconds(p) ?? 0), 0) };
}

// ---------------------------------------------------------------------------------------------
// The floor: raw runc exec into a `runc run -d` busybox container
// ---------------------------------------------------------------------------------------------

function runcExec(root: string, id: string, args: string[], wantStdout: string): Promise<number> {
  return new Promise((ok, ko) => {
    const t0 = performance.now();
    const child = spawn(RUNC_BIN, ['--root', root, 'exec', id, ...args], { stdio: ['ignore', wantStdout ? 'pipe' : 'ignore', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.once('error', ko);
    child.once('close', (code) => {
      const t = ms(t0);
      if (code !== 0) return ko(new Error(`runc exec ${args.join(' ')} exited ${code}: ${Buffer.concat(err).toString().trim()}`));
      const s = Buffer.concat(out).toString();
      if (s !== wantStdout) return ko(new Error(`runc exec ${args.join(' ')}: stdout ${JSON.stringify(s)}, expected ${JSON.stringify(wantStdout)}`));
      ok(t);
    });
  });
}

function runFloorOp(op: FloorOp, floor: RuncFloor, id: string): Promise<number> {
  switch (op) {
    case 'true':
      return runcExec(floor.root, id, ['true'], '');
    case 'shEcho':
      return runcExec(floor.root, id, ['sh', '-c', 'echo hi'], HI);
    case 'echo':
      return runcExec(floor.root, id, ['echo', 'hi'], HI);
  }
}

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

interface OpResult {
  samples: Sample[];
  /** CPU seconds of the daemon + monitors over all measured samples of this op: own, and with reaped children. */
  cpuSec: { own: number; all: number };
  summary?: { total: Summary; rpc?: Summary; stream?: Summary; cpuMsPerOp: { own: number; all: number } };
}

interface RuntimeResult {
  runtime: Runtime;
  version?: string;
  error?: string;
  ops: Partial<Record<Op, OpResult>>;
  /** Open fds of the daemon before the measured rounds and after them (settled). */
  fds?: { before: number; after: number };
}

function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

function fmtTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

/** containerd 1.6's shim socket for a shim group: /run/containerd/s/sha256(<address>/<namespace>/<group id>). */
function shimSocketPath(address: string, sandboxId: string): string {
  return join('/run/containerd/s', createHash('sha256').update(join(address, 'k8s.io', sandboxId)).digest('hex'));
}

/** runc processes working on our daemons' containers (an exec that never ended). */
function runcProcessesOf(bases: string[]): number[] {
  return findProcesses((argv) => /runc$/.test(argv[0] ?? '') && argv.includes('exec') && argv.some((a) => bases.some((b) => a.startsWith(b))));
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      ...commonOptions(RUNTIMES),
      n: { type: 'string', default: '100' },
      warmup: { type: 'string', default: '10' },
      'no-floor': { type: 'boolean', default: false },
      'no-ws': { type: 'boolean', default: false },
    },
  });
  setLogLevel('warn');
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  requireRoot('the runtimes mount overlayfs and create namespaces');
  const n = intOption('n', values.n, 1);
  const warmup = intOption('warmup', values.warmup, 0);
  const runtimes = runtimeList(values.runtimes!, RUNTIMES);
  for (const bin of [RUNC_BIN, '/usr/bin/conmon', CATATONIT_BIN, BUSYBOX_BIN]) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing (install runc, conmon, catatonit, busybox-static)`);
  }
  const withFloor = !values['no-floor'];
  const workdir = resolve(values.workdir!);
  const logsDir = values.logs ? resolve(values.logs) : mkdtempSync(join(workdir, 'berth-bench-logs-'));
  mkdirSync(logsDir, { recursive: true });
  const forgetLogs = onCleanup('log notice', () => log(`interrupted: daemon logs kept in ${logsDir}`));
  const loadBefore = loadavg();
  log(`load average before: ${loadBefore.map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} CPUs (other work skews results)`);

  // Registered first, so it is released last (after the daemons, their pods and the floor are gone).
  const cgName = `berth-bench-${randomBytes(4).toString('hex')}`;
  const cgroupParent = `/${cgName}`;
  const forgetCg = onCleanup(`cgroup ${cgroupParent}`, () => void removeCgroupTree(cgName));
  const net: BenchCniNetwork = createBenchCniNetwork(workdir);
  log(`CNI: bridge ${net.bridge}, ${net.subnet}, conf ${net.confDir}; cgroup parent ${cgroupParent}`);
  const logRoot = mkdtempSync(join(workdir, 'berth-bench-podlogs-'));
  const forgetPodLogs = onCleanup('pod log dirs', () => rmSync(logRoot, { recursive: true, force: true }));
  const registry = await startBenchRegistry(workdir);
  const daemons = new Map<Runtime, BenchDaemon>();
  const targets = new Map<Runtime, Target>();
  const results = new Map<Runtime, RuntimeResult>(runtimes.map((r) => [r, { runtime: r, ops: {} }]));
  const floorSamples = new Map<FloorOp, number[]>(FLOOR_OPS.map((o) => [o, []]));
  let floor: RuncFloor | undefined;
  const floorId = `exec-floor-${randomBytes(4).toString('hex')}`;
  let failed = false;
  let profile: ProfileSummary | undefined;
  const leaks: string[] = [];
  const notes: string[] = [];
  const mountBaseline = new Map<Runtime, Set<string>>();
  /** Ops each runtime runs; WebSocket on containerd only if it serves it. */
  const opsOf = new Map<Runtime, Op[]>();
  let containerdWs: boolean | undefined;
  try {
    const busybox = await pushFixture(registry.url, 'bench/busybox', '1', await buildBusyboxImage(), { hostsDir: registry.hostsDir });
    const pause = await pushFixture(registry.url, 'bench/pause', '1', await buildPauseImage(), { hostsDir: registry.hostsDir });
    log(`pushed ${busybox.reference} and ${pause.reference} to docker-registry pid ${registry.pid}`);
    const ctx: Ctx = { busybox: busybox.reference, cgroupParent, logRoot, ids: new Set(), containerdSandboxes: [] };

    for (const rt of runtimes) {
      const logFile = join(logsDir, `${rt}.log`);
      const d =
        rt === 'containerd'
          ? await startContainerd({ registryConfigDir: registry.hostsDir, parentDir: workdir, logFile, cniConfDir: net.confDir, cniBinDir: net.binDir, sandboxImage: pause.reference })
          : await startBerthd({ registryConfigDir: registry.hostsDir, parentDir: workdir, logFile, cniConfDir: net.confDir, logLevel: values['berth-log-level']! });
      daemons.set(rt, d);
      results.get(rt)!.version = `${d.version.runtimeName} ${d.version.runtimeVersion}`;
      await d.cri.pullImage(busybox.reference, { deadlineMs: 120_000 });
      if (rt === 'containerd') await d.cri.pullImage(pause.reference, { deadlineMs: 120_000 });
      mountBaseline.set(rt, new Set(mountsUnder([d.base])));
      const t = await startTarget(d, rt, ctx);
      targets.set(rt, t);
      log(`${rt} pid ${d.pid} ready (${results.get(rt)!.version}); container ${t.ctrId.slice(0, 12)} running; CPU counted for pids ${t.cpuPids.join(' ')}`);
      const ops: Op[] = OPS.filter((o) => o !== 'streamWs' || !values['no-ws']);
      if (rt === 'containerd' && ops.includes('streamWs')) {
        try {
          await streamWs(d, t.ctrId);
          containerdWs = true;
        } catch (e) {
          containerdWs = false;
          ops.splice(ops.indexOf('streamWs'), 1);
          notes.push(`containerd does not serve streaming exec over WebSocket (${(e as Error).message}): berth's WebSocket numbers are information only`);
        }
      }
      opsOf.set(rt, ops);
      ops.push('runcTrue');
      results.get(rt)!.ops = Object.fromEntries(ops.map((o) => [o, { samples: [], cpuSec: { own: 0, all: 0 } }]));
    }
    if (withFloor) {
      floor = await prepareRuncFloor(workdir, cgroupParent);
      await floor.runDetached(floorId, WORKLOAD);
      log(`floor: runc container ${floorId} running under ${floor.root}`);
    }

    const guarded = async <T>(rt: Runtime, what: string, fn: (d: BenchDaemon, t: Target) => Promise<T>): Promise<T | undefined> => {
      if (results.get(rt)!.error) return undefined;
      const d = daemons.get(rt)!;
      try {
        return await fn(d, targets.get(rt)!);
      } catch (e) {
        if (interrupted()) throw e;
        const msg = `${what}: ${(e as Error).message}`;
        results.get(rt)!.error = msg;
        failed = true;
        log(`${rt} FAILED ${msg}\n--- ${rt} log tail (${d.logFile}) ---\n${d.logTail(40)}`);
        return undefined;
      }
    };

    type Slot = Runtime | 'floor';
    const slots: Slot[] = [...runtimes, ...(withFloor ? (['floor'] as const) : [])];
    const round = async (i: number, record: boolean) => {
      // Rotate who goes first every round, so drift in the machine's load hits everyone alike.
      const order = slots.map((_, k) => slots[(k + i) % slots.length]!);
      for (const slot of order) {
        checkInterrupted();
        if (slot === 'floor') {
          for (const op of FLOOR_OPS) {
            const t = await runFloorOp(op, floor!, floorId);
            if (record) floorSamples.get(op)!.push(t);
          }
          continue;
        }
        const res = results.get(slot)!;
        await guarded(slot, `${record ? 'round' : 'warm-up round'} ${i + 1}`, async (d, target) => {
          for (const op of opsOf.get(slot)!) {
            const c0 = cpuOf(target.cpuPids);
            const s = await runOp(op, d, target);
            if (record) {
              const c1 = cpuOf(target.cpuPids);
              const acc = res.ops[op]!.cpuSec;
              acc.own += c1.own - c0.own;
              acc.all += c1.all - c0.all;
              res.ops[op]!.samples.push(s);
            }
          }
        });
      }
    };

    log(`warm-up: ${warmup} rounds`);
    for (let i = 0; i < warmup; i++) await round(i, false);
    for (const [rt, d] of daemons) results.get(rt)!.fds = { before: fdCount(d.pid), after: NaN };
    log(`measuring: ${n} rounds of ${slots.join(', ')} (order rotates every round)`);
    const tRun = performance.now();
    for (let i = 0; i < n; i++) {
      await round(i, true);
      if ((i + 1) % 25 === 0 && i + 1 < n) log(`  ${i + 1}/${n} rounds (${(ms(tRun) / 1000).toFixed(1)} s)`);
    }

    // Nothing of the execs may stay behind: runc processes, fds in the daemons, berth's exec files.
    await sleep(1000);
    const bases = [...daemons.values()].map((d) => d.base);
    const strayRunc = runcProcessesOf(bases);
    if (strayRunc.length) leaks.push(`runc exec processes still running: ${strayRunc.map((p) => `${p} (${cmdline(p).join(' ')})`).join('; ')}`);
    for (const [rt, d] of daemons) {
      const r = results.get(rt)!;
      if (r.fds) r.fds.after = fdCount(d.pid);
      if (r.fds && r.fds.after - r.fds.before >= Math.max(5, n / 2)) leaks.push(`${rt}: daemon fds grew from ${r.fds.before} to ${r.fds.after} over ${n} rounds`);
      if (rt === 'berth') {
        const kids = descendants(d.pid).filter((p) => /runc$/.test(cmdline(p)[0] ?? ''));
        if (kids.length) leaks.push(`berth: runc children of berthd left: ${kids.join(' ')}`);
        const tag = `berth-exec-${targets.get(rt)!.ctrId.slice(0, 32)}`;
        const files = readdirSync(tmpdir()).filter((f) => f.startsWith(tag));
        if (files.length) leaks.push(`berth: exec pid/log files left in ${tmpdir()}: ${files.slice(0, 5).join(' ')}`);
      }
    }

    for (const r of results.values()) {
      for (const op of OPS) {
        const o = r.ops[op];
        if (!o || o.samples.length === 0) continue;
        const rpc = o.samples.filter((s) => s.rpc !== undefined);
        o.summary = {
          total: summarize(o.samples.map((s) => s.total)),
          ...(rpc.length ? { rpc: summarize(rpc.map((s) => s.rpc!)), stream: summarize(rpc.map((s) => s.stream!)) } : {}),
          cpuMsPerOp: { own: (o.cpuSec.own * 1000) / o.samples.length, all: (o.cpuSec.all * 1000) / o.samples.length },
        };
      }
    }
    const floorSummary = withFloor ? (Object.fromEntries(FLOOR_OPS.map((o) => [o, summarize(floorSamples.get(o)!)])) as Record<FloorOp, Summary>) : undefined;

    // Tear the targets down through CRI, then look for what they left.
    for (const [rt, d] of daemons) {
      const t = targets.get(rt);
      if (!t) continue;
      try {
        await removeTarget(d, t);
        targets.delete(rt);
      } catch (e) {
        leaks.push(`${rt}: removing the pod failed: ${(e as Error).message}`);
        await removeAllPods(d).catch(() => undefined);
      }
    }
    await floor?.release();
    await sleep(1000); // conmons / shims exit asynchronously after removal
    for (const [rt, d] of daemons) {
      const mon = d.helperPids();
      if (mon.length) leaks.push(`${rt}: monitor processes alive after the pod was removed: ${mon.join(' ')}`);
      const added = mountsUnder([d.base]).filter((x) => !mountBaseline.get(rt)?.has(x));
      const perPod = added.filter((x) => [...ctx.ids].some((id) => x.includes(id)));
      if (perPod.length) leaks.push(`${rt}: mounts of the removed pod/container left: ${perPod.join(' ')}`);
    }
    const leftPorts = net.bridgePorts();
    if (leftPorts.length) leaks.push(`veths left on ${net.bridge} after the pods were removed: ${leftPorts.join(' ')}`);
    const leftIps = net.allocations();
    if (leftIps.length) leaks.push(`IPs still allocated after the pods were removed: ${leftIps.join(' ')}`);
    const busyCg = cgroupDirsUnder(cgName).filter((dir) => existsSync(join(dir, 'cgroup.procs')) && readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim() !== '');
    if (busyCg.length) leaks.push(`cgroups with processes under ${cgroupParent}: ${busyCg.slice(0, 5).join(' ')}`);

    if (values['cpu-prof'] && runtimes.includes('berth')) {
      profile = await profileBerth(resolve(values['cpu-prof']), registry.hostsDir, workdir, logsDir, net, ctx, n, opsOf.get('berth') ?? [...OPS]);
    }

    // ---- report ----
    const list = [...results.values()];
    const out: string[] = [''];
    out.push(`Exec round trip (busybox \`${WORKLOAD.join(' ')}\`), ${n} rounds after ${warmup} warm-up rounds, one exec of each kind per runtime per round; ms`);
    for (const r of list) out.push(`${r.runtime.padEnd(10)} ${r.version ?? '(did not start)'}, OCI runtime runc${r.error ? `  FAILED: ${r.error.split('\n')[0]}` : ''}`);
    const get = (rt: Runtime, op: Op) => results.get(rt)?.ops[op]?.summary;
    const rows: string[][] = [['operation', 'containerd p50', 'p99', 'berth p50', 'p99', 'floor p50', 'p99', 'berth/ctrd p50', 'p99', 'berth/floor p50', 'ctrd/floor p50']];
    const ratios: Record<string, number> = {};
    for (const op of CRI_OPS) {
      const c = get('containerd', op);
      const b = get('berth', op);
      if (!c && !b) continue;
      const fl = floorSummary?.[FLOOR_OF[op]];
      const info = op === 'streamWs' && containerdWs === false;
      const bc50 = b && c ? b.total.p50 / c.total.p50 : undefined;
      const bc99 = b && c ? b.total.p99 / c.total.p99 : undefined;
      const bf = b && fl ? b.total.p50 / fl.p50 : undefined;
      const cf = c && fl ? c.total.p50 / fl.p50 : undefined;
      if (bc50 !== undefined) ratios[`${op}P50`] = bc50;
      if (bc99 !== undefined) ratios[`${op}P99`] = bc99;
      if (bf !== undefined) ratios[`${op}BerthOverFloorP50`] = bf;
      if (cf !== undefined) ratios[`${op}ContainerdOverFloorP50`] = cf;
      rows.push([`${OP_LABEL[op]}${info ? ' (info)' : ''}`, f1(c?.total.p50), f1(c?.total.p99), f1(b?.total.p50), f1(b?.total.p99), f1(fl?.p50), f1(fl?.p99), f2(bc50), f2(bc99), f2(bf), f2(cf)]);
    }
    out.push('', fmtTable(rows));
    if (floorSummary) out.push(`floor (raw runc, no daemon): ${FLOOR_OPS.map((o) => `${FLOOR_LABEL[o]} p50 ${f1(floorSummary[o].p50)} p99 ${f1(floorSummary[o].p99)}`).join('; ')}`);
    const sub: string[][] = [['streaming, p50', 'containerd Exec RPC', 'connect+run+status', 'berth Exec RPC', 'connect+run+status']];
    for (const op of ['streamSpdy', 'streamWs'] as const) {
      const c = get('containerd', op);
      const b = get('berth', op);
      if (c || b) sub.push([OP_LABEL[op], f1(c?.rpc?.p50), f1(c?.stream?.p50), f1(b?.rpc?.p50), f1(b?.stream?.p50)]);
    }
    if (sub.length > 1) out.push('', fmtTable(sub));
    // The daemon's own share: the CRI call against runc exec straight into the same container.
    const raw: string[][] = [['daemon overhead, p50 ms', 'ExecSync true', 'runc exec true, same container', 'difference']];
    for (const rt of runtimes) {
      const e = get(rt, 'execSyncTrue');
      const r = get(rt, 'runcTrue');
      if (e && r) raw.push([rt, f1(e.total.p50), f1(r.total.p50), f1(e.total.p50 - r.total.p50)]);
    }
    if (raw.length > 1) out.push('', fmtTable(raw));
    const cpu: string[][] = [['CPU ms per exec (daemon + monitors)', 'containerd own', 'with reaped children', 'berth own', 'with reaped children']];
    for (const op of CRI_OPS) {
      const c = get('containerd', op);
      const b = get('berth', op);
      if (c || b) cpu.push([OP_LABEL[op], f1(c?.cpuMsPerOp.own), f1(c?.cpuMsPerOp.all), f1(b?.cpuMsPerOp.own), f1(b?.cpuMsPerOp.all)]);
    }
    out.push('', fmtTable(cpu), '(CPU is read from /proc in 10 ms ticks: averages over all rounds, not per call)');
    for (const r of list) if (r.fds) out.push(`${r.runtime} open fds: ${r.fds.before} before the measured rounds, ${r.fds.after} after`);
    if (profile) {
      out.push('', `berthd CPU profile (${n} extra rounds of ${(opsOf.get('berth') ?? []).filter((o) => o !== 'runcTrue').join(', ')}, not in the numbers above):`);
      out.push(formatProfile({ ...profile, topTotal: profile.topTotal.slice(0, 20), byFile: profile.byFile.slice(0, 15), topSelf: profile.topSelf.slice(0, 20) }));
    }

    // Stop the daemons now (normal path), then check what is left on the host.
    for (const d of daemons.values()) {
      await removeAllPods(d).catch(() => undefined);
      await d.stop();
    }
    const mounts = mountsUnder([...daemons.values()].map((d) => d.base));
    if (mounts.length) leaks.push(`mounts left: ${mounts.join(' ')}`);
    const cd = daemons.get('containerd');
    if (cd) {
      let left = 0;
      for (const id of ctx.containerdSandboxes) {
        const s = shimSocketPath(cd.socket, id);
        if (existsSync(s)) {
          left++;
          rmSync(s, { force: true });
        }
      }
      notes.push(`containerd shim sockets in /run/containerd/s checked for ${ctx.containerdSandboxes.length} sandbox(es): ${left} left (removed)`);
    }
    const ports = net.bridgePorts();
    if (ports.length) leaks.push(`veths on ${net.bridge} after both daemons stopped: ${ports.join(' ')}`);
    net.cleanup();
    const cg = removeCgroupTree(cgName);
    forgetCg();
    if (cg.busy.length) leaks.push(`cgroups with processes: ${cg.busy.join(' ')}`);
    out.push('', leaks.length ? `LEAKS:\n  ${leaks.join('\n  ')}` : `no leaks: no runc exec processes or exec files left, daemon fds steady, no monitors/veths/IPs/mounts after removal; bridge ${net.bridge} deleted, ${cg.removed} cgroup dirs removed`);
    if (notes.length) out.push(...notes.map((x) => `note: ${x}`));
    process.stdout.write(`${out.join('\n')}\n`);

    if (values.out) {
      const json = {
        benchmark: 'exec',
        date: new Date().toISOString(),
        host: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memBytes: totalmem(), kernel: release(), node: process.version, loadavgBefore: loadBefore, loadavgAfter: loadavg() },
        berthd: berthdEntry().compiled ? 'dist (compiled)' : 'src (tsx)',
        params: { n, warmup, workload: WORKLOAD, image: busybox.reference, streamProtocol: STREAM_PROTOCOL, execSyncTimeoutSec: EXEC_SYNC_TIMEOUT_S, containerdServesWebSocket: containerdWs ?? null },
        operations: OP_LABEL,
        results: list,
        floor: floorSummary ? { ops: FLOOR_LABEL, summary: floorSummary, samples: Object.fromEntries(floorSamples) } : undefined,
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
    await floor?.release();
    for (const [rt, d] of daemons) {
      if (targets.has(rt)) await removeAllPods(d).catch(() => undefined);
      await d.stop();
    }
    await registry.stop();
    net.cleanup();
    forgetPodLogs();
    rmSync(logRoot, { recursive: true, force: true });
    if (failed || values.logs) log(`daemon logs kept in ${logsDir}`);
    else rmSync(logsDir, { recursive: true, force: true });
  }
  return failed || leaks.length ? 1 : 0;
}

async function profileBerth(dir: string, hostsDir: string, workdir: string, logsDir: string, net: BenchCniNetwork, ctx: Ctx, n: number, ops: Op[]): Promise<ProfileSummary | undefined> {
  mkdirSync(dir, { recursive: true });
  const before = new Set(readdirSync(dir));
  const d = await startBerthd({ registryConfigDir: hostsDir, parentDir: workdir, logFile: join(logsDir, 'berth-cpuprof.log'), cniConfDir: net.confDir, cpuProfDir: dir });
  try {
    await d.cri.pullImage(ctx.busybox, { deadlineMs: 120_000 });
    const t = await startTarget(d, 'berth-prof', ctx);
    const cri = ops.filter((o) => o !== 'runcTrue');
    for (let i = 0; i < 5; i++) for (const op of cri) await runOp(op, d, t);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) for (const op of cri) await runOp(op, d, t);
    log(`profiled berth: ${n} rounds in ${(ms(t0) / 1000).toFixed(2)} s (with profiler overhead)`);
    await removeTarget(d, t);
  } finally {
    await removeAllPods(d).catch(() => undefined);
    await d.stop(); // the profile is written when berthd exits
  }
  return collectCpuProfile(dir, before, repoRoot(), log);
}

runBenchmark('exec', main);
