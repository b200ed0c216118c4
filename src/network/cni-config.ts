// CNI network configuration: parse and validate config files, pick the default network from the
// conf dir, and watch the dir so the network becomes ready as soon as a config appears.
import { EventEmitter } from 'node:events';
import { promises as fsp, watch, type FSWatcher } from 'node:fs';
import { extname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { invalidArgument } from '../util/errors';
import { logger } from '../util/log';
import { findPluginBinary, PLUGIN_TYPE_RE } from './plugin-path';

const log = logger('cni-config');

/** Spec versions berth can drive, oldest first. 0.1.0/0.2.0 lack chaining and rich results. */
export const SUPPORTED_CNI_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

export interface PluginConf {
  type: string;
  /** Capabilities the plugin wants as runtimeConfig keys (portMappings, bandwidth, ...). */
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface NetworkConfigList {
  name: string;
  /** The version used to talk to the plugins (for 1.1.0 lists: picked from cniVersions). */
  cniVersion: string;
  disableCheck: boolean;
  plugins: PluginConf[];
  /** File it was loaded from, if any. */
  source?: string;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const CONF_EXTS = new Set(['.conflist', '.conf', '.json']);

/** Semantic version order of two "x.y.z" strings. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function isSupportedVersion(v: string): boolean {
  return (SUPPORTED_CNI_VERSIONS as readonly string[]).includes(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function pickVersion(doc: Record<string, unknown>, where: string): string {
  const list = doc.cniVersions;
  if (list !== undefined) {
    if (!Array.isArray(list) || list.some((v) => typeof v !== 'string')) throw invalidArgument(`${where}: cniVersions must be a list of strings`);
    const usable = (list as string[]).filter(isSupportedVersion).sort(compareVersions);
    if (usable.length) return usable[usable.length - 1];
    if (doc.cniVersion === undefined) throw invalidArgument(`${where}: none of cniVersions ${JSON.stringify(list)} is supported`);
  }
  const v = doc.cniVersion;
  if (typeof v !== 'string' || v === '') throw invalidArgument(`${where}: cniVersion is required`);
  if (!isSupportedVersion(v)) throw invalidArgument(`${where}: unsupported cniVersion "${v}" (supported: ${SUPPORTED_CNI_VERSIONS.join(', ')})`);
  return v;
}

function validatePlugin(p: unknown, i: number, where: string): PluginConf {
  if (!isObject(p)) throw invalidArgument(`${where}: plugins[${i}] must be an object`);
  if (typeof p.type !== 'string' || !PLUGIN_TYPE_RE.test(p.type)) throw invalidArgument(`${where}: plugins[${i}] needs a valid "type"`);
  if (p.capabilities !== undefined && (!isObject(p.capabilities) || Object.values(p.capabilities).some((v) => typeof v !== 'boolean')))
    throw invalidArgument(`${where}: plugins[${i}].capabilities must map names to booleans`);
  if (p.ipam !== undefined && (!isObject(p.ipam) || (p.ipam.type !== undefined && typeof p.ipam.type !== 'string')))
    throw invalidArgument(`${where}: plugins[${i}].ipam must be an object with a string "type"`);
  return p as PluginConf;
}

/**
 * Parse one config file's text. A document with "plugins" is a configuration list; otherwise it is
 * a single plugin configuration (the old .conf form), wrapped into a one-plugin list.
 */
export function parseNetworkConfig(text: string, source = 'config'): NetworkConfigList {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw invalidArgument(`${source}: invalid JSON: ${(e as Error).message}`, { source });
  }
  if (!isObject(doc)) throw invalidArgument(`${source}: must be a JSON object`, { source });
  if (typeof doc.name !== 'string' || !NAME_RE.test(doc.name)) throw invalidArgument(`${source}: missing or invalid network "name"`, { source });
  const cniVersion = pickVersion(doc, source);
  if (doc.disableCheck !== undefined && typeof doc.disableCheck !== 'boolean' && doc.disableCheck !== 'true' && doc.disableCheck !== 'false')
    throw invalidArgument(`${source}: disableCheck must be a boolean`, { source });
  const disableCheck = doc.disableCheck === true || doc.disableCheck === 'true';
  let plugins: PluginConf[];
  if (doc.plugins !== undefined) {
    if (!Array.isArray(doc.plugins) || doc.plugins.length === 0) throw invalidArgument(`${source}: plugins must be a non-empty list`, { source });
    plugins = doc.plugins.map((p, i) => validatePlugin(p, i, source));
  } else {
    if (doc.type === undefined) throw invalidArgument(`${source}: neither "plugins" nor "type" given`, { source });
    plugins = [validatePlugin(doc, 0, source)];
  }
  return { name: doc.name, cniVersion, disableCheck, plugins, source };
}

export interface ConfDirLoad {
  /** Valid configurations, in file name order. */
  configs: NetworkConfigList[];
  /** Files that could not be used, and why. */
  errors: { file: string; message: string }[];
}

/** Load every config file of a conf dir (a missing dir is simply empty). */
export async function loadConfDir(dir: string): Promise<ConfDirLoad> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { configs: [], errors: [] };
    throw e;
  }
  const out: ConfDirLoad = { configs: [], errors: [] };
  for (const name of names.filter((n) => CONF_EXTS.has(extname(n)) && !n.startsWith('.')).sort()) {
    const file = join(dir, name);
    try {
      const st = await fsp.stat(file);
      if (!st.isFile()) continue;
      out.configs.push(parseNetworkConfig(await fsp.readFile(file, 'utf8'), file));
    } catch (e) {
      out.errors.push({ file, message: (e as Error).message });
    }
  }
  return out;
}

