// `berth run` / `berth create` flags → the CRI pod sandbox and container configs. A run is a pod of
// one container: the pod carries the network (ports, host network), the container the rest.
// Pure: file reads, free ports and names are resolved by the caller.
import { randomUUID } from 'node:crypto';
import type { ContainerConfig, PodSandboxConfig } from '../cri/proto';
import { ANN_AUTO_REMOVE, ANN_CONFIG, ANN_PORTS, CLI_NAMESPACE, LABEL_CLI } from './resolve';
import {
  mergeEnv,
  parseCpus,
  parseEnv,
  parseEnvFile,
  parseLabel,
  parseMemory,
  parsePublish,
  parseUser,
  parseVolume,
  type EnvVar,
  type PublishedPort,
  type VolumeMount,
} from './flags';
import { hostnameFor } from './names';

/** The run/create options as commander hands them over. */
export interface RunOptions {
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  rm?: boolean;
  name?: string;
  hostname?: string;
  env?: string[];
  envFile?: string[];
  publish?: string[];
  volume?: string[];
  entrypoint?: string;
  workdir?: string;
  user?: string;
  network?: string;
  memory?: string;
  cpus?: string;
  label?: string[];
  runtime?: string;
  pull?: string;
}

export interface ParsedRun {
  env: EnvVar[];
  ports: PublishedPort[];
  mounts: VolumeMount[];
  hostNetwork: boolean;
  labels: Record<string, string>;
  resources: { memoryLimitInBytes?: number; cpuPeriod?: number; cpuQuota?: number };
}

/** Validates and parses every flag; env files are given as their texts (in --env-file order). */
export function parseRunOptions(o: RunOptions, envFileTexts: string[] = [], env: NodeJS.ProcessEnv = process.env): ParsedRun {
  const vars: EnvVar[] = [];
  for (const t of envFileTexts) vars.push(...parseEnvFile(t, env));
  for (const e of o.env ?? []) {
    const v = parseEnv(e, env);
    if (v) vars.push(v);
  }
  const network = o.network ?? 'pod';
  if (!['host', 'pod', 'bridge', 'default'].includes(network)) throw new Error(`unsupported --network "${network}": use host, or leave it out for the pod network`);
  const hostNetwork = network === 'host';
  const ports = (o.publish ?? []).flatMap(parsePublish);
  if (hostNetwork && ports.length) throw new Error('-p has no effect with --network host: the container uses the node\'s ports');
  const labels: Record<string, string> = {};
  for (const l of o.label ?? []) {
    const [k, v] = parseLabel(l);
    labels[k] = v;
  }
  const resources: ParsedRun['resources'] = {};
  if (o.memory !== undefined) resources.memoryLimitInBytes = parseMemory(o.memory);
  if (o.cpus !== undefined) Object.assign(resources, parseCpus(o.cpus));
  if (o.user !== undefined) parseUser(o.user);
  return { env: mergeEnv(vars), ports, mounts: (o.volume ?? []).map((v) => parseVolume(v)), hostNetwork, labels, resources };
}

export interface RunSpecInput {
  name: string;
  image: string;
  /** Positional arguments after the image. */
  args: string[];
  options: RunOptions;
  parsed: ParsedRun;
  /** Ports with every host port chosen (none 0). */
  ports: PublishedPort[];
}

export interface RunSpec {
  pod: PodSandboxConfig;
  container: ContainerConfig;
  runtimeHandler: string;
}

