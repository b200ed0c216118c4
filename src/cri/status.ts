// Domain errors → gRPC status codes. The only place that decides which code a failure gets.
import { status as Code, type ServiceError, Metadata } from '@grpc/grpc-js';
import { BerthError, type ErrorKind } from '../util/errors';

const CODES: Record<ErrorKind, Code> = {
  'invalid-argument': Code.INVALID_ARGUMENT,
  'not-found': Code.NOT_FOUND,
  'already-exists': Code.ALREADY_EXISTS,
  'failed-precondition': Code.FAILED_PRECONDITION,
  'deadline-exceeded': Code.DEADLINE_EXCEEDED,
  unavailable: Code.UNAVAILABLE,
  cancelled: Code.CANCELLED,
  'permission-denied': Code.PERMISSION_DENIED,
  'resource-exhausted': Code.RESOURCE_EXHAUSTED,
  unimplemented: Code.UNIMPLEMENTED,
  internal: Code.INTERNAL,
};

export function codeOf(e: unknown): Code {
  if (e instanceof BerthError) return CODES[e.kind];
  if (typeof e === 'object' && e !== null && typeof (e as ServiceError).code === 'number') return (e as ServiceError).code;
  return Code.UNKNOWN;
}

export function toServiceError(e: unknown): Partial<ServiceError> {
  const code = codeOf(e);
  const details = e instanceof Error ? e.message : String(e);
  return { code, details, metadata: new Metadata() };
}

export function rpcError(code: Code, details: string): Partial<ServiceError> {
  return { code, details, metadata: new Metadata() };
}

export { Code };
