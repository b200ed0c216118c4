// OCI distribution-spec client: resolve tags, fetch manifests and blobs, push blobs and manifests,
// across the ordered endpoints (mirrors, then upstream) that hosts.toml configures for a registry.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { rootCertificates } from 'node:tls';
import { BerthError, errorMessage, failedPrecondition, type ErrorKind } from '../../util/errors';
import { logger } from '../../util/log';
import { MANIFEST_MEDIA_TYPES, MAX_MANIFEST_BYTES, parseManifest } from '../manifest';
import type { Descriptor } from '../oci-types';
import { formatReference, validateDigest, type ImageReference } from '../reference';
import { Authenticator, credentialsApply, parseWWWAuthenticate, type Challenge, type CredentialProvider, type Credentials } from './auth';
import { registryEndpoints, type Capability, type RegistryEndpoint } from './hosts';
import { drain, HttpTransport, readText, type HttpResponse, type HttpTlsOptions } from './http';

const log = logger('registry');

export interface RequestOptions {
  /** Credentials from the CRI request; they win over the client's credential provider. */
  auth?: Credentials;
  signal?: AbortSignal;
  /** No byte (or response header) received for this long → deadline-exceeded. 0 disables. */
  progressTimeoutMs?: number;
}

export interface RegistryClientOptions {
  /** containerd-style hosts directory (`<dir>/<host>/hosts.toml`); re-read on every operation. */
  hostsDir?: string;
  /** Config-supplied credentials by host, used when a request carries none. */
  credentials?: CredentialProvider;
  userAgent?: string;
  /** Default progress timeout when a request does not set one (default 5 minutes). */
  progressTimeoutMs?: number;
  /** Attempts for GET/HEAD on 5xx, connection reset or timeout before the body starts (default 4). */
  retryAttempts?: number;
  /** First backoff delay; doubles per retry (default 250 ms). */
  retryBaseDelayMs?: number;
  connectTimeoutMs?: number;
}

export interface ResolvedManifest {
  /** The reference as asked for (normalized). */
  name: ImageReference;
  /** mediaType from the registry, digest and size of the exact bytes. */
  descriptor: Descriptor;
  bytes: Buffer;
  /** Endpoint URL that answered, e.g. `https://registry-1.docker.io`. */
  endpoint: string;
}

interface SendSpec {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT';
  /** Path below `<prefix>/<repo>/` (e.g. `manifests/latest`) or an absolute URL (upload locations). */
  target: string;
  headers?: Record<string, string>;
  /** Called per attempt so a retried upload gets a fresh stream. */
  body?: () => Readable | Buffer | undefined;
  push?: boolean;
  /** What is being transferred, for messages: `manifest busybox:latest`, `blob sha256:…`. */
  what: string;
}

interface Sent {
  res: HttpResponse;
  wd: Watchdog;
  signal: AbortSignal;
  url: string;
}

/** Aborts when no progress is reported for `ms`; kick() on every byte received. */
class Watchdog {
  private readonly ac = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  fired = false;
  constructor(readonly ms: number) {
    if (ms > 0) {
      this.timer = setTimeout(() => {
        this.fired = true;
        this.ac.abort(new Error(`no progress for ${ms} ms`));
      }, ms);
    }
  }
  get signal(): AbortSignal {
    return this.ac.signal;
  }
  kick(): void {
    this.timer?.refresh();
  }
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
]);
/** OpenSSL verification codes and TLS-layer failures (e.g. https spoken to a plain-http server). */
const TLS_ERROR_CODE = /CERT|SSL|TLS|UNABLE_TO_|SIGNATURE|ISSUER|SELF_SIGNED|ALTNAME|EPROTO/;
const TLS_HINT = 'configure `ca` (or `skip_verify`) for this host in hosts.toml';

function errCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

let systemBundle: string[] | undefined;
/** The distribution's CA bundle (where update-ca-certificates puts local CAs), next to node's built-in roots. */
function systemCAs(): string[] {
  if (!systemBundle) {
    systemBundle = [...rootCertificates];
    for (const f of ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt']) {
      try {
        systemBundle.push(readFileSync(f, 'utf8'));
        break;
      } catch {
        // not this distribution's layout
      }
    }
  }
  return systemBundle;
}