export function buildRunSpec(input: RunSpecInput): RunSpec {
  const { name, options: o, parsed: p } = input;
  const namespaceOptions = { network: p.hostNetwork ? 'NODE' : 'POD', pid: 'CONTAINER', ipc: 'POD' } as const;
  const pod: PodSandboxConfig = {
    metadata: { name, uid: randomUUID(), namespace: CLI_NAMESPACE, attempt: 0 },
    // With the node's network the pod keeps the node's hostname, as docker does.
    hostname: p.hostNetwork ? '' : (o.hostname ?? hostnameFor(name)),
    // No log directory: berthd keeps the log with the container and removes it with it.
    logDirectory: '',
    portMappings: input.ports.map((x) => ({ protocol: x.protocol.toUpperCase() as 'TCP' | 'UDP' | 'SCTP', containerPort: x.containerPort, hostPort: x.hostPort, hostIp: x.hostIp })),
    labels: { [LABEL_CLI]: 'true' },
    // Detached, no client waits for the exit: berthd does the --rm (a foreground run removes it itself).
    annotations: o.rm && o.detach ? { [ANN_AUTO_REMOVE]: 'true' } : {},
    linux: { securityContext: { namespaceOptions } },
  };
  const user = o.user !== undefined ? parseUser(o.user) : {};
  const res = p.resources;
  const hasResources = res.memoryLimitInBytes !== undefined || res.cpuQuota !== undefined;
  const container: ContainerConfig = {
    metadata: { name, attempt: 0 },
    image: { image: input.image },
    // docker's --entrypoint replaces the image's entrypoint and drops its Cmd; CRI's command does both.
    command: o.entrypoint !== undefined && o.entrypoint !== '' ? [o.entrypoint] : [],
    args: input.args,
    workingDir: o.workdir ?? '',
    envs: p.env.map((e) => ({ key: e.key, value: Buffer.from(e.value) })),
    mounts: p.mounts.map(({ volume, ...m }) => {
      if (volume !== undefined && !m.hostPath) throw new Error(`volume "${volume}" has no host path yet`);
      return m;
    }),
    labels: { ...p.labels, [LABEL_CLI]: 'true' },
    annotations: { [ANN_PORTS]: JSON.stringify(input.ports) },
    logPath: '',
    stdin: !!o.interactive,
    // docker closes stdin after the first attach only without a terminal: with one, conmon would
    // close the terminal's input when an attach ends, and nothing typed would reach it again.
    stdinOnce: !!o.interactive && !o.tty,
    tty: !!o.tty,
    linux: {
      ...(hasResources
        ? {
            resources: {
              ...(res.memoryLimitInBytes !== undefined ? { memoryLimitInBytes: res.memoryLimitInBytes } : {}),
              ...(res.cpuQuota !== undefined ? { cpuQuota: res.cpuQuota, cpuPeriod: res.cpuPeriod } : {}),
            },
          }
        : {}),
      securityContext: {
        namespaceOptions,
        ...(user.runAsUser !== undefined ? { runAsUser: { value: user.runAsUser } } : {}),
        ...(user.runAsGroup !== undefined ? { runAsGroup: { value: user.runAsGroup } } : {}),
        ...(user.runAsUsername !== undefined ? { runAsUsername: user.runAsUsername } : {}),
      },
    },
  };
  // Kept so `start`/`restart` can make the container again: CRI never restarts an exited one.
  container.annotations![ANN_CONFIG] = JSON.stringify(configForAnnotation(container));
  return { pod, container, runtimeHandler: o.runtime ?? '' };
}

/** The config as JSON-safe data (env values as strings, no annotation of itself). */
function configForAnnotation(c: ContainerConfig): unknown {
  return {
    ...c,
    envs: (c.envs ?? []).map((e) => ({ key: e.key, value: Buffer.isBuffer(e.value) ? e.value.toString('utf8') : String(e.value) })),
    annotations: { [ANN_PORTS]: c.annotations?.[ANN_PORTS] ?? '[]' },
  };
}

/** The inverse of configForAnnotation, for CreateContainer again. */
export function configFromAnnotation(json: string): ContainerConfig {
  const c = JSON.parse(json) as ContainerConfig & { envs?: { key: string; value: string }[] };
  const out: ContainerConfig = { ...c, envs: (c.envs ?? []).map((e) => ({ key: e.key, value: Buffer.from(String(e.value)) })) };
  out.annotations = { ...(c.annotations ?? {}), [ANN_CONFIG]: json };
  return out;
}

/** Ports recorded on a container by run/create. */
export function portsOf(annotations: Record<string, string> | undefined): PublishedPort[] {
  const raw = annotations?.[ANN_PORTS];
  if (!raw) return [];
  try {
    const v = JSON.parse(raw) as PublishedPort[];
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}
