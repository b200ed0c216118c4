// containerd's sandbox image for container benchmarks: the static catatonit as /pause, pausing
// forever (-P) as user 65535, like the CRI harness's pause:3.6; built with berth's image writer.
import { readFileSync } from 'node:fs';
import { buildImage, type BuiltImage } from '../../src/image/writer/image';
import { buildLayerFromEntries } from '../../src/image/writer/layer';

export const CATATONIT_BIN = '/usr/bin/catatonit';

export async function buildPauseImage(): Promise<BuiltImage> {
  const layer = await buildLayerFromEntries([{ path: 'pause', type: 'file', mode: 0o755, content: readFileSync(CATATONIT_BIN) }], { compression: 'gzip' });
  return buildImage({
    layers: [layer],
    config: { Entrypoint: ['/pause', '-P'], User: '65535:65535', Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    architecture: 'amd64',
    os: 'linux',
    format: 'oci',
  });
}
