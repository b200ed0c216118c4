// The CLI's client of berth's own service (berth.v1.BerthService) on berthd's socket: unary calls
// with a deadline, server streams as async iterables, gRPC failures as one readable line. The CRI
// side is connection.ts; this is the only other CLI module that knows gRPC.
import { status as Code, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { createBerthClient, type BerthServiceClient } from '../cri/berth-proto';
import type {
  CheckLoginRequest,
  CheckLoginResponse__Output,
  CreateVolumeRequest,
  ExecRequest,
  ExecResponse__Output,
  ExecSyncRequest,
  ExecSyncResponse__Output,
  ListVolumesResponse__Output,
  RemoveVolumeRequest,
  RemoveVolumeResponse__Output,
  Volume__Output,
  Chunk,
  Chunk__Output,
  Event__Output,
  EventsRequest,
  ImageHistoryRequest,
  ImageHistoryResponse__Output,
  LoadResponse__Output,
  PruneReport__Output,
  PruneRequest,
  PullImageRequest,
  PullProgress__Output,
  PushImageRequest,
  PushProgress__Output,
  SaveImageRequest,
  TagImageRequest,
  TagImageResponse__Output,
  UntagImageRequest,
  UntagImageResponse__Output,
} from '../cri/berth-proto';
import { DEADLINE, describeRpcError } from './connection';
import { CliError } from './errors';

export type {
  AuthConfig,
  Event__Output,
  HistoryEntry__Output,
  PullProgress__Output,
  PushProgress__Output,
  PruneReport__Output,
  ProcessOverrides,
  Volume__Output,
} from '../cri/berth-proto';

/** A call berthd does not serve (an older berthd): callers may fall back to CRI. */
export class UnimplementedError extends CliError {}

export function isUnimplemented(e: unknown): boolean {
  return e instanceof UnimplementedError;
}

export class BerthConnection {
  private client?: BerthServiceClient;

  constructor(readonly socket: string) {}

  private get c(): BerthServiceClient {
    this.client ??= createBerthClient(this.socket);
    return this.client;
  }

  private fail(e: ServiceError, what: string, timeoutMs: number): CliError {
    const msg = describeRpcError(e, this.socket, what, timeoutMs);
    return e.code === Code.UNIMPLEMENTED ? new UnimplementedError(msg) : new CliError(msg);
  }

  private unary<Req, Res>(what: string, req: Req, timeoutMs: number): Promise<Res> {
    return new Promise((resolve, reject) => {
      const fn = (this.c as unknown as Record<string, (r: Req, o: { deadline: Date }, cb: (e: ServiceError | null, r: Res) => void) => void>)[what];
      fn.call(this.c, req, { deadline: new Date(Date.now() + timeoutMs) }, (err, res) => (err ? reject(this.fail(err, what, timeoutMs)) : resolve(res)));
    });
  }

  /** Messages of a server stream; gRPC errors become CliErrors. `cancel` ends it early (Ctrl-C). */
  private async *stream<T>(what: string, call: ClientReadableStream<T>, timeoutMs: number): AsyncGenerator<T> {
    try {
      for await (const m of call) yield m as T;
    } catch (e) {
      const err = e as ServiceError;
      if (typeof err.code === 'number') throw this.fail(err, what, timeoutMs);
      throw e;
    } finally {
      // A consumer that stops early (break, --until-count) cancels the call.
      call.cancel();
    }
  }

  tag(req: TagImageRequest): Promise<TagImageResponse__Output> {
    return this.unary('TagImage', req, DEADLINE.default);
  }

  untag(req: UntagImageRequest): Promise<UntagImageResponse__Output> {
    return this.unary('UntagImage', req, DEADLINE.default);
  }

  history(req: ImageHistoryRequest): Promise<ImageHistoryResponse__Output> {
    return this.unary('ImageHistory', req, DEADLINE.default);
  }

  prune(req: PruneRequest): Promise<PruneReport__Output> {
    return this.unary('Prune', req, DEADLINE.pull);
  }

  exec(req: ExecRequest): Promise<ExecResponse__Output> {
    return this.unary('Exec', req, DEADLINE.default);
  }

  execSync(req: ExecSyncRequest, timeoutMs: number): Promise<ExecSyncResponse__Output> {
    return this.unary('ExecSync', req, timeoutMs);
  }

  createVolume(req: CreateVolumeRequest): Promise<Volume__Output> {
    return this.unary('CreateVolume', req, DEADLINE.default);
  }

  listVolumes(): Promise<ListVolumesResponse__Output> {
    return this.unary('ListVolumes', {}, DEADLINE.default);
  }

  inspectVolume(name: string): Promise<Volume__Output> {
    return this.unary('InspectVolume', { name }, DEADLINE.default);
  }

  removeVolume(req: RemoveVolumeRequest): Promise<RemoveVolumeResponse__Output> {
    return this.unary('RemoveVolume', req, DEADLINE.default);
  }

  checkLogin(req: CheckLoginRequest): Promise<CheckLoginResponse__Output> {
    return this.unary('CheckLogin', req, DEADLINE.default);
  }

  pull(req: PullImageRequest): AsyncGenerator<PullProgress__Output> {
    return this.stream('PullImage', this.c.PullImage(req, { deadline: new Date(Date.now() + DEADLINE.pull) }), DEADLINE.pull);
  }

  push(req: PushImageRequest): AsyncGenerator<PushProgress__Output> {
    return this.stream('PushImage', this.c.PushImage(req, { deadline: new Date(Date.now() + DEADLINE.pull) }), DEADLINE.pull);
  }

  save(req: SaveImageRequest): AsyncGenerator<Chunk__Output> {
    return this.stream('SaveImage', this.c.SaveImage(req, { deadline: new Date(Date.now() + DEADLINE.pull) }), DEADLINE.pull);
  }

  /** Events have no deadline: they stream until the caller stops reading. */
  events(req: EventsRequest): AsyncGenerator<Event__Output> {
    return this.stream('Events', this.c.Events(req), 0);
  }

  /** Streams `source` (an archive) to LoadImage, respecting the call's flow control. */
  load(source: AsyncIterable<Buffer>): Promise<LoadResponse__Output> {
    const timeoutMs = DEADLINE.pull;
    return new Promise((resolve, reject) => {
      const call = this.c.LoadImage({ deadline: new Date(Date.now() + timeoutMs) }, (err, res) =>
        err ? reject(this.fail(err, 'LoadImage', timeoutMs)) : resolve(res as LoadResponse__Output),
      );
      (async () => {
        for await (const data of source) {
          const chunk: Chunk = { data };
          if (!call.write(chunk)) await new Promise((r) => call.once('drain', r));
        }
        call.end();
      })().catch((e: unknown) => {
        call.cancel();
        reject(e);
      });
    });
  }

  close(): void {
    this.client?.close();
    this.client = undefined;
  }
}
