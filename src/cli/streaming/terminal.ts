// This process's terminal during an interactive session: raw mode (every key goes to the container,
// whose own terminal does the line editing and turns ctrl-c into SIGINT) restored on every way out,
// and the window size for the container's terminal.
import type { ReadStream, WriteStream } from 'node:tty';
import type { SizeSource, TerminalSize } from './remote-command';

export function stdinIsTerminal(): boolean {
  return process.stdin.isTTY === true;
}

/** The size of the terminal stdout (else stderr) is on; undefined when neither is one. */
function terminalOut(): WriteStream | undefined {
  if (process.stdout.isTTY) return process.stdout as WriteStream;
  if (process.stderr.isTTY) return process.stderr as WriteStream;
  return undefined;
}

export function processSizes(): SizeSource {
  return {
    size(): TerminalSize | undefined {
      const t = terminalOut();
      if (!t?.columns || !t.rows) return undefined;
      return { columns: t.columns, rows: t.rows };
    },
    watch(onChange: () => void): () => void {
      const t = terminalOut();
      if (!t) return () => undefined;
      t.on('resize', onChange);
      return () => t.off('resize', onChange);
    },
  };
}

/**
 * Puts stdin (a terminal) in raw mode. The returned function restores it and may be called more
 * than once; a process that exits meanwhile (an uncaught error, process.exit) restores it too.
 */
export function enterRawMode(): () => void {
  const stdin = process.stdin as ReadStream;
  if (!stdin.isTTY || stdin.isRaw) return () => undefined;
  stdin.setRawMode(true);
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    process.off('exit', restore);
    try {
      stdin.setRawMode(false);
    } catch {
      // the terminal is gone (hangup)
    }
  };
  process.on('exit', restore);
  return restore;
}
