// Running the berth CLI (from source, under tsx) against a test berthd, as the e2e tests do.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './berthd';

export const CLI = join(REPO, 'src/cli/main.ts');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  /** --host value, e.g. unix:///path/berth.sock. */
  host: string;
  input?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  maxBuffer?: number;
}

/** Runs `berth --host HOST ARGS...`; resolves with its exit code and output (never rejects). */
export function runBerthCli(args: string[], opts: CliRunOptions): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', CLI, '--host', opts.host, ...args],
      { cwd: REPO, encoding: 'utf8', timeout: opts.timeoutMs ?? 180_000, maxBuffer: opts.maxBuffer ?? 64 << 20, env: { ...process.env, ...opts.env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(opts.input ?? '');
  });
}
