// Registry credentials kept as docker keeps them, so `berth login` and `docker login` share one
// file: $DOCKER_CONFIG/config.json (default ~/.docker/config.json), `auths.<server>.auth` =
// base64("user:password"). Other keys in the file (credsStore, proxies, ...) are left as they are.
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-file';
import { CliError } from './errors';

/** docker's key for Docker Hub in config.json. */
export const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

export interface Credentials {
  username: string;
  password: string;
}

export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
}

/**
 * The config.json key for a registry named by a server argument or an image reference:
 * Docker Hub's names (docker.io, index.docker.io, registry-1.docker.io, or no registry part at all)
 * map to docker's legacy key; a scheme and path are dropped from servers written as URLs.
 */
export function registryKey(server: string): string {
  let s = server.trim().replace(/^[a-z]+:\/\//i, '');
  s = s.split('/')[0];
  if (!s || s === 'docker.io' || s === 'index.docker.io' || s === 'registry-1.docker.io') return DOCKER_HUB_KEY;
  return s;
}

/** The registry an image reference points at: its first component when it looks like a host. */
export function registryOfReference(ref: string): string {
  const slash = ref.indexOf('/');
  if (slash < 0) return DOCKER_HUB_KEY;
  const first = ref.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? registryKey(first) : DOCKER_HUB_KEY;
}

type ConfigFile = { auths?: Record<string, { auth?: string; [k: string]: unknown }>; [k: string]: unknown };

export class CredentialStore {
  readonly file: string;

  constructor(readonly dir: string = dockerConfigDir()) {
    this.file = join(dir, 'config.json');
  }

  private read(): ConfigFile {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw e;
    }
    if (!text.trim()) return {};
    try {
      const v = JSON.parse(text) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as ConfigFile;
    } catch {
      // fall through
    }
    throw new CliError(`${this.file} is not a JSON object: fix or remove it`);
  }

  private async write(cfg: ConfigFile): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // Passwords inside: readable by the owner only, and never a torn file.
    await writeFileAtomic(this.file, `${JSON.stringify(cfg, null, '\t')}\n`, 0o600);
  }

  /** Credentials for a server or a key; undefined when none are stored (or they cannot be decoded). */
  get(server: string): Credentials | undefined {
    const key = registryKey(server);
    const entry = this.read().auths?.[key] ?? this.read().auths?.[`https://${key}`] ?? this.read().auths?.[`http://${key}`];
    if (!entry?.auth) return undefined;
    const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = plain.indexOf(':');
    if (colon <= 0) return undefined;
    return { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
  }

  async set(server: string, creds: Credentials): Promise<void> {
    const cfg = this.read();
    cfg.auths = { ...(cfg.auths ?? {}), [registryKey(server)]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') } };
    await this.write(cfg);
  }

  /** Removes the server's entry; false when there was none. */
  async remove(server: string): Promise<boolean> {
    const cfg = this.read();
    const key = registryKey(server);
    const keys = [key, `https://${key}`, `http://${key}`].filter((k) => cfg.auths && k in cfg.auths);
    if (!keys.length) return false;
    for (const k of keys) delete cfg.auths![k];
    await this.write(cfg);
    return true;
  }
}
