// Port-forward: a TCP connection to 127.0.0.1:<port> inside the pod's network namespace (the host's
// for a host-network pod), made on a thread of the native addon, copied both ways with the client's
// stream. No process per connection.
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { unavailable } from '../../util/errors';
import { logger } from '../../util/log';
import { connectInNetns } from '../sys-streams';

const log = logger('port-forward');

const CONNECT_TIMEOUT_MS = 10_000;
/**
 * Once the pod side has closed, how long the client may take to close its side. client-go's
 * port-forward keeps its local connection open until the error stream ends, which happens when this
 * resolves: waiting for the client's end for ever would deadlock (e.g. an HTTP server that answers
 * 404 and closes while curl waits for the close). containerd allows 1 s as well.
 */
const CLIENT_CLOSE_GRACE_MS = 1000;

export async function forwardPort(podId: string, netns: string | undefined, port: number, stream: Duplex, signal: AbortSignal): Promise<void> {
  const ctx = { podId, port };
  let fd: number;
  try {
    fd = await connectInNetns(netns ?? null, '127.0.0.1', port, CONNECT_TIMEOUT_MS);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw unavailable(`failed to connect to localhost:${port} inside namespace of pod ${podId}: ${code}`, ctx, e);
  }
  const sock = new Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
  if (signal.aborted) {
    sock.destroy();
    return;
  }
  log.debug(ctx, 'port-forward connected');
  await new Promise<void>((resolve) => {
    let inDone = false; // client → pod
    let outDone = false; // pod → client
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', abort);
      sock.destroy();
      resolve();
    };
    const maybeDone = () => {
      if (inDone && outDone) finish();
    };
    const abort = () => {
      stream.destroy();
      finish();
    };
    signal.addEventListener('abort', abort, { once: true });
    sock.on('error', (e) => {
      log.debug({ ...ctx, err: e.message }, 'port-forward connection error');
      stream.destroy();
      finish();
    });
    stream.on('error', () => finish());
    sock.on('close', () => {
      // the pod side is gone for good: make sure the client sees its end
      if (!stream.writableEnded) stream.end();
      outDone = true;
      inDone = true;
      finish();
    });
    // client → pod
    stream.pipe(sock, { end: false });
    stream.once('end', () => {
      if (!sock.destroyed) sock.end();
      inDone = true;
      maybeDone();
    });
    // pod → client
    sock.pipe(stream, { end: false });
    sock.once('end', () => {
      stream.end();
      outDone = true;
      maybeDone();
      if (!settled) setTimeout(finish, CLIENT_CLOSE_GRACE_MS).unref();
    });
  });
}
