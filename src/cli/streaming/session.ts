// An exec or attach session on this process's stdio: what the commands call.
import { constants } from 'node:os';
import { runRemoteCommand, type SessionEnd } from './remote-command';
import { enterRawMode, processSizes, stdinIsTerminal } from './terminal';

export interface StdioSessionOptions {
  /** Send this process's stdin. */
  stdin: boolean;
  /** A terminal session: raw mode when stdin is a terminal, window sizes to the container. */
  tty: boolean;
  /** Print the session's stderr (not for tty sessions). */
  stderr: boolean;
  detachKeys?: Buffer;
  /**
   * End the session on SIGINT/SIGTERM/SIGHUP (default true). Commands that handle signals
   * themselves pass false and end it through `signal`.
   */
  endOnSignals?: boolean;
  signal?: AbortSignal;
}

export type StdioSessionEnd = SessionEnd | { kind: 'signalled'; signal: NodeJS.Signals; exitCode: number };

const END_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export async function runStdioSession(url: string, o: StdioSessionOptions): Promise<StdioSessionEnd> {
  const ctl = new AbortController();
  let caught: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    caught ??= sig;
    ctl.abort();
  };
  const forward = () => ctl.abort();
  o.signal?.addEventListener('abort', forward, { once: true });
  if (o.signal?.aborted) ctl.abort();
  if (o.endOnSignals !== false) for (const s of END_SIGNALS) process.on(s, onSignal);
  // Raw mode only when our keys go to a terminal in the container.
  const restore = o.stdin && o.tty && stdinIsTerminal() ? enterRawMode() : () => undefined;
  try {
    const end = await runRemoteCommand(url, {
      stdin: o.stdin ? process.stdin : undefined,
      stdout: process.stdout,
      stderr: o.stderr && !o.tty ? process.stderr : undefined,
      sizes: o.tty ? processSizes() : undefined,
      detachKeys: o.detachKeys,
      signal: ctl.signal,
    });
    if (end.kind === 'aborted' && caught) return { kind: 'signalled', signal: caught, exitCode: 128 + (constants.signals[caught] ?? 0) };
    return end;
  } finally {
    restore();
    for (const s of END_SIGNALS) process.off(s, onSignal);
    o.signal?.removeEventListener('abort', forward);
    // A paused stdin no longer holds the process open.
    if (o.stdin) process.stdin.pause();
  }
}
