// berthd configuration: defaults < TOML file < command-line flags.
import { readFileSync } from 'node:fs';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { invalidArgument } from '../util/errors';
import type { ConfiguredAuth } from '../image/registry/config-credentials';

export interface RuntimeHandlerConfig {
  /** OCI runtime binary. */
  path: string;
  /** --root passed to the OCI runtime (its state dir). */
  root: string;
  /** Only "oci" runtimes are driven today. */
  type: 'oci';
}

export interface BerthConfig {
  root: string;
  state: string;
  listen: string;
  logLevel: string;
  image: {
    registryConfigDir: string;
    maxConcurrentDownloads: number;
    /** Seconds without any received byte after which a pull fails. */
    progressTimeoutSeconds: number;
    /** docker config.json with registry credentials (e.g. the kubelet's); empty: none. */
    authFile: string;
    /** Registry credentials by host, for pulls whose request carries none (win over authFile). */
    auths: Record<string, ConfiguredAuth>;
  };
  network: {
    cniConfDir: string;
    cniBinDirs: string[];
  };
  streaming: {
    address: string;
    port: number;
  };
  runtime: {
    defaultRuntime: string;
    cgroupDriver: 'cgroupfs' | 'systemd';
    conmon: string;
    runtimes: Record<string, RuntimeHandlerConfig>;
  };
  metrics: {
    /** host:port on loopback; empty disables the endpoint. */
    address: string;
  };
}

export function defaultConfig(): BerthConfig {
  return {
    root: '/var/lib/berth',
    state: '/run/berth',
    listen: '/run/berth/berth.sock',
    logLevel: 'info',
    image: { registryConfigDir: '/etc/berth/certs.d', maxConcurrentDownloads: 3, progressTimeoutSeconds: 60, authFile: '', auths: {} },
    network: { cniConfDir: '/etc/cni/net.d', cniBinDirs: ['/usr/lib/cni', '/opt/cni/bin'] },
    streaming: { address: '127.0.0.1', port: 0 },
    runtime: {
      defaultRuntime: 'runc',
      cgroupDriver: 'cgroupfs',
      conmon: '/usr/bin/conmon',
      runtimes: {
        runc: { path: '/usr/sbin/runc', root: '', type: 'oci' },
        crun: { path: '/usr/bin/crun', root: '', type: 'oci' },
      },
    },
    metrics: { address: '127.0.0.1:9180' },
  };
}

/** Flags as given on the command line; undefined means "not given". */
export interface ConfigFlags {
  root?: string;
  state?: string;
  listen?: string;
  logLevel?: string;
  registryConfigDir?: string;
  cniConfDir?: string;
  cniBinDir?: string[];
  streamingAddress?: string;
  streamingPort?: number;
  metricsAddress?: string;
}

type Toml = Record<string, unknown>;

function section(t: Toml, key: string, file: string): Toml {
  const v = t[key];
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidArgument(`${file}: [${key}] must be a table`);
  return v as Toml;
}

function str(t: Toml, key: string, dflt: string, where: string): string {
  const v = t[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'string') throw invalidArgument(`${where}: ${key} must be a string`);
  return v;
}

