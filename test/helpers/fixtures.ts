// Test images built from the host's static busybox (package busybox-static): a tiny rootfs with
// every applet linked into /bin, users root/nobody/app, and a writable /tmp. Images are built in
// memory by src/image/writer and pushed to a test registry (berth's own push path, or skopeo).
import { execFileSync, execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { copyFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageConfigBody, Platform } from '../../src/image/oci-types';
import { buildLayerFromEntries, type BuiltLayer, type LayerCompression, type LayerEntry } from '../../src/image/writer/layer';
import {
  buildImage,
  buildIndex,
  isBuiltIndex,
  topBytes,
  topDescriptor,
  type BuiltImage,
  type BuiltIndex,
  type ImageFormat,
} from '../../src/image/writer/image';
import { pushImage } from '../../src/image/writer/push';
import { parseReference } from '../../src/image/reference';
import { RegistryClient } from '../../src/image/registry/client';
import type { Credentials } from '../../src/image/registry/auth';

export const BUSYBOX_BINARY = process.env.BERTH_TEST_BUSYBOX ?? '/bin/busybox';
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const APP_UID = 1000;
export const APP_GID = 1000;

function requireBusybox(): void {
  if (!existsSync(BUSYBOX_BINARY)) {
    throw new Error(`${BUSYBOX_BINARY} is missing: install the busybox-static package (tests need a static busybox)`);
  }
}

/** Applet names the busybox binary provides (it is static, so any host can run --list). */
export function busyboxApplets(): string[] {
  requireBusybox();
  return execFileSync(BUSYBOX_BINARY, ['--list'], { encoding: 'utf8' })
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s && s !== 'busybox' && !s.includes('/'))
    .sort();
}

const PASSWD = ['root:x:0:0:root:/root:/bin/sh', 'app:x:1000:1000:app:/home/app:/bin/sh', 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false', ''].join('\n');
const GROUP = ['root:x:0:', 'app:x:1000:', 'nogroup:x:65534:', ''].join('\n');

/** The entries of the busybox base layer, sorted so parents precede children. */
export function busyboxEntries(): LayerEntry[] {
  requireBusybox();
  const dir = (path: string, mode = 0o755, uid = 0, gid = 0): LayerEntry => ({ path, type: 'dir', mode, uid, gid });
  const entries: LayerEntry[] = [
    dir('bin'),
    dir('dev'),
    dir('etc'),
    dir('home'),
    dir('home/app', 0o755, APP_UID, APP_GID),
    dir('proc'),
    dir('root', 0o700),
    dir('sbin'),
    dir('sys'),
    dir('tmp', 0o1777),
    dir('usr'),
    dir('usr/bin'),
    dir('usr/sbin'),
    dir('var'),
    dir('var/tmp', 0o1777),
    { path: 'bin/busybox', type: 'file', mode: 0o755, content: readFileSync(BUSYBOX_BINARY) },
    { path: 'etc/passwd', type: 'file', mode: 0o644, content: PASSWD },
    { path: 'etc/group', type: 'file', mode: 0o644, content: GROUP },
    ...busyboxApplets().map((a): LayerEntry => ({ path: `bin/${a}`, type: 'symlink', linkname: 'busybox' })),
  ];
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

// One base layer per compression per process: the 2 MB busybox compresses in ~100 ms, and
// tests build many images from it.
const baseLayers = new Map<LayerCompression, Promise<BuiltLayer>>();

/** The busybox image's layers (one base layer), cached per process. */
export async function busyboxLayers(compression: LayerCompression = 'gzip'): Promise<BuiltLayer[]> {
  let p = baseLayers.get(compression);
  if (!p) {
    p = buildLayerFromEntries(busyboxEntries(), { compression });
    baseLayers.set(compression, p);
    p.catch(() => baseLayers.delete(compression));
  }
  return [await p];
}

export interface BusyboxImageOptions {
  /** Default 'oci'. */
  format?: ImageFormat;
  /** Of every layer. Default 'gzip'. */
  compression?: LayerCompression;
  /** Default ['sh']. */
  cmd?: string[];
  entrypoint?: string[];
  user?: string;
  /** Replaces the default env; PATH is added if not given. */
  env?: string[];
  workingDir?: string;
  labels?: Record<string, string>;
  stopSignal?: string;
  exposedPorts?: string[];
  volumes?: string[];
  /** More layers on top of the base, e.g. with whiteouts. */
  extraLayers?: LayerEntry[][];
  /** Default 'amd64'. */
  architecture?: string;
  variant?: string;
  created?: string;
}

export async function buildBusyboxImage(opts: BusyboxImageOptions = {}): Promise<BuiltImage> {
  const compression = opts.compression ?? 'gzip';
  const layers = [...(await busyboxLayers(compression))];
  for (const entries of opts.extraLayers ?? []) layers.push(await buildLayerFromEntries(entries, { compression }));
  const env = opts.env ? [...opts.env] : [];
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(DEFAULT_PATH);
  const config: ImageConfigBody = {
    Env: env,
    Cmd: opts.cmd ?? ['sh'],
    ...(opts.entrypoint ? { Entrypoint: opts.entrypoint } : {}),
    ...(opts.user !== undefined ? { User: opts.user } : {}),
    ...(opts.workingDir !== undefined ? { WorkingDir: opts.workingDir } : {}),
    ...(opts.labels ? { Labels: opts.labels } : {}),
    ...(opts.stopSignal ? { StopSignal: opts.stopSignal } : {}),
    ...(opts.exposedPorts ? { ExposedPorts: Object.fromEntries(opts.exposedPorts.map((p) => [p, {}])) } : {}),
    ...(opts.volumes ? { Volumes: Object.fromEntries(opts.volumes.map((v) => [v, {}])) } : {}),
  };
  return buildImage({
    layers,
    config,
    architecture: opts.architecture ?? 'amd64',
    os: 'linux',
    ...(opts.variant ? { variant: opts.variant } : {}),
    ...(opts.created ? { created: opts.created } : {}),
    format: opts.format ?? 'oci',
  });
}

export const DEFAULT_PLATFORMS: Platform[] = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64', variant: 'v8' },
];

/**
 * An index (or Docker manifest list) of the busybox image for several platforms. All share the
 * host's (amd64) layer; only the config's architecture differs, which is enough to test platform
 * selection (each platform gets a distinct config and manifest digest).
 */
export async function multiArchIndex(opts: BusyboxImageOptions & { platforms?: Platform[] } = {}): Promise<BuiltIndex> {
  const images: BuiltImage[] = [];
  for (const p of opts.platforms ?? DEFAULT_PLATFORMS) {
    images.push(await buildBusyboxImage({ ...opts, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) }));
  }
  return buildIndex(images, { format: opts.format ?? 'oci' });
}

