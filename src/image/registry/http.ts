// The registry client's HTTP driver: node's own http/https client (its C++ parser), one keep-alive
// agent pair per TLS configuration. It replaced undici, which loaded a second HTTP stack (~110
// modules and a WebAssembly parser) into the daemon: ~5 MiB idle and more during a pull, measured
// with bench/pull.ts (see bench/README.md).
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';
import { Readable } from 'node:stream';

export interface HttpTlsOptions {
  /** PEM CA certificates trusted for this transport (replaces node's defaults when given). */
  ca?: string[];
  /** PEM client certificates and their keys, in the same order. */
  cert?: string[];
  key?: string[];
  rejectUnauthorized?: boolean;
}

export interface HttpTransportOptions {
  tls?: HttpTlsOptions;
  /** A TCP connect taking longer fails with ETIMEDOUT (0 or unset: the OS's own limit). */
  connectTimeoutMs?: number;
}

export interface HttpRequest {
  method: string;
  headers?: Record<string, string | string[]>;
  body?: Readable | Buffer | string;
  signal?: AbortSignal;
}

export interface HttpResponse {
  statusCode: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  /** The body stream; consume it, or drain() or destroy() it so the connection is freed. */
  body: IncomingMessage;
}

export class HttpTransport {
  private readonly plain: http.Agent;
  private readonly secure: https.Agent;
  private readonly connectTimeoutMs: number;

  constructor(options: HttpTransportOptions = {}) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 0;
    this.plain = new http.Agent({ keepAlive: true, scheduling: 'lifo' });
    const tls = options.tls ?? {};
    // One secure context for every connection: building it from a CA bundle per connect is costly.
    let secureContext: SecureContext | undefined;
    if (tls.ca || tls.cert || tls.key) secureContext = createSecureContext({ ca: tls.ca, cert: tls.cert, key: tls.key });
    this.secure = new https.Agent({
      keepAlive: true,
      scheduling: 'lifo',
      secureContext,
      rejectUnauthorized: tls.rejectUnauthorized ?? true,
    });
  }

  /** Sends one request; resolves once the status and headers have arrived (the body is not read). */
  request(target: string | URL, req: HttpRequest): Promise<HttpResponse> {
    const url = typeof target === 'string' ? new URL(target) : target;
    const isHttps = url.protocol === 'https:';
    if (!isHttps && url.protocol !== 'http:') return Promise.reject(new Error(`unsupported URL scheme in ${url.href}`));
    const mod = isHttps ? https : http;
    return new Promise<HttpResponse>((resolve, reject) => {
      let response: IncomingMessage | undefined;
      const creq = mod.request(url, {
        method: req.method,
        headers: req.headers,
        agent: isHttps ? this.secure : this.plain,
        signal: req.signal,
      });
      // Errors after the headers (reset mid-body, abort) end the body stream; before them, the call.
      creq.on('error', (e) => {
        if (response) {
          if (!response.destroyed) response.destroy(e);
        } else reject(e);
      });
      creq.on('response', (res) => {
        response = res;
        resolve({ statusCode: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers, body: res });
      });
      if (this.connectTimeoutMs > 0) this.limitConnect(creq);
      const body = req.body;
      if (body instanceof Readable) {
        body.on('error', (e) => creq.destroy(e));
        body.pipe(creq);
      } else creq.end(body);
    });
  }

  /** Closes idle keep-alive connections; requests in flight are not interrupted. */
  close(): void {
    this.plain.destroy();
    this.secure.destroy();
  }

  private limitConnect(creq: http.ClientRequest): void {
    creq.once('socket', (socket) => {
      if (!socket.connecting) return; // a reused keep-alive connection
      const ms = this.connectTimeoutMs;
      const timer = setTimeout(() => {
        creq.destroy(Object.assign(new Error(`connect timed out after ${ms} ms`), { code: 'ETIMEDOUT' }));
      }, ms);
      socket.once('connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
  }
}

/** Reads a body we only need the end of; more than `limit` bytes and the connection is dropped. */
export async function drain(body: IncomingMessage, limit = 64 * 1024): Promise<void> {
  let total = 0;
  try {
    for await (const chunk of body) {
      total += (chunk as Buffer).length;
      if (total > limit) break;
    }
  } finally {
    if (!body.complete && !body.destroyed) body.destroy();
  }
}

/** The body as UTF-8 text, at most `limit` bytes of it (the rest is dropped with the connection). */
export async function readText(body: IncomingMessage, limit = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body) {
      const b = chunk as Buffer;
      chunks.push(total + b.length > limit ? b.subarray(0, limit - total) : b);
      total += b.length;
      if (total >= limit) break;
    }
  } finally {
    if (!body.complete && !body.destroyed) body.destroy();
  }
  return Buffer.concat(chunks).toString('utf8');
}
