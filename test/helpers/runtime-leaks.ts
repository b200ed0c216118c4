// Harness for the pods-and-containers acceptance tests: one docker-registry with the busybox
// fixture, one CNI network private to the test (helpers/cni.ts), one berthd on both, and typed
// helpers over CRI. checkLeaks() asserts that, once every pod is removed, nothing berthd made for a
// pod or container is left on the host (mounts, namespace pins, veths, IP allocations, processes,
// cgroups, bundle and state dirs, active snapshots).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { call, startBerthd, type RunningBerthd } from './berthd';
import { startRegistry, type TestRegistry } from './registry';
import { pushBusyboxImage, type BusyboxImageOptions } from './fixtures';
import { createTestCniNetwork, type TestCniNetwork } from './cni';
import { parseMountInfo } from '../../src/network/mountinfo';
import { releaseNamespaceDir } from '../../src/network/namespaces';
import { OverlaySnapshotter } from '../../src/snapshot/overlay';

export { GrpcStatus };

const REQUIRED = ['/usr/bin/conmon', '/usr/sbin/runc', '/usr/bin/catatonit'];

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 10_000, everyMs = 50): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The gRPC status code of a rejected call (for assert.rejects predicates). */
export const grpcCode = (e: unknown): number | undefined => (e as { code?: number }).code;

export interface PodOptions {
  /** NamespaceOption.pid; default POD (berth starts an infra process). */
  pid?: 'POD' | 'CONTAINER' | 'NODE';
  network?: 'POD' | 'NODE';
  labels?: Record<string, string>;
  runtimeHandler?: string;
}

export interface ContainerOptions {
  image?: string;
  args?: string[];
  labels?: Record<string, string>;
  /** Default true. */
  start?: boolean;
  logPath?: string;
  env?: Record<string, string>;
}

export interface Pod {
  id: string;
  config: any;
  logDirectory: string;
}

export interface ProcIdentity {
  pid: number;
  startTime: number;
}

function procStartTime(pid: number): number | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    if (f[0] === 'Z' || f[0] === 'X') return undefined;
    return Number(f[19]);
  } catch {
    return undefined;
  }
}

export function procAlive(p: ProcIdentity): boolean {
  return procStartTime(p.pid) === p.startTime;
}

export function identify(pid: number): ProcIdentity {
  const startTime = procStartTime(pid);
  assert.ok(startTime !== undefined, `process ${pid} is not running`);
  return { pid, startTime };
}

export class RuntimeEnv {
  registry!: TestRegistry;
  net!: TestCniNetwork;
  berthd!: RunningBerthd;
  /** busybox fixture reference, pulled into berthd. */
  image = '';
  readonly tmp = mkdtempSync(join(tmpdir(), 'berth-rt-it-'));
  readonly hostsDir = join(this.tmp, 'certs.d');
  readonly logRoot = join(this.tmp, 'logs');
  /** Every container and pod made through this env (for the cgroup and process checks). */
  readonly containers = new Map<string, { cgroupsPath?: string; proc?: ProcIdentity }>();
  readonly pods = new Map<string, { infra?: ProcIdentity }>();
  private seq = 0;

  static async start(): Promise<RuntimeEnv> {
    for (const f of REQUIRED) if (!existsSync(f)) throw new Error(`${f} is missing: install conmon, runc and catatonit`);
    const e = new RuntimeEnv();
    try {
      e.net = createTestCniNetwork();
      e.registry = await startRegistry();
      mkdirSync(join(e.hostsDir, e.registry.host), { recursive: true });
      writeFileSync(join(e.hostsDir, e.registry.host, 'hosts.toml'), `server = "${e.registry.url}"\n`);
      const pushed = await pushBusyboxImage(e.registry.url, 'test/busybox', { tag: 'latest' });
      e.image = pushed.reference;
      e.berthd = await startBerthd({ registryConfigDir: e.hostsDir, cniConfDir: e.net.confDir });
      await e.pull(e.image);
      await waitFor('NetworkReady', async () => {
        const st = await e.call<any>('Status', {});
        return st.status.conditions.find((c: any) => c.type === 'NetworkReady')?.status === true;
      });
    } catch (err) {
      await e.close({ checkLeaks: false }).catch(() => undefined);
      throw err;
    }
    return e;
  }

