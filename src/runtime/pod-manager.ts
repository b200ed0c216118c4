// Pod sandboxes: pinned namespaces instead of a pause container, CNI networking, pod files,
// and an infra process only where the pod shares a PID namespace.
// Intent is persisted before any side effect, so a crash at any point leaves a record that the
// next start can roll back (reconcile.ts).
import { randomBytes } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import { existsSync, mkdirSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, failedPrecondition, invalidArgument, notFound } from '../util/errors';
import { logger } from '../util/log';
import { cniDuration } from '../util/metrics';
import type { RecordStore } from '../store/record-store';
import { isNamespaceFile, NAMESPACE_KINDS, pinNamespaces, pinnedPath, unpinNamespaces, type NamespaceKind } from '../network/namespaces';
import type { PodNetwork } from '../network/pod-network';
import type { NamespaceMode } from '../oci/spec-builder';
import { mountPodShm, removePodFiles, unmountPodShm, updatePodHosts, writePodFiles } from './pod-files';
import { findInfraAfterRestart, startInfra, stopInfra } from './infra';
import { NameRegistry } from './name-registry';
import type { RuntimeEvents } from './events';
import { findByIdOrPrefix } from './id-lookup';
import { nowNs, podFullName, type PodRecord, type PodSandboxSpec } from './types';

const log = logger('pods');

export interface PodManagerDeps {
  stateDir: string;
  records: RecordStore<PodRecord>;
  network: PodNetwork;
  runtimeHandlers: () => string[];
  defaultRuntime: string;
  defaultCgroupParent: string;
  catatonit: string;
  events: RuntimeEvents;
  /** Stop (with timeout) and optionally remove every container of a pod. */
  containers: {
    stopAll(podId: string, timeoutSeconds: number): Promise<void>;
    removeAll(podId: string): Promise<void>;
  };
}

export interface PodFilter {
  id?: string;
  state?: 'ready' | 'notready';
  labelSelector?: Record<string, string>;
}

const mode = (m: NamespaceMode | undefined): NamespaceMode => m ?? 'POD';