/** The default network: the first valid config by file name. */
export async function loadDefaultNetwork(dir: string): Promise<NetworkConfigList | undefined> {
  return (await loadConfDir(dir)).configs[0];
}

export interface NetworkReadiness {
  ready: boolean;
  reason?: string;
  message?: string;
}

export const NETWORK_NOT_READY_REASON = 'NetworkPluginNotReady';

export interface WatcherOptions {
  /** Wait this long after the last change event before reloading (editors write in bursts). */
  debounceMs?: number;
  /** Reload this often regardless: covers a conf dir created later and events fs.watch misses. */
  pollMs?: number;
  /** If given, a config whose plugin binaries are missing does not count as ready. */
  binDirs?: string[];
}

/**
 * Keeps the default network config current. Emits 'change' (config | undefined) whenever the
 * selected config changes, so callers can log or update readiness.
 */
export class CniConfigWatcher extends EventEmitter {
  private cfg: NetworkConfigList | undefined;
  private readiness: NetworkReadiness = { ready: false, reason: NETWORK_NOT_READY_REASON, message: 'cni config not loaded yet' };
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private loading: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    readonly dir: string,
    private readonly opts: WatcherOptions = {},
  ) {
    super();
  }

  async start(): Promise<void> {
    this.stopped = false;
    if (this.poll) clearInterval(this.poll);
    await this.reload();
    this.poll = setInterval(() => void this.reload(), this.opts.pollMs ?? 5000);
    this.poll.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.poll) clearInterval(this.poll);
    if (this.debounce) clearTimeout(this.debounce);
    this.watcher?.close();
    this.watcher = undefined;
  }

  current(): NetworkConfigList | undefined {
    return this.cfg;
  }

  status(): NetworkReadiness {
    return { ...this.readiness };
  }

  /** Reload now; concurrent calls coalesce into one extra reload. */
  reload(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      do {
        this.again = false;
        await this.loadOnce().catch((e) => log.warn({ dir: this.dir, err: e }, 'cni config reload failed'));
      } while (this.again);
    })().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private ensureWatch(): void {
    if (this.watcher || this.stopped) return;
    try {
      this.watcher = watch(this.dir, { persistent: false }, () => this.scheduleReload());
      this.watcher.on('error', () => {
        // The dir went away; polling notices when it is back.
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      // Dir missing: polling will retry.
    }
  }

  private scheduleReload(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.reload(), this.opts.debounceMs ?? 200);
    this.debounce.unref();
  }

  private async loadOnce(): Promise<void> {
    this.ensureWatch();
    const { configs, errors } = await loadConfDir(this.dir);
    const cfg = configs[0];
    let readiness: NetworkReadiness;
    if (!cfg) {
      const why = errors.length ? `: ${errors.map((e) => e.message).join('; ')}` : '';
      readiness = { ready: false, reason: NETWORK_NOT_READY_REASON, message: `no valid CNI network config in ${this.dir}${why}` };
    } else {
      readiness = { ready: true };
      for (const p of this.opts.binDirs ? cfg.plugins : []) {
        if (!(await findPluginBinary(p.type, this.opts.binDirs!))) {
          readiness = {
            ready: false,
            reason: NETWORK_NOT_READY_REASON,
            message: `CNI plugin "${p.type}" of network "${cfg.name}" not found in ${this.opts.binDirs!.join(', ')}`,
          };
          break;
        }
      }
    }
    this.readiness = readiness;
    if (!isDeepStrictEqual(cfg, this.cfg)) {
      this.cfg = cfg;
      log.info({ dir: this.dir, network: cfg?.name, source: cfg?.source }, cfg ? 'CNI network config loaded' : 'no CNI network config');
      this.emit('change', cfg);
    }
  }
}
