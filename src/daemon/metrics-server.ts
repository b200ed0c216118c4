// Prometheus /metrics on a loopback address.
import { createServer, type Server } from 'node:http';
import { invalidArgument } from '../util/errors';
import { registry } from '../util/metrics';

export async function startMetricsServer(address: string): Promise<Server | undefined> {
  if (!address) return undefined;
  const m = /^(.*):(\d+)$/.exec(address);
  if (!m) throw invalidArgument(`metrics address "${address}" is not host:port`);
  const host = m[1].replace(/^\[|\]$/g, '');
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (e: Error) => res.writeHead(500).end(e.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(m[2]), host, () => resolve());
  });
  return server;
}
