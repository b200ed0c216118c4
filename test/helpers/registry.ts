// Starts a real docker-registry (distribution) on 127.0.0.1 for integration tests, optionally with
// htpasswd auth and TLS. stop() kills exactly the process it started and removes its directories.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, Agent } from 'undici';

export const REGISTRY_BIN = '/usr/bin/docker-registry';
const HTPASSWD_BIN = '/usr/bin/htpasswd';

export interface RegistryOptions {
  auth?: { username: string; password: string };
  tls?: { cert: string; key: string; ca: string };
}

export interface TestRegistry {
  /** http(s)://127.0.0.1:<port> */
  url: string;
  /** 127.0.0.1:<port> (what a reference's domain is) */
  host: string;
  port: number;
  pid: number;
  /** The registry's own log, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  if (!existsSync(REGISTRY_BIN)) throw new Error(`${REGISTRY_BIN} not found: install docker-registry (Debian package docker-registry)`);
  if (opts.auth && !existsSync(HTPASSWD_BIN)) throw new Error(`${HTPASSWD_BIN} not found: install apache2-utils`);
  const dir = mkdtempSync(join(tmpdir(), 'berth-registry-'));
  const storage = join(dir, 'storage');
  const logPath = join(dir, 'registry.log');
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${Math.random().toString(36).slice(2)}`,
  ];
  if (opts.tls) lines.push('  tls:', `    certificate: ${opts.tls.cert}`, `    key: ${opts.tls.key}`);
  if (opts.auth) {
    const htpasswd = join(dir, 'htpasswd');
    const line = execFileSync(HTPASSWD_BIN, ['-Bbn', opts.auth.username, opts.auth.password], { encoding: 'utf8' });
    writeFileSync(htpasswd, line);
    lines.push('auth:', '  htpasswd:', '    realm: berth-test', `    path: ${htpasswd}`);
  }
  const config = join(dir, 'config.yml');
  writeFileSync(config, `${lines.join('\n')}\n`);

  const logFd = openSync(logPath, 'w');
  let child: ChildProcess;
  try {
    child = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', logFd, logFd] });
    // A test whose cleanup failed must still let its process exit (the runner waits for it).
    child.unref();
  } finally {
    closeSync(logFd);
  }
  const pid = child.pid;
  if (pid === undefined) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not start ${REGISTRY_BIN}`);
  }
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const log = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '');

  const stop = async () => {
    // Held while we wait for it to exit (it is unref'd otherwise).
    child?.ref();
    if (!exited) {
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => !exited && process.kill(pid, 'SIGKILL'), 5000);
      await exitPromise;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const scheme = opts.tls ? 'https' : 'http';
  const url = `${scheme}://127.0.0.1:${port}`;
  const agent = new Agent({ connect: opts.tls ? { ca: readFileSync(opts.tls.ca, 'utf8') } : {} });
  const deadline = Date.now() + 15_000;
  try {
    for (;;) {
      if (exited) throw new Error(`docker-registry exited during startup:\n${log()}`);
      try {
        const res = await request(`${url}/v2/`, { dispatcher: agent });
        await res.body.dump();
        if (res.statusCode === 200 || res.statusCode === 401) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`docker-registry did not become ready on ${url}:\n${log()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (e) {
    await stop();
    throw e;
  } finally {
    await agent.close();
  }
  return { url, host: `127.0.0.1:${port}`, port, pid, log, stop };
}
