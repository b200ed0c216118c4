// The pod's infra process, for pods whose containers share one PID namespace: catatonit in pause
// mode as PID 1 of a new PID namespace, inside the pod's pinned net/ipc/uts namespaces. Containers
// join /proc/<pid>/ns/pid; catatonit reaps the orphans they leave.
//
// Process layout, and why:
//   nsenter --net=F --ipc=F --uts=F -- unshare --pid --fork -- catatonit -P
// nsenter joins the pinned namespaces and execs unshare (no fork: it does not enter a PID
// namespace); unshare creates the PID namespace and forks catatonit as its PID 1, then waits for
// it. The whole thing is started detached: its own session (setsid), stdin/stdout on /dev/null,
// stderr on an unlinked file we read only if startup fails. So it survives berthd restarts, and
// once berthd is gone the kernel reparents it to init.
// unshare runs WITHOUT --kill-child: with it, unshare dying (OOM killer, a stray kill) would take
// catatonit and with it every process of the pod's PID namespace. Without it, catatonit just gets
// reparented. unshare stays as catatonit's reaper and exits when catatonit does.
// Identity is (host pid, start time from /proc/<pid>/stat): a pid alone may be reused after the
// infra died while berthd was down.
import { closeSync, openSync, readSync, fstatSync, unlinkSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PER_BOOT, writeFileAtomic } from '../util/atomic-file';
import { deadlineExceeded, errorMessage, failedPrecondition, internal, unavailable } from '../util/errors';
import { logger } from '../util/log';
import { spawnProcess, type SpawnedProcess } from '../util/spawn';
import { isNamespaceFile, validatePodId } from '../network/namespaces';

const log = logger('infra');

const SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const POLL_MS = 10;

export interface StartInfraOptions {
  podId: string;
  /** Pinned namespace files to join; an absent one means the pod shares berthd's (the node's). */
  netns?: string;
  ipcns?: string;
  utsns?: string;
  catatonit?: string;
  /** Receives catatonit's host pid ("<pid>\n"), written atomically. */
  pidFile: string;
  /** cgroup.procs files the infra is moved into (the pod cgroup; one per hierarchy on v1). */
  cgroupProcs?: string[];
  timeoutMs?: number;
}

export interface InfraProcess {
  /** Host pid of catatonit, PID 1 of the pod's PID namespace. */
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks after boot): tells a reused pid apart. */
  startTime: number;
}

export interface ProcStat {
  state: string;
  ppid: number;
  startTime: number;
}

/** State, parent and start time of a process, or undefined if there is none with that pid. */
export async function readProcStat(pid: number): Promise<ProcStat | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) may contain spaces and parentheses; everything after the last ')' is fixed.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: f[0], ppid: Number(f[1]), startTime: Number(f[19]) };
}

const isDead = (s: ProcStat | undefined) => !s || s.state === 'Z' || s.state === 'X';

/** True while `pid` is the process started at `startTime` and not a zombie. */
export async function isInfraAlive(pid: number, startTime: number): Promise<boolean> {
  const s = await readProcStat(pid);
  return !isDead(s) && s!.startTime === startTime;
}

async function readStatusField(pid: number, field: string): Promise<string | undefined> {
  const status = await fsp.readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(status)?.[1];
}

/** True if `pid` is PID 1 of a PID namespace below ours. */
async function isPidNamespaceInit(pid: number): Promise<boolean> {
  const nspid = (await readStatusField(pid, 'NSpid'))?.trim().split(/\s+/) ?? [];
  return nspid.length >= 2 && nspid[nspid.length - 1] === '1';
}

