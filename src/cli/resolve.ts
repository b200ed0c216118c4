// Finding containers, pods and images by what people type: a full id, a unique id prefix, or a name.
import type { Container__Output, PodSandbox__Output } from '../cri/proto';
import type { Connection } from './connection';
import { CliError } from './errors';

/** Marks pods and containers the CLI made (value "true"). */
export const LABEL_CLI = 'io.berth.cli';
/** Container annotation: the -p mappings as JSON (CRI gives no way to read a pod's ports back). */
export const ANN_PORTS = 'io.berth.cli.ports';
/** Container annotation: the CRI ContainerConfig as JSON, to recreate the container (start/restart). */
export const ANN_CONFIG = 'io.berth.cli.config';
/** Pods the CLI makes live in this namespace. */
export const CLI_NAMESPACE = 'berth';
/** Pod annotation for `run --rm -d`: berthd removes the pod once its container exited (the daemon's io.berth.auto-remove). */
export const ANN_AUTO_REMOVE = 'io.berth.auto-remove';

export interface ContainerView {
  ctr: Container__Output;
  pod?: PodSandbox__Output;
  /** The name people use: the CLI's container name, or namespace/pod/container for others. */
  name: string;
}

export function isCliPod(pod: PodSandbox__Output | undefined): boolean {
  return pod?.labels?.[LABEL_CLI] === 'true' && pod.metadata?.namespace === CLI_NAMESPACE;
}

export function displayName(ctr: Container__Output, pod: PodSandbox__Output | undefined): string {
  const name = ctr.metadata?.name ?? '';
  if (!pod || isCliPod(pod)) return name;
  return `${pod.metadata?.namespace}/${pod.metadata?.name}/${name}`;
}

export function podDisplayName(pod: PodSandbox__Output): string {
  return isCliPod(pod) ? (pod.metadata?.name ?? '') : `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

export async function listPods(conn: Connection): Promise<PodSandbox__Output[]> {
  return (await conn.runtime('ListPodSandbox', {})).items;
}

export async function listContainerViews(conn: Connection): Promise<ContainerView[]> {
  const [ctrs, pods] = await Promise.all([conn.runtime('ListContainers', {}), listPods(conn)]);
  const byId = new Map(pods.map((p) => [p.id, p]));
  return ctrs.containers.map((ctr) => {
    const pod = byId.get(ctr.podSandboxId);
    return { ctr, pod, name: displayName(ctr, pod) };
  });
}

/**
 * The one item `ref` names: exact id, then exact name, then a unique id prefix. Throws a CliError
 * "No such <kind>: ref" or "<ref> matches several <kind>s".
 */
export function pick<T>(items: readonly T[], ref: string, id: (t: T) => string, names: (t: T) => string[], kind: string): T {
  const bare = ref.replace(/^sha256:/, '');
  const exact = items.find((t) => id(t).replace(/^sha256:/, '') === bare);
  if (exact) return exact;
  const named = items.filter((t) => names(t).includes(ref));
  if (named.length === 1) return named[0];
  if (named.length > 1) throw new CliError(`"${ref}" names several ${kind}s; use an id`);
  if (/^[0-9a-f]+$/.test(bare)) {
    const prefixed = items.filter((t) => id(t).replace(/^sha256:/, '').startsWith(bare));
    if (prefixed.length === 1) return prefixed[0];
    if (prefixed.length > 1) throw new CliError(`"${ref}" matches several ${kind}s; give more of the id`);
  }
  throw new CliError(`No such ${kind}: ${ref}`);
}

export function pickContainer(views: readonly ContainerView[], ref: string): ContainerView {
  return pick(views, ref, (v) => v.ctr.id, (v) => [v.name, ...(isCliPod(v.pod) ? [] : [v.ctr.metadata?.name ?? ''])].filter(Boolean), 'container');
}

export async function findContainer(conn: Connection, ref: string): Promise<ContainerView> {
  return pickContainer(await listContainerViews(conn), ref);
}

export function pickPod(pods: readonly PodSandbox__Output[], ref: string): PodSandbox__Output {
  return pick(pods, ref, (p) => p.id, (p) => [podDisplayName(p), p.metadata?.name ?? ''].filter(Boolean), 'pod');
}

export async function findPod(conn: Connection, ref: string): Promise<PodSandbox__Output> {
  return pickPod(await listPods(conn), ref);
}
