// Container operations several commands share: status, log following, waiting for an exit,
// recreating an exited container, and removing a container with the pod the CLI made for it.
import type { ContainerStatus__Output } from '../cri/proto';
import { LogFileReader, renderMessage, tail, type LogMessage, type LogOutputOptions } from './cri-log';
import type { Connection } from './connection';
import { CliError } from './errors';
import { ago, humanDuration, nsToMs } from './format';
import { ANN_CONFIG, isCliPod, type ContainerView } from './resolve';
import { configFromAnnotation } from './run-spec';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface StatusDetail {
  status: ContainerStatus__Output;
  /** Parsed verbose info (pid, OCI spec as `config`...), {} if berthd gave none. */
  info: Record<string, any>;
}

export async function containerStatus(conn: Connection, id: string, verbose = false): Promise<StatusDetail> {
  const res = await conn.runtime('ContainerStatus', { containerId: id, verbose });
  if (!res.status) throw new CliError(`No such container: ${id}`);
  let info: Record<string, any> = {};
  if (res.info?.info) {
    try {
      info = JSON.parse(res.info.info);
    } catch {
      info = { raw: res.info.info };
    }
  }
  return { status: res.status, info };
}

/** docker ps's STATUS column. */
export function statusText(s: ContainerStatus__Output, now: number = Date.now()): string {
  switch (s.state) {
    case 'CONTAINER_CREATED':
      return 'Created';
    case 'CONTAINER_RUNNING':
      return `Up ${humanDuration(now - nsToMs(s.startedAt))}`;
    case 'CONTAINER_EXITED': {
      const oom = s.reason === 'OOMKilled' ? ' (OOMKilled)' : '';
      return `Exited (${s.exitCode})${oom} ${ago(nsToMs(s.finishedAt), now)}`.trim();
    }
    default:
      return 'Unknown';
  }
}

/** The short state word used by --filter status= and JSON output. */
export function stateWord(state: string): string {
  return { CONTAINER_CREATED: 'created', CONTAINER_RUNNING: 'running', CONTAINER_EXITED: 'exited' }[state] ?? 'unknown';
}

export function writeMessages(msgs: readonly LogMessage[], opts: LogOutputOptions): void {
  for (const m of msgs) {
    const out = renderMessage(m, opts);
    if (out) (m.stream === 'stderr' ? process.stderr : process.stdout).write(out);
  }
}

export interface FollowOptions extends LogOutputOptions {
  /** Print only the last n messages already in the file (-1: all). */
  tail?: number;
  /** Keep following until the container exits. */
  follow?: boolean;
  /** Checked each round; true stops following (e.g. after Ctrl-C twice). */
  stopped?: () => boolean;
}

/**
 * Prints a container's log, then (follow) what it writes until it exits. Returns its last status.
 * Reading the file directly needs the CLI on the node, which is where berth's CLI runs.
 */
export async function streamLogs(conn: Connection, id: string, opts: FollowOptions): Promise<ContainerStatus__Output> {
  let { status } = await containerStatus(conn, id);
  if (!status.logPath) throw new CliError(`container ${id} has no log file`);
  const reader = new LogFileReader(status.logPath);
  writeMessages(tail(await reader.read(), opts.tail ?? -1), opts);
  if (!opts.follow) {
    writeMessages(reader.flush(), opts);
    return status;
  }
  let lastCheck = 0;
  for (;;) {
    if (Date.now() - lastCheck >= 250) {
      lastCheck = Date.now();
      status = (await containerStatus(conn, id)).status;
      if (status.state === 'CONTAINER_EXITED' || opts.stopped?.()) {
        // conmon has drained the container's output before it records the exit.
        writeMessages(await reader.read(), opts);
        writeMessages(reader.flush(), opts);
        return status;
      }
    }
    writeMessages(await reader.read(), opts);
    await sleep(100);
  }
}

/** Polls until the container has exited; returns its status. */
export async function waitForExit(conn: Connection, id: string, pollMs = 200): Promise<ContainerStatus__Output> {
  for (;;) {
    const { status } = await containerStatus(conn, id);
    if (status.state === 'CONTAINER_EXITED') return status;
    await sleep(pollMs);
  }
}

/** Removes the container, and its pod too when the CLI made the pod and nothing else is in it. */
export async function removeContainer(conn: Connection, v: ContainerView): Promise<void> {
  await conn.runtime('RemoveContainer', { containerId: v.ctr.id }, 60_000);
  if (!isCliPod(v.pod)) return;
  const rest = await conn.runtime('ListContainers', { filter: { podSandboxId: v.pod!.id } });
  if (rest.containers.length === 0) await conn.runtime('RemovePodSandbox', { podSandboxId: v.pod!.id }, 120_000);
}

/**
 * CRI never starts an exited container again; the CLI makes a new one in the same pod from the
 * config it recorded at create time (next attempt number) and removes the old one.
 */
export async function recreateContainer(conn: Connection, v: ContainerView): Promise<string> {
  const json = v.ctr.annotations?.[ANN_CONFIG];
  if (!json || !v.pod) {
    throw new CliError(`container ${v.name} has exited and was not made by berth run/create: CRI cannot start it again`);
  }
  const podStatus = await conn.runtime('PodSandboxStatus', { podSandboxId: v.pod.id });
  if (podStatus.status?.state !== 'SANDBOX_READY') throw new CliError(`the pod of container ${v.name} is stopped; run the container again`);
  const config = configFromAnnotation(json);
  config.metadata = { name: v.ctr.metadata?.name ?? '', attempt: (v.ctr.metadata?.attempt ?? 0) + 1 };
  const podConfig = {
    metadata: v.pod.metadata,
    labels: v.pod.labels,
    annotations: v.pod.annotations,
  };
  await conn.runtime('RemoveContainer', { containerId: v.ctr.id }, 60_000);
  const { containerId } = await conn.runtime('CreateContainer', { podSandboxId: v.pod.id, config, sandboxConfig: podConfig }, 120_000);
  await conn.runtime('StartContainer', { containerId }, 60_000);
  return containerId;
}

/** An image's Entrypoint and Cmd (from verbose ImageStatus), for showing what a container runs. */
export interface ImageProcess {
  entrypoint: string[];
  cmd: string[];
}

/**
 * The command line a container runs. berthd's verbose status carries the CRI-level spec
 * (`config.config.command/args`); an OCI spec (`config.process.args`) is used when a runtime gives
 * that instead. CRI's rule: command replaces the image's Entrypoint, args its Cmd.
 */
export function commandOf(info: Record<string, any>, image?: ImageProcess): string[] {
  const oci = info?.config?.process?.args;
  if (Array.isArray(oci)) return oci.map(String);
  const c = info?.config?.config;
  const command: string[] = Array.isArray(c?.command) ? c.command.map(String) : [];
  const args: string[] = Array.isArray(c?.args) ? c.args.map(String) : [];
  if (command.length) return [...command, ...args];
  return [...(image?.entrypoint ?? []), ...(args.length ? args : (image?.cmd ?? []))];
}

/** Entrypoint and Cmd of an image, or undefined if berthd does not know it (any more). */
export async function imageProcess(conn: Connection, image: string): Promise<ImageProcess | undefined> {
  const st = await conn.image('ImageStatus', { image: { image }, verbose: true }).catch(() => undefined);
  if (!st?.image || !st.info?.info) return undefined;
  try {
    const cfg = JSON.parse(st.info.info)?.imageSpec?.config ?? {};
    return { entrypoint: cfg.Entrypoint ?? [], cmd: cfg.Cmd ?? [] };
  } catch {
    return undefined;
  }
}