async function childrenOf(pid: number): Promise<number[]> {
  const text = await fsp.readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.trim().split(/\s+/).filter(Boolean).map(Number);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readAll(fd: number): string {
  const size = Math.min(fstatSync(fd).size, 64 * 1024);
  const buf = Buffer.alloc(size);
  const n = size ? readSync(fd, buf, 0, size, 0) : 0;
  return buf.subarray(0, n).toString('utf8').trim();
}

function killQuietly(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

export async function startInfra(opts: StartInfraOptions): Promise<InfraProcess> {
  validatePodId(opts.podId);
  const ctx = { podId: opts.podId };
  const catatonit = opts.catatonit ?? '/usr/bin/catatonit';
  const catatonitReal = await fsp.realpath(catatonit).catch(() => catatonit);
  try {
    await fsp.access(catatonitReal, fsp.constants.X_OK);
  } catch (e) {
    throw unavailable(`catatonit ${catatonit} is not executable: ${errorMessage(e)}`, { ...ctx, catatonit });
  }
  const nsArgs: string[] = [];
  for (const [kind, file] of [['net', opts.netns], ['ipc', opts.ipcns], ['uts', opts.utsns]] as const) {
    if (file === undefined) continue;
    if (!(await isNamespaceFile(file))) throw failedPrecondition(`${kind} namespace ${file} of pod ${opts.podId} is not pinned`, { ...ctx, path: file });
    nsArgs.push(`--${kind}=${file}`);
  }
  const inner = ['unshare', '--pid', '--fork', '--', catatonit, '-P'];
  const [file, ...args] = nsArgs.length ? ['nsenter', ...nsArgs, '--', ...inner] : inner;

  // stderr goes to an unlinked file: readable by us if startup fails, gone with the process.
  const errPath = join(dirname(opts.pidFile), `.${basename(opts.pidFile)}.stderr-${randomBytes(6).toString('hex')}`);
  await fsp.mkdir(dirname(opts.pidFile), { recursive: true });
  const errFd = openSync(errPath, 'w+', 0o600);
  unlinkSync(errPath);

  let leader: number | undefined;
  let catatonitPid: number | undefined;
  try {
    let child: SpawnedProcess;
    try {
      child = spawnProcess(file, args, { detached: true, stdio: ['ignore', 'ignore', errFd], env: { PATH: SAFE_PATH, LC_ALL: 'C' }, keepAlive: false });
    } catch (e) {
      throw unavailable(`cannot run ${file}: ${errorMessage(e)}`, { ...ctx, program: file });
    }
    let exited: string | undefined;
    void child.exited.then(({ code, signal }) => {
      exited = `exit ${code ?? signal}`;
    });
    leader = child.pid;

    // Find catatonit: unshare's child once it has exec'd catatonit.
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    while (catatonitPid === undefined) {
      for (const c of await childrenOf(leader)) {
        const exe = await fsp.readlink(`/proc/${c}/exe`).catch(() => '');
        if (exe === catatonitReal) catatonitPid = c;
      }
      if (catatonitPid !== undefined) break;
      if (exited !== undefined) throw internal(`infra process failed to start (${exited}): ${readAll(errFd) || 'no output'}`, { ...ctx, program: file });
      if (Date.now() > deadline) throw deadlineExceeded(`infra process did not start within ${opts.timeoutMs ?? 10_000} ms`, ctx);
      await sleep(POLL_MS);
    }
    if (!(await isPidNamespaceInit(catatonitPid))) throw internal(`catatonit (pid ${catatonitPid}) is not PID 1 of a new PID namespace`, ctx);
    const stat = await readProcStat(catatonitPid);
    if (isDead(stat)) throw internal(`catatonit exited right after start: ${readAll(errFd) || 'no output'}`, ctx);

    for (const procs of opts.cgroupProcs ?? []) {
      try {
        await fsp.writeFile(procs, String(catatonitPid));
      } catch (e) {
        throw internal(`cannot move the infra process into ${procs}: ${errorMessage(e)}`, { ...ctx, procs }, e);
      }
      // unshare, its waiting parent, belongs to the pod too; it may be gone already.
      await fsp.writeFile(procs, String(leader)).catch(() => undefined);
    }
    try {
      await writeFileAtomic(opts.pidFile, `${catatonitPid}\n`, 0o644, PER_BOOT);
    } catch (e) {
      throw internal(`cannot write infra pid file ${opts.pidFile}: ${errorMessage(e)}`, { ...ctx, pidFile: opts.pidFile }, e);
    }
    const infra = { pid: catatonitPid, startTime: stat!.startTime };
    log.debug({ ...ctx, ...infra }, 'infra started');
    return infra;
  } catch (e) {
    if (catatonitPid !== undefined) killQuietly(catatonitPid);
    // The leader is a session and group leader: this reaches anything it forked.
    if (leader !== undefined) killQuietly(-leader);
    if (catatonitPid !== undefined) await waitGone(catatonitPid, undefined, 5_000).catch(() => undefined);
    throw e;
  } finally {
    closeSync(errFd);
  }
}

async function waitGone(pid: number, startTime: number | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await readProcStat(pid);
    if (!s || (startTime !== undefined && s.startTime !== startTime)) return;
    if (Date.now() > deadline) {
      // A zombie is dead; reaping it is its parent's business.
      if (isDead(s)) return;
      throw deadlineExceeded(`process ${pid} did not exit within ${timeoutMs} ms`, { pid });
    }
    await sleep(POLL_MS);
  }
}

/**
 * Kills the infra process if it is still the one started at `startTime`, and waits until it is
 * gone (its PID namespace, and every container process in it, goes with it). Idempotent.
 */
export async function stopInfra(pid: number, startTime: number, timeoutMs = 10_000): Promise<void> {
  if (!(await isInfraAlive(pid, startTime))) return;
  killQuietly(pid, 'SIGKILL');
  await waitGone(pid, startTime, timeoutMs);
  log.debug({ pid }, 'infra stopped');
}

/**
 * After a berthd restart: the infra process named by `pidFile`, if it is still running and is
 * still a catatonit that is PID 1 of its own PID namespace (and started at `expect.startTime`,
 * when known). undefined if the file is missing or the process is gone or was replaced.
 */
export async function findInfraAfterRestart(pidFile: string, expect: { startTime?: number } = {}): Promise<InfraProcess | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(pidFile, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw internal(`cannot read infra pid file ${pidFile}: ${errorMessage(e)}`, { pidFile }, e);
  }
  const pid = Number(text.trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    log.warn({ pidFile, content: text.slice(0, 32) }, 'infra pid file holds no pid');
    return undefined;
  }
  const s = await readProcStat(pid);
  if (isDead(s)) return undefined;
  if (expect.startTime !== undefined && s!.startTime !== expect.startTime) return undefined;
  const exe = await fsp.readlink(`/proc/${pid}/exe`).catch(() => '');
  if (!basename(exe).startsWith('catatonit') || !(await isPidNamespaceInit(pid))) return undefined;
  return { pid, startTime: s!.startTime };
}
