// Registry authentication: WWW-Authenticate challenges, the docker token protocol (Bearer), Basic,
// and where credentials come from (the CRI request, or a provider for configured credentials).
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { readText, type HttpTransport } from './http';
import { BerthError, errorMessage, invalidArgument, unavailable } from '../../util/errors';
import { logger } from '../../util/log';

const log = logger('registry-auth');

/** Credentials as they arrive in CRI PullImageRequest.auth (AuthConfig), or from config. */
export interface Credentials {
  username?: string;
  password?: string;
  /** base64("user:pass") */
  auth?: string;
  /** OAuth2 refresh token (docker "identitytoken"), exchanged at the token realm. */
  identityToken?: string;
  /** A bearer token to present to the registry as-is. */
  registryToken?: string;
  /** When set, the credentials are only for this registry host (CRI AuthConfig.server_address). */
  serverAddress?: string;
}

/** Config-supplied credentials, looked up by registry host (`docker.io`, `127.0.0.1:5000`). */
export type CredentialProvider = (host: string) => Credentials | undefined | Promise<Credentials | undefined>;

export interface Challenge {
  /** Lower-cased scheme: 'bearer', 'basic', … */
  scheme: string;
  /** Parameters with lower-cased names: realm, service, scope, error, … */
  params: Record<string, string>;
}

/**
 * Parses a WWW-Authenticate header value (RFC 7235): one or more challenges separated by commas,
 * each `scheme` followed by `name=value` or `name="quoted \" value"` parameters.
 */
