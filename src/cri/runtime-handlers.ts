// CRI RuntimeService: validates requests, translates to the runtime domain and back.
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { Runtime } from '../runtime/runtime';
import { failedPrecondition, invalidArgument } from '../util/errors';
import type {
  ContainerEventResponse,
  ContainerStatusRequest__Output,
  ContainerStatsRequest__Output,
  ListContainerStatsRequest__Output,
  PodSandboxStatsRequest__Output,
  ListPodSandboxStatsRequest__Output,
  CreateContainerRequest__Output,
  ExecSyncRequest__Output,
  ExecRequest__Output,
  AttachRequest__Output,
  PortForwardRequest__Output,
  GetEventsRequest__Output,
  ListContainersRequest__Output,
  ListPodSandboxRequest__Output,
  PodSandboxStatusRequest__Output,
  RemoveContainerRequest__Output,
  RemovePodSandboxRequest__Output,
  ReopenContainerLogRequest__Output,
  RunPodSandboxRequest__Output,
  StartContainerRequest__Output,
  StatusRequest__Output,
  StatusResponse,
  StopContainerRequest__Output,
  StopPodSandboxRequest__Output,
  UpdateContainerResourcesRequest__Output,
  UpdateRuntimeConfigRequest__Output,
  VersionResponse,
  RuntimeConfigResponse,
} from './proto';
import { required, type UnaryImpl } from './rpc';
import { toContainerStats, toPodSandboxStats } from './stats-translate';
import { containerSpec, podSandboxSpec, resources, toContainer, toContainerStatus, toPodSandbox, toPodSandboxStatus } from './runtime-translate';

export const RUNTIME_NAME = 'berth';
export const CRI_API_VERSION = 'v1';

export interface RuntimeInfo {
  version: string;
  cgroupDriver: 'cgroupfs' | 'systemd';
  /** Extra verbose Status info (config, etc.). */
  verboseInfo: () => Record<string, string>;
}

const CTR_STATES: Record<string, 'created' | 'running' | 'exited' | 'unknown'> = {
  CONTAINER_CREATED: 'created',
  CONTAINER_RUNNING: 'running',
  CONTAINER_EXITED: 'exited',
  CONTAINER_UNKNOWN: 'unknown',
};

const EVENT_TYPES = {
  created: 'CONTAINER_CREATED_EVENT',
  started: 'CONTAINER_STARTED_EVENT',
  stopped: 'CONTAINER_STOPPED_EVENT',
  deleted: 'CONTAINER_DELETED_EVENT',
} as const;

/** The streaming server's URL issuing, as the CRI handlers need it. */
export interface StreamingUrls {
  getExecUrl(req: { containerId: string; cmd: string[]; tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }): string;
  getAttachUrl(req: { containerId: string; tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }): string;
  getPortForwardUrl(req: { podSandboxId: string; ports?: number[] }): string;
}

