// berth's own service (berth.v1.BerthService): what the CLI needs beyond CRI. Validates requests,
// calls the image and runtime domains, and streams progress, archives and events.
import { Readable } from 'node:stream';
import type { ServerReadableStream, ServerWritableStream, sendUnaryData } from '@grpc/grpc-js';
import type { ImageEvent, ImageService as ImageDomain } from '../image/image-service';
import type { Runtime } from '../runtime/runtime';
import type { ContainerEvent, PodEvent } from '../runtime/events';
import type { VolumeInfo, VolumeStore } from '../runtime/volumes';
import type { ExecRequest as StreamingExecRequest } from '../streaming/types';
import type { Credentials } from '../image/registry/auth';
import { invalidArgument } from '../util/errors';
import type {
  AuthConfig__Output,
  CheckLoginRequest__Output,
  CheckLoginResponse,
  CreateVolumeRequest__Output,
  ExecRequest__Output,
  ExecResponse,
  ExecSyncRequest__Output,
  ExecSyncResponse,
  InspectVolumeRequest__Output,
  ListVolumesResponse,
  ProcessOverrides__Output,
  RemoveVolumeRequest__Output,
  RemoveVolumeResponse,
  Volume,
  Chunk,
  Chunk__Output,
  Event,
  EventsRequest__Output,
  ImageHistoryRequest__Output,
  ImageHistoryResponse,
  LoadResponse,
  PruneReport,
  PruneRequest__Output,
  PullImageRequest__Output,
  PullProgress,
  PushImageRequest__Output,
  PushProgress,
  SaveImageRequest__Output,
  TagImageRequest__Output,
  TagImageResponse,
  UntagImageRequest__Output,
  UntagImageResponse,
} from './berth-proto';
import { clientStream, required, serverStream, type StreamSend, type UnaryImpl } from './rpc';

type EventTypeName = 'CONTAINER' | 'POD' | 'IMAGE';

function credentials(a: AuthConfig__Output | null | undefined) {
  if (!a) return undefined;
  const c = {
    username: a.username || undefined,
    password: a.password || undefined,
    identityToken: a.identityToken || undefined,
    registryToken: a.registryToken || undefined,
  };
  return Object.values(c).some((v) => v !== undefined) ? c : undefined;
}

/** Progress callbacks are synchronous; messages go out in order, each after the previous is taken. */
function orderedSender<M>(send: StreamSend<M>): { emit(m: M): void; flush(): Promise<void> } {
  let chain: Promise<void> = Promise.resolve();
  return {
    emit(m) {
      chain = chain.then(() => send(m));
      chain.catch(() => undefined);
    },
    flush: () => chain,
  };
}

const nowNs = (): string => (BigInt(Date.now()) * 1_000_000n).toString();

const CONTAINER_ACTIONS: Record<ContainerEvent['type'], string> = { created: 'create', started: 'start', stopped: 'die', deleted: 'destroy' };
const POD_ACTIONS: Record<PodEvent['type'], string> = { created: 'create', stopped: 'stop', deleted: 'destroy' };

/** What the service needs besides the image and runtime domains. */
export interface BerthServiceDeps {
  /** The streaming server's URL registration (the same server as CRI Exec's). */
  streaming: { getExecUrl(req: StreamingExecRequest): string };
  volumes: VolumeStore;
  /** Resolves with the registry endpoint that accepted the credentials (docker login's check). */
  checkLogin(registry: string, creds: Credentials, signal: AbortSignal): Promise<string>;
}

function volumeMessage(v: VolumeInfo): Volume {
  return { name: v.name, mountpoint: v.mountpoint, createdAt: v.createdAt, labels: v.labels, usedBy: v.usedBy };
}

function overrides(p: ProcessOverrides__Output | null | undefined) {
  return { user: p?.user || undefined, workdir: p?.workdir || undefined, env: p?.env ?? [] };
}

