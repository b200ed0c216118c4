// The CLI's one connection to berthd: CRI clients on the unix socket, unary calls with a deadline
// each, and gRPC failures turned into one readable line. The only CLI module that knows gRPC.
import { status as Code, type ServiceError, type requestCallback } from '@grpc/grpc-js';
import { createCriClients, type CriClients, type ImageServiceClient, type RuntimeServiceClient } from '../cri/proto';
import { CliError } from './errors';

export const DEFAULT_SOCKET = '/run/berth/berth.sock';

/** Deadlines (ms). Long operations pass their own. */
export const DEADLINE = {
  default: 30_000,
  pull: 30 * 60_000,
  /** Stopping waits for the grace period, then up to 30 s for SIGKILL to land. */
  stopExtra: 45_000,
  /** ExecSync without a timeout of its own: a day is "as long as it takes" for a person at a shell. */
  exec: 24 * 3600_000,
};

/** --host / BERTH_HOST → a socket path. Only unix sockets: berthd listens on nothing else. */
export function socketFromHost(host: string | undefined): string {
  const h = (host ?? '').trim();
  if (!h) return DEFAULT_SOCKET;
  if (h.startsWith('unix://')) {
    const p = h.slice('unix://'.length);
    if (!p) throw new CliError(`invalid host "${host}": use unix:///path/to/berth.sock`);
    return p;
  }
  if (h.startsWith('unix:')) return h.slice('unix:'.length);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(h)) throw new CliError(`invalid host "${host}": berthd listens on a unix socket only (unix:///path)`);
  return h;
}

type Unary<F> = F extends (arg: infer A, callback: requestCallback<infer R>) => unknown ? { req: A; res: R } : never;
type UnaryName<C> = { [K in keyof C]: Unary<C[K]> extends never ? never : K }[keyof C];

/** A failed call as one line for people. `what` names the operation ("ListContainers"). */
export function describeRpcError(e: ServiceError, socket: string, what: string, timeoutMs: number): string {
  const details = e.details || e.message;
  switch (e.code) {
    case Code.UNAVAILABLE:
      // grpc-js's own failure to reach the socket; not a registry or other host berthd could not reach.
      if (/No connection established/i.test(details) || (details.includes(socket) && /connect|ENOENT|ECONNREFUSED|EACCES/i.test(details))) {
        const why = /EACCES/.test(details) ? ' (permission denied: are you root?)' : '';
        return `cannot connect to berthd at ${socket}: is it running?${why}`;
      }
      return `berthd is unavailable: ${details}`;
    case Code.DEADLINE_EXCEEDED:
      return `berthd did not answer ${what} within ${Math.round(timeoutMs / 1000)}s`;
    case Code.UNIMPLEMENTED:
      return `berthd does not support ${what} yet`;
    case Code.CANCELLED:
      return `${what} was cancelled`;
    default:
      return details;
  }
}

export class Connection {
  private clients?: CriClients;

  constructor(readonly socket: string) {}

  private get c(): CriClients {
    this.clients ??= createCriClients(this.socket, {
      // Listings of a busy node can be large; match berthd's limit.
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
    });
    return this.clients;
  }

  get runtimeClient(): RuntimeServiceClient {
    return this.c.runtime;
  }

  get imageClient(): ImageServiceClient {
    return this.c.image;
  }

  private call<C extends object, K extends UnaryName<C>>(
    client: C,
    method: K,
    req: Unary<C[K]>['req'],
    timeoutMs: number,
  ): Promise<Unary<C[K]>['res']> {
    return new Promise((resolve, reject) => {
      const fn = client[method] as unknown as (r: unknown, o: { deadline: Date }, cb: (e: ServiceError | null, r: unknown) => void) => void;
      fn.call(client, req, { deadline: new Date(Date.now() + timeoutMs) }, (err, res) => {
        if (err) reject(new CliError(describeRpcError(err, this.socket, String(method), timeoutMs)));
        else resolve(res as Unary<C[K]>['res']);
      });
    });
  }

  runtime<K extends UnaryName<RuntimeServiceClient>>(method: K, req: Unary<RuntimeServiceClient[K]>['req'], timeoutMs = DEADLINE.default) {
    return this.call(this.c.runtime, method, req, timeoutMs);
  }

  image<K extends UnaryName<ImageServiceClient>>(method: K, req: Unary<ImageServiceClient[K]>['req'], timeoutMs = DEADLINE.default) {
    return this.call(this.c.image, method, req, timeoutMs);
  }

  close(): void {
    this.clients?.close();
    this.clients = undefined;
  }
}
