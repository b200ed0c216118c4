// What the benchmark daemons (berthd, the containerd yardstick) share: spawn with a log file, wait
// until CRI answers, stop by PID, then clean the processes they left behind, their mounts and dirs.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { CriClient } from './cri-client';
import { findProcesses, isAlive, onCleanup, stopPid, unmountUnder } from './procs';

export interface BenchDaemon {
  /** 'berth' or 'containerd'. */
  name: string;
  pid: number;
  socket: string;
  /** Base temp dir holding root, state, config and log. */
  base: string;
  root: string;
  state: string;
  logFile: string;
  cri: CriClient;
  /** CRI Version answer (runtimeName, runtimeVersion). */
  version: { runtimeName: string; runtimeVersion: string };
  /** Helper processes the daemon started that are not its descendants (shims, conmons). */
  helperPids(): number[];
  /** Stop the daemon and its helpers, unmount, remove all dirs. Idempotent. */
  stop(): Promise<void>;
  /** Tail of the daemon's log, for error messages. */
  logTail(lines?: number): string;
}

export interface SpawnDaemonOptions {
  name: string;
  command: string;
  args: string[];
  base: string;
  root: string;
  state: string;
  socket: string;
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Processes of this daemon that outlive it or are not its children (matched by argv). */
  helperMatch: (argv: string[]) => boolean;
  /** Extra teardown after the daemon and helpers are gone, before unmount (e.g. runc delete). */
  beforeUnmount?: () => Promise<void>;
  readyTimeoutMs?: number;
  stopTimeoutMs?: number;
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Environment without proxies: the benchmark registry is on 127.0.0.1. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY', 'all_proxy', 'ALL_PROXY']) delete env[k];
  env.PATH = env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  return env;
}

export async function spawnDaemon(o: SpawnDaemonOptions): Promise<BenchDaemon> {
  const fd = openSync(o.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(o.command, o.args, { stdio: ['ignore', fd, fd], env: o.env ?? cleanEnv(), cwd: o.cwd });
  } finally {
    closeSync(fd);
  }
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid;
  if (pid === undefined) {
    const err = await spawnError;
    rmSync(o.base, { recursive: true, force: true });
    throw new Error(`cannot start ${o.name} (${o.command}): ${err.message}`);
  }
  const cri = new CriClient(o.socket);
  const helperPids = () => findProcesses((argv) => o.helperMatch(argv));

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      unregister();
      cri.close();
      await stopPid(pid, { exited, timeoutMs: o.stopTimeoutMs ?? 15_000 });
      for (const h of helperPids()) await stopPid(h, { timeoutMs: 5_000 });
      await o.beforeUnmount?.();
      await unmountUnder([o.root, o.state, o.base]);
      rmSync(o.base, { recursive: true, force: true });
    })();
    return stopped;
  };
  const unregister = onCleanup(`${o.name} pid ${pid}`, stop);

  const alive = () => child.exitCode === null && child.signalCode === null && isAlive(pid);
  const deadline = Date.now() + (o.readyTimeoutMs ?? 30_000);
  try {
    while (!existsSync(o.socket)) {
      if (!alive()) throw new Error(`${o.name} exited during startup`);
      if (Date.now() > deadline) throw new Error(`${o.name} did not create ${o.socket} in time`);
      await new Promise((r) => setTimeout(r, 25));
    }
    const v = await cri.waitReady(Math.max(1_000, deadline - Date.now()), alive);
    return {
      name: o.name,
      pid,
      socket: o.socket,
      base: o.base,
      root: o.root,
      state: o.state,
      logFile: o.logFile,
      cri,
      version: { runtimeName: v.runtimeName, runtimeVersion: v.runtimeVersion },
      helperPids,
      stop,
      logTail: (n = 40) => tail(o.logFile, n),
    };
  } catch (e) {
    const log = tail(o.logFile, 40);
    await stop();
    throw new Error(`${(e as Error).message}\n--- ${o.name} log (tail) ---\n${log}`);
  }
}

/** Stop and remove every pod the daemon still has (after a failure), so it stops with nothing running. */
export async function removeAllPods(d: BenchDaemon): Promise<void> {
  const res = await new Promise<{ items: Array<{ id: string }> }>((ok, ko) =>
    d.cri.clients.runtime.listPodSandbox({}, { deadline: new Date(Date.now() + 30_000) }, (e, r) => (e || !r ? ko(e ?? new Error('empty')) : ok(r))),
  );
  for (const p of res.items) {
    await d.cri.stopPodSandbox(p.id).catch(() => undefined);
    await d.cri.removePodSandbox(p.id).catch(() => undefined);
  }
}