/** The berth service's unary handlers (for handlersFor) and its streaming ones. */
export function berthHandlers(
  images: ImageDomain,
  rt: Runtime,
  deps: BerthServiceDeps,
): {
  unary: Record<string, UnaryImpl<any, any>>;
  streams: Record<string, ((call: ServerWritableStream<any, any>) => void) | ((call: ServerReadableStream<any, any>, cb: sendUnaryData<any>) => void)>;
} {
  const unary: Record<string, UnaryImpl<any, any>> = {
    UntagImage: async (req: UntagImageRequest__Output): Promise<UntagImageResponse> => {
      const r = await images.untag(required(req.reference, 'UntagImage: reference'));
      return { imageId: r.id, imageRemoved: r.imageRemoved };
    },

    TagImage: async (req: TagImageRequest__Output): Promise<TagImageResponse> => {
      const r = await images.tag(required(req.source, 'TagImage: source'), required(req.target, 'TagImage: target'));
      return { imageId: r.id, target: r.target };
    },

    ImageHistory: (req: ImageHistoryRequest__Output): ImageHistoryResponse => {
      const h = images.history(required(req.image, 'ImageHistory: image'));
      return {
        imageId: h.id,
        entries: h.entries.map((e) => ({
          layer: e.layer,
          created: e.created ?? '',
          createdBy: e.created_by ?? '',
          author: e.author ?? '',
          comment: e.comment ?? '',
          emptyLayer: e.empty_layer ?? false,
          size: String(e.size),
        })),
      };
    },

    Exec: async (req: ExecRequest__Output): Promise<ExecResponse> => {
      const id = rt.containers.require(required(req.containerId, 'Exec: container_id')).id;
      if (!req.cmd.length) throw invalidArgument('Exec: cmd is required', { containerId: id });
      const process = await rt.streams.processSettings(id, overrides(req.process));
      return {
        url: deps.streaming.getExecUrl({ containerId: id, cmd: req.cmd, tty: req.tty, stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, ...(process ? { process } : {}) }),
      };
    },

    ExecSync: async (req: ExecSyncRequest__Output): Promise<ExecSyncResponse> => {
      const id = rt.containers.require(required(req.containerId, 'ExecSync: container_id')).id;
      const process = await rt.streams.processSettings(id, overrides(req.process));
      const r = await rt.streams.execSync(id, req.cmd, Number(req.timeout), process);
      return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
    },

    CreateVolume: async (req: CreateVolumeRequest__Output): Promise<Volume> =>
      volumeMessage(await deps.volumes.create(required(req.name, 'CreateVolume: name'), req.labels ?? {})),

    ListVolumes: (): ListVolumesResponse => ({ volumes: deps.volumes.list().map(volumeMessage) }),

    InspectVolume: (req: InspectVolumeRequest__Output): Volume => volumeMessage(deps.volumes.get(required(req.name, 'InspectVolume: name'))),

    RemoveVolume: async (req: RemoveVolumeRequest__Output): Promise<RemoveVolumeResponse> => ({
      removed: await deps.volumes.remove(required(req.name, 'RemoveVolume: name'), req.force),
    }),

    CheckLogin: async (req: CheckLoginRequest__Output, ctx): Promise<CheckLoginResponse> => {
      const registry = required(req.registry, 'CheckLogin: registry');
      const creds = credentials(req.auth);
      if (!creds) throw invalidArgument('CheckLogin: auth is required', { registry });
      return { endpoint: await deps.checkLogin(registry, creds, ctx.signal) };
    },

    Prune: async (req: PruneRequest__Output): Promise<PruneReport> => {
      const before = await images.fsUsage();
      const removedPods: string[] = [];
      const removedContainers: string[] = [];
      if (req.pods) {
        for (const p of rt.pods.all()) {
          if (p.state !== 'notready') continue;
          for (const c of rt.containers.ofPod(p.id)) removedContainers.push(c.id);
          await rt.pods.remove(p.id);
          removedPods.push(p.id);
        }
      }
      if (req.containers) {
        for (const c of rt.containers.all()) {
          if (c.state !== 'exited') continue;
          await rt.containers.remove(c.id);
          removedContainers.push(c.id);
        }
      }
      let removedImages: string[] = [];
      if (req.images === 'DANGLING' || req.images === 'ALL_UNUSED') {
        const inUse = new Set(rt.containers.all().map((c) => c.imageId));
        removedImages = await images.prune(req.images === 'DANGLING' ? 'dangling' : 'all-unused', inUse);
      } else {
        await images.gc();
      }
      const removedVolumes = req.volumes ? await deps.volumes.prune() : [];
      const after = await images.fsUsage();
      return {
        removedVolumes,
        removedImages,
        removedContainers,
        removedPods,
        reclaimedBytes: String(Math.max(0, before.usedBytes - after.usedBytes)),
      };
    },
  };

  const streams = {
    PullImage: serverStream<PullImageRequest__Output, PullProgress>('berth.PullImage', async (req, send, ctx) => {
      const name = required(req.image, 'PullImage: image');
      const out = orderedSender(send);
      const p = req.platform;
      const platform = p && (p.os || p.architecture) ? { os: p.os || 'linux', architecture: p.architecture || 'amd64', ...(p.variant ? { variant: p.variant } : {}) } : undefined;
      const rec = await images.pull(name, {
        auth: credentials(req.auth),
        signal: ctx.signal,
        ...(platform ? { platform } : {}),
        onProgress: (ev) => out.emit({ digest: ev.digest, status: ev.status, current: String(ev.current), total: String(ev.total) }),
      });
      out.emit({ status: 'done', done: true, imageId: rec.id, reference: name });
      await out.flush();
    }),

    PushImage: serverStream<PushImageRequest__Output, PushProgress>('berth.PushImage', async (req, send, ctx) => {
      const name = required(req.image, 'PushImage: image');
      const out = orderedSender(send);
      const res = await images.push(name, req.target || undefined, {
        auth: credentials(req.auth),
        signal: ctx.signal,
        onPushProgress: (ev) =>
          ev.status !== 'done' && out.emit({ digest: ev.digest, kind: ev.kind, status: ev.status, current: String(ev.current), total: String(ev.total) }),
      });
      out.emit({ status: 'done', kind: 'manifest', done: true, manifestDigest: res.digest, reference: res.reference, digest: res.digest });
      await out.flush();
    }),

    SaveImage: serverStream<SaveImageRequest__Output, Chunk>('berth.SaveImage', async (req, send, ctx) => {
      if (req.images.length === 0) throw invalidArgument('SaveImage: images is required');
      const archive = images.save(req.images, req.format === 'OCI_ARCHIVE' ? 'oci-archive' : 'docker-archive');
      const stop = () => archive.destroy();
      ctx.signal.addEventListener('abort', stop, { once: true });
      try {
        for await (const chunk of archive) await send({ data: chunk as Buffer });
      } finally {
        ctx.signal.removeEventListener('abort', stop);
      }
    }),

    LoadImage: clientStream<Chunk__Output, LoadResponse>('berth.LoadImage', async (input, ctx) => {
      const bytes = Readable.from(
        (async function* () {
          for await (const c of input) if (c.data?.length) yield c.data;
        })(),
      );
      const loaded = await images.load(bytes, { signal: ctx.signal });
      return { images: loaded.map((l) => ({ id: l.id, tags: l.tags })) };
    }),

    Events: serverStream<EventsRequest__Output, Event>('berth.Events', async (req, send, ctx) => {
      const types = new Set(req.types.filter((t) => t !== 'EVENT_TYPE_UNSPECIFIED'));
      const actions = new Set(req.actions);
      const ids = new Set(req.ids);
      const out = orderedSender(send);
      const publish = (type: EventTypeName, action: string, id: string, attributes: Record<string, string>, time = nowNs()) => {
        if (types.size && !types.has(type)) return;
        if (actions.size && !actions.has(action)) return;
        if (ids.size && !ids.has(id) && !(attributes.name && ids.has(attributes.name))) return;
        out.emit({ time, type, action, id, attributes });
      };
      const offs = [
        rt.events.subscribe((ev) => {
          const c = rt.containers.get(ev.containerId);
          const attributes: Record<string, string> = { pod: ev.podId };
          if (c) {
            attributes.name = c.spec.metadata?.name ?? '';
            attributes.image = c.imageName;
            if (ev.type === 'stopped') attributes.exitCode = String(c.exitCode);
          }
          publish('CONTAINER', CONTAINER_ACTIONS[ev.type], ev.containerId, attributes, ev.createdAt);
        }),
        rt.events.subscribePods((ev) => {
          const p = rt.pods.get(ev.podId);
          publish('POD', POD_ACTIONS[ev.type], ev.podId, p ? { name: p.spec.metadata?.name ?? '', namespace: p.spec.metadata?.namespace ?? '' } : {}, ev.createdAt);
        }),
        images.onEvent((ev: ImageEvent) => publish('IMAGE', ev.action, ev.id, ev.name ? { name: ev.name } : {})),
      ];
      try {
        // Until the client goes away; a failed send (client gone) ends it too.
        await new Promise<void>((resolve) => {
          if (ctx.signal.aborted) resolve();
          ctx.signal.addEventListener('abort', () => resolve(), { once: true });
        });
      } finally {
        for (const off of offs) off();
      }
    }),
  };
  return { unary, streams };
}
