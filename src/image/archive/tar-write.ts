// Writing archive entries in sequence into a tar-stream pack, with fixed owners and times so the
// same images always give the same archive bytes.
import type { Readable } from 'node:stream';
import type { Pack } from 'tar-stream';

/** Archive entries carry no meaningful time; a fixed one keeps archives reproducible. */
const EPOCH = new Date(0);

export async function addDir(pack: Pack, name: string): Promise<void> {
  await new Promise<void>((res, rej) =>
    pack.entry({ name: name.endsWith('/') ? name : `${name}/`, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: EPOCH }, (err) =>
      err ? rej(err) : res(),
    ),
  );
}

export async function addFile(pack: Pack, name: string, body: Buffer): Promise<void> {
  await new Promise<void>((res, rej) =>
    pack.entry({ name, type: 'file', size: body.length, mode: 0o644, uid: 0, gid: 0, mtime: EPOCH }, body, (err) => (err ? rej(err) : res())),
  );
}

/** A file whose bytes are streamed; `size` must be exact (it goes in the header first). */
export async function addStream(pack: Pack, name: string, size: number, body: Readable): Promise<void> {
  let entry!: ReturnType<Pack['entry']>;
  const written = new Promise<void>((res, rej) => {
    entry = pack.entry({ name, type: 'file', size, mode: 0o644, uid: 0, gid: 0, mtime: EPOCH }, (err) => (err ? rej(err) : res()));
  });
  // tar-stream's entry is a streamx writable: fed by hand, with its backpressure.
  try {
    for await (const chunk of body) {
      if (!entry.write(chunk as Buffer)) await new Promise<void>((res) => entry.once('drain', () => res()));
    }
    entry.end(() => undefined);
  } catch (e) {
    entry.destroy(e as Error);
    throw e;
  }
  await written;
}

/** Compact JSON as bytes (docker and skopeo write compact JSON too). */
export function jsonBytes(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v), 'utf8');
}
