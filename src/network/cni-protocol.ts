// The CNI execution protocol as pure functions: environment, CNI_ARGS, the JSON a plugin reads on
// stdin (with prevResult and capability-filtered runtimeConfig), and the JSON error it prints.
import { BerthError, invalidArgument, type ErrorKind } from '../util/errors';
import { compareVersions, type NetworkConfigList, type PluginConf } from './cni-config';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIP?: string;
}

/** Capability-keyed runtime data; only keys a plugin declares in "capabilities" reach it. */
export interface CapabilityArgs {
  portMappings?: PortMapping[];
  bandwidth?: { ingressRate?: number; ingressBurst?: number; egressRate?: number; egressBurst?: number };
  ipRanges?: { subnet: string; rangeStart?: string; rangeEnd?: string; gateway?: string }[][];
  dns?: { servers?: string[]; searches?: string[]; options?: string[] };
  [capability: string]: unknown;
}

/** What a runtime passes for one attachment (libcni calls it RuntimeConf). */
export interface RuntimeConf {
  containerId: string;
  netnsPath: string;
  /** Defaults to eth0. */
  ifName?: string;
  /** Become CNI_ARGS, e.g. K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_INFRA_CONTAINER_ID, K8S_POD_UID. */
  args?: Record<string, string>;
  capabilityArgs?: CapabilityArgs;
}

const CONTAINER_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const ARG_KEY_RE = /^[A-Za-z0-9_]+$/;

export function validateRuntimeConf(rt: RuntimeConf, forDel = false): void {
  if (!CONTAINER_ID_RE.test(rt.containerId)) throw invalidArgument(`invalid CNI container id "${rt.containerId}"`);
  const ifName = rt.ifName ?? 'eth0';
  if (!ifName || ifName.length > 15 || ifName === '.' || ifName === '..' || /[/:\s]/.test(ifName))
    throw invalidArgument(`invalid interface name "${ifName}"`, { containerId: rt.containerId });
  if (!forDel && !rt.netnsPath.startsWith('/')) throw invalidArgument('netns path must be absolute', { containerId: rt.containerId });
}

/** CNI_ARGS: "IgnoreUnknown=1;K=V;..." (IgnoreUnknown so plugins not knowing K8S_* keys accept them). */
export function formatCniArgs(args: Record<string, string> = {}): string {
  const parts = ['IgnoreUnknown=1'];
  for (const [k, v] of Object.entries(args)) {
    if (k === 'IgnoreUnknown') continue;
    if (!ARG_KEY_RE.test(k)) throw invalidArgument(`invalid CNI_ARGS key "${k}"`);
    if (typeof v !== 'string' || /[;=\0\n]/.test(v)) throw invalidArgument(`invalid CNI_ARGS value for ${k}`);
    parts.push(`${k}=${v}`);
  }
  return parts.join(';');
}

export function cniEnv(
  command: CniCommand,
  rt: RuntimeConf | undefined,
  netns: string,
  binDirs: readonly string[],
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // Plugins run helpers like iptables, so they get our environment, minus stale CNI_* values.
  for (const [k, v] of Object.entries(base)) if (!k.startsWith('CNI_')) env[k] = v;
  if (!env.PATH) env.PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  env.CNI_COMMAND = command;
  env.CNI_PATH = binDirs.join(':');
  if (rt) {
    env.CNI_CONTAINERID = rt.containerId;
    env.CNI_NETNS = netns;
    env.CNI_IFNAME = rt.ifName ?? 'eth0';
    env.CNI_ARGS = formatCniArgs(rt.args);
  }
  return env;
}

/** The runtimeConfig for a plugin: only capabilities it declares (true) and we have data for. */
export function runtimeConfigFor(plugin: PluginConf, capabilityArgs: CapabilityArgs = {}): Record<string, unknown> | undefined {
  const rc: Record<string, unknown> = {};
  for (const [cap, enabled] of Object.entries(plugin.capabilities ?? {})) {
    if (enabled && capabilityArgs[cap] !== undefined) rc[cap] = capabilityArgs[cap];
  }
  return Object.keys(rc).length ? rc : undefined;
}

/** Whether this version passes prevResult on DEL and knows CHECK (both arrived in 0.4.0). */
export function hasCheckAndDelPrevResult(cniVersion: string): boolean {
  return compareVersions(cniVersion, '0.4.0') >= 0;
}

/** The JSON a plugin reads on stdin. */
export function pluginStdin(net: NetworkConfigList, plugin: PluginConf, capabilityArgs?: CapabilityArgs, prevResult?: unknown): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, name: net.name, cniVersion: net.cniVersion };
  const rc = runtimeConfigFor(plugin, capabilityArgs);
  if (rc) {
    const existing = typeof plugin.runtimeConfig === 'object' && plugin.runtimeConfig !== null ? (plugin.runtimeConfig as Record<string, unknown>) : {};
    conf.runtimeConfig = { ...existing, ...rc };
  }
  if (prevResult !== undefined) conf.prevResult = prevResult;
  else delete conf.prevResult;
  return conf;
}

export interface CniPluginError {
  code?: number;
  msg: string;
  details?: string;
}

/** The error a failed plugin printed on stdout, if it printed the standard JSON error. */
export function parsePluginError(stdout: string): CniPluginError | undefined {
  try {
    const o: unknown = JSON.parse(stdout);
    if (typeof o !== 'object' || o === null) return undefined;
    const r = o as Record<string, unknown>;
    if (typeof r.msg !== 'string' && typeof r.code !== 'number') return undefined;
    return {
      code: typeof r.code === 'number' ? r.code : undefined,
      msg: typeof r.msg === 'string' ? r.msg : '',
      details: typeof r.details === 'string' && r.details ? r.details : undefined,
    };
  } catch {
    return undefined;
  }
}

// Well-known CNI error codes: 1 incompatible version, 2 unsupported field, 3 unknown container,
// 4 invalid env, 5 I/O, 6 decode, 7 invalid network config, 11 try again later. Config problems
// are the node's, not the caller's, hence failed-precondition rather than invalid-argument.
function kindForCode(code: number | undefined): ErrorKind {
  switch (code) {
    case 1:
    case 2:
    case 4:
    case 6:
    case 7:
      return 'failed-precondition';
    case 3:
      return 'not-found';
    case 11:
      return 'unavailable';
    default:
      return 'internal';
  }
}

export function pluginError(
  e: CniPluginError,
  ctx: { plugin: string; command: CniCommand; network: string; containerId?: string; stderr?: string },
): BerthError {
  const msg = `CNI plugin ${ctx.plugin} ${ctx.command} failed on network ${ctx.network}: ${e.msg}${e.details ? ` (${e.details})` : ''}`;
  return new BerthError(kindForCode(e.code), msg, { ...ctx, code: e.code, details: e.details });
}
