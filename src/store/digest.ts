// Digest helpers shared by the content store and the image domain.
import { createHash } from 'node:crypto';
import { invalidArgument } from '../util/errors';

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function isSha256Digest(s: string): boolean {
  return DIGEST_RE.test(s);
}

export function assertDigest(s: string, what = 'digest'): void {
  if (!isSha256Digest(s)) throw invalidArgument(`${what} "${s}" is not a sha256 digest`, { digest: s });
}

export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function digestHex(digest: string): string {
  assertDigest(digest);
  return digest.slice('sha256:'.length);
}