function hasCredentials(c: Credentials | undefined): c is Credentials {
  return !!c && !!(c.username || c.password || c.auth || c.identityToken || c.registryToken);
}

interface Failure {
  endpoint: string;
  error: BerthError;
}

export class RegistryClient {
  private readonly auth: Authenticator;
  private readonly transports = new Map<string, Promise<HttpTransport>>();
  /** Last challenge per endpoint origin, so later requests authenticate up front. */
  private readonly challenges = new Map<string, Challenge>();
  private readonly userAgent: string;
  private readonly progressTimeoutMs: number;
  private readonly retryAttempts: number;
  private readonly retryBaseDelayMs: number;
  private readonly connectTimeoutMs: number;

  constructor(private readonly options: RegistryClientOptions = {}) {
    this.userAgent = options.userAgent ?? 'berth/0.1';
    this.auth = new Authenticator(this.userAgent);
    this.progressTimeoutMs = options.progressTimeoutMs ?? 5 * 60_000;
    this.retryAttempts = Math.max(1, options.retryAttempts ?? 4);
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 250;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
  }

  /** Releases pooled connections. */
  async close(): Promise<void> {
    const transports = [...this.transports.values()];
    this.transports.clear();
    await Promise.all(transports.map(async (t) => (await t.catch(() => undefined))?.close()));
  }

  /** The endpoints tried for a registry host, in order (from hosts.toml). */
  endpoints(host: string): Promise<RegistryEndpoint[]> {
    return registryEndpoints(host, this.options.hostsDir);
  }

  /**
   * GET <endpoint>/v2/ with `opts.auth` through the token or basic flow (docker login's check).
   * Resolves when the registry answers 200; a refusal is a permission-denied error.
   */
  async ping(ep: RegistryEndpoint, opts: RequestOptions = {}): Promise<void> {
    const ref: ImageReference = { domain: new URL(ep.url).host, path: '' };
    const what = `login to ${ep.url}`;
    const sent = await this.send(ep, ref, { method: 'GET', target: `${ep.url}${ep.pathPrefix}/`, what }, opts);
    if (sent.res.statusCode === 200) return this.finish(sent);
    sent.wd.stop();
    throw await this.httpError(sent.res, what, ep, ref, sent.url);
  }

  /**
   * Fetches the manifest (or index) a reference names. By digest when the reference has one
   * (endpoints with "pull"), else by tag (endpoints with "resolve"). The bytes are verified
   * against the reference's digest, or against Docker-Content-Digest when the registry sends it.
   */
  async resolve(ref: ImageReference, opts: RequestOptions = {}): Promise<ResolvedManifest> {
    const byDigest = ref.digest !== undefined;
    const reference = ref.digest ?? ref.tag ?? 'latest';
    const what = `manifest ${formatReference(ref)}`;
    return this.tryEndpoints(ref, byDigest ? 'pull' : 'resolve', what, opts, async (ep) => {
      const { bytes, headers } = await this.getManifest(ep, ref, reference, what, opts);
      const contentType = String(headers['content-type'] ?? '');
      const parsed = parseManifest(bytes, contentType, { reference: formatReference(ref), endpoint: ep.url });
      let digest: string;
      if (ref.digest) {
        digest = this.verifyDigest(bytes, ref.digest, what, ep);
      } else {
        digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
        const announced = headers['docker-content-digest'];
        if (typeof announced === 'string' && announced !== '') this.verifyDigest(bytes, announced, what, ep, 'Docker-Content-Digest');
      }
      return {
        name: ref,
        descriptor: { mediaType: parsed.mediaType, digest, size: bytes.length },
        bytes,
        endpoint: ep.url,
      };
    });
  }

  /** Fetches a manifest by digest (e.g. a platform manifest named by an index) and verifies it. */
  async fetchManifest(ref: ImageReference, digest: string, opts: RequestOptions = {}): Promise<Buffer> {
    validateDigest(digest, { reference: formatReference(ref) });
    const what = `manifest ${ref.domain}/${ref.path}@${digest}`;
    return this.tryEndpoints(ref, 'pull', what, opts, async (ep) => {
      const { bytes } = await this.getManifest(ep, ref, digest, what, opts);
      this.verifyDigest(bytes, digest, what, ep);
      return bytes;
    });
  }