export function parseWWWAuthenticate(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skipWs = () => {
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  const token = () => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < n) {
    skipWs();
    if (header[i] === ',') {
      i++;
      continue;
    }
    const word = token();
    if (word === '') {
      i++; // junk character: skip it rather than loop forever
      continue;
    }
    skipWs();
    if (header[i] === '=' && current) {
      // a parameter of the current challenge (a token68 value without '=' is not used by registries)
      i++;
      skipWs();
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++; // closing quote
      } else {
        const vs = i;
        while (i < n && header[i] !== ',' && header[i] !== ' ' && header[i] !== '\t') i++;
        value = header.slice(vs, i);
      }
      current.params[word.toLowerCase()] = value;
    } else {
      current = { scheme: word.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}

/** Username/password from explicit fields or the base64 `auth` field. */
export function basicCredentials(c: Credentials | undefined): { username: string; password: string } | undefined {
  if (!c) return undefined;
  if (c.username) return { username: c.username, password: c.password ?? '' };
  if (c.auth) {
    const decoded = Buffer.from(c.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw invalidArgument('invalid auth field in credentials: expected base64 of "user:password"');
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return undefined;
}

export function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/** True when credentials pinned to a server address are not meant for `host`. */
export function credentialsApply(c: Credentials, host: string): boolean {
  if (!c.serverAddress) return true;
  let addr = c.serverAddress.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  if (addr === 'index.docker.io' || addr === 'registry-1.docker.io') addr = 'docker.io';
  const h = host === 'registry-1.docker.io' || host === 'index.docker.io' ? 'docker.io' : host;
  return addr === h;
}

/** Distinguishes cache entries by who asked, without keeping secrets in clear in the key. */
function identityKey(c: Credentials | undefined): string {
  const basic = basicCredentials(c);
  const raw = c?.identityToken ? `it:${c.identityToken}` : basic ? `u:${basic.username}:${basic.password}` : 'anon';
  return raw === 'anon' ? raw : createHash('sha256').update(raw).digest('hex');
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

export interface TokenRequest {
  /** Registry host the token is for (cache key and log context). */
  host: string;
  challenge: Challenge;
  /** e.g. `repository:library/busybox:pull` */
  scope: string;
  creds?: Credentials;
  /** The registry's transport: the token server is reached with its TLS settings. */
  transport: HttpTransport;
  signal?: AbortSignal;
}

/** Docker's default when the token response has no expires_in. */
const DEFAULT_TOKEN_TTL_S = 60;
/** Renew a little early so a token does not expire in flight. */
const EXPIRY_SKEW_MS = 5_000;

/**
 * Turns challenges into Authorization header values, fetching and caching bearer tokens per
 * host + service + scope + identity until they expire.
 */
export class Authenticator {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(private readonly userAgent = 'berth') {}

  /** Authorization header for a challenge, or undefined if the scheme needs credentials we do not have. */
  async authorization(req: TokenRequest): Promise<string | undefined> {
    const { challenge, creds } = req;
    if (challenge.scheme === 'basic') {
      const basic = basicCredentials(creds);
      return basic ? basicHeader(basic.username, basic.password) : undefined;
    }
    if (challenge.scheme !== 'bearer') {
      throw new BerthError('unimplemented', `registry ${req.host} asks for unsupported auth scheme "${challenge.scheme}"`, {
        host: req.host,
      });
    }
    if (creds?.registryToken) return `Bearer ${creds.registryToken}`;
    return `Bearer ${await this.bearerToken(req)}`;
  }

  /** Forget cached tokens for a host (after the registry rejected one). */
  invalidate(host: string): void {
    for (const k of this.tokens.keys()) if (k.startsWith(`${host}\n`)) this.tokens.delete(k);
  }

  private async bearerToken(req: TokenRequest): Promise<string> {
    const realm = req.challenge.params.realm;
    if (!realm) throw unavailable(`registry ${req.host} sent a Bearer challenge without realm`, { host: req.host });
    const service = req.challenge.params.service ?? '';
    const key = `${req.host}\n${realm}\n${service}\n${req.scope}\n${identityKey(req.creds)}`;
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.token;
    // Concurrent layer fetches share one token request.
    let p = this.inflight.get(key);
    if (!p) {
      p = this.fetchToken(req, realm, service, key).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async fetchToken(req: TokenRequest, realm: string, service: string, cacheKey: string): Promise<string> {
    const ctx = { host: req.host, realm, service, scope: req.scope };
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw unavailable(`registry ${req.host} sent an invalid token realm "${realm}"`, ctx);
    }
    const headers: Record<string, string> = { 'user-agent': this.userAgent };
    let method: 'GET' | 'POST' = 'GET';
    let body: string | undefined;
    const basic = basicCredentials(req.creds);
    if (req.creds?.identityToken) {
      // OAuth2 refresh-token grant, as docker does for identity tokens.
      method = 'POST';
      headers['content-type'] = 'application/x-www-form-urlencoded';
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: req.creds.identityToken, client_id: 'berth' });
      if (service) form.set('service', service);
      if (req.scope) form.set('scope', req.scope);
      body = form.toString();
    } else {
      if (service) url.searchParams.set('service', service);
      if (req.scope) url.searchParams.set('scope', req.scope);
      if (basic) headers.authorization = basicHeader(basic.username, basic.password);
    }
    let status: number;
    let text: string;
    try {
      const res = await req.transport.request(url, { method, headers, body, signal: req.signal });
      status = res.statusCode;
      text = await readText(res.body);
    } catch (e) {
      if (req.signal?.aborted) throw new BerthError('cancelled', `token request to ${url.host} cancelled`, ctx, { cause: e });
      throw unavailable(`token request to ${url.host} failed: ${errorMessage(e)}`, ctx, e);
    }
    if (status === 401 || status === 403) {
      throw new BerthError('permission-denied', `token server ${url.host} rejected the credentials for ${req.host} (HTTP ${status})`, {
        ...ctx,
        status,
      });
    }
    if (status !== 200) throw unavailable(`token server ${url.host} answered HTTP ${status}: ${text.slice(0, 200)}`, { ...ctx, status });
    let parsed: { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
    try {
      parsed = JSON.parse(text);
    } catch {
      throw unavailable(`token server ${url.host} sent a non-JSON answer`, ctx);
    }
    const token = parsed.token || parsed.access_token;
    if (!token) throw unavailable(`token server ${url.host} sent no token`, ctx);
    const ttlS = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : DEFAULT_TOKEN_TTL_S;
    const issued = parsed.issued_at ? Date.parse(parsed.issued_at) : NaN;
    const base = Number.isFinite(issued) && issued <= Date.now() ? issued : Date.now();
    const expiresAt = base + ttlS * 1000 - EXPIRY_SKEW_MS;
    this.tokens.set(cacheKey, { token, expiresAt });
    log.debug({ host: req.host, scope: req.scope, ttlS }, 'fetched registry token');
    return token;
  }
}
