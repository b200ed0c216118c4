// The runtime domain's façade: pods, containers, exits and events, and the start-up reconcile
// that makes a crash at any point (of berthd, not of the containers) recoverable.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, invalidArgument, isBerthError } from '../util/errors';
import { releaseNamespaceDir } from '../network/namespaces';
import { logger } from '../util/log';
import { RecordStore } from '../store/record-store';
import type { ImageService } from '../image/image-service';
import type { OverlaySnapshotter } from '../snapshot/overlay';
import { OciRuntime } from '../oci/runc';
import { detectHostFacts, type HostFacts } from '../oci/spec-prepare';
import type { CgroupDriver } from '../oci/spec-builder';
import { CniConfigWatcher } from '../network/cni-config';
import { PodNetwork } from '../network/pod-network';
import { ContainerManager } from './container-manager';
import { ExitMonitor } from './exit-monitor';
import { PodManager } from './pod-manager';
import { RuntimeEvents } from './events';
import { StatsCollector } from './stats';
import { ContainerStreams } from './streams';
import { detectCgroupMode, type CgroupMode } from './cgroup-stats';
import type { ContainerRecord, PodRecord } from './types';
import type { VolumeStore } from './volumes';

const log = logger('runtime');

export interface RuntimeConfig {
  root: string;
  state: string;
  cniConfDir: string;
  cniBinDirs: string[];
  cgroupDriver: CgroupDriver;
  conmon: string;
  catatonit: string;
  defaultRuntime: string;
  runtimes: Record<string, { path: string; root: string }>;
}

export interface RuntimeDeps {
  images: ImageService;
  snapshots: OverlaySnapshotter;
  /** Named volumes (the berth CLI's `-v NAME:/path`): empty ones get the image's files on first mount. */
  volumes?: VolumeStore;
}

function processAlive(pid: number | undefined, name: string): boolean {
  if (!pid) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[0].endsWith(name);
  } catch {
    return false;
  }
}

export class Runtime {
  readonly pods: PodManager;
  readonly containers: ContainerManager;
  readonly events = new RuntimeEvents();
  readonly cni: CniConfigWatcher;
  readonly network: PodNetwork;
  readonly stats: StatsCollector;
  readonly streams: ContainerStreams;
  private readonly exits: ExitMonitor;
  private readonly ociRuntimes = new Map<string, OciRuntime>();
  private readonly podRecords: RecordStore<PodRecord>;
  private readonly containerRecords: RecordStore<ContainerRecord>;

  private constructor(private readonly cfg: RuntimeConfig, deps: RuntimeDeps, host: HostFacts, cgroupMode: CgroupMode) {
    for (const [name, h] of Object.entries(cfg.runtimes)) {
      this.ociRuntimes.set(name, new OciRuntime({ path: h.path, root: h.root, systemdCgroup: cfg.cgroupDriver === 'systemd' }));
    }
    this.podRecords = new RecordStore<PodRecord>(join(cfg.root, 'meta'), 'pods');
    this.containerRecords = new RecordStore<ContainerRecord>(join(cfg.root, 'meta'), 'containers');
    this.cni = new CniConfigWatcher(cfg.cniConfDir, { binDirs: cfg.cniBinDirs });
    this.network = new PodNetwork({
      stateDir: cfg.state,
      nsDir: join(cfg.state, 'ns'),
      binDirs: cfg.cniBinDirs,
      network: () => this.cni.current(),
      readiness: () => this.cni.status(),
    });
    const runtimeFor = (handler: string): OciRuntime => {
      const r = this.ociRuntimes.get(handler || cfg.defaultRuntime);
      if (!r) throw invalidArgument(`unknown runtime handler "${handler}"`, { handler });
      return r;
    };
    // Pods and containers refer to each other; the container side is bound after construction.
    let containers: ContainerManager | undefined;
    this.pods = new PodManager({
      stateDir: cfg.state,
      records: this.podRecords,
      network: this.network,
      runtimeHandlers: () => [...this.ociRuntimes.keys()],
      defaultRuntime: cfg.defaultRuntime,
      defaultCgroupParent: cfg.cgroupDriver === 'systemd' ? 'berth.slice' : '/berth',
      catatonit: cfg.catatonit,
      events: this.events,
      containers: {
        stopAll: (podId, t) => containers!.stopAll(podId, t),
        removeAll: (podId) => containers!.removeAll(podId),
      },
    });
    containers = new ContainerManager({
      stateDir: cfg.state,
      records: this.containerRecords,
      pods: this.pods,
      images: deps.images,
      snapshots: deps.snapshots,
      runtime: runtimeFor,
      conmon: cfg.conmon,
      cgroupDriver: cfg.cgroupDriver,
      host,
      events: this.events,
      volumes: deps.volumes,
    });
    this.containers = containers;
    this.streams = new ContainerStreams({ containers, pods: this.pods, runtime: runtimeFor });
    this.stats = new StatsCollector(containers, deps.snapshots, cfg.cgroupDriver, cgroupMode);
    this.exits = new ExitMonitor(containers.exitDir, (id, code) => containers!.onExit(id, code));
    containers.exits = this.exits;
  }

