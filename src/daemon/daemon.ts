// Assembles berthd from its parts: stores, image domain, CRI server, metrics.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { withoutSecrets, type BerthConfig } from './config';
import { acquirePidFile } from './pidfile';
import { startMetricsServer } from './metrics-server';
import { ContentStore } from '../store/content-store';
import { RecordStore } from '../store/record-store';
import { ImageService } from '../image/image-service';
import type { ImageRecord } from '../image/image-index';
import { RegistryClient } from '../image/registry/client';
import { hostPlatform, layerCompression, parseManifest, selectPlatform } from '../image/manifest';
import { decompressor } from '../image/decompress';
import type { ManifestPort, ParsedManifest, PullReference } from '../image/pull';
import type { ImageReference } from '../image/reference';
import { OverlaySnapshotter } from '../snapshot/overlay';
import { applyLayer } from '../snapshot/apply';
import { Semaphore } from '../util/semaphore';
import { logger } from '../util/log';
import { startCriServer, type CriServer } from '../cri/server';
import { imageHandlers } from '../cri/image-handlers';
import { containerEventsStream, runtimeHandlers } from '../cri/runtime-handlers';
import { berthHandlers } from '../cri/berth-handlers';
import { BerthService, type BerthServiceHandlers } from '../cri/berth-proto';
import { handlersFor } from '../cri/rpc';
import { Runtime } from '../runtime/runtime';
import { startAutoRemove } from '../runtime/auto-remove';
import { VolumeStore } from '../runtime/volumes';
import { checkLogin } from '../image/registry/login-check';
import { configuredCredentials } from '../image/registry/config-credentials';
import { StreamingServer } from '../streaming/server';

const log = logger('berthd');

export interface Daemon {
  close(): Promise<void>;
}

/** The manifest module's functions, shaped as the pull pipeline's port. */
const manifestPort: ManifestPort = {
  parse(bytes, mediaType): ParsedManifest {
    const p = parseManifest(bytes, mediaType);
    return p.kind === 'index'
      ? { kind: 'index', manifests: p.index.manifests }
      : { kind: 'manifest', config: p.manifest.config, layers: p.manifest.layers };
  },
  selectPlatform: (manifests, want) => selectPlatform({ schemaVersion: 2, manifests }, want),
  compression: layerCompression,
  decompressor,
};

export async function startDaemon(config: BerthConfig, version: string): Promise<Daemon> {
  mkdirSync(config.root, { recursive: true, mode: 0o711 });
  mkdirSync(config.state, { recursive: true, mode: 0o711 });
  const releasePid = acquirePidFile(config.state);
  // Archives being loaded are unpacked here; what a crash left is never resumed.
  const loadTmp = join(config.root, 'tmp');
  rmSync(loadTmp, { recursive: true, force: true });
  mkdirSync(loadTmp, { recursive: true, mode: 0o700 });

  const content = new ContentStore(config.root);
  content.reconcile();
  const snapshots = new OverlaySnapshotter(config.root);
  await snapshots.reconcile();
  const registry = new RegistryClient({
    hostsDir: config.image.registryConfigDir,
    progressTimeoutMs: config.image.progressTimeoutSeconds * 1000,
    userAgent: `berth/${version}`,
    credentials: configuredCredentials({ auths: config.image.auths, authFile: config.image.authFile }),
  });
  let runtime: Runtime | undefined;
  const images = new ImageService({
    content,
    records: new RecordStore<ImageRecord>(join(config.root, 'meta'), 'images'),
    registry: {
      resolve: (ref: PullReference, o) => registry.resolve(ref as ImageReference, o as never),
      fetchManifest: (ref, digest, o) => registry.fetchManifest(ref as ImageReference, digest, o as never),
      fetchBlob: (ref, desc, o) => registry.fetchBlob(ref as ImageReference, desc, o as never),
    },
    snapshots,
    snapshotGc: snapshots,
    manifests: manifestPort,
    applyLayer: (tar, dir) => applyLayer(tar, dir),
    platform: hostPlatform(),
    downloads: new Semaphore(config.image.maxConcurrentDownloads),
    fsMountpoint: join(config.root, 'snapshots'),
    snapshotsInUse: () => runtime?.snapshotsInUse() ?? new Set(),
    progressTimeoutMs: config.image.progressTimeoutSeconds * 1000,
    pusher: registry,
    tmpDir: loadTmp,
  });

  const volumes = new VolumeStore({
    root: config.root,
    users: () => (runtime?.containers.all() ?? []).map((c) => ({ id: c.id, hostPaths: (c.spec.config.mounts ?? []).map((m) => m.hostPath) })),
  });
  await volumes.load();
  runtime = await Runtime.start(
    {
      root: config.root,
      state: config.state,
      cniConfDir: config.network.cniConfDir,
      cniBinDirs: config.network.cniBinDirs,
      cgroupDriver: config.runtime.cgroupDriver,
      conmon: config.runtime.conmon,
      catatonit: '/usr/bin/catatonit',
      defaultRuntime: config.runtime.defaultRuntime,
      runtimes: config.runtime.runtimes,
    },
    { images, snapshots, volumes },
  );
  const rt = runtime;
  const streaming = new StreamingServer({ runtime: rt.streams, address: config.streaming.address, port: config.streaming.port });
  await streaming.start();
  const autoRemove = startAutoRemove(rt);
  const berth = berthHandlers(images, rt, {
    streaming,
    volumes,
    checkLogin: (server, creds, signal) => checkLogin(registry, server, creds, signal),
  });
  const cri: CriServer = await startCriServer(
    config.listen,
    runtimeHandlers({ version, cgroupDriver: config.runtime.cgroupDriver, verboseInfo: () => ({ config: JSON.stringify(withoutSecrets(config)) }) }, rt, streaming),
    imageHandlers(images),
    { GetContainerEvents: containerEventsStream(rt) },
    [{ definition: BerthService, handlers: handlersFor<BerthServiceHandlers>(BerthService, berth.unary, berth.streams) }],
  );
  let metrics: Server | undefined;
  try {
    metrics = await startMetricsServer(config.metrics.address);
  } catch (e) {
    // Metrics are optional: a taken port must not keep the runtime from serving the kubelet.
    log.warn({ address: config.metrics.address, err: (e as Error).message }, 'metrics endpoint not started');
  }

  return {
    async close() {
      await cri.close();
      await autoRemove.close();
      await streaming.stop();
      await rt.close();
      await new Promise<void>((r) => (metrics ? metrics.close(() => r()) : r()));
      await registry.close();
      releasePid();
    },
  };
}
