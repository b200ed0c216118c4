// Small shared helpers for built blobs: content addressing, canonical JSON, and reading a blob
// that may live in memory or in a file (large layers are streamed to disk).
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { Descriptor } from '../oci-types';

/** Bytes in memory, or the path of a file holding them. */
export type BlobSource = Buffer | string;

// Digest helpers are the content store's: one definition of what a valid digest is.
export { sha256Digest, digestHex } from '../../store/digest';
import { sha256Digest } from '../../store/digest';

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/**
 * JSON with object keys sorted at every level and no whitespace: the same document always
 * serializes to the same bytes, so manifest and config digests are reproducible.
 */
export function canonicalJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(sortKeys(value)), 'utf8');
}

/** A document serialized once, with the descriptor that addresses those exact bytes. */
export interface JsonBlob<T> {
  value: T;
  bytes: Buffer;
  descriptor: Descriptor;
}

export function jsonBlob<T>(value: T, mediaType: string): JsonBlob<T> {
  const bytes = canonicalJson(value);
  return { value, bytes, descriptor: { mediaType, digest: sha256Digest(bytes), size: bytes.length } };
}

/** A fresh readable over a blob, whether it is held in memory or in a file. */
export function blobReadable(src: BlobSource): Readable {
  return typeof src === 'string' ? createReadStream(src) : Readable.from([src]);
}