  static async start(cfg: RuntimeConfig, deps: RuntimeDeps): Promise<Runtime> {
    const rt = new Runtime(cfg, deps, await detectHostFacts(), await detectCgroupMode());
    rt.cni.start();
    await rt.reconcile(deps.snapshots);
    rt.exits.start();
    return rt;
  }

  runtimeHandlers(): string[] {
    return [...this.ociRuntimes.keys()];
  }

  /** Snapshot keys containers build on: their image's top layer must not be garbage-collected. */
  snapshotsInUse(): Set<string> {
    const s = new Set<string>();
    for (const c of this.containers.all()) s.add(c.id);
    return s;
  }

  /**
   * Start-up: roll back half-created pods and containers, find out what happened to running ones
   * while berthd was down, and remove what no record claims (runtime containers, mounts,
   * snapshots, namespaces, CNI attachments). One bad record never stops the daemon.
   */
  private async reconcile(snapshots: OverlaySnapshotter): Promise<void> {
    const t0 = Date.now();
    const pods = this.podRecords.loadAll();
    const ctrs = this.containerRecords.loadAll();
    this.pods.adopt(pods.values());
    this.containers.adopt(ctrs.values());
    const guard = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (e) {
        log.error({ what, err: errorMessage(e) }, 'reconcile step failed');
      }
    };
    for (const c of ctrs.values()) {
      if (c.state === 'creating') {
        await guard(`container ${c.id} (half-created)`, () => this.containers.release(c));
      } else if ((c.state === 'running' || c.state === 'created') && !processAlive(c.conmonPid, 'conmon')) {
        // conmon is gone: if it left an exit file the exit monitor records it; otherwise the
        // exit was lost with it.
        if (!existsSync(join(this.containers.exitDir, c.id))) {
          // Its processes may outlive their monitor; nobody would collect their exit or output, and
          // a restart by the kubelet would run a second copy beside them: they are ended now, and
          // the exit is recorded as containerd records a lost one (255, reason Unknown).
          await guard(`container ${c.id} (unmonitored)`, () => this.containers.deleteRuntimeContainer(c));
          this.containers.onExit(c.id, 255);
          c.reason = 'Unknown';
          c.message = 'conmon exited while berthd was not running; the exit code is unknown';
          await guard(`container ${c.id}`, () => this.containerRecords.put(c.id, c));
        }
      }
    }
    for (const p of pods.values()) {
      if (p.state === 'creating') {
        await guard(`pod ${p.id} (half-created)`, async () => {
          for (const c of this.containers.ofPod(p.id)) await this.containers.release(c);
          await this.pods.teardown(p);
          await this.pods.forget(p);
        });
      }
    }
    // Orphans: things on the host that no record claims.
    const knownCtrs = new Set(this.containers.all().map((c) => c.id));
    for (const [name, rt] of this.ociRuntimes) {
      if (!existsSync(rt.root)) continue;
      await guard(`runtime ${name} orphans`, async () => {
        for (const st of await rt.list()) {
          if (knownCtrs.has(st.id)) continue;
          log.warn({ containerId: st.id, runtime: name }, 'removing orphan runtime container');
          await rt.delete(st.id, true);
        }
      });
    }
    const ctrDir = join(this.cfg.state, 'containers');
    for (const id of existsSync(ctrDir) ? readdirSync(ctrDir) : []) {
      if (knownCtrs.has(id)) continue;
      await guard(`container dir ${id}`, async () => {
        await snapshots.unmount(join(ctrDir, id, 'rootfs')).catch(() => undefined);
        rmSync(join(ctrDir, id), { recursive: true, force: true });
      });
    }
    await guard('snapshots', async () => {
      for (const s of await snapshots.list()) {
        if (s.kind === 'active' && !knownCtrs.has(s.key)) await snapshots.remove(s.key);
      }
    });
    const knownPods = this.pods.all().map((p) => p.id);
    await guard('networks', () => this.network.reconcileNetworks(knownPods));
    log.info({ pods: knownPods.length, containers: knownCtrs.size, ms: Date.now() - t0 }, 'runtime state reconciled');
  }

  /** Stop watching; release the namespace dir's own mount when no pod has anything pinned. */
  async close(): Promise<void> {
    this.exits.stop();
    this.cni.stop();
    await releaseNamespaceDir(join(this.cfg.state, 'ns')).catch((e) => {
      if (!isBerthError(e, 'failed-precondition')) log.warn({ err: errorMessage(e) }, 'releasing the namespace dir failed');
    });
  }
}
