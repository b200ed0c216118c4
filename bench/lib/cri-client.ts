// Promise wrappers with deadlines around the typed CRI client (src/cri/proto.ts), for the calls
// benchmarks make. Both runtimes (berthd and the containerd yardstick) are driven through these.
import type * as grpc from '@grpc/grpc-js';
import {
  createCriClients,
  type AuthConfig,
  type ContainerConfig,
  type CriClients,
  type Image__Output,
  type ImageFilter,
  type ImageStatusResponse__Output,
  type PullImageRequest,
  type PullImageResponse__Output,
  type ListImagesRequest,
  type ListImagesResponse__Output,
  type RunPodSandboxRequest,
  type RunPodSandboxResponse__Output,
  type CreateContainerRequest,
  type CreateContainerResponse__Output,
  type ExecRequest,
  type ExecResponse__Output,
  type ExecSyncRequest,
  type ExecSyncResponse__Output,
  type PodSandboxConfig,
  type VersionResponse__Output,
} from '../../src/cri/proto';

export type { CriClients } from '../../src/cri/proto';

/** Default deadline of an RPC; pulls of large images get their own (see pullImage). */
export const DEFAULT_DEADLINE_MS = 60_000;

type UnaryMethod<Req, Res> = (req: Req, options: grpc.CallOptions, cb: grpc.requestCallback<Res>) => grpc.ClientUnaryCall;

/** One unary call with a deadline; rejects with the gRPC error (code + details) on failure. */
export function unary<Req, Res>(client: grpc.Client, method: UnaryMethod<Req, Res>, req: Req, deadlineMs = DEFAULT_DEADLINE_MS): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, req, { deadline: new Date(Date.now() + deadlineMs) }, (err, res) => {
      if (err) reject(err);
      else if (res === undefined) reject(new Error('empty response'));
      else resolve(res);
    });
  });
}

export class CriClient {
  readonly clients: CriClients;

  constructor(readonly socket: string) {
    this.clients = createCriClients(socket);
  }

  close(): void {
    this.clients.close();
  }

  private get rt() {
    return this.clients.runtime;
  }

  private get img() {
    return this.clients.image;
  }

  version(deadlineMs = 5_000): Promise<VersionResponse__Output> {
    return unary(this.rt, this.rt.version, { version: 'v1' }, deadlineMs);
  }

  /** Retry Version until it answers or `timeoutMs` passes (a daemon creates its socket before it serves CRI). */
  async waitReady(timeoutMs = 30_000, isAlive: () => boolean = () => true): Promise<VersionResponse__Output> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      if (!isAlive()) throw new Error(`daemon behind ${this.socket} exited before serving CRI`);
      try {
        return await this.version(Math.min(2_000, Math.max(100, deadline - Date.now())));
      } catch (e) {
        last = e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(`no CRI Version answer on ${this.socket} within ${timeoutMs} ms: ${(last as Error)?.message}`);
  }

  // ---- images ----

  /** PullImage; resolves to the image ref (ID) the runtime reports. */
  async pullImage(image: string, opts: { auth?: AuthConfig; deadlineMs?: number } = {}): Promise<string> {
    const res = await unary<PullImageRequest, PullImageResponse__Output>(this.img, this.img.pullImage, { image: { image }, ...(opts.auth ? { auth: opts.auth } : {}) }, opts.deadlineMs ?? 600_000);
    return res.imageRef;
  }

  async removeImage(image: string, deadlineMs = DEFAULT_DEADLINE_MS): Promise<void> {
    await unary(this.img, this.img.removeImage, { image: { image } }, deadlineMs);
  }

  async listImages(filter?: ImageFilter, deadlineMs = DEFAULT_DEADLINE_MS): Promise<Image__Output[]> {
    const res = await unary<ListImagesRequest, ListImagesResponse__Output>(this.img, this.img.listImages, filter ? { filter } : {}, deadlineMs);
    return res.images;
  }

  imageStatus(image: string, deadlineMs = DEFAULT_DEADLINE_MS): Promise<ImageStatusResponse__Output> {
    return unary(this.img, this.img.imageStatus, { image: { image } }, deadlineMs);
  }

  // ---- pods and containers (lifecycle benchmark) ----

  async runPodSandbox(config: PodSandboxConfig, runtimeHandler = '', deadlineMs = 120_000): Promise<string> {
    const res = await unary<RunPodSandboxRequest, RunPodSandboxResponse__Output>(this.rt, this.rt.runPodSandbox, { config, runtimeHandler }, deadlineMs);
    return res.podSandboxId;
  }

  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig, deadlineMs = 120_000): Promise<string> {
    const res = await unary<CreateContainerRequest, CreateContainerResponse__Output>(this.rt, this.rt.createContainer, { podSandboxId, config, sandboxConfig }, deadlineMs);
    return res.containerId;
  }

  async startContainer(containerId: string, deadlineMs = DEFAULT_DEADLINE_MS): Promise<void> {
    await unary(this.rt, this.rt.startContainer, { containerId }, deadlineMs);
  }

  /** `timeoutSec` is the grace period before SIGKILL (CRI semantics); the RPC deadline adds to it. */
  async stopContainer(containerId: string, timeoutSec = 0, deadlineMs = DEFAULT_DEADLINE_MS): Promise<void> {
    await unary(this.rt, this.rt.stopContainer, { containerId, timeout: timeoutSec }, deadlineMs + timeoutSec * 1000);
  }

  async removeContainer(containerId: string, deadlineMs = DEFAULT_DEADLINE_MS): Promise<void> {
    await unary(this.rt, this.rt.removeContainer, { containerId }, deadlineMs);
  }

  async stopPodSandbox(podSandboxId: string, deadlineMs = DEFAULT_DEADLINE_MS): Promise<void> {
    await unary(this.rt, this.rt.stopPodSandbox, { podSandboxId }, deadlineMs);
  }

  async removePodSandbox(podSandboxId: string, deadlineMs = DEFAULT_DEADLINE_MS): Promise<void> {
    await unary(this.rt, this.rt.removePodSandbox, { podSandboxId }, deadlineMs);
  }

  // ---- exec (exec benchmark) ----

  /** ExecSync: run `cmd` in the container and wait for it; `timeoutSec` 0 = no runtime timeout. */
  execSync(containerId: string, cmd: string[], timeoutSec = 0, deadlineMs = DEFAULT_DEADLINE_MS): Promise<ExecSyncResponse__Output> {
    return unary<ExecSyncRequest, ExecSyncResponse__Output>(this.rt, this.rt.execSync, { containerId, cmd, timeout: timeoutSec }, deadlineMs);
  }

  /** Exec: register a streaming exec; resolves to the streaming server URL to connect to. */
  async exec(req: ExecRequest, deadlineMs = DEFAULT_DEADLINE_MS): Promise<string> {
    const res = await unary<ExecRequest, ExecResponse__Output>(this.rt, this.rt.exec, req, deadlineMs);
    return res.url;
  }
}
