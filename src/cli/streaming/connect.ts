// Opening the WebSocket to the URL a CRI Exec/Attach/PortForward call returned, with failures as
// one readable line.
import WebSocket from 'ws';
import { CliError } from '../errors';

/** How long the upgrade may take; the URL itself is valid for a minute after the CRI call. */
const HANDSHAKE_TIMEOUT_MS = 15_000;

export function websocketUrl(url: string): string {
  if (/^https?:\/\//i.test(url)) return url.replace(/^http/i, 'ws');
  if (/^wss?:\/\//i.test(url)) return url;
  throw new CliError(`berthd returned an unusable streaming URL "${url}"`);
}

/**
 * Connects with one subprotocol and hands the open socket to `use` at once, in the 'open' event:
 * frames that came with the handshake are emitted right after it, before any promise continuation
 * would run, so the caller's listeners must already be in place. Rejects with a CliError naming
 * what went wrong.
 */
export function openWebSocket<T>(url: string, protocol: string, use: (ws: WebSocket) => T): Promise<T> {
  const target = websocketUrl(url);
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(target, [protocol], { perMessageDeflate: false, handshakeTimeout: HANDSHAKE_TIMEOUT_MS, maxPayload: 16 * 1024 * 1024 });
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      reject(new CliError(message));
    };
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < 4096) body += c;
      });
      res.on('end', () => fail(refusal(res.statusCode ?? 0, body)));
      res.on('error', () => fail(refusal(res.statusCode ?? 0, body)));
    });
    ws.once('error', (e: NodeJS.ErrnoException) => fail(connectError(target, e)));
    ws.once('open', () => {
      if (settled) return;
      if (ws.protocol !== protocol) return fail(`berthd's streaming server did not agree to ${protocol} (got "${ws.protocol}")`);
      settled = true;
      ws.removeAllListeners();
      try {
        resolve(use(ws));
      } catch (e) {
        ws.terminate();
        reject(e);
      }
    });
  });
}

function refusal(status: number, body: string): string {
  const text = body.trim().split('\n')[0] ?? '';
  if (status === 404) return 'the streaming session expired or was already used (berthd answered 404): try again';
  return `berthd's streaming server refused the session (HTTP ${status}${text ? `: ${text}` : ''})`;
}

function connectError(url: string, e: NodeJS.ErrnoException): string {
  const where = new URL(url).host;
  if (e.code === 'ECONNREFUSED') return `cannot connect to berthd's streaming server at ${where}: connection refused`;
  if (/handshake has timed out/i.test(e.message)) return `berthd's streaming server at ${where} did not answer within ${HANDSHAKE_TIMEOUT_MS / 1000}s`;
  return `cannot connect to berthd's streaming server at ${where}: ${e.message}`;
}