  /**
   * Streams a blob. Redirects (to blob storage) are followed without the registry's credentials.
   * The stream fails if more than desc.size bytes arrive, if it ends short, on a progress timeout
   * (deadline-exceeded) and on cancellation; verifying the digest is the caller's job.
   */
  async fetchBlob(ref: ImageReference, desc: Descriptor, opts: RequestOptions = {}): Promise<Readable> {
    validateDigest(desc.digest, { reference: formatReference(ref) });
    const what = `blob ${desc.digest}`;
    return this.tryEndpoints(ref, 'pull', what, opts, async (ep) => {
      const sent = await this.send(ep, ref, { method: 'GET', target: `blobs/${desc.digest}`, what }, opts);
      const { res, wd, signal } = sent;
      if (res.statusCode !== 200) {
        wd.stop();
        throw await this.httpError(res, what, ep, ref, sent.url);
      }
      const length = Number(res.headers['content-length']);
      if (Number.isFinite(length) && length > desc.size) {
        wd.stop();
        res.body.destroy();
        throw failedPrecondition(`${what} from ${ep.url} is ${length} bytes, expected ${desc.size}`, this.ctx(ref, ep, { digest: desc.digest }));
      }
      return this.guardBlobStream(res, desc, wd, signal, opts, ep, ref, what, sent.url);
    });
  }

  /**
   * Uploads a blob unless the registry already has it (HEAD first). Monolithic upload: POST
   * uploads/, then PUT <location>?digest=. `body` is called per attempt.
   */
  async pushBlob(
    ref: ImageReference,
    desc: Descriptor,
    body: () => Readable | Buffer,
    opts: RequestOptions = {},
  ): Promise<{ existed: boolean }> {
    validateDigest(desc.digest, { reference: formatReference(ref) });
    const what = `blob ${desc.digest}`;
    return this.tryEndpoints(ref, 'push', `push ${what}`, opts, async (ep) => {
      const head = await this.send(ep, ref, { method: 'HEAD', target: `blobs/${desc.digest}`, push: true, what }, opts);
      await this.finish(head);
      if (head.res.statusCode === 200) return { existed: true };
      if (head.res.statusCode !== 404) throw await this.httpError(head.res, what, ep, ref, head.url);

      const start = await this.send(ep, ref, { method: 'POST', target: 'blobs/uploads/', push: true, what, headers: { 'content-length': '0' } }, opts);
      const location = start.res.headers.location;
      if (start.res.statusCode !== 202 || typeof location !== 'string') {
        start.wd.stop();
        throw await this.httpError(start.res, `start upload of ${what}`, ep, ref, start.url);
      }
      await this.finish(start);
      const put = new URL(location, start.url);
      put.searchParams.set('digest', desc.digest);
      const done = await this.send(
        ep,
        ref,
        {
          method: 'PUT',
          target: put.toString(),
          push: true,
          what,
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
          body,
        },
        opts,
      );
      if (done.res.statusCode !== 201) {
        done.wd.stop();
        throw await this.httpError(done.res, `upload of ${what}`, ep, ref, done.url);
      }
      await this.finish(done);
      log.debug({ reference: formatReference(ref), digest: desc.digest, size: desc.size, endpoint: ep.url }, 'pushed blob');
      return { existed: false };
    });
  }

  /** PUTs a manifest under a tag or digest; returns its sha256 digest. */
  async pushManifest(
    ref: ImageReference,
    mediaType: string,
    bytes: Buffer,
    reference: string,
    opts: RequestOptions = {},
  ): Promise<string> {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (reference.includes(':')) {
      validateDigest(reference, { reference: formatReference(ref) });
      if (reference.startsWith('sha256:') && reference !== digest) {
        throw failedPrecondition(`manifest bytes hash to ${digest}, not ${reference}`, { reference: formatReference(ref) });
      }
    }
    const what = `manifest ${ref.domain}/${ref.path}:${reference}`;
    return this.tryEndpoints(ref, 'push', `push ${what}`, opts, async (ep) => {
      const sent = await this.send(
        ep,
        ref,
        {
          method: 'PUT',
          target: `manifests/${reference}`,
          push: true,
          what,
          headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
          body: () => bytes,
        },
        opts,
      );
      if (sent.res.statusCode !== 201) {
        sent.wd.stop();
        throw await this.httpError(sent.res, `push of ${what}`, ep, ref, sent.url);
      }
      await this.finish(sent);
      const announced = sent.res.headers['docker-content-digest'];
      if (typeof announced === 'string' && announced.startsWith('sha256:') && announced !== digest) {
        throw failedPrecondition(`registry stored ${what} as ${announced}, expected ${digest}`, this.ctx(ref, ep));
      }
      return digest;
    });
  }

