// Typed domain errors. The domain throws these; only cri/ maps them to gRPC codes.

export type ErrorKind =
  | 'invalid-argument'
  | 'not-found'
  | 'already-exists'
  | 'failed-precondition'
  | 'deadline-exceeded'
  | 'unavailable'
  | 'cancelled'
  | 'permission-denied'
  | 'resource-exhausted'
  | 'unimplemented'
  | 'internal';

export class BerthError extends Error {
  readonly kind: ErrorKind;
  readonly context: Record<string, unknown>;
  constructor(kind: ErrorKind, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BerthError';
    this.kind = kind;
    this.context = context;
  }
}

export const invalidArgument = (msg: string, ctx?: Record<string, unknown>) => new BerthError('invalid-argument', msg, ctx);
export const notFound = (msg: string, ctx?: Record<string, unknown>) => new BerthError('not-found', msg, ctx);
export const alreadyExists = (msg: string, ctx?: Record<string, unknown>) => new BerthError('already-exists', msg, ctx);
export const failedPrecondition = (msg: string, ctx?: Record<string, unknown>) => new BerthError('failed-precondition', msg, ctx);
export const deadlineExceeded = (msg: string, ctx?: Record<string, unknown>) => new BerthError('deadline-exceeded', msg, ctx);
export const unavailable = (msg: string, ctx?: Record<string, unknown>, cause?: unknown) =>
  new BerthError('unavailable', msg, ctx, { cause });
export const internal = (msg: string, ctx?: Record<string, unknown>, cause?: unknown) =>
  new BerthError('internal', msg, ctx, { cause });

export function isBerthError(e: unknown, kind?: ErrorKind): e is BerthError {
  return e instanceof BerthError && (kind === undefined || e.kind === kind);
}

/** Message of any thrown value, for logs and wrapped errors. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
