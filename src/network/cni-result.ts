// CNI results: validate what plugins print and turn every supported spec version into one shape
// (the 1.0.0 one), plus the pod IP selection the runtime reports to the kubelet.
import { isIP } from 'node:net';
import { invalidArgument } from '../util/errors';

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  /** Netns path for interfaces inside the pod; absent for host-side interfaces. */
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

export interface CniIpConfig {
  /** Address with prefix length, e.g. "10.22.0.5/24". */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIpConfig[];
  routes: CniRoute[];
  dns: CniDns;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCidr(s: unknown): s is string {
  if (typeof s !== 'string') return false;
  const slash = s.lastIndexOf('/');
  if (slash < 0) return false;
  const fam = isIP(s.slice(0, slash));
  const bits = s.slice(slash + 1);
  if (!fam || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (fam === 4 ? 32 : 128);
}

function optNum(o: Record<string, unknown>, k: string, where: string): number | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidArgument(`${where}: "${k}" must be a number`);
  return v;
}

function optStr(o: Record<string, unknown>, k: string, where: string): string | undefined {
  const v = o[k];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw invalidArgument(`${where}: "${k}" must be a string`);
  return v;
}

function strList(v: unknown, where: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalidArgument(`${where} must be a list of strings`);
  return v as string[];
}

function parseRoute(r: unknown, where: string): CniRoute {
  if (!isObject(r) || !isCidr(r.dst)) throw invalidArgument(`${where}: route needs a CIDR "dst"`);
  const route: CniRoute = { dst: r.dst };
  const gw = optStr(r, 'gw', where);
  if (gw !== undefined) {
    if (!isIP(gw)) throw invalidArgument(`${where}: invalid route gw "${gw}"`);
    route.gw = gw;
  }
  for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) {
    const n = optNum(r, k, where);
    if (n !== undefined) route[k] = n;
  }
  return route;
}

function parseDns(d: unknown, where: string): CniDns {
  if (d === undefined || d === null) return {};
  if (!isObject(d)) throw invalidArgument(`${where}: dns must be an object`);
  const dns: CniDns = {};
  const ns = strList(d.nameservers, `${where}: dns.nameservers`);
  if (ns) dns.nameservers = ns;
  const domain = optStr(d, 'domain', where);
  if (domain) dns.domain = domain;
  const search = strList(d.search, `${where}: dns.search`);
  if (search) dns.search = search;
  const options = strList(d.options, `${where}: dns.options`);
  if (options) dns.options = options;
  return dns;
}

// 0.1.0/0.2.0 results carry "ip4"/"ip6" objects instead of "ips"; a chained plugin may still
// hand one through, so convert rather than reject.
function fromLegacy(raw: Record<string, unknown>, where: string): Pick<CniResult, 'ips' | 'routes'> {
  const ips: CniIpConfig[] = [];
  const routes: CniRoute[] = [];
  for (const key of ['ip4', 'ip6']) {
    const c = raw[key];
    if (c === undefined || c === null) continue;
    if (!isObject(c) || !isCidr(c.ip)) throw invalidArgument(`${where}: ${key}.ip must be a CIDR address`);
    const ip: CniIpConfig = { address: c.ip };
    const gw = optStr(c, 'gateway', where);
    if (gw) ip.gateway = gw;
    ips.push(ip);
    if (Array.isArray(c.routes)) for (const r of c.routes) routes.push(parseRoute(r, where));
  }
  return { ips, routes };
}