function num(t: Toml, key: string, dflt: number, where: string): number {
  const v = t[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' && typeof v !== 'bigint') throw invalidArgument(`${where}: ${key} must be a number`);
  return Number(v);
}

function strList(t: Toml, key: string, dflt: string[], where: string): string[] {
  const v = t[key];
  if (v === undefined) return dflt;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalidArgument(`${where}: ${key} must be a list of strings`);
  return v as string[];
}

/** `[image.auths."<host>"]` keys and the fields they fill. */
const AUTH_FIELDS: Array<[string, keyof ConfiguredAuth]> = [
  ['username', 'username'],
  ['password', 'password'],
  ['auth', 'auth'],
  ['identity_token', 'identityToken'],
];
const AUTH_KEYS = new Set(AUTH_FIELDS.map(([k]) => k));

const KNOWN_TOP = new Set(['root', 'state', 'listen', 'log_level', 'image', 'network', 'streaming', 'runtime', 'metrics']);

/** Apply a parsed TOML document onto a config. Unknown top-level keys are rejected (typos are bugs). */
export function applyToml(base: BerthConfig, doc: Toml, file = 'config'): BerthConfig {
  for (const k of Object.keys(doc)) if (!KNOWN_TOP.has(k)) throw invalidArgument(`${file}: unknown key "${k}"`);
  const c: BerthConfig = structuredClone(base);
  c.root = str(doc, 'root', c.root, file);
  c.state = str(doc, 'state', c.state, file);
  c.listen = str(doc, 'listen', c.listen, file);
  c.logLevel = str(doc, 'log_level', c.logLevel, file);
  const img = section(doc, 'image', file);
  c.image.registryConfigDir = str(img, 'registry_config_dir', c.image.registryConfigDir, `${file} [image]`);
  c.image.maxConcurrentDownloads = num(img, 'max_concurrent_downloads', c.image.maxConcurrentDownloads, `${file} [image]`);
  c.image.progressTimeoutSeconds = num(img, 'progress_timeout_seconds', c.image.progressTimeoutSeconds, `${file} [image]`);
  c.image.authFile = str(img, 'auth_file', c.image.authFile, `${file} [image]`);
  for (const [host, raw] of Object.entries(section(img, 'auths', `${file} [image]`))) {
    const where = `${file} [image.auths."${host}"]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalidArgument(`${where} must be a table`);
    const t = raw as Toml;
    for (const k of Object.keys(t)) if (!AUTH_KEYS.has(k)) throw invalidArgument(`${where}: unknown key "${k}"`);
    const a: ConfiguredAuth = {};
    for (const [k, field] of AUTH_FIELDS) {
      const v = str(t, k, '', where);
      if (v) a[field] = v;
    }
    if (!a.auth && !a.identityToken && !a.username) throw invalidArgument(`${where}: needs username (with password), auth or identity_token`);
    c.image.auths[host] = a;
  }
  const net = section(doc, 'network', file);
  c.network.cniConfDir = str(net, 'cni_conf_dir', c.network.cniConfDir, `${file} [network]`);
  c.network.cniBinDirs = strList(net, 'cni_bin_dirs', c.network.cniBinDirs, `${file} [network]`);
  const st = section(doc, 'streaming', file);
  c.streaming.address = str(st, 'address', c.streaming.address, `${file} [streaming]`);
  c.streaming.port = num(st, 'port', c.streaming.port, `${file} [streaming]`);
  const rt = section(doc, 'runtime', file);
  c.runtime.defaultRuntime = str(rt, 'default_runtime', c.runtime.defaultRuntime, `${file} [runtime]`);
  const drv = str(rt, 'cgroup_driver', c.runtime.cgroupDriver, `${file} [runtime]`);
  if (drv !== 'cgroupfs' && drv !== 'systemd') throw invalidArgument(`${file} [runtime]: cgroup_driver must be "cgroupfs" or "systemd"`);
  c.runtime.cgroupDriver = drv;
  c.runtime.conmon = str(rt, 'conmon', c.runtime.conmon, `${file} [runtime]`);
  const handlers = section(rt, 'runtimes', `${file} [runtime]`);
  for (const [name, raw] of Object.entries(handlers)) {
    if (typeof raw !== 'object' || raw === null) throw invalidArgument(`${file}: [runtime.runtimes.${name}] must be a table`);
    const h = raw as Toml;
    const where = `${file} [runtime.runtimes.${name}]`;
    const type = str(h, 'type', 'oci', where);
    if (type !== 'oci') throw invalidArgument(`${where}: type must be "oci"`);
    c.runtime.runtimes[name] = { path: str(h, 'path', c.runtime.runtimes[name]?.path ?? name, where), root: str(h, 'root', '', where), type };
  }
  const m = section(doc, 'metrics', file);
  c.metrics.address = str(m, 'address', c.metrics.address, `${file} [metrics]`);
  return c;
}

export function applyFlags(base: BerthConfig, f: ConfigFlags): BerthConfig {
  const c: BerthConfig = structuredClone(base);
  if (f.root !== undefined) c.root = f.root;
  if (f.state !== undefined) {
    // A state dir given without a socket path moves the socket along with it.
    if (f.listen === undefined && c.listen === defaultConfig().listen) c.listen = `${f.state}/berth.sock`;
    c.state = f.state;
  }
  if (f.listen !== undefined) c.listen = f.listen;
  if (f.logLevel !== undefined) c.logLevel = f.logLevel;
  if (f.registryConfigDir !== undefined) c.image.registryConfigDir = f.registryConfigDir;
  if (f.cniConfDir !== undefined) c.network.cniConfDir = f.cniConfDir;
  if (f.cniBinDir !== undefined && f.cniBinDir.length > 0) c.network.cniBinDirs = f.cniBinDir;
  if (f.streamingAddress !== undefined) c.streaming.address = f.streamingAddress;
  if (f.streamingPort !== undefined) c.streaming.port = f.streamingPort;
  if (f.metricsAddress !== undefined) c.metrics.address = f.metricsAddress;
  return c;
}

/** Per-runtime state roots default to a dir under berth's state dir, so side-by-side daemons don't collide. */
function finalize(c: BerthConfig): BerthConfig {
  for (const [name, h] of Object.entries(c.runtime.runtimes)) if (!h.root) h.root = `${c.state}/runtimes/${name}`;
  if (!c.runtime.runtimes[c.runtime.defaultRuntime]) throw invalidArgument(`default_runtime "${c.runtime.defaultRuntime}" is not configured`);
  if (!Number.isInteger(c.image.maxConcurrentDownloads) || c.image.maxConcurrentDownloads < 1)
    throw invalidArgument('image.max_concurrent_downloads must be a positive integer');
  return c;
}

/** Load the effective config. A missing file means defaults; a malformed one is an error. */
export function loadConfig(file: string, flags: ConfigFlags, mustExist = false): BerthConfig {
  let c = defaultConfig();
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || mustExist) throw invalidArgument(`cannot read config ${file}: ${(e as Error).message}`);
  }
  if (text !== undefined) {
    let doc: Toml;
    try {
      doc = parseToml(text) as Toml;
    } catch (e) {
      throw invalidArgument(`${file}: ${(e as Error).message}`);
    }
    c = applyToml(c, doc, file);
  }
  return finalize(applyFlags(c, flags));
}

/** The config with registry secrets replaced, for where it is shown to others (CRI Status verbose info). */
export function withoutSecrets(c: BerthConfig): BerthConfig {
  const out = structuredClone(c);
  for (const a of Object.values(out.image.auths)) {
    if (a.password) a.password = REDACTED;
    if (a.auth) a.auth = REDACTED;
    if (a.identityToken) a.identityToken = REDACTED;
  }
  return out;
}

const REDACTED = '<redacted>';

export function configToToml(c: BerthConfig): string {
  const auths: Record<string, Record<string, string>> = {};
  for (const [host, a] of Object.entries(c.image.auths)) {
    auths[host] = {};
    for (const [k, field] of AUTH_FIELDS) if (a[field]) auths[host][k] = a[field];
  }
  const runtimes: Record<string, unknown> = {};
  for (const [n, h] of Object.entries(c.runtime.runtimes)) runtimes[n] = { path: h.path, root: h.root, type: h.type };
  return stringifyToml({
    root: c.root,
    state: c.state,
    listen: c.listen,
    log_level: c.logLevel,
    image: {
      registry_config_dir: c.image.registryConfigDir,
      max_concurrent_downloads: c.image.maxConcurrentDownloads,
      progress_timeout_seconds: c.image.progressTimeoutSeconds,
      auth_file: c.image.authFile,
      auths,
    },
    network: { cni_conf_dir: c.network.cniConfDir, cni_bin_dirs: c.network.cniBinDirs },
    streaming: { address: c.streaming.address, port: c.streaming.port },
    runtime: { default_runtime: c.runtime.defaultRuntime, cgroup_driver: c.runtime.cgroupDriver, conmon: c.runtime.conmon, runtimes },
    metrics: { address: c.metrics.address },
  });
}
