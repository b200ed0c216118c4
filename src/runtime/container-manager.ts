// Containers: an OCI spec built from the CRI config and the image, a rootfs on an overlay
// snapshot, created by the OCI runtime under conmon (which keeps stdio, writes the CRI log and
// records the exit). Status and lists answer from memory.
import { randomBytes } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import { mkdirSync, statSync, existsSync, promises as fsp } from 'node:fs';
import { dirname, join, isAbsolute } from 'node:path';
import { BerthError, deadlineExceeded, errorMessage, failedPrecondition, invalidArgument, isBerthError, notFound } from '../util/errors';
import { logger } from '../util/log';
import { PER_BOOT, writeFileAtomic } from '../util/atomic-file';
import type { RecordStore } from '../store/record-store';
import type { ImageService } from '../image/image-service';
import type { OverlaySnapshotter } from '../snapshot/overlay';
import type { OciRuntime } from '../oci/runc';
import { removeAttachLink, startContainer } from '../oci/conmon';
import { prepareContainerSpec, type HostFacts } from '../oci/spec-prepare';
import { cgroupsPath, linuxResources, type CgroupDriver, type CriLinuxResources } from '../oci/spec-builder';
import { NameRegistry } from './name-registry';
import { findByIdOrPrefix } from './id-lookup';
import type { PodManager } from './pod-manager';
import { matchesLabels } from './pod-manager';
import type { ExitMonitor } from './exit-monitor';
import type { RuntimeEvents } from './events';
import type { VolumeStore } from './volumes';
import { resolveInRoot } from '../oci/rootfs-path';
import { containerFullName, nowNs, type ContainerRecord, type ContainerSpec, type ContainerState } from './types';

const log = logger('containers');

/** How long ReopenContainerLog waits for conmon to create the new log file. */
const REOPEN_WAIT_MS = 5000;

/** ExecSync output beyond this is cut (the kubelet's probes need a few KiB). */
const EXEC_OUTPUT_LIMIT = 16 << 20;

export interface ContainerManagerDeps {
  stateDir: string;
  records: RecordStore<ContainerRecord>;
  pods: PodManager;
  images: ImageService;
  snapshots: OverlaySnapshotter;
  runtime: (handler: string) => OciRuntime;
  conmon: string;
  cgroupDriver: CgroupDriver;
  host: HostFacts;
  events: RuntimeEvents;
  /** Named volumes, for docker's copy-up of image files into an empty volume. */
  volumes?: Pick<VolumeStore, 'volumeAt' | 'populate'>;
}

export interface ContainerFilter {
  id?: string;
  podSandboxId?: string;
  state?: ContainerState;
  labelSelector?: Record<string, string>;
}

export class ContainerManager {
  private readonly containers = new Map<string, ContainerRecord>();
  readonly names = new NameRegistry('container');
  readonly exitDir: string;
  readonly socketDir: string;
  private readonly dir: string;
  exits!: ExitMonitor;
  private readonly starting = new Set<string>();
  private readonly deferredExits = new Map<string, number>();

  constructor(private readonly deps: ContainerManagerDeps) {
    this.dir = join(deps.stateDir, 'containers');
    this.exitDir = join(deps.stateDir, 'exits');
    this.socketDir = join(deps.stateDir, 'sockets');
    for (const d of [this.dir, this.exitDir, this.socketDir]) mkdirSync(d, { recursive: true, mode: 0o711 });
  }

  adopt(records: Iterable<ContainerRecord>): void {
    for (const r of records) {
      this.containers.set(r.id, r);
      this.names.claim(r.fullName, r.id);
    }
  }

  get(id: string): ContainerRecord | undefined {
    return this.containers.get(id);
  }

  /** Exact id, or a unique id prefix. */
  find(idOrPrefix: string): ContainerRecord | undefined {
    return findByIdOrPrefix(this.containers, idOrPrefix);
  }

