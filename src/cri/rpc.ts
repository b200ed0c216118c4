// One wrapper around every RPC: structured begin/end logs, latency and count metrics, cancellation
// as an AbortSignal, and domain error → gRPC status mapping. Unimplemented methods answer UNIMPLEMENTED.
import type {
  ServerReadableStream,
  ServerUnaryCall,
  sendUnaryData,
  ServiceDefinition,
  UntypedServiceImplementation,
  ServerWritableStream,
} from '@grpc/grpc-js';
import { logger } from '../util/log';
import { invalidArgument } from '../util/errors';
import { criLatency, criRequests } from '../util/metrics';
import { Code, codeOf, rpcError, toServiceError } from './status';

const log = logger('cri');

export interface RpcContext {
  /** Aborted when the client cancels or its deadline passes. */
  signal: AbortSignal;
  /** Milliseconds until the client's deadline, if it set one. */
  deadlineMs?: number;
}

export type UnaryImpl<Req, Res> = (req: Req, ctx: RpcContext) => Promise<Res> | Res;

/** RPCs polled constantly by the kubelet log at debug; the rest at info. */
const QUIET = /^(List|.*Status$|Version$|ImageFsInfo$|.*Stats$|RuntimeConfig$)/;

function deadlineOf(call: ServerUnaryCall<unknown, unknown>): number | undefined {
  const d = call.getDeadline?.();
  if (d === undefined || d === Infinity) return undefined;
  const ms = (d instanceof Date ? d.getTime() : Number(d)) - Date.now();
  return Number.isFinite(ms) ? ms : undefined;
}

export function unary<Req, Res>(method: string, impl: UnaryImpl<Req, Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    const t0 = process.hrtime.bigint();
    const ac = new AbortController();
    call.on('cancelled', () => ac.abort(new Error(`${method} cancelled by the client`)));
    const level = QUIET.test(method) ? 'debug' : 'info';
    log[level]({ rpc: method }, 'begin');
    Promise.resolve()
      .then(() => impl(call.request, { signal: ac.signal, deadlineMs: deadlineOf(call as ServerUnaryCall<unknown, unknown>) }))
      .then(
        (res) => {
          finish(method, t0, Code.OK, level);
          callback(null, res);
        },
        (err: unknown) => {
          const se = toServiceError(err);
          finish(method, t0, se.code ?? Code.UNKNOWN, se.code === Code.INTERNAL || se.code === Code.UNKNOWN ? 'error' : level, se.details);
          callback(se);
        },
      );
  };
}

/** Sends one message of a server stream; resolves once the transport can take more (backpressure). */
export type StreamSend<Msg> = (msg: Msg) => Promise<void>;

export type ServerStreamImpl<Req, Msg> = (req: Req, send: StreamSend<Msg>, ctx: RpcContext) => Promise<void>;

/** A server-streaming RPC with the unary wrapper's logs, metrics, cancellation and error mapping. */
export function serverStream<Req, Msg>(method: string, impl: ServerStreamImpl<Req, Msg>) {
  return (call: ServerWritableStream<Req, Msg>): void => {
    const t0 = process.hrtime.bigint();
    const ac = new AbortController();
    call.on('cancelled', () => ac.abort(new Error(`${method} cancelled by the client`)));
    log.info({ rpc: method }, 'begin');
    const send: StreamSend<Msg> = async (msg) => {
      if (ac.signal.aborted) throw ac.signal.reason;
      if (call.write(msg)) return;
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => (ac.signal.removeEventListener('abort', onAbort), resolve());
        const onAbort = () => (call.off('drain', onDrain), reject(ac.signal.reason));
        call.once('drain', onDrain);
        ac.signal.addEventListener('abort', onAbort, { once: true });
      });
    };
    Promise.resolve()
      .then(() => impl(call.request, send, { signal: ac.signal, deadlineMs: deadlineOf(call as unknown as ServerUnaryCall<unknown, unknown>) }))
      .then(
        () => {
          finish(method, t0, Code.OK, 'info');
          call.end();
        },
        (err: unknown) => {
          if (ac.signal.aborted) {
            finish(method, t0, Code.CANCELLED, 'info');
            return;
          }
          const se = toServiceError(err);
          finish(method, t0, se.code ?? Code.UNKNOWN, se.code === Code.INTERNAL || se.code === Code.UNKNOWN ? 'error' : 'info', se.details);
          call.emit('error', se);
        },
      );
  };
}

