// Linux capability names and the Kubernetes add/drop rules.
import { invalidArgument } from '../util/errors';

/** Every capability up to CAP_CHECKPOINT_RESTORE (40), in kernel number order. */
export const ALL_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** The set containerd and Docker give unprivileged containers. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

const KNOWN = new Set(ALL_CAPABILITIES);

/** `net_admin`, `NET_ADMIN`, `CAP_NET_ADMIN` → `CAP_NET_ADMIN`; unknown names are invalid. */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!KNOWN.has(full)) throw invalidArgument(`unknown capability "${name}"`, { capability: name });
  return full;
}

const isAll = (n: string) => n.trim().toUpperCase() === 'ALL';

/**
 * The capability set after the CRI add/drop lists, in containerd's order: add ALL, drop ALL,
 * then the named adds, then the named drops (so `drop: [ALL], add: [X]` yields exactly X).
 */
export function applyCapabilityChanges(base: readonly string[], add: readonly string[] = [], drop: readonly string[] = []): string[] {
  let caps = new Set(base);
  if (add.some(isAll)) caps = new Set(ALL_CAPABILITIES);
  if (drop.some(isAll)) caps.clear();
  for (const a of add) if (!isAll(a)) caps.add(normalizeCapability(a));
  for (const d of drop) if (!isAll(d)) caps.delete(normalizeCapability(d));
  return ALL_CAPABILITIES.filter((c) => caps.has(c));
}

/** Capability names in a /proc/<pid>/status hex mask (e.g. CapBnd). */
export function capabilitiesFromMask(hex: string): string[] {
  const mask = BigInt(`0x${hex.trim()}`);
  return ALL_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}
