// Registry endpoints from containerd's hosts directory format:
//   <dir>/<host>/hosts.toml, <dir>/<host:port>/hosts.toml, <dir>/_default/hosts.toml
//
//   server = "https://registry.example.com"      # upstream, tried last
//   [host."https://mirror.example.com"]           # tried first, in file order
//     capabilities = ["pull", "resolve"]
//     ca = "ca.pem"                                # or ["a.pem", "b.pem"]; relative to the host dir
//     client = [["cert.pem", "key.pem"]]           # or "both.pem" / ["both.pem"]
//     skip_verify = false
//     override_path = false
//     [host."https://mirror.example.com".header]
//       x-custom = "v"                             # or ["v1", "v2"]
//
// Deliberate differences from containerd, so traffic only goes where an operator wrote it:
//  - there is no implicit plain-http (not even for localhost); http only via an http:// URL;
//  - when a hosts.toml lists [host] entries but no `server`, only those hosts are used (containerd
//    would append https://<host>); write `server` to keep the upstream as a fallback.
import { promises as fsp } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { invalidArgument, errorMessage } from '../../util/errors';

export type Capability = 'pull' | 'resolve' | 'push';
const ALL_CAPABILITIES: Capability[] = ['pull', 'resolve', 'push'];

export interface EndpointTLS {
  /** Absolute paths of PEM files with extra CA certificates (added to the system ones). */
  ca?: string[];
  /** Client certificate / key paths (the first configured pair). */
  cert?: string;
  key?: string;
  /** All configured client pairs; `key` may equal `cert` when both are in one PEM file. */
  clients?: Array<{ cert: string; key: string }>;
  skipVerify: boolean;
}

export interface RegistryEndpoint {
  /** scheme://host[:port] */
  url: string;
  /** API root: '/v2' normally, or the configured path with override_path. */
  pathPrefix: string;
  capabilities: Capability[];
  tls: EndpointTLS;
  headers: Record<string, string[]>;
  /** True for `server` (or the implied upstream), false for [host] mirrors. */
  upstream: boolean;
}

/** The implied upstream for a registry host with no configuration. */
export function defaultEndpoint(host: string): RegistryEndpoint {
  const url = host === 'docker.io' ? 'https://registry-1.docker.io' : `https://${host}`;
  return { url, pathPrefix: '/v2', capabilities: [...ALL_CAPABILITIES], tls: { skipVerify: false }, headers: {}, upstream: true };
}