  require(id: string): ContainerRecord {
    if (!id) throw invalidArgument('container id is required');
    const c = this.find(id);
    if (!c || c.state === 'creating') throw notFound(`container ${id} not found`, { containerId: id });
    return c;
  }

  list(filter: ContainerFilter = {}): ContainerRecord[] {
    return [...this.containers.values()].filter(
      (c) =>
        c.state !== 'creating' &&
        (!filter.id || c.id.startsWith(filter.id)) &&
        (!filter.podSandboxId || c.podId.startsWith(filter.podSandboxId)) &&
        (!filter.state || c.state === filter.state) &&
        matchesLabels(c.spec.labels, filter.labelSelector),
    );
  }

  all(): ContainerRecord[] {
    return [...this.containers.values()];
  }

  ofPod(podId: string): ContainerRecord[] {
    return [...this.containers.values()].filter((c) => c.podId === podId);
  }

  private persist(c: ContainerRecord): Promise<void> {
    return this.deps.records.put(c.id, c);
  }

  create(podId: string, spec: ContainerSpec): Promise<string> {
    const pod = this.deps.pods.require(podId);
    if (pod.state !== 'ready') throw failedPrecondition(`pod sandbox ${pod.id} is not ready`, { podId: pod.id });
    if (!spec.metadata.name) throw invalidArgument('container metadata.name is required');
    if (!spec.image) throw invalidArgument('container image is required');
    const name = containerFullName(spec.metadata, pod.spec.metadata);
    return this.names.run(name, () => undefined, () => this.doCreate(pod.id, spec, name));
  }