export function runtimeHandlers(info: RuntimeInfo, rt: Runtime, streaming: StreamingUrls): Record<string, UnaryImpl<any, any>> {
  return {
    Version: (): VersionResponse => ({
      version: '0.1.0',
      runtimeName: RUNTIME_NAME,
      runtimeVersion: info.version,
      runtimeApiVersion: CRI_API_VERSION,
    }),

    Status: (req: StatusRequest__Output): StatusResponse => {
      const net = rt.cni.status();
      return {
        status: {
          conditions: [
            { type: 'RuntimeReady', status: true, reason: '', message: '' },
            { type: 'NetworkReady', status: net.ready, reason: net.ready ? '' : net.reason ?? 'NetworkPluginNotReady', message: net.message ?? '' },
          ],
        },
        info: req.verbose ? info.verboseInfo() : {},
        runtimeHandlers: rt.runtimeHandlers().map((name) => ({ name, features: { recursiveReadOnlyMounts: false, userNamespaces: false } })),
        features: null,
      };
    },

    RuntimeConfig: (): RuntimeConfigResponse => ({
      linux: { cgroupDriver: info.cgroupDriver === 'systemd' ? 'SYSTEMD' : 'CGROUPFS' },
    }),

    // The kubelet pushes the pod CIDR here; berth's CNI config owns addressing, so it is accepted.
    UpdateRuntimeConfig: (_req: UpdateRuntimeConfigRequest__Output) => ({}),

    RunPodSandbox: async (req: RunPodSandboxRequest__Output) => ({
      podSandboxId: await rt.pods.run(podSandboxSpec(req.config), req.runtimeHandler),
    }),

    StopPodSandbox: async (req: StopPodSandboxRequest__Output) => {
      await rt.pods.stop(required(req.podSandboxId, 'pod_sandbox_id'));
      return {};
    },

    RemovePodSandbox: async (req: RemovePodSandboxRequest__Output) => {
      await rt.pods.remove(required(req.podSandboxId, 'pod_sandbox_id'));
      return {};
    },

    PodSandboxStatus: (req: PodSandboxStatusRequest__Output) => {
      const p = rt.pods.require(required(req.podSandboxId, 'pod_sandbox_id'));
      const info: Record<string, string> = {};
      if (req.verbose) info.info = JSON.stringify({ pid: p.infra?.pid ?? 0, namespaces: p.namespaces, cgroupParent: p.cgroupParent, ips: p.ips, runtimeHandler: p.runtimeHandler });
      return { status: toPodSandboxStatus(p), info, containersStatuses: [], timestamp: String(BigInt(Date.now()) * 1_000_000n) };
    },

    ListPodSandbox: (req: ListPodSandboxRequest__Output) => {
      const f = req.filter;
      const state = f?.state ? (f.state.state === 'SANDBOX_READY' ? 'ready' : 'notready') : undefined;
      return { items: rt.pods.list({ id: f?.id || undefined, state, labelSelector: f?.labelSelector }).map(toPodSandbox) };
    },

    CreateContainer: async (req: CreateContainerRequest__Output) => ({
      containerId: await rt.containers.create(required(req.podSandboxId, 'pod_sandbox_id'), containerSpec(req.config)),
    }),

    StartContainer: async (req: StartContainerRequest__Output) => {
      await rt.containers.start(required(req.containerId, 'container_id'));
      return {};
    },

    StopContainer: async (req: StopContainerRequest__Output) => {
      await rt.containers.stop(required(req.containerId, 'container_id'), Number(req.timeout));
      return {};
    },

    RemoveContainer: async (req: RemoveContainerRequest__Output) => {
      await rt.containers.remove(required(req.containerId, 'container_id'));
      return {};
    },

    ListContainers: (req: ListContainersRequest__Output) => {
      const f = req.filter;
      return {
        containers: rt.containers
          .list({
            id: f?.id || undefined,
            podSandboxId: f?.podSandboxId || undefined,
            state: f?.state ? CTR_STATES[f.state.state] : undefined,
            labelSelector: f?.labelSelector,
          })
          .map(toContainer),
      };
    },

    ContainerStatus: (req: ContainerStatusRequest__Output) => {
      const c = rt.containers.require(required(req.containerId, 'container_id'));
      const info: Record<string, string> = {};
      if (req.verbose) info.info = JSON.stringify({ pid: c.pid ?? 0, sandboxId: c.podId, runtimeHandler: c.runtimeHandler, bundle: c.bundle, cgroupsPath: c.cgroupsPath, config: c.spec });
      return { status: toContainerStatus(c), info };
    },

    UpdateContainerResources: async (req: UpdateContainerResourcesRequest__Output) => {
      await rt.containers.updateResources(required(req.containerId, 'container_id'), resources(req.linux));
      return {};
    },

    ReopenContainerLog: async (req: ReopenContainerLogRequest__Output) => {
      await rt.containers.reopenLog(required(req.containerId, 'container_id'));
      return {};
    },

    ContainerStats: async (req: ContainerStatsRequest__Output) => ({
      stats: toContainerStats(await rt.stats.byId(required(req.containerId, 'container_id'))),
    }),

    ListContainerStats: async (req: ListContainerStatsRequest__Output) => {
      const f = req.filter;
      const samples = await rt.stats.list({ id: f?.id || undefined, podSandboxId: f?.podSandboxId || undefined, labelSelector: f?.labelSelector });
      return { stats: samples.map(toContainerStats) };
    },

    PodSandboxStats: async (req: PodSandboxStatsRequest__Output) => {
      const p = rt.pods.require(required(req.podSandboxId, 'pod_sandbox_id'));
      return { stats: toPodSandboxStats(p, await rt.stats.list({ podSandboxId: p.id })) };
    },

    ListPodSandboxStats: async (req: ListPodSandboxStatsRequest__Output) => {
      const f = req.filter;
      const pods = rt.pods.list({ id: f?.id || undefined, labelSelector: f?.labelSelector, state: 'ready' });
      return { stats: await Promise.all(pods.map(async (p) => toPodSandboxStats(p, await rt.stats.list({ podSandboxId: p.id })))) };
    },

    Exec: (req: ExecRequest__Output) => {
      const c = rt.containers.require(required(req.containerId, 'container_id'));
      if (c.state !== 'running') throw failedPrecondition(`container ${c.id} is not running`, { containerId: c.id });
      if (!req.cmd.length) throw invalidArgument('exec command is empty');
      return { url: streaming.getExecUrl({ containerId: c.id, cmd: req.cmd, tty: req.tty, stdin: req.stdin, stdout: req.stdout, stderr: req.stderr }) };
    },

    Attach: (req: AttachRequest__Output) => {
      const c = rt.containers.require(required(req.containerId, 'container_id'));
      if (c.state !== 'running') throw failedPrecondition(`container ${c.id} is not running`, { containerId: c.id });
      return { url: streaming.getAttachUrl({ containerId: c.id, tty: req.tty, stdin: req.stdin, stdout: req.stdout, stderr: req.stderr }) };
    },

    PortForward: (req: PortForwardRequest__Output) => {
      const p = rt.pods.require(required(req.podSandboxId, 'pod_sandbox_id'));
      if (p.state !== 'ready') throw failedPrecondition(`pod sandbox ${p.id} is not ready`, { podId: p.id });
      return { url: streaming.getPortForwardUrl({ podSandboxId: p.id, ports: req.port.length ? req.port : undefined }) };
    },

    ExecSync: async (req: ExecSyncRequest__Output) => {
      const r = await rt.containers.execSync(required(req.containerId, 'container_id'), req.cmd, Number(req.timeout));
      return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
    },
  };
}

/** GetContainerEvents: a server stream of lifecycle events until the client goes away. */
export function containerEventsStream(rt: Runtime) {
  return (call: ServerWritableStream<GetEventsRequest__Output, ContainerEventResponse>): void => {
    const unsubscribe = rt.events.subscribe((ev) => {
      const c = rt.containers.get(ev.containerId);
      const p = rt.pods.get(ev.podId);
      call.write({
        containerId: ev.containerId,
        containerEventType: EVENT_TYPES[ev.type],
        createdAt: ev.createdAt,
        podSandboxStatus: p ? toPodSandboxStatus(p) : null,
        containersStatuses: c ? [toContainerStatus(c)] : [],
      });
    });
    call.on('cancelled', unsubscribe);
    call.on('close', unsubscribe);
    call.on('error', unsubscribe);
  };
}