  // ---- internals ----

  private ctx(ref: ImageReference, ep: RegistryEndpoint, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { reference: formatReference(ref), endpoint: ep.url, ...extra };
  }

  private async getManifest(
    ep: RegistryEndpoint,
    ref: ImageReference,
    reference: string,
    what: string,
    opts: RequestOptions,
  ): Promise<{ bytes: Buffer; headers: HttpResponse['headers'] }> {
    const sent = await this.send(
      ep,
      ref,
      { method: 'GET', target: `manifests/${reference}`, what, headers: { accept: MANIFEST_MEDIA_TYPES.join(', ') } },
      opts,
    );
    const { res, wd } = sent;
    try {
      if (res.statusCode !== 200) throw await this.httpError(res, what, ep, ref, sent.url);
      const chunks: Buffer[] = [];
      let total = 0;
      try {
        for await (const chunk of res.body) {
          wd.kick();
          total += (chunk as Buffer).length;
          if (total > MAX_MANIFEST_BYTES) {
            res.body.destroy();
            throw failedPrecondition(`${what} from ${ep.url} exceeds ${MAX_MANIFEST_BYTES} bytes`, this.ctx(ref, ep));
          }
          chunks.push(chunk as Buffer);
        }
      } catch (e) {
        if (e instanceof BerthError) throw e;
        throw this.transportError(e, what, ep, ref, sent.url, wd, opts);
      }
      return { bytes: Buffer.concat(chunks), headers: res.headers };
    } finally {
      wd.stop();
    }
  }

  /** Checks `bytes` against `expected` (any supported algorithm); returns `expected`. */
  private verifyDigest(bytes: Buffer, expected: string, what: string, ep: RegistryEndpoint, source = 'requested digest'): string {
    validateDigest(expected, { endpoint: ep.url });
    const alg = expected.slice(0, expected.indexOf(':'));
    const actual = `${alg}:${createHash(alg).update(bytes).digest('hex')}`;
    if (actual !== expected) {
      throw failedPrecondition(`digest mismatch for ${what} from ${ep.url}: ${source} is ${expected}, content hashes to ${actual}`, {
        endpoint: ep.url,
        expected,
        actual,
      });
    }
    return expected;
  }