  private async doCreate(podId: string, spec: ContainerSpec, fullName: string): Promise<string> {
    const t0 = Date.now();
    const pod = this.deps.pods.require(podId);
    const image = this.deps.images.status(spec.image);
    if (!image) throw notFound(`image "${spec.image}" not found`, { image: spec.image });
    const id = randomBytes(32).toString('hex');
    const dir = join(this.dir, id);
    const logPath = pod.spec.logDirectory && spec.logPath ? join(pod.spec.logDirectory, spec.logPath) : join(dir, 'container.log');
    if (!isAbsolute(logPath)) throw invalidArgument(`log path ${logPath} is not absolute`, { logPath });
    const cgPath = cgroupsPath(this.deps.cgroupDriver, pod.cgroupParent, id);
    const rec: ContainerRecord = {
      id,
      podId,
      fullName,
      spec,
      imageId: image.id,
      imageName: image.repoTags[0] ?? spec.image,
      imageRef: image.repoDigests[0] ?? image.id,
      state: 'creating',
      createdAt: nowNs(),
      startedAt: '0',
      finishedAt: '0',
      exitCode: 0,
      reason: '',
      message: '',
      runtimeHandler: pod.runtimeHandler,
      dir,
      bundle: dir,
      rootfs: join(dir, 'rootfs'),
      logPath,
      stopSignal: image.config.config?.StopSignal || 'SIGTERM',
      resources: spec.config.linux?.resources,
      cgroupsPath: cgPath,
    };
    this.containers.set(id, rec);
    // The intent record is written while the rootfs is prepared: a crash before it lands leaves only
    // an active snapshot and a bundle dir that no record claims, which the start-up reconcile
    // removes. Nothing runs (conmon, runc) before it has landed.
    const recorded = this.persist(rec);
    recorded.catch(() => undefined);
    try {
      mkdirSync(rec.rootfs, { recursive: true, mode: 0o755 });
      await this.deps.snapshots.prepareActive(id, image.layers.at(-1)?.chainId);
      await this.deps.snapshots.mount(id, rec.rootfs, false);
      await this.populateVolumes(rec);
      const ns = spec.config.linux?.securityContext?.namespaceOptions;
      const target = ns?.pid === 'TARGET' && ns.targetId ? this.require(ns.targetId) : undefined;
      // Network and IPC belong to the pod; only the PID mode is the container's own choice.
      const config = {
        ...spec.config,
        linux: {
          ...spec.config.linux,
          securityContext: {
            ...spec.config.linux?.securityContext,
            namespaceOptions: { ...ns, network: pod.networkMode, ipc: pod.ipcMode, pid: ns?.pid ?? pod.pidMode },
          },
        },
      };
      const ociSpec = await prepareContainerSpec({
        id,
        name: spec.metadata.name,
        config,
        image: image.config,
        imageName: rec.imageName,
        rootfs: rec.rootfs,
        pod: {
          id: pod.id,
          name: pod.spec.metadata.name,
          namespace: pod.spec.metadata.namespace,
          uid: pod.spec.metadata.uid,
          hostname: pod.spec.hostname || osHostname(),
          namespacePaths: { network: pod.namespaces.net, ipc: pod.namespaces.ipc, uts: pod.namespaces.uts },
          infraPid: pod.infra?.pid,
          resolvConfPath: pod.files?.resolvConfPath,
          hostsPath: pod.files?.hostsPath,
          hostnamePath: pod.files?.hostnamePath,
          shmPath: pod.shmPath,
          sysctls: pod.spec.linux.sysctls,
          cgroupParent: pod.cgroupParent,
        },
        cgroupDriver: this.deps.cgroupDriver,
        cgroupV2: this.deps.host.cgroupV2,
        oomScoreAdjFloor: this.deps.host.oomScoreAdjFloor,
        hostCapabilities: this.deps.host.hostCapabilities,
        swapControllerAvailable: this.deps.host.swapControllerAvailable,
        apparmorEnabled: this.deps.host.apparmorEnabled,
        targetPid: target?.pid,
      });
      ociSpec.annotations = { ...ociSpec.annotations, ...spec.annotations };
      await writeFileAtomic(join(dir, 'config.json'), JSON.stringify(ociSpec), 0o600, PER_BOOT);
      mkdirSync(dirname(logPath), { recursive: true, mode: 0o755 });
      await recorded;
      const runtime = this.deps.runtime(rec.runtimeHandler);
      const started = await startContainer({
        id,
        name: fullName,
        bundle: dir,
        runtimePath: runtime.path,
        runtimeArgs: runtime.globalArgs(),
        logPath,
        exitDir: this.exitDir,
        persistDir: dir,
        socketDir: this.socketDir,
        pidFile: join(dir, 'pidfile'),
        conmonPidFile: join(dir, 'conmon.pid'),
        terminal: spec.config.tty,
        stdin: spec.config.stdin,
        stdinOnce: spec.config.stdinOnce,
        systemdCgroup: this.deps.cgroupDriver === 'systemd',
        conmonPath: this.deps.conmon,
      });
      rec.pid = started.pid;
      rec.conmonPid = started.conmonPid;
      rec.state = 'created';
      await this.persist(rec);
      this.deps.events.emit('created', id, podId);
      log.info({ containerId: id, podId, name: fullName, ms: Date.now() - t0 }, 'container created');
      return id;
    } catch (e) {
      log.warn({ containerId: id, name: fullName, err: errorMessage(e) }, 'container creation failed; rolling back');
      // The record write must not land after release() deleted it.
      await recorded.catch(() => undefined);
      await this.release(rec).catch((err) => log.error({ containerId: id, err: errorMessage(err) }, 'rollback incomplete; reconcile will retry'));
      throw e;
    }
  }

  /** Empty named volumes mounted here get the image's files at their mount path first (as docker does). */
  private async populateVolumes(rec: ContainerRecord): Promise<void> {
    const volumes = this.deps.volumes;
    if (!volumes) return;
    for (const m of rec.spec.config.mounts ?? []) {
      const name = m.hostPath ? volumes.volumeAt(m.hostPath) : undefined;
      if (!name) continue;
      await volumes.populate(name, async () => {
        const src = await resolveInRoot(rec.rootfs, m.containerPath);
        const st = await fsp.lstat(src).catch(() => undefined);
        return st?.isDirectory() ? src : undefined;
      });
    }
  }

