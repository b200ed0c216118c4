// `berth login`'s check: are these credentials good for this registry? The registry's own endpoint
// (hosts.toml `server`, or the implied upstream; mirrors do not judge credentials) is asked GET /v2/
// through the usual token or basic flow, as docker login does.
import { BerthError, errorMessage, failedPrecondition, invalidArgument } from '../../util/errors';
import type { Credentials } from './auth';
import type { RegistryClient } from './client';

/** docker's names for Docker Hub all mean docker.io; a scheme or path given with the host is dropped. */
export function loginRegistryHost(server: string): string {
  const host = server.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/.*$/, '');
  if (!host) throw invalidArgument(`invalid registry "${server}"`, { registry: server });
  if (host === 'index.docker.io' || host === 'registry-1.docker.io') return 'docker.io';
  return host;
}

/**
 * Resolves with the endpoint that accepted `creds` for `server`; rejects with permission-denied
 * when the registry refuses them (the message says so plainly), or with the transport error.
 */
export async function checkLogin(client: RegistryClient, server: string, creds: Credentials, signal?: AbortSignal): Promise<string> {
  const host = loginRegistryHost(server);
  if (!creds.username && !creds.identityToken && !creds.registryToken) throw invalidArgument('login needs a username (or a token)', { registry: host });
  const upstream = (await client.endpoints(host)).filter((e) => e.upstream);
  if (!upstream.length) throw failedPrecondition(`hosts.toml for ${host} names no server to log in to`, { registry: host });
  let last: unknown;
  for (const ep of upstream) {
    try {
      await client.ping(ep, { auth: creds, signal });
      return ep.url;
    } catch (e) {
      if (e instanceof BerthError && e.kind === 'permission-denied') {
        const status = typeof e.context.status === 'number' ? `HTTP ${e.context.status}` : e.message;
        throw new BerthError('permission-denied', `login to ${host} failed: the registry refused the credentials for "${creds.username ?? ''}" (${status})`, {
          registry: host,
          endpoint: ep.url,
        });
      }
      last = e;
    }
  }
  if (last instanceof BerthError) throw last;
  throw new BerthError('unavailable', `login to ${host} failed: ${errorMessage(last)}`, { registry: host });
}