export function matchesLabels(labels: Record<string, string>, selector: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Host pids of the processes whose `kind` namespace is the one pinned at `file` ([] if none is pinned there). */
async function processesInNamespace(file: string, kind: NamespaceKind): Promise<number[]> {
  if (!(await isNamespaceFile(file))) return [];
  const ns = await fsp.stat(file);
  const out: number[] = [];
  for (const name of await fsp.readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = await fsp.stat(`/proc/${name}/ns/${kind}`).catch(() => undefined);
    if (st && st.ino === ns.ino && st.dev === ns.dev) out.push(Number(name));
  }
  return out;
}

export class PodManager {
  private readonly pods = new Map<string, PodRecord>();
  readonly names = new NameRegistry('pod sandbox');
  private readonly nsDir: string;
  private readonly podsDir: string;

  constructor(private readonly deps: PodManagerDeps) {
    this.nsDir = join(deps.stateDir, 'ns');
    this.podsDir = join(deps.stateDir, 'pods');
    mkdirSync(this.nsDir, { recursive: true, mode: 0o711 });
    mkdirSync(this.podsDir, { recursive: true, mode: 0o711 });
  }

  /** Records loaded at start-up (after reconcile decided what survives). */
  adopt(records: Iterable<PodRecord>): void {
    for (const r of records) {
      this.pods.set(r.id, r);
      this.names.claim(r.fullName, r.id);
    }
  }

  get(id: string): PodRecord | undefined {
    return this.pods.get(id);
  }

  /** Exact id, or a unique id prefix. */
  find(idOrPrefix: string): PodRecord | undefined {
    return findByIdOrPrefix(this.pods, idOrPrefix);
  }

  require(id: string): PodRecord {
    if (!id) throw invalidArgument('pod sandbox id is required');
    const p = this.find(id);
    if (!p) throw notFound(`pod sandbox ${id} not found`, { podId: id });
    return p;
  }

  list(filter: PodFilter = {}): PodRecord[] {
    return [...this.pods.values()].filter(
      (p) =>
        p.state !== 'creating' &&
        (!filter.id || p.id.startsWith(filter.id)) &&
        (!filter.state || p.state === filter.state) &&
        matchesLabels(p.spec.labels, filter.labelSelector),
    );
  }

  private async persist(p: PodRecord): Promise<void> {
    await this.deps.records.put(p.id, p);
  }

  run(spec: PodSandboxSpec, runtimeHandler: string): Promise<string> {
    const m = spec.metadata;
    if (!m.name || !m.namespace || !m.uid) throw invalidArgument('pod sandbox metadata needs name, namespace and uid');
    const handler = runtimeHandler || this.deps.defaultRuntime;
    if (!this.deps.runtimeHandlers().includes(handler)) throw invalidArgument(`unknown runtime handler "${handler}"`, { handler });
    const name = podFullName(m);
    return this.names.run(
      name,
      (id) => {
        // An identical retry of a pod that already came up answers with that pod.
        const p = this.pods.get(id);
        return p && p.state === 'ready' && JSON.stringify(p.spec) === JSON.stringify(spec) ? id : undefined;
      },
      () => this.create(spec, handler, name),
    );
  }

  private async create(spec: PodSandboxSpec, runtimeHandler: string, fullName: string): Promise<string> {
    const t0 = Date.now();
    const id = randomBytes(32).toString('hex');
    const ns = spec.linux.securityContext.namespaceOptions ?? {};
    const dir = join(this.podsDir, id);
    const rec: PodRecord = {
      id,
      fullName,
      spec,
      runtimeHandler,
      state: 'creating',
      createdAt: nowNs(),
      namespaces: {},
      pidMode: mode(ns.pid) === 'NODE' ? 'NODE' : mode(ns.pid) === 'POD' ? 'POD' : 'CONTAINER',
      networkMode: mode(ns.network) === 'NODE' ? 'NODE' : 'POD',
      ipcMode: mode(ns.ipc) === 'NODE' ? 'NODE' : 'POD',
      ips: [],
      dir,
      cgroupParent: spec.linux.cgroupParent || this.deps.defaultCgroupParent,
      // Known before any side effect, so a crash at any later point leaves reconcile enough to undo:
      // CNI DEL of a pod never added is a no-op, unmounting a shm never mounted too.
      networkAttached: mode(ns.network) !== 'NODE',
      shmPath: mode(ns.ipc) !== 'NODE' ? join(dir, 'shm') : undefined,
    };
    // Intent first: whatever happens next, reconcile finds this record and can undo it.
    this.pods.set(id, rec);
    await this.persist(rec);
    // The pod's hosts file gets its IPs while the pod starts its infra and records itself ready.
    let hostsWritten: Promise<void> | undefined;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o711 });
      const hostNetwork = rec.networkMode === 'NODE';
      // As containerd does: a pod that names no hostname gets the node's.
      const hostname = spec.hostname || osHostname();
      const kinds: NamespaceKind[] = [];
      if (!hostNetwork) kinds.push('net', 'uts');
      if (rec.ipcMode !== 'NODE') kinds.push('ipc');
      if (!kinds.length && Object.keys(spec.linux.sysctls ?? {}).length) {
        throw invalidArgument("sysctls need a pod network or IPC namespace; this pod uses the host's", { podId: id });
      }
      // Independent of each other: pod files, /dev/shm and the namespace pins are set up together.
      // Their paths follow from the pod id, so the intent record already tells reconcile what to undo.
      const settled = await Promise.allSettled([
        writePodFiles(dir, { hostname, dnsConfig: spec.dnsConfig, hostNetwork }),
        rec.shmPath ? mountPodShm(rec.shmPath) : undefined,
        kinds.length
          ? pinNamespaces(this.nsDir, id, kinds, { hostname: kinds.includes('uts') ? hostname : undefined, sysctls: spec.linux.sysctls })
          : undefined,
      ]);
      // Every step has finished before a failure starts the rollback.
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      const files = (settled[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof writePodFiles>>>).value;
      const pinned = (settled[2] as PromiseFulfilledResult<Awaited<ReturnType<typeof pinNamespaces>> | undefined>).value;
      rec.files = files;
      if (pinned) rec.namespaces = { net: pinned.paths.net, ipc: pinned.paths.ipc, uts: pinned.paths.uts };
      if (!hostNetwork) {
        const endTimer = cniDuration.startTimer({ operation: 'add' });
        const net = await this.deps.network.setUpPodNetwork(
          id,
          { podId: id, paths: { net: rec.namespaces.net } },
          { name: spec.metadata.name, namespace: spec.metadata.namespace, uid: spec.metadata.uid },
          spec.portMappings,
        );
        endTimer();
        rec.ips = net.ips;
        hostsWritten = updatePodHosts(dir, hostname, rec.ips);
        hostsWritten.catch(() => undefined);
      }
      if (rec.pidMode === 'POD') {
        rec.infra = await startInfra({
          podId: id,
          netns: rec.namespaces.net,
          ipcns: rec.namespaces.ipc,
          utsns: rec.namespaces.uts,
          catatonit: this.deps.catatonit,
          pidFile: join(dir, 'infra.pid'),
        });
      }
      rec.state = 'ready';
      await Promise.all([hostsWritten, this.persist(rec)]);
      this.deps.events.emitPod('created', id);
      log.info({ podId: id, name: fullName, ips: rec.ips, ms: Date.now() - t0 }, 'pod sandbox ready');
      return id;
    } catch (e) {
      log.warn({ podId: id, name: fullName, err: errorMessage(e) }, 'pod sandbox creation failed; rolling back');
      await hostsWritten?.catch(() => undefined);
      try {
        await this.teardown(rec);
        await this.forget(rec);
      } catch (err) {
        // Keep the record (state creating): the next start's reconcile retries the teardown.
        log.error({ podId: id, err: errorMessage(err) }, 'rollback incomplete; reconcile will retry');
        this.pods.delete(id);
        this.names.release(fullName, id);
      }
      throw e;
    }
  }

  /** Release everything the pod holds on the host. Idempotent; also used for rollback and reconcile. */
  async teardown(rec: PodRecord): Promise<void> {
    const errors: string[] = [];
    const step = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (e) {
        errors.push(`${what}: ${errorMessage(e)}`);
      }
    };
    // Independent steps run together; only unpinning waits, since CNI DEL works inside the netns.
    const infra = rec.infra;
    const shm = rec.shmPath;
    await Promise.all([
      infra
        ? step('infra', () => stopInfra(infra.pid, infra.startTime))
        : rec.state === 'creating'
          ? // berthd may have died while starting the infra, before recording it (or even before its
            // pid file): whatever runs in the pod's pinned namespaces is that infra.
            step('infra', () => this.killStrayInfra(rec))
          : undefined,
      rec.networkAttached
        ? step('cni', async () => {
            const endTimer = cniDuration.startTimer({ operation: 'del' });
            await this.deps.network.tearDownPodNetwork(rec.id);
            endTimer();
          })
        : undefined,
      shm ? step('shm', () => unmountPodShm(shm)) : undefined,
    ]);
    await step('namespaces', () => unpinNamespaces(this.nsDir, rec.id));
    if (errors.length) throw failedPrecondition(`pod ${rec.id}: ${errors.join('; ')}`, { podId: rec.id });
    rec.infra = undefined;
    rec.networkAttached = false;
    rec.namespaces = {};
  }

  private async killStrayInfra(rec: PodRecord): Promise<void> {
    const pids = new Set<number>();
    const fromPidFile = await findInfraAfterRestart(join(rec.dir, 'infra.pid')).catch(() => undefined);
    if (fromPidFile) pids.add(fromPidFile.pid);
    for (const kind of NAMESPACE_KINDS) for (const pid of await processesInNamespace(pinnedPath(this.nsDir, kind, rec.id), kind)) pids.add(pid);
    pids.delete(process.pid);
    if (!pids.size) return;
    log.warn({ podId: rec.id, pids: [...pids] }, 'killing the unrecorded infra process of a half-created pod');
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    const deadline = Date.now() + 5_000;
    while ([...pids].some((pid) => existsSync(`/proc/${pid}/ns`)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  /** Drop a pod's files, name and record (after teardown). */
  async forget(rec: PodRecord): Promise<void> {
    this.pods.delete(rec.id);
    this.names.release(rec.fullName, rec.id);
    await removePodFiles(rec.dir).catch(() => undefined);
    await fsp.rm(rec.dir, { recursive: true, force: true });
    await this.deps.records.delete(rec.id);
  }

  async stop(id: string): Promise<void> {
    const rec = this.require(id);
    if (rec.state === 'creating') throw failedPrecondition(`pod sandbox ${rec.id} is still being created`, { podId: rec.id });
    await this.deps.containers.stopAll(rec.id, 0);
    await this.teardown(rec);
    if (rec.state !== 'notready') this.deps.events.emitPod('stopped', rec.id);
    rec.state = 'notready';
    await this.persist(rec);
    log.info({ podId: rec.id }, 'pod sandbox stopped');
  }

  /** Idempotent: an unknown pod is already removed. */
  async remove(id: string): Promise<void> {
    if (!id) throw invalidArgument('pod sandbox id is required');
    const rec = this.find(id);
    if (!rec) return;
    if (rec.state === 'creating') throw failedPrecondition(`pod sandbox ${rec.id} is still being created`, { podId: rec.id });
    await this.deps.containers.stopAll(rec.id, 0);
    await this.deps.containers.removeAll(rec.id);
    await this.teardown(rec);
    await this.forget(rec);
    this.deps.events.emitPod('deleted', rec.id);
    log.info({ podId: rec.id }, 'pod sandbox removed');
  }

  all(): PodRecord[] {
    return [...this.pods.values()];
  }
}