  /** Undo everything a container holds: runtime state, rootfs mount, snapshot, files, record. Idempotent. */
  async release(rec: ContainerRecord): Promise<void> {
    await this.deleteRuntimeContainer(rec);
    if (existsSync(rec.rootfs)) await this.deps.snapshots.unmount(rec.rootfs).catch(() => undefined);
    if (await this.deps.snapshots.exists(rec.id)) await this.deps.snapshots.remove(rec.id);
    await removeAttachLink(this.socketDir, rec.id);
    await fsp.rm(join(this.exitDir, rec.id), { force: true });
    await fsp.rm(rec.dir, { recursive: true, force: true });
    this.containers.delete(rec.id);
    this.names.release(rec.fullName, rec.id);
    await this.deps.records.delete(rec.id);
  }

  /** Kills and deletes the record's runtime container, if there is one (its rootfs and record stay). */
  async deleteRuntimeContainer(rec: ContainerRecord): Promise<void> {
    await this.deps.runtime(rec.runtimeHandler).delete(rec.id, true).catch((e) => {
      if (!isBerthError(e, 'not-found')) throw e;
    });
  }

  async start(id: string): Promise<void> {
    const rec = this.require(id);
    if (rec.state !== 'created') throw failedPrecondition(`container ${rec.id} is ${rec.state}, not created`, { containerId: rec.id, state: rec.state });
    rec.startedAt = nowNs();
    // An exit reported while the start is in flight is applied after it, so events stay in order.
    this.starting.add(rec.id);
    try {
      await this.deps.runtime(rec.runtimeHandler).start(rec.id);
      rec.state = 'running';
      this.deps.events.emit('started', rec.id, rec.podId);
    } finally {
      this.starting.delete(rec.id);
      const code = this.deferredExits.get(rec.id);
      this.deferredExits.delete(rec.id);
      if (code !== undefined) this.onExit(rec.id, code);
    }
    await this.persist(rec);
    log.info({ containerId: rec.id }, 'container started');
  }

  /** Called by the exit monitor when conmon records an exit. */
  onExit(id: string, exitCode: number): void {
    if (this.starting.has(id)) {
      this.deferredExits.set(id, exitCode);
      return;
    }
    const rec = this.containers.get(id);
    if (!rec || rec.state === 'exited') return;
    rec.state = 'exited';
    rec.exitCode = exitCode;
    let finished = Date.now();
    try {
      finished = statSync(join(this.exitDir, id)).mtimeMs;
    } catch {
      /* the exit file's time is best; now is close enough */
    }
    rec.finishedAt = (BigInt(Math.floor(finished)) * 1_000_000n).toString();
    if (rec.startedAt === '0') rec.startedAt = rec.finishedAt;
    const oom = existsSync(join(rec.dir, 'oom'));
    rec.reason = oom ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error';
    void this.persist(rec).catch((e) => log.error({ containerId: id, err: errorMessage(e) }, 'persisting exit failed'));
    this.deps.events.emit('stopped', rec.id, rec.podId);
    log.info({ containerId: id, exitCode, reason: rec.reason }, 'container exited');
  }

  async stop(id: string, timeoutSeconds: number): Promise<void> {
    const rec = this.require(id);
    if (rec.state !== 'running') return;
    const runtime = this.deps.runtime(rec.runtimeHandler);
    const kill = async (signal: string) => {
      await runtime.kill(rec.id, signal).catch((e) => {
        // Already gone: the exit file will say so.
        if (!(e instanceof BerthError)) throw e;
        log.debug({ containerId: rec.id, signal, err: e.message }, 'kill failed');
      });
    };
    if (timeoutSeconds > 0) {
      await kill(rec.stopSignal);
      if ((await this.exits.wait(rec.id, timeoutSeconds * 1000)) !== undefined) return;
      log.info({ containerId: rec.id, timeoutSeconds }, 'stop signal ignored; killing');
    }
    await kill('SIGKILL');
    if ((await this.exits.wait(rec.id, 30_000)) === undefined) {
      throw deadlineExceeded(`container ${rec.id} did not exit after SIGKILL`, { containerId: rec.id });
    }
  }

