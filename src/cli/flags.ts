// Parsers for docker-style flag values: -p, -v, -e, --env-file, -u, --memory, --cpus, --label,
// --filter. Pure functions; they throw plain Errors whose message names the bad value.
import { isAbsolute, resolve } from 'node:path';

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

export interface PublishedPort {
  hostIp: string;
  /** 0: the CLI picks a free port. */
  hostPort: number;
  containerPort: number;
  protocol: PortProtocol;
}

function portNumber(text: string, what: string, allowZero = false): number {
  if (!/^\d+$/.test(text)) throw new Error(`invalid ${what} "${text}"`);
  const n = Number(text);
  if (n > 65535 || (n === 0 && !allowZero)) throw new Error(`invalid ${what} "${text}": ports are 1-65535`);
  return n;
}

function portRange(text: string, what: string): number[] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) throw new Error(`invalid ${what} "${text}"`);
  const lo = portNumber(m[1], what);
  const hi = m[2] !== undefined ? portNumber(m[2], what) : lo;
  if (hi < lo) throw new Error(`invalid ${what} range "${text}"`);
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

/**
 * -p forms: ctr, host:ctr, ip:host:ctr, ip::ctr, [v6]:host:ctr, each with an optional /proto and
 * port ranges of equal length (8000-8001:80-81).
 */
export function parsePublish(spec: string): PublishedPort[] {
  let rest = spec.trim();
  let protocol: PortProtocol = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const p = rest.slice(slash + 1).toLowerCase();
    if (p !== 'tcp' && p !== 'udp' && p !== 'sctp') throw new Error(`invalid protocol "${p}" in "${spec}": use tcp, udp or sctp`);
    protocol = p;
    rest = rest.slice(0, slash);
  }
  let hostIp = '';
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(.*)$/.exec(rest);
  if (v6) {
    hostIp = v6[1];
    rest = v6[2];
  }
  const parts = rest.split(':');
  let hostPart = '';
  let ctrPart: string;
  if (parts.length === 1) ctrPart = parts[0];
  else if (parts.length === 2) [hostPart, ctrPart] = parts;
  else if (parts.length === 3 && !v6) [hostIp, hostPart, ctrPart] = parts;
  else throw new Error(`invalid port mapping "${spec}": use [ip:][hostPort:]containerPort[/protocol]`);
  if (hostIp && !/^[0-9.]+$/.test(hostIp) && !v6) throw new Error(`invalid host IP "${hostIp}" in "${spec}"`);
  const ctr = portRange(ctrPart, 'container port');
  const host = hostPart ? portRange(hostPart, 'host port') : ctr.map(() => 0);
  if (host.length !== ctr.length) throw new Error(`port ranges in "${spec}" differ in length`);
  return ctr.map((containerPort, i) => ({ hostIp, hostPort: host[i], containerPort, protocol }));
}

/** "127.0.0.1:8080->80/tcp", as docker ps prints a mapping. */
export function formatPort(p: PublishedPort): string {
  const ip = p.hostIp || '0.0.0.0';
  return `${ip.includes(':') ? `[${ip}]` : ip}:${p.hostPort}->${p.containerPort}/${p.protocol}`;
}

export interface VolumeMount {
  /** Empty for a named volume until berthd says where it lives. */
  hostPath: string;
  /** A named volume (`-v NAME:/path`): berthd makes it on first use. */
  volume?: string;
  containerPath: string;
  readonly: boolean;
  selinuxRelabel: boolean;
  propagation: 'PROPAGATION_PRIVATE' | 'PROPAGATION_HOST_TO_CONTAINER' | 'PROPAGATION_BIDIRECTIONAL';
}

/** Volume names as docker takes them; anything else before the colon must be a path. */
const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** -v host:ctr[:opts] or NAME:ctr[:opts]; opts: ro|rw, z|Z, [r]private|[r]slave|[r]shared. */
export function parseVolume(spec: string, cwd: string = process.cwd()): VolumeMount {
  const parts = spec.split(':');
  const usage = `invalid volume "${spec}": use /host/path:/container/path[:ro] or NAME:/container/path[:ro]`;
  if (parts.length < 2 || parts.length > 3) throw new Error(usage);
  const [src, dst, opts = ''] = parts;
  if (!src || !dst) throw new Error(usage);
  let hostPath = '';
  let volume: string | undefined;
  if (isAbsolute(src)) hostPath = src;
  else if (src.startsWith('.')) hostPath = resolve(cwd, src);
  else if (VOLUME_NAME.test(src)) volume = src;
  else throw new Error(`invalid volume name "${src}" in "${spec}": use letters, digits, '_', '.' and '-' (or an absolute host path)`);
  if (!isAbsolute(dst)) throw new Error(`invalid volume "${spec}": the container path must be absolute`);
  const m: VolumeMount = { hostPath, containerPath: dst, readonly: false, selinuxRelabel: false, propagation: 'PROPAGATION_PRIVATE' };
  if (volume !== undefined) m.volume = volume;
  for (const o of opts.split(',').filter(Boolean)) {
    if (o === 'ro') m.readonly = true;
    else if (o === 'rw') m.readonly = false;
    else if (o === 'z' || o === 'Z') m.selinuxRelabel = true;
    else if (o === 'private' || o === 'rprivate') m.propagation = 'PROPAGATION_PRIVATE';
    else if (o === 'slave' || o === 'rslave') m.propagation = 'PROPAGATION_HOST_TO_CONTAINER';
    else if (o === 'shared' || o === 'rshared') m.propagation = 'PROPAGATION_BIDIRECTIONAL';
    else throw new Error(`invalid volume option "${o}" in "${spec}"`);
  }
  return m;
}