  /** Push another busybox image (e.g. with a StopSignal) and pull it into berthd. */
  async pushAndPull(name: string, opts: BusyboxImageOptions): Promise<string> {
    const pushed = await pushBusyboxImage(this.registry.url, name, { ...opts, tag: 'latest' });
    await this.pull(pushed.reference);
    return pushed.reference;
  }

  async pull(ref: string): Promise<void> {
    await call(this.berthd.clients.image, 'PullImage', { image: { image: ref } }, 120_000);
  }

  get rt(): any {
    return this.berthd.clients.runtime;
  }

  call<T>(method: string, req: object, deadlineMs = 60_000): Promise<T> {
    return call<object, T>(this.rt, method, req, deadlineMs);
  }

  podConfig(name: string, opts: PodOptions = {}): { config: any; logDirectory: string } {
    const uid = randomBytes(8).toString('hex');
    const logDirectory = join(this.logRoot, `${name}-${uid}`);
    return {
      logDirectory,
      config: {
        metadata: { name, namespace: 'berth-test', uid, attempt: 0 },
        hostname: name,
        logDirectory,
        labels: { test: 'runtime', pod: name, ...opts.labels },
        linux: { securityContext: { namespaceOptions: { pid: opts.pid ?? 'POD', network: opts.network ?? 'POD', ipc: 'POD' } } },
      },
    };
  }

  async runPod(name: string, opts: PodOptions = {}): Promise<Pod> {
    const { config, logDirectory } = this.podConfig(name, opts);
    const res = await this.call<{ podSandboxId: string }>('RunPodSandbox', { config, runtimeHandler: opts.runtimeHandler ?? '' });
    await this.track(res.podSandboxId);
    return { id: res.podSandboxId, config, logDirectory };
  }

  /** Remember a pod's infra process (for the leak check). */
  async track(podId: string): Promise<void> {
    const st = await this.call<any>('PodSandboxStatus', { podSandboxId: podId, verbose: true });
    const pid = Number(JSON.parse(st.info.info ?? '{}').pid ?? 0);
    const infra = pid > 0 && procStartTime(pid) !== undefined ? identify(pid) : undefined;
    this.pods.set(podId, { infra });
  }

  async createContainer(pod: Pod, name: string, command: string[], opts: ContainerOptions = {}): Promise<string> {
    const res = await this.call<{ containerId: string }>('CreateContainer', {
      podSandboxId: pod.id,
      sandboxConfig: pod.config,
      config: {
        metadata: { name, attempt: 0 },
        image: { image: opts.image ?? this.image },
        command,
        args: opts.args ?? [],
        logPath: opts.logPath ?? `${name}-${++this.seq}.log`,
        labels: { container: name, ...opts.labels },
        envs: Object.entries(opts.env ?? {}).map(([key, value]) => ({ key, value })),
      },
    });
    const id = res.containerId;
    this.containers.set(id, {});
    const st = await this.containerStatus(id, true);
    this.containers.set(id, { cgroupsPath: st.info.cgroupsPath });
    if (opts.start !== false) await this.startContainer(id);
    return id;
  }

  async startContainer(id: string): Promise<void> {
    await this.call('StartContainer', { containerId: id });
    const st = await this.containerStatus(id, true);
    const pid = Number(st.info.pid ?? 0);
    const rec = this.containers.get(id) ?? {};
    if (pid > 0 && procStartTime(pid) !== undefined) rec.proc = identify(pid);
    this.containers.set(id, rec);
  }

  async containerStatus(id: string, verbose = false): Promise<{ status: any; info: any }> {
    const r = await this.call<any>('ContainerStatus', { containerId: id, verbose });
    return { status: r.status, info: verbose && r.info.info ? JSON.parse(r.info.info) : {} };
  }

  async podStatus(id: string): Promise<any> {
    return (await this.call<any>('PodSandboxStatus', { podSandboxId: id })).status;
  }

  async waitExited(id: string, ms = 15_000): Promise<any> {
    return waitFor(`container ${id.slice(0, 12)} to exit`, async () => {
      const { status } = await this.containerStatus(id);
      return status.state === 'CONTAINER_EXITED' ? status : undefined;
    }, ms, 100);
  }