  private guardBlobStream(
    res: HttpResponse,
    desc: Descriptor,
    wd: Watchdog,
    signal: AbortSignal,
    opts: RequestOptions,
    ep: RegistryEndpoint,
    ref: ImageReference,
    what: string,
    url: string,
  ): Readable {
    let received = 0;
    const tooBig = () =>
      failedPrecondition(`${what} from ${ep.url} sent more than the expected ${desc.size} bytes`, this.ctx(ref, ep, { digest: desc.digest }));
    const guard = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        received += chunk.length;
        wd.kick();
        if (received > desc.size) cb(tooBig());
        else cb(null, chunk);
      },
      flush: (cb) => {
        wd.stop();
        if (received < desc.size) {
          cb(new BerthError('unavailable', `${what} from ${ep.url} ended after ${received} of ${desc.size} bytes`, this.ctx(ref, ep, { digest: desc.digest })));
        } else cb();
      },
    });
    const fail = (e: unknown) => {
      if (!guard.destroyed) guard.destroy(e instanceof BerthError ? e : this.transportError(e, what, ep, ref, url, wd, opts));
    };
    const onAbort = () => fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    res.body.on('error', fail);
    guard.on('close', () => {
      wd.stop();
      signal.removeEventListener('abort', onAbort);
      if (!res.body.destroyed) res.body.destroy();
    });
    res.body.pipe(guard);
    return guard;
  }

  /** Drains a response we only needed the status/headers of. */
  private async finish(sent: Sent): Promise<void> {
    try {
      await drain(sent.res.body);
    } catch {
      // the connection is discarded; nothing to report
    } finally {
      sent.wd.stop();
    }
  }

  private async tryEndpoints<T>(
    ref: ImageReference,
    capability: Capability,
    what: string,
    opts: RequestOptions,
    fn: (ep: RegistryEndpoint) => Promise<T>,
  ): Promise<T> {
    if (opts.signal?.aborted) throw this.cancelled(what, formatReference(ref));
    const all = await this.endpoints(ref.domain);
    const eps = all.filter((e) => e.capabilities.includes(capability));
    if (eps.length === 0) {
      throw failedPrecondition(`no endpoint configured for ${ref.domain} may "${capability}" (${what}); check hosts.toml`, {
        reference: formatReference(ref),
        endpoints: all.map((e) => e.url),
      });
    }
    const failures: Failure[] = [];
    for (const ep of eps) {
      try {
        return await fn(ep);
      } catch (e) {
        const err =
          e instanceof BerthError ? e : new BerthError('internal', `${what} via ${ep.url}: ${errorMessage(e)}`, this.ctx(ref, ep), { cause: e });
        if (err.kind === 'cancelled') throw err;
        failures.push({ endpoint: ep.url, error: err });
        if (eps.length > 1) log.warn({ reference: formatReference(ref), endpoint: ep.url, kind: err.kind, err: err.message }, `${what} failed on endpoint`);
      }
    }
    const endpoints = eps.map((e) => e.url);
    const details = failures.map((f) => ({ endpoint: f.endpoint, kind: f.error.kind, message: f.error.message, ...pick(f.error.context) }));
    if (failures.length === 1) {
      const only = failures[0]!.error;
      throw new BerthError(only.kind, only.message, { ...only.context, reference: formatReference(ref), endpoints }, { cause: only });
    }
    const kinds = new Set(failures.map((f) => f.error.kind));
    const kind: ErrorKind = kinds.size === 1 ? failures[0]!.error.kind : 'unavailable';
    const msg = `${what}: all ${failures.length} endpoints failed: ${failures.map((f) => f.error.message).join('; ')}`;
    throw new BerthError(kind, msg, { reference: formatReference(ref), endpoints, failures: details });
  }

  private cancelled(what: string, reference: string, cause?: unknown): BerthError {
    return new BerthError('cancelled', `${what} cancelled`, { reference }, { cause });
  }

  private async credentialsFor(ep: RegistryEndpoint, ref: ImageReference, opts: RequestOptions): Promise<Credentials | undefined> {
    const host = new URL(ep.url).host;
    if (hasCredentials(opts.auth) && (credentialsApply(opts.auth, host) || credentialsApply(opts.auth, ref.domain))) return opts.auth;
    const provider = this.options.credentials;
    if (!provider) return undefined;
    const c = await provider(host);
    if (hasCredentials(c)) return c;
    if (ep.upstream && host !== ref.domain) {
      const d = await provider(ref.domain);
      if (hasCredentials(d)) return d;
    }
    return undefined;
  }

  private async transportFor(ep: RegistryEndpoint): Promise<HttpTransport> {
    const https = ep.url.startsWith('https:');
    const key = https ? JSON.stringify(ep.tls) : 'http';
    let p = this.transports.get(key);
    if (!p) {
      p = (async () => {
        const tls: HttpTlsOptions = {};
        if (https) {
          const read = async (f: string, kind: string) => {
            try {
              return await readFile(f, 'utf8');
            } catch (e) {
              throw failedPrecondition(`cannot read ${kind} file ${f} configured for ${ep.url}: ${errorMessage(e)}`, { endpoint: ep.url, file: f });
            }
          };
          const extra = await Promise.all((ep.tls.ca ?? []).map((f) => read(f, 'CA')));
          tls.ca = [...systemCAs(), ...extra];
          tls.rejectUnauthorized = !ep.tls.skipVerify;
          if (ep.tls.clients?.length) {
            tls.cert = await Promise.all(ep.tls.clients.map((c) => read(c.cert, 'client certificate')));
            tls.key = await Promise.all(ep.tls.clients.map((c) => read(c.key, 'client key')));
          }
        }
        // No read timeouts of its own: the watchdog is the timeout, with the context it carries.
        return new HttpTransport({ tls, connectTimeoutMs: this.connectTimeoutMs });
      })();
      p.catch(() => this.transports.delete(key));
      this.transports.set(key, p);
    }
    return p;
  }

  private scope(ref: ImageReference, push: boolean): string {
    // No repository (the /v2/ check of ping): a token without a scope, as docker login asks.
    if (!ref.path) return '';
    return `repository:${ref.path}:${push ? 'pull,push' : 'pull'}`;
  }

  /**
   * One logical request: authentication (one retry after a 401 challenge), redirects (credentials
   * and configured headers stay with the registry's origin), and retries with backoff for
   * idempotent requests on 5xx / reset / timeout. Returns before reading the body.
   */
  private async send(ep: RegistryEndpoint, ref: ImageReference, spec: SendSpec, opts: RequestOptions): Promise<Sent> {
    const transport = await this.transportFor(ep);
    const origin = new URL(ep.url).origin;
    const host = new URL(ep.url).host;
    const idempotent = spec.method === 'GET' || spec.method === 'HEAD';
    const timeoutMs = opts.progressTimeoutMs ?? this.progressTimeoutMs;
    const creds = await this.credentialsFor(ep, ref, opts);
    let url = /^https?:\/\//.test(spec.target) ? spec.target : `${ep.url}${ep.pathPrefix}/${ref.path}/${spec.target}`;
    let authRetried = false;
    let redirects = 0;
    let attempt = 0;

    for (;;) {
      if (opts.signal?.aborted) throw this.cancelled(spec.what, formatReference(ref), opts.signal.reason);
      const sameOrigin = new URL(url).origin === origin;
      const headers: Record<string, string | string[]> = { 'user-agent': this.userAgent };
      if (sameOrigin) Object.assign(headers, ep.headers);
      Object.assign(headers, spec.headers);
      const challenge = this.challenges.get(origin);
      if (sameOrigin && challenge) {
        const authz = await this.auth.authorization({
          host,
          challenge,
          scope: this.scope(ref, !!spec.push),
          creds,
          transport,
          signal: opts.signal,
        });
        if (authz) headers.authorization = authz;
      }

      const wd = new Watchdog(timeoutMs);
      const signal = opts.signal ? AbortSignal.any([opts.signal, wd.signal]) : wd.signal;
      let res: HttpResponse;
      try {
        res = await transport.request(url, { method: spec.method, headers, body: withProgress(spec.body?.(), wd), signal });
      } catch (e) {
        wd.stop();
        const err = this.transportError(e, spec.what, ep, ref, url, wd, opts);
        if (idempotent && attempt + 1 < this.retryAttempts && (wd.fired || RETRYABLE_CODES.has(errCode(e) ?? ''))) {
          await this.backoff(++attempt, spec.what, ref, opts, err);
          continue;
        }
        throw err;
      }
      const status = res.statusCode;
      const sent: Sent = { res, wd, signal, url };

      if (status === 401 && sameOrigin && !authRetried) {
        authRetried = true;
        await this.finish(sent);
        const header = res.headers['www-authenticate'];
        const challenges = parseWWWAuthenticate(Array.isArray(header) ? header.join(', ') : (header ?? ''));
        const next = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
        if (!next) {
          throw new BerthError('permission-denied', `${spec.what}: ${ep.url} answered 401 without a usable WWW-Authenticate challenge`, this.ctx(ref, ep, { status }));
        }
        if (next.scheme === 'basic' && !creds) {
          throw new BerthError('permission-denied', `${spec.what}: ${ep.url} requires credentials (Basic auth) and none were given`, this.ctx(ref, ep, { status }));
        }
        if (headers.authorization) this.auth.invalidate(host);
        this.challenges.set(origin, next);
        continue;
      }
      const location = res.headers.location;
      if (REDIRECTS.has(status) && idempotent && typeof location === 'string') {
        await this.finish(sent);
        if (++redirects > MAX_REDIRECTS) {
          throw new BerthError('unavailable', `${spec.what}: more than ${MAX_REDIRECTS} redirects from ${ep.url}`, this.ctx(ref, ep, { url }));
        }
        url = new URL(location, url).toString();
        continue;
      }
      if ((status >= 500 || status === 429) && idempotent && attempt + 1 < this.retryAttempts) {
        await this.finish(sent);
        await this.backoff(++attempt, spec.what, ref, opts, new Error(`HTTP ${status} from ${url}`));
        continue;
      }
      return sent;
    }
  }

  private async backoff(attempt: number, what: string, ref: ImageReference, opts: RequestOptions, reason: Error): Promise<void> {
    const delay = this.retryBaseDelayMs * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5);
    log.info({ reference: formatReference(ref), attempt, delayMs: Math.round(delay), err: reason.message }, `retrying ${what}`);
    try {
      await sleep(delay, undefined, opts.signal ? { signal: opts.signal } : undefined);
    } catch (e) {
      throw this.cancelled(what, formatReference(ref), e);
    }
  }

  /** A failure below HTTP (connect, TLS, reset, abort) as a BerthError. */
  private transportError(
    e: unknown,
    what: string,
    ep: RegistryEndpoint,
    ref: ImageReference,
    url: string,
    wd: Watchdog,
    opts: RequestOptions,
  ): BerthError {
    const host = new URL(url).host;
    const ctx = this.ctx(ref, ep, { url });
    if (opts.signal?.aborted) return this.cancelled(what, formatReference(ref), e);
    if (wd.fired) {
      return new BerthError('deadline-exceeded', `${what}: no data received from ${host} for ${wd.ms} ms`, { ...ctx, host }, { cause: e });
    }
    const code = errCode(e);
    const msg = errorMessage(e);
    if (code && TLS_ERROR_CODE.test(code)) {
      return new BerthError('unavailable', `${what}: TLS connection to ${ep.url} failed: ${msg} (${code}); ${TLS_HINT}`, { ...ctx, code }, { cause: e });
    }
    return new BerthError('unavailable', `${what}: request to ${host} failed: ${msg}${code ? ` (${code})` : ''}`, { ...ctx, code }, { cause: e });
  }

  /** A non-success HTTP answer as a BerthError with the registry's error code and message. */
  private async httpError(res: HttpResponse, what: string, ep: RegistryEndpoint, ref: ImageReference, url: string): Promise<BerthError> {
    let text = '';
    try {
      text = await readText(res.body, 64 * 1024);
    } catch {
      // the status alone still says what happened
    } finally {
      if (!res.body.destroyed) res.body.destroy();
    }
    let code: string | undefined;
    let message: string | undefined;
    try {
      const first = (JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> }).errors?.[0];
      code = first?.code;
      message = first?.message;
    } catch {
      // not a registry error document
    }
    const status = res.statusCode;
    const detail = code ? `${code}${message ? `: ${message}` : ''}` : text.trim().slice(0, 200) || res.statusText || '';
    const ctx = this.ctx(ref, ep, { url, status, registryCode: code, registryMessage: message });
    const base = `${what}: ${ep.url} answered HTTP ${status}${detail ? ` (${detail})` : ''}`;
    let kind: ErrorKind = 'unavailable';
    let msg = base;
    if (status === 404) kind = 'not-found';
    else if (status === 401 || status === 403) {
      kind = 'permission-denied';
      msg = `${base}: access denied; the repository may not exist or the credentials are missing or wrong`;
    } else if (status === 400 || status === 405 || status === 413) kind = status === 413 ? 'resource-exhausted' : 'failed-precondition';
    else if (status === 429) msg = `${base}: rate limited`;
    return new BerthError(kind, msg, ctx);
  }
}

/** Uploads count as progress too: kick the watchdog for every chunk sent. */
function withProgress(body: Readable | Buffer | undefined, wd: Watchdog): Readable | Buffer | undefined {
  if (!(body instanceof Readable)) return body;
  const counted = new Transform({
    transform(chunk, _enc, cb) {
      wd.kick();
      cb(null, chunk);
    },
  });
  body.on('error', (e) => counted.destroy(e));
  return body.pipe(counted);
}

function pick(ctx: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['status', 'registryCode', 'registryMessage', 'code', 'url']) if (ctx[k] !== undefined) out[k] = ctx[k];
  return out;
}
