// Which sysctls a pod may set, and in which of its namespaces they live. Only namespaced sysctls
// are allowed: writing a host-wide one from "inside" a pod would change the node.
import { invalidArgument } from '../util/errors';

export type NamespaceKind = 'net' | 'ipc' | 'uts';

export interface SysctlWrite {
  name: string;
  /** Path under /proc/sys, e.g. "/proc/sys/net/ipv4/ip_forward". */
  path: string;
  value: string;
  namespace: NamespaceKind;
}

/**
 * Relative path under /proc/sys of a sysctl. Names come either dotted ("net.ipv4.ip_forward")
 * or slashed ("net/ipv4/ip_forward").
 * In the dotted form a "/" stands for a literal dot inside a component (an interface called
 * "eth0.100" is written "net.ipv4.conf.eth0/100.rp_filter"), so dots and slashes swap.
 */
export function sysctlToPath(name: string): string {
  // Whichever separator comes first tells the form.
  const first = name.search(/[./]/);
  if (first >= 0 && name[first] === '/') return name;
  return name.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
}

/** Dotted canonical form, used to decide the namespace. */
function canonical(name: string): string {
  return sysctlToPath(name).replace(/\//g, '.');
}

export function sysctlNamespace(name: string): NamespaceKind | undefined {
  const n = canonical(name);
  if (n.startsWith('net.')) return 'net';
  if (/^kernel\.(shm[a-z_]*|msg[a-z_]*|sem|sem_next_id)$/.test(n) || n.startsWith('fs.mqueue.')) return 'ipc';
  if (n === 'kernel.hostname' || n === 'kernel.domainname') return 'uts';
  return undefined;
}

/** Validate pod sysctls against the namespaces the pod gets; throws invalid-argument. */
export function planSysctls(sysctls: Record<string, string>, kinds: readonly NamespaceKind[]): SysctlWrite[] {
  const writes: SysctlWrite[] = [];
  for (const [name, value] of Object.entries(sysctls)) {
    const rel = sysctlToPath(name);
    const segs = rel.split('/');
    if (!/^[A-Za-z0-9_.\-/]+$/.test(name) || segs.some((s) => s === '' || s === '.' || s === '..'))
      throw invalidArgument(`invalid sysctl name "${name}"`, { sysctl: name });
    if (typeof value !== 'string' || value.includes('\0') || value.includes('\n'))
      throw invalidArgument(`invalid value for sysctl "${name}"`, { sysctl: name });
    const ns = sysctlNamespace(name);
    if (!ns) throw invalidArgument(`sysctl "${name}" is not namespaced and cannot be set for a pod`, { sysctl: name });
    if (!kinds.includes(ns))
      throw invalidArgument(`sysctl "${name}" needs a private ${ns} namespace, which this pod does not have`, { sysctl: name, namespace: ns });
    writes.push({ name, path: `/proc/sys/${rel}`, value, namespace: ns });
  }
  return writes;
}