async function readIfExists(p: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(p, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/**
 * Ordered endpoints for registry `host` (as in a reference's domain, e.g. `docker.io`, `127.0.0.1:5000`).
 * `configDir` is the hosts directory; undefined or a host without config → the implied https upstream.
 * A directory `<host>/` without hosts.toml counts as no config. Parse errors throw invalid-argument.
 */
export async function registryEndpoints(host: string, configDir?: string): Promise<RegistryEndpoint[]> {
  if (!configDir) return [defaultEndpoint(host)];
  for (const dirName of [host, '_default']) {
    if (dirName.includes('/') || dirName === '..' || dirName === '.') continue;
    const dir = join(configDir, dirName);
    const file = join(dir, 'hosts.toml');
    const text = await readIfExists(file);
    if (text !== undefined) return parseHostsToml(text, host, dir, file);
  }
  return [defaultEndpoint(host)];
}

type Table = Record<string, unknown>;

/** Parses one hosts.toml. `baseDir` resolves relative cert paths; `source` names the file in errors. */
export function parseHostsToml(text: string, host: string, baseDir: string, source = 'hosts.toml'): RegistryEndpoint[] {
  const bad = (why: string): never => {
    throw invalidArgument(`invalid registry hosts config ${source}: ${why}`, { file: source, registry: host });
  };
  let doc: Table;
  try {
    doc = parseToml(text) as Table;
  } catch (e) {
    return bad(errorMessage(e));
  }
  const endpoints: RegistryEndpoint[] = [];
  const hosts = doc.host;
  if (hosts !== undefined) {
    if (!isTable(hosts)) bad('`host` must be a table of [host."<url>"] sections');
    // smol-toml keeps keys in document order, which is the order to try mirrors in.
    for (const [url, cfg] of Object.entries(hosts as Table)) {
      if (!isTable(cfg)) bad(`[host."${url}"] must be a table`);
      endpoints.push(parseEntry(url, cfg as Table, baseDir, false, bad));
    }
  }
  if (doc.server !== undefined) {
    if (typeof doc.server !== 'string' || doc.server === '') bad('`server` must be a non-empty string');
    endpoints.push(parseEntry(doc.server as string, doc, baseDir, true, bad));
  } else if (endpoints.length === 0) {
    // No server and no mirrors: top-level settings (ca, headers, …) apply to the implied upstream.
    const implied = defaultEndpoint(host);
    endpoints.push(parseEntry(implied.url, doc, baseDir, true, bad));
  }
  return endpoints;
}

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function parseEntry(rawUrl: string, cfg: Table, baseDir: string, upstream: boolean, bad: (why: string) => never): RegistryEndpoint {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(rawUrl) ? rawUrl : `https://${rawUrl}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    return bad(`bad URL "${rawUrl}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') bad(`URL "${rawUrl}" must be http:// or https://`);
  if (u.username || u.password || u.search || u.hash) bad(`URL "${rawUrl}" must not contain credentials, query or fragment`);

  const overridePath = cfg.override_path ?? false;
  if (typeof overridePath !== 'boolean') bad(`override_path for "${rawUrl}" must be a boolean`);
  let path = u.pathname.replace(/\/+/g, '/').replace(/\/$/, '');
  if (!overridePath && !path.endsWith('/v2')) path = `${path}/v2`;

  let capabilities = [...ALL_CAPABILITIES];
  if (cfg.capabilities !== undefined) {
    const caps = cfg.capabilities;
    if (!Array.isArray(caps)) return bad(`capabilities for "${rawUrl}" must be an array`);
    capabilities = [];
    for (const c of caps) {
      const lc = typeof c === 'string' ? c.toLowerCase() : c;
      if (lc !== 'pull' && lc !== 'resolve' && lc !== 'push') bad(`unknown capability ${JSON.stringify(c)} for "${rawUrl}"`);
      if (!capabilities.includes(lc as Capability)) capabilities.push(lc as Capability);
    }
  }

  const abs = (p: string) => (isAbsolute(p) ? p : join(baseDir, p));
  const tls: EndpointTLS = { skipVerify: false };
  if (cfg.skip_verify !== undefined) {
    if (typeof cfg.skip_verify !== 'boolean') bad(`skip_verify for "${rawUrl}" must be a boolean`);
    tls.skipVerify = cfg.skip_verify as boolean;
  }
  if (cfg.ca !== undefined) {
    const ca = typeof cfg.ca === 'string' ? [cfg.ca] : cfg.ca;
    if (!Array.isArray(ca) || ca.some((x) => typeof x !== 'string')) bad(`ca for "${rawUrl}" must be a path or a list of paths`);
    tls.ca = (ca as string[]).map(abs);
  }
  if (cfg.client !== undefined) {
    const clients: Array<{ cert: string; key: string }> = [];
    const items = typeof cfg.client === 'string' ? [cfg.client] : cfg.client;
    if (!Array.isArray(items)) return bad(`client for "${rawUrl}" must be a path, a list of paths or a list of [cert, key] pairs`);
    for (const it of items) {
      if (typeof it === 'string') clients.push({ cert: abs(it), key: abs(it) });
      else if (Array.isArray(it) && it.length === 2 && it.every((x) => typeof x === 'string')) {
        clients.push({ cert: abs(it[0] as string), key: abs(it[1] as string) });
      } else bad(`client entry ${JSON.stringify(it)} for "${rawUrl}" must be a path or a [cert, key] pair`);
    }
    if (clients.length > 0) {
      tls.clients = clients;
      tls.cert = clients[0]!.cert;
      tls.key = clients[0]!.key;
    }
  }

  const headers: Record<string, string[]> = {};
  if (cfg.header !== undefined) {
    if (!isTable(cfg.header)) bad(`header for "${rawUrl}" must be a table`);
    for (const [k, v] of Object.entries(cfg.header as Table)) {
      if (typeof v === 'string') headers[k.toLowerCase()] = [v];
      else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) headers[k.toLowerCase()] = v as string[];
      else bad(`header "${k}" for "${rawUrl}" must be a string or list of strings`);
    }
  }
  return { url: `${u.protocol}//${u.host}`, pathPrefix: path, capabilities, tls, headers, upstream };
}