  /** Idempotent: an unknown container is already removed. Running containers are killed first. */
  async remove(id: string): Promise<void> {
    if (!id) throw invalidArgument('container id is required');
    const rec = this.find(id);
    if (!rec) return;
    if (rec.state === 'creating') throw failedPrecondition(`container ${rec.id} is still being created`, { containerId: rec.id });
    if (rec.state === 'running') await this.stop(rec.id, 0);
    await this.release(rec);
    this.deps.events.emit('deleted', rec.id, rec.podId);
    log.info({ containerId: rec.id }, 'container removed');
  }

  async stopAll(podId: string, timeoutSeconds: number): Promise<void> {
    await Promise.all(this.ofPod(podId).filter((c) => c.state === 'running').map((c) => this.stop(c.id, timeoutSeconds)));
  }

  async removeAll(podId: string): Promise<void> {
    for (const c of this.ofPod(podId)) await this.remove(c.id);
  }

  async execSync(id: string, cmd: string[], timeoutSeconds: number): Promise<{ stdout: Buffer; stderr: Buffer; exitCode: number }> {
    const rec = this.require(id);
    if (!cmd.length) throw invalidArgument('exec command is empty', { containerId: rec.id });
    if (rec.state !== 'running') throw failedPrecondition(`container ${rec.id} is not running`, { containerId: rec.id, state: rec.state });
    const r = await this.deps.runtime(rec.runtimeHandler).execSync(rec.id, cmd, {
      timeoutMs: timeoutSeconds > 0 ? timeoutSeconds * 1000 : undefined,
      maxOutputBytes: EXEC_OUTPUT_LIMIT,
    });
    if (r.timedOut) throw deadlineExceeded(`command ${JSON.stringify(cmd)} in container ${rec.id} timed out after ${timeoutSeconds}s`, { containerId: rec.id });
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
  }

  async updateResources(id: string, resources: CriLinuxResources | undefined): Promise<void> {
    const rec = this.require(id);
    if (rec.state === 'exited') throw failedPrecondition(`container ${rec.id} has exited`, { containerId: rec.id });
    const merged = { ...rec.resources, ...resources };
    if (resources) await this.deps.runtime(rec.runtimeHandler).update(rec.id, linuxResources(merged, this.deps.host));
    rec.resources = merged;
    await this.persist(rec);
  }

  /**
   * Ask conmon to reopen the log file (after the kubelet rotated it), and return once the file is
   * there again: conmon reopens asynchronously, and callers look for the new file right away.
   * Never waits on a container lock.
   */
  async reopenLog(id: string): Promise<void> {
    const rec = this.require(id);
    if (rec.state !== 'running') throw failedPrecondition(`container ${rec.id} is not running`, { containerId: rec.id });
    const ctl = join(rec.bundle, 'ctl');
    const fh = await fsp.open(ctl, 'w');
    try {
      // conmon's control protocol: "<type> <height> <width>\n"; type 2 reopens the log.
      await fh.write('2 0 0\n');
    } finally {
      await fh.close();
    }
    const deadline = Date.now() + REOPEN_WAIT_MS;
    while (!existsSync(rec.logPath)) {
      if (Date.now() > deadline) throw deadlineExceeded(`conmon did not reopen ${rec.logPath} within ${REOPEN_WAIT_MS} ms`, { containerId: rec.id });
      await new Promise((r) => setTimeout(r, 5));
    }
  }

}
