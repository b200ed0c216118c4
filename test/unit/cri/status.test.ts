import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { codeOf, toServiceError } from '../../../src/cri/status';
import { BerthError, type ErrorKind } from '../../../src/util/errors';

test('every domain error kind maps to its gRPC code', () => {
  const expect: [ErrorKind, status][] = [
    ['invalid-argument', status.INVALID_ARGUMENT],
    ['not-found', status.NOT_FOUND],
    ['already-exists', status.ALREADY_EXISTS],
    ['failed-precondition', status.FAILED_PRECONDITION],
    ['deadline-exceeded', status.DEADLINE_EXCEEDED],
    ['unavailable', status.UNAVAILABLE],
    ['cancelled', status.CANCELLED],
    ['permission-denied', status.PERMISSION_DENIED],
    ['resource-exhausted', status.RESOURCE_EXHAUSTED],
    ['unimplemented', status.UNIMPLEMENTED],
    ['internal', status.INTERNAL],
  ];
  for (const [kind, code] of expect) assert.equal(codeOf(new BerthError(kind, 'x')), code, kind);
  assert.equal(codeOf(new Error('plain')), status.UNKNOWN);
  const se = toServiceError(new BerthError('not-found', 'image foo not found'));
  assert.equal(se.code, status.NOT_FOUND);
  assert.equal(se.details, 'image foo not found');
});