  async exec(id: string, cmd: string[], timeout = 10): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    const r = await this.call<any>('ExecSync', { containerId: id, cmd, timeout }, (timeout + 30) * 1000);
    return { stdout: Buffer.from(r.stdout).toString('utf8'), stderr: Buffer.from(r.stderr).toString('utf8'), exitCode: r.exitCode };
  }

  /** Stop and remove every pod (and any container left outside one). */
  async removeAll(): Promise<void> {
    const pods = await this.call<any>('ListPodSandbox', {});
    for (const p of pods.items) {
      await this.call('StopPodSandbox', { podSandboxId: p.id });
      await this.call('RemovePodSandbox', { podSandboxId: p.id });
    }
    const ctrs = await this.call<any>('ListContainers', {});
    for (const c of ctrs.containers) await this.call('RemoveContainer', { containerId: c.id });
  }

  /** The pod records on disk: id → state (creating, ready, notready). */
  podRecordStates(): Record<string, string> {
    const dir = join(this.berthd.root, 'meta', 'pods');
    const out: Record<string, string> = {};
    for (const f of existsSync(dir) ? readdirSync(dir) : []) {
      if (!f.endsWith('.json')) continue;
      try {
        const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { id: string; state: string; namespaces?: object; networkAttached?: boolean; infra?: object };
        out[r.id] = `${r.state}${r.networkAttached ? '+cni' : ''}${r.infra ? '+infra' : ''}`;
      } catch {
        // a temp file being written
      }
    }
    return out;
  }

  /** What berthd left on the host for pods and containers; [] means nothing. */
  async leaks(): Promise<string[]> {
    const out: string[] = [];
    const state = realpathSync(this.berthd.state);
    const root = realpathSync(this.berthd.root);
    const nsDir = join(state, 'ns');
    const under = (p: string, d: string) => p === d || p.startsWith(`${d}/`);
    // The ns dir is bind-mounted onto itself (private propagation) once, and stays while berthd runs.
    for (const m of parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'))) {
      if ((under(m.mountPoint, state) || under(m.mountPoint, root)) && m.mountPoint !== nsDir) out.push(`mount ${m.mountPoint} (${m.fsType})`);
    }
    for (const k of ['net', 'ipc', 'uts']) {
      const d = join(nsDir, k);
      for (const f of existsSync(d) ? readdirSync(d) : []) out.push(`namespace pin ${join(d, f)}`);
    }
    for (const v of this.net.bridgePorts()) out.push(`veth ${v} on bridge ${this.net.bridge}`);
    for (const ip of this.net.allocations()) out.push(`host-local allocation ${ip}`);
    for (const p of runtimeProcesses(state)) out.push(`process ${p}`);
    for (const [id, c] of this.containers) {
      if (c.proc && procAlive(c.proc)) out.push(`container ${id.slice(0, 12)} process ${c.proc.pid}`);
      if (c.cgroupsPath) for (const d of cgroupDirs(c.cgroupsPath)) if (existsSync(d)) out.push(`cgroup ${d}`);
    }
    for (const [id, p] of this.pods) if (p.infra && procAlive(p.infra)) out.push(`pod ${id.slice(0, 12)} infra process ${p.infra.pid}`);
    for (const d of ['containers', 'pods', 'sockets', 'exits', 'runtimes/runc', 'runtimes/crun']) {
      const full = join(state, d);
      for (const f of existsSync(full) ? readdirSync(full) : []) out.push(`state entry ${join(full, f)}`);
    }
    for (const b of ['pods', 'containers']) {
      const full = join(root, 'meta', b);
      for (const f of existsSync(full) ? readdirSync(full) : []) out.push(`record ${join(full, f)}`);
    }
    for (const s of await new OverlaySnapshotter(root).list()) if (s.kind === 'active') out.push(`active snapshot ${s.key}`);
    return out;
  }

  /** Fails listing every leak, after giving asynchronous cleanups `settleMs` to finish. */
  async checkLeaks(settleMs = 3000): Promise<void> {
    const end = Date.now() + settleMs;
    let l = await this.leaks();
    while (l.length && Date.now() < end) {
      await sleep(100);
      l = await this.leaks();
    }
    assert.deepEqual(l, [], `leaks after removing every pod:\n  ${l.join('\n  ')}`);
  }

  /** removeAll() then checkLeaks(): the after-each-test check. */
  async cleanAndCheck(): Promise<void> {
    await this.removeAll();
    await this.checkLeaks();
  }

  /** Kill berthd (SIGKILL by default), optionally wait, and start it again on the same dirs. */
  async restart(opts: { signal?: NodeJS.Signals; downMs?: number; whileDown?: () => void } = {}): Promise<void> {
    const dirs = { base: this.berthd.base, root: this.berthd.root, state: this.berthd.state };
    await this.berthd.stop(opts.signal ?? 'SIGKILL');
    opts.whileDown?.();
    if (opts.downMs) await sleep(opts.downMs);
    // startBerthd waits for the socket to appear; a killed berthd leaves its old one behind.
    rmSync(this.berthd.socket, { force: true });
    this.berthd = await startBerthd({ registryConfigDir: this.hostsDir, cniConfDir: this.net.confDir, dirs });
    await waitFor('berthd to answer after restart', async () => this.call('Version', {}, 2000).then(() => true, () => false), 20_000, 200);
  }

  async close(opts: { checkLeaks?: boolean } = {}): Promise<void> {
    const errors: unknown[] = [];
    const step = async (fn: () => unknown) => {
      try {
        await fn();
      } catch (e) {
        errors.push(e);
      }
    };
    if (this.berthd) {
      await step(() => this.removeAll());
      if (opts.checkLeaks !== false) await step(() => this.checkLeaks());
      await step(() => this.berthd.stop('SIGTERM'));
      // After a failed check, leave the host clean anyway: kill what this berthd started and
      // unmount what it mounted (deepest first), so the temp dirs can go.
      const state = realpathSync(this.berthd.state);
      for (const p of runtimeProcesses(state)) {
        try {
          process.kill(Number(p.split(' ')[0]), 'SIGKILL');
        } catch {
          // gone
        }
      }
      const base = realpathSync(this.berthd.base);
      const nsDir = join(state, 'ns');
      const mounts = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'))
        .map((m) => m.mountPoint)
        .filter((m) => m.startsWith(`${base}/`) && m !== nsDir)
        .sort((a, b) => b.length - a.length);
      for (const m of mounts) await step(() => execFileSync('umount', ['-l', m]));
      for (const k of ['net', 'ipc', 'uts']) {
        const d = join(nsDir, k);
        for (const f of existsSync(d) ? readdirSync(d) : []) await step(() => execFileSync('umount', ['-l', join(d, f)]));
      }
      if (existsSync(nsDir)) await step(() => releaseNamespaceDir(nsDir));
      await step(() => this.berthd.destroy());
    }
    if (this.registry) await step(() => this.registry.stop());
    if (this.net) await step(() => this.net.cleanup());
    rmSync(this.tmp, { recursive: true, force: true });
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `closing the runtime test env: ${errors.map((e) => (e as Error).message).join(' | ')}`);
  }
}

/** conmon/runc/crun processes of the berthd using `state`, and infra processes started by it. */
export function runtimeProcesses(state: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const comm = readFileSync(`/proc/${name}/comm`, 'utf8').trim();
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (['conmon', 'runc', 'crun'].includes(comm) && cmdline.includes(state)) out.push(`${name} ${cmdline}`);
      // An infra process (catatonit, and unshare waiting for it) keeps its stderr on an unlinked
      // file in the pod's dir: that names the berthd it belongs to.
      if (['catatonit', 'unshare', 'nsenter'].includes(comm) && readlinkSync(`/proc/${name}/fd/2`).includes(state)) out.push(`${name} ${cmdline}`);
    } catch {
      // gone meanwhile, or no fd 2
    }
  }
  return out;
}

/** The cgroup directories of a cgroupfs cgroups path (every v1 hierarchy, or the v2 tree). */
export function cgroupDirs(cgroupsPath: string): string[] {
  const base = '/sys/fs/cgroup';
  if (existsSync(join(base, 'cgroup.controllers'))) return [join(base, cgroupsPath)];
  return readdirSync(base).map((d) => join(base, d, cgroupsPath));
}

export { GrpcStatus as Code };
