// Registry credentials from berthd's configuration, for pulls whose CRI request carries none:
// `[image.auths."<host>"]` tables in berth.toml, then an `auth_file` in docker's config.json format
// (the kubelet's /var/lib/kubelet/config.json, or one written by `docker login`). The file is read
// again whenever it changes, so credentials can be rotated without restarting berthd.
import { readFileSync, statSync } from 'node:fs';
import { errorMessage } from '../../util/errors';
import { logger } from '../../util/log';
import type { CredentialProvider, Credentials } from './auth';
import { loginRegistryHost } from './login-check';

const log = logger('registry-credentials');

/** One registry's credentials as configured (the fields docker's config.json has, too). */
export type ConfiguredAuth = Pick<Credentials, 'username' | 'password' | 'auth' | 'identityToken'>;

export interface ConfiguredCredentialsOptions {
  /** Keyed by registry host (`registry.example.com:5000`); docker.io's other names and URLs are accepted. */
  auths?: Record<string, ConfiguredAuth>;
  /** A docker config.json; empty or unset: none. A missing file means no credentials. */
  authFile?: string;
}

/** The key a configured registry name is looked up by; undefined for names that are no host. */
function hostKey(name: string): string | undefined {
  try {
    return loginRegistryHost(name);
  } catch {
    return undefined;
  }
}

function credentials(a: ConfiguredAuth): Credentials | undefined {
  const c: Credentials = {};
  if (a.username) c.username = a.username;
  if (a.password) c.password = a.password;
  if (a.auth) c.auth = a.auth;
  if (a.identityToken) c.identityToken = a.identityToken;
  return Object.keys(c).length ? c : undefined;
}

function index(auths: Record<string, ConfiguredAuth>): Map<string, Credentials> {
  const out = new Map<string, Credentials>();
  for (const [name, a] of Object.entries(auths)) {
    const key = hostKey(name);
    const c = credentials(a);
    if (key && c && !out.has(key)) out.set(key, c);
  }
  return out;
}

/** docker config.json's `auths` (entries may use `identitytoken`, and URLs as keys). */
export function parseDockerConfigAuths(text: string, file: string): Map<string, Credentials> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${errorMessage(e)}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${file} is not a JSON object`);
  const auths = (doc as { auths?: unknown }).auths;
  if (auths === undefined) return new Map();
  if (!auths || typeof auths !== 'object' || Array.isArray(auths)) throw new Error(`${file}: "auths" is not an object`);
  const entries: Record<string, ConfiguredAuth> = {};
  for (const [name, raw] of Object.entries(auths as Record<string, unknown>)) {
    if (!raw || typeof raw !== 'object') continue;
    const e = raw as Record<string, unknown>;
    const s = (k: string) => (typeof e[k] === 'string' ? (e[k] as string) : undefined);
    entries[name] = { username: s('username'), password: s('password'), auth: s('auth'), identityToken: s('identitytoken') };
  }
  return index(entries);
}

/** A credential provider over the configured tables and auth file (the tables win). */
export function configuredCredentials(opts: ConfiguredCredentialsOptions): CredentialProvider {
  const inline = index(opts.auths ?? {});
  const file = opts.authFile || undefined;
  let cached: { stamp: string; auths: Map<string, Credentials> } | undefined;

  const fromFile = (): Map<string, Credentials> => {
    if (!file) return new Map();
    let stamp: string;
    try {
      const st = statSync(file);
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      log.warn({ file, err: errorMessage(e) }, 'cannot read the registry auth file; pulling without its credentials');
      return new Map();
    }
    if (cached?.stamp === stamp) return cached.auths;
    let auths = new Map<string, Credentials>();
    try {
      auths = parseDockerConfigAuths(readFileSync(file, 'utf8'), file);
      log.info({ file, registries: auths.size }, 'read registry auth file');
    } catch (e) {
      // A broken file must not fail pulls that need no credentials; it is reported once per version.
      log.warn({ file, err: errorMessage(e) }, 'ignoring the registry auth file');
    }
    cached = { stamp, auths };
    return auths;
  };

  return (host: string) => {
    const key = hostKey(host);
    if (!key) return undefined;
    return inline.get(key) ?? fromFile().get(key);
  };
}