export interface EnvVar {
  key: string;
  value: string;
}

/** -e KEY=VALUE, or -e KEY to pass this process's value (skipped when it has none, as docker does). */
export function parseEnv(spec: string, env: NodeJS.ProcessEnv = process.env): EnvVar | undefined {
  const eq = spec.indexOf('=');
  const key = eq < 0 ? spec : spec.slice(0, eq);
  if (!key || /\s/.test(key)) throw new Error(`invalid environment variable "${spec}"`);
  if (eq >= 0) return { key, value: spec.slice(eq + 1) };
  const v = env[key];
  return v === undefined ? undefined : { key, value: v };
}

/** An --env-file's text: one -e per line; blank lines and lines starting with # are skipped. */
export function parseEnvFile(text: string, env: NodeJS.ProcessEnv = process.env): EnvVar[] {
  const out: EnvVar[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+/, '');
    if (!line || line.startsWith('#')) continue;
    const v = parseEnv(line, env);
    if (v) out.push(v);
  }
  return out;
}

/** Later values win, keeping the first position of each key. */
export function mergeEnv(vars: readonly EnvVar[]): EnvVar[] {
  const m = new Map<string, string>();
  for (const v of vars) m.set(v.key, v.value);
  return [...m].map(([key, value]) => ({ key, value }));
}

export interface UserSpec {
  runAsUser?: number;
  runAsGroup?: number;
  runAsUsername?: string;
}

const ID_MAX = 2 ** 32 - 2;

/** -u uid[:gid] or name[:gid]. CRI carries no group names. */
export function parseUser(spec: string): UserSpec {
  const [user, group, ...more] = spec.split(':');
  if (!user || more.length || group === '') throw new Error(`invalid user "${spec}": use uid[:gid] or name[:gid]`);
  const out: UserSpec = {};
  if (/^\d+$/.test(user)) {
    out.runAsUser = Number(user);
    if (out.runAsUser > ID_MAX) throw new Error(`invalid user "${spec}": uid out of range`);
  } else if (/^[a-z_][a-z0-9_.-]*\$?$/i.test(user)) out.runAsUsername = user;
  else throw new Error(`invalid user name "${user}"`);
  if (group !== undefined) {
    if (!/^\d+$/.test(group)) throw new Error(`invalid group "${group}" in "${spec}": give a numeric gid (CRI has no group names)`);
    out.runAsGroup = Number(group);
    if (out.runAsGroup > ID_MAX) throw new Error(`invalid user "${spec}": gid out of range`);
  }
  return out;
}

const MEMORY_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** --memory: bytes with an optional binary unit b/k/m/g/t/p (also "kb", "kib"); "512m", "1.5g". */
export function parseMemory(spec: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i.exec(spec.trim());
  if (!m) throw new Error(`invalid memory size "${spec}": use a number with an optional unit (b, k, m, g), e.g. 512m`);
  const bytes = Math.floor(Number(m[1]) * MEMORY_UNITS[m[2].toLowerCase()]);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`invalid memory size "${spec}"`);
  // runc refuses limits below what a process needs to start; docker's floor is 6 MiB.
  if (bytes < 6 * 1024 * 1024) throw new Error(`memory limit "${spec}" is below the minimum of 6m`);
  return bytes;
}

/** CFS period the CLI uses for --cpus (the kernel's and docker's default). */
export const CPU_PERIOD = 100_000;

/** --cpus "1.5" → a CFS quota over CPU_PERIOD µs. */
export function parseCpus(spec: string): { cpuPeriod: number; cpuQuota: number } {
  if (!/^\d+(\.\d+)?$/.test(spec.trim())) throw new Error(`invalid --cpus "${spec}": use a number such as 0.5 or 2`);
  const cpus = Number(spec);
  const quota = Math.round(cpus * CPU_PERIOD);
  // The kernel's minimum quota is 1 ms.
  if (quota < 1000) throw new Error(`invalid --cpus "${spec}": the minimum is 0.01`);
  return { cpuPeriod: CPU_PERIOD, cpuQuota: quota };
}

/** --label k=v or k (empty value). */
export function parseLabel(spec: string): [string, string] {
  const eq = spec.indexOf('=');
  const key = eq < 0 ? spec : spec.slice(0, eq);
  if (!key) throw new Error(`invalid label "${spec}"`);
  return [key, eq < 0 ? '' : spec.slice(eq + 1)];
}

export interface Filter {
  key: string;
  value: string;
}

/** --filter key=value, key one of `allowed`. */
export function parseFilter(spec: string, allowed: readonly string[]): Filter {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new Error(`invalid filter "${spec}": use key=value`);
  const key = spec.slice(0, eq).toLowerCase();
  if (!allowed.includes(key)) throw new Error(`invalid filter "${key}": use one of ${allowed.join(', ')}`);
  return { key, value: spec.slice(eq + 1) };
}

/** Commander collector for repeatable options. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