export type ClientStreamImpl<Req, Res> = (input: AsyncIterable<Req>, ctx: RpcContext) => Promise<Res>;

/** A client-streaming RPC (the request messages arrive as an async iterable), wrapped like unary ones. */
export function clientStream<Req, Res>(method: string, impl: ClientStreamImpl<Req, Res>) {
  return (call: ServerReadableStream<Req, Res>, callback: sendUnaryData<Res>): void => {
    const t0 = process.hrtime.bigint();
    const ac = new AbortController();
    call.on('cancelled', () => ac.abort(new Error(`${method} cancelled by the client`)));
    log.info({ rpc: method }, 'begin');
    Promise.resolve()
      .then(() => impl(call, { signal: ac.signal, deadlineMs: deadlineOf(call as unknown as ServerUnaryCall<unknown, unknown>) }))
      .then(
        (res) => {
          finish(method, t0, Code.OK, 'info');
          callback(null, res);
        },
        (err: unknown) => {
          const se = toServiceError(err);
          finish(method, t0, se.code ?? Code.UNKNOWN, se.code === Code.INTERNAL || se.code === Code.UNKNOWN ? 'error' : 'info', se.details);
          callback(se);
        },
      );
  };
}

function finish(method: string, t0: bigint, code: Code, level: 'debug' | 'info' | 'error', error?: string): void {
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  criRequests.inc({ method, code: Code[code] });
  criLatency.observe({ method }, secs);
  log[level]({ rpc: method, ms: Math.round(secs * 1e6) / 1e3, code: Code[code], ...(error ? { error } : {}) }, 'end');
}

/**
 * A full handler set for a service: the given unary implementations, and UNIMPLEMENTED for
 * every other method of the definition (unary or streaming).
 */
export function handlersFor<H extends UntypedServiceImplementation>(
  def: ServiceDefinition,
  impls: Record<string, UnaryImpl<any, any>>,
  streaming: Partial<Record<string, ((call: ServerWritableStream<any, any>) => void) | ((call: ServerReadableStream<any, any>, cb: sendUnaryData<any>) => void)>> = {},
): H {
  const out: UntypedServiceImplementation = {};
  for (const [name, m] of Object.entries(def)) {
    const impl = impls[name];
    const streamImpl = streaming[name];
    if (impl) {
      out[name] = unary(name, impl);
    } else if (streamImpl) {
      out[name] = streamImpl as UntypedServiceImplementation[string];
    } else if (m.responseStream) {
      out[name] =
        streaming[name] ??
        ((call: ServerWritableStream<unknown, unknown>) => {
          criRequests.inc({ method: name, code: 'UNIMPLEMENTED' });
          call.emit('error', rpcError(Code.UNIMPLEMENTED, `${name} is not implemented by berth yet`));
        });
    } else {
      out[name] = (_call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => {
        criRequests.inc({ method: name, code: 'UNIMPLEMENTED' });
        cb(rpcError(Code.UNIMPLEMENTED, `${name} is not implemented by berth yet`));
      };
    }
  }
  for (const k of [...Object.keys(impls), ...Object.keys(streaming)]) if (!(k in def)) throw new Error(`handler ${k} is not a method of the service`);
  return out as H;
}

/** A request field the RPC cannot do without: missing or empty is INVALID_ARGUMENT. */
export function required(v: string | undefined, what: string): string {
  if (!v) throw invalidArgument(`${what} is required`);
  return v;
}

export { codeOf };