/** "http://127.0.0.1:5000/" or "127.0.0.1:5000" → "127.0.0.1:5000". */
export function registryHost(registryUrl: string): string {
  return registryUrl.replace(/^[a-z]+:\/\//, '').replace(/\/+$/, '');
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    execFile(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const e = err as NodeJS.ErrnoException;
        rej(new Error(e.code === 'ENOENT' ? `${cmd} is not installed` : `${cmd} ${args.join(' ')} failed: ${stderr || e.message}`));
      } else res(stdout);
    });
  });
}

export interface PushedFixture {
  /** Manifest (or index) digest as stored in the registry. */
  digest: string;
  /** e.g. 127.0.0.1:5000/test/busybox:latest */
  reference: string;
  /** e.g. 127.0.0.1:5000/test/busybox@sha256:... */
  digestReference: string;
}

/**
 * Lay out an image for skopeo's `dir:` transport (blobs named by hex digest, `manifest.json` for
 * the top document, `<hex>.manifest.json` per index entry). Used instead of an OCI layout because
 * skopeo 1.9 ignores index.json entries with Docker media types.
 */
async function writeSkopeoDir(dir: string, built: BuiltImage | BuiltIndex): Promise<void> {
  const hex = (d: string) => d.replace(/^sha256:/, '');
  await writeFile(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
  const images = isBuiltIndex(built) ? built.images : [built];
  for (const img of images) {
    for (const l of img.layers) {
      const target = join(dir, hex(l.digest));
      if (typeof l.blob === 'string') await copyFile(l.blob, target);
      else await writeFile(target, l.blob);
    }
    await writeFile(join(dir, hex(img.config.descriptor.digest)), img.config.bytes);
    if (isBuiltIndex(built)) await writeFile(join(dir, `${hex(img.manifest.descriptor.digest)}.manifest.json`), img.manifest.bytes);
  }
  await writeFile(join(dir, 'manifest.json'), topBytes(built));
}

export interface PushFixtureOptions {
  /**
   * 'client' (default): src/image/writer/push.ts over src/image/registry/client.ts.
   * 'skopeo': `skopeo copy --preserve-digests` (independent of berth's own client; http only).
   */
  via?: 'client' | 'skopeo';
  /** hosts.toml directory for the client (TLS registries); default: one pointing at registryUrl. */
  hostsDir?: string;
  /** Registry credentials (htpasswd registries). */
  auth?: Credentials;
}

async function pushWithSkopeo(host: string, name: string, tag: string, built: BuiltImage | BuiltIndex, auth?: Credentials): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-fixture-'));
  try {
    await writeSkopeoDir(dir, built);
    const creds = auth?.username !== undefined ? [`--dest-creds=${auth.username}:${auth.password ?? ''}`] : [];
    await run('skopeo', [
      '--insecure-policy',
      'copy',
      '--quiet',
      '--all',
      '--preserve-digests',
      '--dest-tls-verify=false',
      ...creds,
      `dir:${dir}`,
      `docker://${host}/${name}:${tag}`,
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function pushWithClient(registryUrl: string, name: string, tag: string, built: BuiltImage | BuiltIndex, opts: PushFixtureOptions): Promise<void> {
  const host = registryHost(registryUrl);
  let hostsDir = opts.hostsDir;
  let tmpHosts: string | undefined;
  if (!hostsDir) {
    // The client never speaks plain http unless hosts.toml names an http:// server.
    tmpHosts = mkdtempSync(join(tmpdir(), 'berth-fixture-hosts-'));
    mkdirSync(join(tmpHosts, host));
    const url = /^[a-z]+:\/\//.test(registryUrl) ? registryUrl.replace(/\/+$/, '') : `http://${host}`;
    writeFileSync(join(tmpHosts, host, 'hosts.toml'), `server = "${url}"\n`);
    hostsDir = tmpHosts;
  }
  const client = new RegistryClient({ hostsDir, retryBaseDelayMs: 10 });
  try {
    await pushImage(client, parseReference(`${host}/${name}:${tag}`), built, {
      ...(opts.auth ? { clientOptions: { auth: opts.auth } } : {}),
    });
  } finally {
    await client.close();
    if (tmpHosts) rmSync(tmpHosts, { recursive: true, force: true });
  }
}

/**
 * Push an already built image or index to a test registry as <host>/<name>:<tag>. The registry
 * ends up holding exactly our bytes, so the returned digest is the one pulls will see.
 */
export async function pushFixture(
  registryUrl: string,
  name: string,
  tag: string,
  built: BuiltImage | BuiltIndex,
  opts: PushFixtureOptions = {},
): Promise<PushedFixture> {
  const host = registryHost(registryUrl);
  if (opts.via === 'skopeo') await pushWithSkopeo(host, name, tag, built, opts.auth);
  else await pushWithClient(registryUrl, name, tag, built, opts);
  const digest = topDescriptor(built).digest;
  return { digest, reference: `${host}/${name}:${tag}`, digestReference: `${host}/${name}@${digest}` };
}

/** Build the busybox image (see buildBusyboxImage) and push it as <registry>/<name>:<tag>. */
export async function pushBusyboxImage(
  registryUrl: string,
  name: string,
  opts: BusyboxImageOptions & PushFixtureOptions & { tag?: string } = {},
): Promise<PushedFixture & { image: BuiltImage }> {
  const image = await buildBusyboxImage(opts);
  const pushed = await pushFixture(registryUrl, name, opts.tag ?? 'latest', image, opts);
  return { ...pushed, image };
}

/** Build the multi-platform index (see multiArchIndex) and push it as <registry>/<name>:<tag>. */
export async function pushMultiArchIndex(
  registryUrl: string,
  name: string,
  opts: BusyboxImageOptions & PushFixtureOptions & { platforms?: Platform[]; tag?: string } = {},
): Promise<PushedFixture & { index: BuiltIndex }> {
  const index = await multiArchIndex(opts);
  const pushed = await pushFixture(registryUrl, name, opts.tag ?? 'latest', index, opts);
  return { ...pushed, index };
}
