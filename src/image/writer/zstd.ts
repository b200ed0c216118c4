// Driver for Debian's `zstd` binary. Node 20 has no zstd encoder, and writing zstd layers is only
// needed for building images (fixtures, save/push), so a child process is acceptable here.
import { spawn } from 'node:child_process';
import { Duplex, PassThrough } from 'node:stream';
import { internal, failedPrecondition } from '../../util/errors';

export const ZSTD_BINARY = process.env.BERTH_ZSTD ?? 'zstd';

/**
 * A duplex stream: uncompressed bytes in, a zstd frame out. `-T1` keeps output independent of
 * the core count, so the same input always yields the same bytes (reproducible digests).
 */
export function createZstdCompressor(level = 3): Duplex {
  const child = spawn(ZSTD_BINARY, ['-q', '-c', `-${level}`, '-T1', '--no-progress'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out = new PassThrough();
  // Feed stdin through our own stream: if zstd dies, the EPIPE on its stdin is dropped and the
  // failure is reported once, with zstd's exit status and stderr, on the output side.
  const input = new PassThrough();
  input.pipe(child.stdin);
  child.stdin.on('error', () => undefined);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const duplex = Duplex.from({ writable: input, readable: out });
  child.stdout.pipe(out, { end: false });
  let stdoutDone = false;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const settle = () => {
    if (!stdoutDone || !exit) return;
    if (exit.code === 0) out.end();
    else out.destroy(internal(`zstd exited with ${exit.code ?? exit.signal}: ${stderr.trim()}`, { binary: ZSTD_BINARY }));
  };
  child.stdout.on('end', () => {
    stdoutDone = true;
    settle();
  });
  child.on('close', (code, signal) => {
    exit = { code, signal };
    stdoutDone = true;
    settle();
  });
  child.on('error', (e: NodeJS.ErrnoException) => {
    const err =
      e.code === 'ENOENT'
        ? failedPrecondition(`zstd binary not found (${ZSTD_BINARY}); install the zstd package`, { binary: ZSTD_BINARY })
        : internal(`cannot run zstd: ${e.message}`, { binary: ZSTD_BINARY }, e);
    out.destroy(err);
  });
  // If the consumer aborts, do not leave the child running.
  duplex.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return duplex;
}
