// Image archives: save images as a docker-archive or OCI-archive tar stream, and read either back
// (told apart by content: manifest.json means docker-archive, else oci-layout means OCI).
import { Readable } from 'node:stream';
import { pack as tarPack } from 'tar-stream';
import { invalidArgument } from '../../util/errors';
import { readDockerArchive, writeDockerArchive, type ArchiveImport } from './docker-archive';
import { readOciArchive, writeOciArchive } from './oci-archive';
import type { ArchiveDir } from './tar-dir';
import type { ArchiveFormat, ArchiveImage, BlobReader } from './types';

export type { ArchiveFormat, ArchiveImage, BlobReader } from './types';
export type { ArchiveImport } from './docker-archive';
export { ArchiveDir } from './tar-dir';

/** The archive as a tar stream; a failure while writing destroys the stream with the error. */
export function saveArchive(images: readonly ArchiveImage[], format: ArchiveFormat, blobs: BlobReader): Readable {
  if (images.length === 0) throw invalidArgument('nothing to save: no images given');
  const pack = tarPack();
  const write = format === 'oci-archive' ? writeOciArchive : writeDockerArchive;
  write(pack, images, blobs).then(
    () => pack.finalize(),
    (e: unknown) => pack.destroy(e as Error),
  );
  // tar-stream's pack is a streamx stream; callers get a Node stream.
  return Readable.from(pack);
}

/** Which format an extracted archive is. */
export function detectFormat(dir: ArchiveDir): ArchiveFormat {
  // docker save (25+) writes both; its manifest.json carries the tags, so it wins.
  if (dir.has('manifest.json')) return 'docker-archive';
  if (dir.has('oci-layout')) return 'oci-archive';
  throw invalidArgument('not an image archive: neither manifest.json (docker-archive) nor oci-layout (OCI) found');
}

/** The images an extracted archive holds, as import sources with their tags. */
export async function readArchive(dir: ArchiveDir): Promise<{ format: ArchiveFormat; images: ArchiveImport[] }> {
  const format = detectFormat(dir);
  return { format, images: format === 'docker-archive' ? await readDockerArchive(dir) : await readOciArchive(dir) };
}
