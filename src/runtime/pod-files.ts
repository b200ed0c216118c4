// The files a pod's containers bind-mount: /etc/hostname, /etc/hosts, /etc/resolv.conf, and the
// pod's /dev/shm tmpfs. Written once per pod at sandbox start (atomically, 0644); the hosts file
// can be rewritten once CNI has handed out the pod's IPs.
import { promises as fsp } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { isAtomicTemp, PER_BOOT, writeFileAtomic } from '../util/atomic-file';
import { errorMessage, failedPrecondition, internal, invalidArgument } from '../util/errors';
import { logger } from '../util/log';
import { MNT_DETACH, MS, mount, umount } from '../snapshot/sys';

const log = logger('pod-files');

export interface DnsConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

export interface PodFilesOptions {
  /** The pod's host name; "" means the node's (what containerd does for an unset hostname). */
  hostname: string;
  dnsConfig?: DnsConfig;
  hostNetwork: boolean;
  /** Copied when dnsConfig is absent or empty. */
  hostResolvConf?: string;
  /** Copied as the pod's hosts file for host-network pods. */
  hostHosts?: string;
  /** The pod's IPs, when already known; each gets an "<ip> <hostname>" line. */
  ips?: string[];
}

export interface PodFilePaths {
  hostnamePath: string;
  hostsPath: string;
  resolvConfPath: string;
}

export const HOSTNAME_FILE = 'hostname';
export const HOSTS_FILE = 'hosts';
export const RESOLV_CONF_FILE = 'resolv.conf';

/** Default /dev/shm size, as docker, containerd and CRI-O use. */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

// Limits the kubelet enforces on what it sends (validation.MaxDNSSearchPaths / MaxDNSSearchListChars).
// A request beyond them comes from a misbehaving client; silently truncating would make name
// resolution fail in ways that are hard to trace back, so it is refused instead.
export const MAX_DNS_SEARCHES = 32;
export const MAX_DNS_SEARCH_CHARS = 2048;

// First line of the hosts files berth generates; updatePodHosts refuses to rewrite anything else
// (a host-network pod's copy of the node's /etc/hosts).
const HOSTS_HEADER = '# Kubernetes pod hosts file, managed by berth.';

