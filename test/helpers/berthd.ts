// Start a real berthd (from source, under tsx) in its own temp root/state dirs; stop it by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createCriClients, type CriClients } from '../../src/cri/proto';

export const REPO = resolve(__dirname, '../..');

export interface BerthdOptions {
  registryConfigDir?: string;
  cniConfDir?: string;
  extraArgs?: string[];
  /** Contents of the berth.toml given with --config (default empty: all defaults). */
  configToml?: string;
  /** Reuse dirs (restart scenarios). */
  dirs?: { base: string; root: string; state: string };
}

export interface RunningBerthd {
  pid: number;
  socket: string;
  root: string;
  state: string;
  base: string;
  clients: CriClients;
  logFile: string;
  /** SIGTERM and wait; dirs are kept for a restart. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Stop and remove all dirs. */
  destroy(): Promise<void>;
  logs(): string;
}

export async function startBerthd(opts: BerthdOptions = {}): Promise<RunningBerthd> {
  const base = opts.dirs?.base ?? mkdtempSync(join(tmpdir(), 'berth-it-'));
  const root = opts.dirs?.root ?? join(base, 'root');
  const state = opts.dirs?.state ?? join(base, 'state');
  const socket = join(state, 'berth.sock');
  const logFile = join(base, `berthd-${Date.now()}.log`);
  const configFile = join(base, 'berth.toml');
  const { writeFileSync, mkdirSync } = await import('node:fs');
  mkdirSync(base, { recursive: true });
  writeFileSync(configFile, opts.configToml ?? '');
  const args = [
    '--import', 'tsx', join(REPO, 'src/daemon/main.ts'),
    '--config', configFile,
    '--root', root, '--state', state, '--listen', socket,
    '--registry-config-dir', opts.registryConfigDir ?? join(base, 'certs.d'),
    '--cni-conf-dir', opts.cniConfDir ?? join(base, 'net.d'),
    '--metrics-address', '',
    '--log-level', 'debug',
    ...(opts.extraArgs ?? []),
  ];
  const { openSync } = await import('node:fs');
  const fd = openSync(logFile, 'a');
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', fd, fd], cwd: REPO });
  // A test whose cleanup failed must still let its process exit (the runner waits for it).
  child.unref();
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  // Ready means answering: a socket file may be a stale one left by a killed predecessor.
  const deadline = Date.now() + 30_000;
  let clients = createCriClients(socket);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`berthd exited with ${child.exitCode}:\n${readFileSync(logFile, 'utf8')}`);
    if (existsSync(socket)) {
      const answered = await call(clients.runtime, 'Version', {}, 1000).then(
        () => true,
        () => false,
      );
      if (answered) break;
      clients.close();
      clients = createCriClients(socket);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`berthd did not answer on ${socket} in time:\n${readFileSync(logFile, 'utf8')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    clients.close();
    // Held while we wait for it to exit (it is unref'd otherwise).
    child.ref();
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return {
    pid: child.pid!,
    socket,
    root,
    state,
    base,
    clients,
    logFile,
    stop,
    destroy: async () => {
      await stop();
      rmSync(base, { recursive: true, force: true });
    },
    logs: () => readFileSync(logFile, 'utf8'),
  };
}

/** Promisify a unary call of a grpc-js client. */
export function call<Req, Res>(client: any, method: string, req: Req, deadlineMs = 60_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    client[method](req, { deadline: new Date(Date.now() + deadlineMs) }, (err: Error | null, res: Res) => (err ? reject(err) : resolve(res)));
  });
}