/** Validate a plugin's ADD output (any supported version) and normalize it to the 1.0.0 shape. */
export function parseCniResult(raw: unknown, where = 'CNI result'): CniResult {
  if (!isObject(raw)) throw invalidArgument(`${where}: must be a JSON object`);
  const cniVersion = typeof raw.cniVersion === 'string' ? raw.cniVersion : '';
  if (raw.ips === undefined && (raw.ip4 !== undefined || raw.ip6 !== undefined)) {
    return { cniVersion, interfaces: [], ...fromLegacy(raw, where), dns: parseDns(raw.dns, where) };
  }
  const interfaces: CniInterface[] = [];
  if (raw.interfaces !== undefined && raw.interfaces !== null) {
    if (!Array.isArray(raw.interfaces)) throw invalidArgument(`${where}: interfaces must be a list`);
    for (const i of raw.interfaces) {
      if (!isObject(i) || typeof i.name !== 'string' || !i.name) throw invalidArgument(`${where}: interface needs a "name"`);
      const itf: CniInterface = { name: i.name };
      for (const k of ['mac', 'sandbox', 'socketPath', 'pciID'] as const) {
        const s = optStr(i, k, where);
        if (s !== undefined) itf[k] = s;
      }
      const mtu = optNum(i, 'mtu', where);
      if (mtu !== undefined) itf.mtu = mtu;
      interfaces.push(itf);
    }
  }
  const ips: CniIpConfig[] = [];
  if (raw.ips !== undefined && raw.ips !== null) {
    if (!Array.isArray(raw.ips)) throw invalidArgument(`${where}: ips must be a list`);
    for (const ip of raw.ips) {
      // 0.3.x/0.4.0 add "version": "4"|"6"; it is implied by the address, so it is dropped.
      if (!isObject(ip) || !isCidr(ip.address)) throw invalidArgument(`${where}: ip needs a CIDR "address"`);
      const c: CniIpConfig = { address: ip.address };
      const gw = optStr(ip, 'gateway', where);
      if (gw !== undefined) {
        if (!isIP(gw)) throw invalidArgument(`${where}: invalid gateway "${gw}"`);
        c.gateway = gw;
      }
      const idx = optNum(ip, 'interface', where);
      if (idx !== undefined) {
        if (!Number.isInteger(idx) || idx < 0 || idx >= interfaces.length) throw invalidArgument(`${where}: ip interface index ${idx} out of range`);
        c.interface = idx;
      }
      ips.push(c);
    }
  }
  const routes: CniRoute[] = [];
  if (raw.routes !== undefined && raw.routes !== null) {
    if (!Array.isArray(raw.routes)) throw invalidArgument(`${where}: routes must be a list`);
    for (const r of raw.routes) routes.push(parseRoute(r, where));
  }
  return { cniVersion, interfaces, ips, routes, dns: parseDns(raw.dns, where) };
}

export function emptyResult(cniVersion: string): CniResult {
  return { cniVersion, interfaces: [], ips: [], routes: [], dns: {} };
}

/** Address without its prefix length. */
export function stripPrefix(cidr: string): string {
  const i = cidr.lastIndexOf('/');
  return i < 0 ? cidr : cidr.slice(0, i);
}

/**
 * The pod's IPs, primary first: addresses on the pod's own interface (a sandbox interface named
 * `ifName`, or IPs with no interface given), the first IPv4 one being primary, else the first IPv6.
 */
export function podIPs(result: CniResult, ifName = 'eth0'): string[] {
  const onPod = result.ips.filter((ip) => {
    if (ip.interface === undefined) return true;
    const itf = result.interfaces[ip.interface];
    return itf !== undefined && itf.sandbox !== undefined && itf.name === ifName;
  });
  const ips = (onPod.length ? onPod : result.ips).map((ip) => stripPrefix(ip.address));
  const unique = [...new Set(ips)];
  const v4 = unique.findIndex((a) => isIP(a) === 4);
  if (v4 > 0) unique.unshift(...unique.splice(v4, 1));
  return unique;
}

export function primaryIPv4(result: CniResult, ifName = 'eth0'): string | undefined {
  return podIPs(result, ifName).find((a) => isIP(a) === 4);
}

/** All pod IPs after the primary one (CRI's additional_ips). */
export function additionalIPs(result: CniResult, ifName = 'eth0'): string[] {
  return podIPs(result, ifName).slice(1);
}