// RFC 1123 host name within the kernel's 64-byte limit.
const HOSTNAME_RE = /^(?=.{1,64}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
// A resolv.conf search domain or option: one token, no whitespace or comment characters that
// would let a value add lines or fields to the file.
const TOKEN_RE = /^[^\s#;]+$/;
const ZONE_RE = /^[A-Za-z0-9_.-]+$/;

export function validateHostname(name: string): void {
  if (!HOSTNAME_RE.test(name)) throw invalidArgument(`invalid hostname "${name}"`, { hostname: name });
}

function validateServer(server: string): void {
  // IPv6 link-local servers may carry a zone ("fe80::1%eth0"), which glibc accepts.
  const [addr, zone, ...rest] = server.split('%');
  const ok = rest.length === 0 && (zone === undefined ? isIP(addr) !== 0 : isIP(addr) === 6 && ZONE_RE.test(zone));
  if (!ok) throw invalidArgument(`invalid DNS server address "${server}"`, { server });
}

function hasDns(dns: DnsConfig | undefined): dns is DnsConfig {
  return !!dns && (dns.servers.length > 0 || dns.searches.length > 0 || dns.options.length > 0);
}

/** resolv.conf content for a pod's DNS config; throws invalid-argument on values that do not fit the format. */
export function renderResolvConf(dns: DnsConfig): string {
  dns.servers.forEach(validateServer);
  for (const s of dns.searches)
    if (!TOKEN_RE.test(s)) throw invalidArgument(`invalid DNS search domain "${s}"`, { search: s });
  for (const o of dns.options) if (!TOKEN_RE.test(o)) throw invalidArgument(`invalid DNS option "${o}"`, { option: o });
  if (dns.searches.length > MAX_DNS_SEARCHES)
    throw invalidArgument(`too many DNS search domains (${dns.searches.length} > ${MAX_DNS_SEARCHES})`, { searches: dns.searches.length });
  const searchChars = dns.searches.join(' ').length;
  if (searchChars > MAX_DNS_SEARCH_CHARS)
    throw invalidArgument(`DNS search list too long (${searchChars} > ${MAX_DNS_SEARCH_CHARS} characters)`, { searchChars });
  let out = '';
  if (dns.searches.length) out += `search ${dns.searches.join(' ')}\n`;
  for (const s of dns.servers) out += `nameserver ${s}\n`;
  if (dns.options.length) out += `options ${dns.options.join(' ')}\n`;
  return out;
}

/** The hosts file of a pod with its own network namespace. */
export function renderHosts(hostname: string, ips: readonly string[] = []): string {
  const lines = [
    HOSTS_HEADER,
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  for (const ip of ips) {
    if (isIP(ip) === 0) throw invalidArgument(`invalid pod IP "${ip}"`, { ip });
    lines.push(`${ip}\t${hostname}`);
  }
  return `${lines.join('\n')}\n`;
}

async function readHostFile(path: string, what: string): Promise<string> {
  try {
    return await fsp.readFile(path, 'utf8');
  } catch (e) {
    throw failedPrecondition(`cannot read the host's ${what} ${path}: ${errorMessage(e)}`, { path });
  }
}

export function podFilePaths(dir: string): PodFilePaths {
  return {
    hostnamePath: join(dir, HOSTNAME_FILE),
    hostsPath: join(dir, HOSTS_FILE),
    resolvConfPath: join(dir, RESOLV_CONF_FILE),
  };
}

/**
 * Writes hostname, hosts and resolv.conf into `dir` (created if missing). Host-network pods get a
 * copy of the node's /etc/hosts, as containerd gives every pod; other pods get a generated file
 * with the pod IP lines the kubelet's own hosts file has. resolv.conf comes from dnsConfig when it
 * has anything in it, else it is a copy of the host's. Everything is validated before anything is
 * written.
 */
export async function writePodFiles(dir: string, opts: PodFilesOptions): Promise<PodFilePaths> {
  const hostname = opts.hostname || osHostname();
  validateHostname(hostname);
  const paths = podFilePaths(dir);
  const resolv = hasDns(opts.dnsConfig)
    ? renderResolvConf(opts.dnsConfig)
    : await readHostFile(opts.hostResolvConf ?? '/etc/resolv.conf', 'resolv.conf');
  const hosts = opts.hostNetwork ? await readHostFile(opts.hostHosts ?? '/etc/hosts', 'hosts file') : renderHosts(hostname, opts.ips);

  await fsp.mkdir(dir, { recursive: true, mode: 0o755 });
  try {
    await Promise.all([
      writeFileAtomic(paths.hostnamePath, `${hostname}\n`, 0o644, PER_BOOT),
      writeFileAtomic(paths.hostsPath, hosts, 0o644, PER_BOOT),
      writeFileAtomic(paths.resolvConfPath, resolv, 0o644, PER_BOOT),
    ]);
  } catch (e) {
    throw internal(`cannot write pod files in ${dir}: ${errorMessage(e)}`, { dir }, e);
  }
  return paths;
}

/** Rewrites a generated hosts file with the pod's IPs (after CNI ran). Not for host-network pods. */
export async function updatePodHosts(dir: string, hostname: string, ips: readonly string[]): Promise<void> {
  validateHostname(hostname);
  const { hostsPath } = podFilePaths(dir);
  const content = renderHosts(hostname, ips);
  let current: string;
  try {
    current = await fsp.readFile(hostsPath, 'utf8');
  } catch (e) {
    throw failedPrecondition(`pod hosts file ${hostsPath}: ${errorMessage(e)}`, { path: hostsPath });
  }
  if (!current.startsWith(`${HOSTS_HEADER}\n`))
    throw failedPrecondition(`${hostsPath} is not a hosts file generated by berth (host-network pod?)`, { path: hostsPath });
  try {
    await writeFileAtomic(hostsPath, content, 0o644, PER_BOOT);
  } catch (e) {
    throw internal(`cannot update ${hostsPath}: ${errorMessage(e)}`, { path: hostsPath }, e);
  }
}

/**
 * Removes the files writePodFiles wrote (and temp files of interrupted writes), then `dir` itself
 * if nothing else is left in it. Idempotent. Unmount the pod's shm first if it lives in `dir`.
 */
export async function removePodFiles(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw internal(`cannot list pod files in ${dir}: ${errorMessage(e)}`, { dir }, e);
  }
  const ours = new Set([HOSTNAME_FILE, HOSTS_FILE, RESOLV_CONF_FILE]);
  for (const name of names) {
    if (ours.has(name) || (isAtomicTemp(name) && ours.has(name.slice(1).replace(/\.tmp-[0-9a-f]{12}$/, '')))) {
      await fsp.rm(join(dir, name), { force: true });
    }
  }
  try {
    await fsp.rmdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOENT') return;
    throw internal(`cannot remove pod file directory ${dir}: ${errorMessage(e)}`, { dir }, e);
  }
}

// ---- /dev/shm ----

/** Creates `path` (0700, as containerd) and mounts the pod's shm tmpfs on it. */
export async function mountPodShm(path: string, sizeBytes: number = DEFAULT_SHM_SIZE): Promise<void> {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) throw invalidArgument(`invalid shm size ${sizeBytes}`, { path, sizeBytes });
  await fsp.mkdir(path, { recursive: true, mode: 0o700 });
  try {
    mount('shm', path, 'tmpfs', MS.NOSUID | MS.NODEV | MS.NOEXEC, `mode=1777,size=${sizeBytes}`);
  } catch (e) {
    throw internal(`cannot mount pod shm at ${path}: ${errorMessage(e)}`, { path, sizeBytes }, e);
  }
  log.debug({ path, sizeBytes }, 'mounted pod shm');
}

/** Unmounts the pod's shm (everything stacked on `path`) and removes the directory. Idempotent. */
export async function unmountPodShm(path: string): Promise<void> {
  for (let i = 0; i < 16; i++) {
    try {
      umount(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // EINVAL: not a mount point (any more); ENOENT: already gone.
      if (code === 'EINVAL' || code === 'ENOENT') break;
      if (code === 'EBUSY') {
        // Something on the host holds it open; detach so the tmpfs goes away with its last user.
        try {
          umount(path, MNT_DETACH);
          continue;
        } catch (e2) {
          throw internal(`cannot unmount pod shm ${path}: ${errorMessage(e2)}`, { path }, e2);
        }
      }
      throw internal(`cannot unmount pod shm ${path}: ${errorMessage(e)}`, { path }, e);
    }
  }
  try {
    await fsp.rmdir(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw internal(`cannot remove pod shm directory ${path}: ${errorMessage(e)}`, { path }, e);
  }
}
