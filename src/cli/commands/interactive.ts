// The interactive paths of exec, attach and run: a CRI Exec/Attach call for a streaming URL, then a
// session on this process's stdio (src/cli/streaming/).
import type { BerthConnection, ProcessOverrides } from '../berth-connection';
import type { Connection } from '../connection';
import { containerStatus, sleep } from '../container-ops';
import { CliError, EXIT } from '../errors';
import { warn } from '../output';
import type { ContainerView } from '../resolve';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../streaming/detach-keys';
import { runStdioSession, type StdioSessionEnd } from '../streaming/session';
import { stdinIsTerminal } from '../streaming/terminal';

/** docker's refusal of -it when stdin is a file or a pipe. */
export function requireTerminalStdin(exitCode: number = EXIT.error): void {
  if (!stdinIsTerminal()) throw new CliError('the input device is not a TTY (leave out -t, or run from a terminal)', exitCode);
}

/** docker's codes for a command that could not run; 1 for anything else berthd reports. */
export function failureCode(message: string): number {
  if (/executable file not found|no such file or directory|not found/i.test(message)) return EXIT.commandNotFound;
  if (/permission denied/i.test(message)) return EXIT.cannotInvoke;
  return EXIT.error;
}

export interface ExecInteractiveOptions {
  stdin: boolean;
  tty: boolean;
  /** -u/-w/-e: through berth's own Exec (CRI's carries only argv). */
  process?: { overrides: ProcessOverrides; berth: BerthConnection };
}

/** `exec -i/-t`: runs argv in the container with this process's stdio; returns its exit code. */
export async function execInteractive(conn: Connection, v: ContainerView, argv: string[], o: ExecInteractiveOptions): Promise<number> {
  if (o.stdin && o.tty) requireTerminalStdin();
  const req = { containerId: v.ctr.id, cmd: argv, tty: o.tty, stdin: o.stdin, stdout: true, stderr: !o.tty };
  const { url } = o.process ? await o.process.berth.exec({ ...req, process: o.process.overrides }) : await conn.runtime('Exec', req);
  const end = await runStdioSession(url, { stdin: o.stdin, tty: o.tty, stderr: !o.tty });
  switch (end.kind) {
    case 'exit':
      return end.exitCode;
    case 'failed':
      throw new CliError(end.message, failureCode(end.message));
    case 'signalled':
      return end.exitCode;
    default:
      return EXIT.error;
  }
}

/** What a container was made with (CRI config in berthd's verbose status). */
export interface StreamConfig {
  stdin: boolean;
  tty: boolean;
}

export function streamConfigOf(info: Record<string, any>): StreamConfig {
  const c = info?.config?.config ?? {};
  return { stdin: c.stdin === true, tty: c.tty === true };
}

export interface AttachOptions {
  /** Send this process's stdin (when the container has one). */
  stdin: boolean;
  /** Send no output (run -i prints the log file instead). */
  noOutput?: boolean;
  detachKeys?: string;
  endOnSignals?: boolean;
  signal?: AbortSignal;
}

/** Attaches to a running container; the caller turns the end into an exit code. */
export async function attachSession(conn: Connection, containerId: string, cfg: StreamConfig, o: AttachOptions): Promise<StdioSessionEnd> {
  const stdin = o.stdin && cfg.stdin;
  const keys = parseDetachKeys(o.detachKeys ?? DEFAULT_DETACH_KEYS);
  const { url } = await conn.runtime('Attach', { containerId, stdin, stdout: !o.noOutput, stderr: !o.noOutput && !cfg.tty, tty: cfg.tty });
  // Detach keys only mean something typed at a terminal; piped input passes through unchanged.
  return runStdioSession(url, {
    stdin,
    tty: cfg.tty,
    stderr: !o.noOutput && !cfg.tty,
    detachKeys: stdin && stdinIsTerminal() ? keys : undefined,
    endOnSignals: o.endOnSignals,
    signal: o.signal,
  });
}

/**
 * After an attach ended without a detach: the container's exit code once berthd has recorded the
 * exit (conmon closes the attach socket as the container exits), or undefined if it keeps running.
 */
export async function exitCodeAfterAttach(conn: Connection, id: string, waitMs = 10_000): Promise<number | undefined> {
  for (const end = Date.now() + waitMs; ; ) {
    const { status } = await containerStatus(conn, id);
    if (status.state === 'CONTAINER_EXITED') return status.exitCode;
    if (Date.now() > end) return undefined;
    await sleep(100);
  }
}

/** `berth attach`. */
export async function attachCommand(conn: Connection, v: ContainerView, o: { stdin: boolean; detachKeys?: string }): Promise<number> {
  const { status, info } = await containerStatus(conn, v.ctr.id, true);
  if (status.state !== 'CONTAINER_RUNNING') throw new CliError(`cannot attach to container ${v.name}: it is not running (start it first)`);
  const cfg = streamConfigOf(info);
  if (o.stdin && cfg.stdin && cfg.tty) requireTerminalStdin();
  if (o.detachKeys !== undefined) parseDetachKeys(o.detachKeys);
  const end = await attachSession(conn, v.ctr.id, cfg, { stdin: o.stdin, detachKeys: o.detachKeys });
  switch (end.kind) {
    case 'detached':
      return EXIT.ok;
    case 'signalled':
      return end.exitCode;
    case 'failed':
      throw new CliError(end.message);
    case 'exit': {
      // The container exited (its code, as docker attach), or our stdin ended and we detached.
      const code = await exitCodeAfterAttach(conn, v.ctr.id, cfg.stdin && o.stdin ? 3000 : 10_000);
      return code ?? EXIT.ok;
    }
    default:
      return EXIT.error;
  }
}

export function warnDetached(name: string, rm: boolean): void {
  if (rm) warn(`${name} keeps running detached; --rm is not applied (remove it with: berth rm -f ${name})`);
}
