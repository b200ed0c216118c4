// Where command output goes: text for people, JSON for scripts (--format json).
import { CliError, EXIT, usageError } from './errors';

export type OutputFormat = 'table' | 'json';

/** --format: "table" (default) or "json"; Go templates are docker's and not supported. */
export function outputFormat(value: string | undefined): OutputFormat {
  if (value === undefined || value === '' || value === 'table') return 'table';
  if (value === 'json') return 'json';
  throw usageError(`unsupported --format "${value}": use table or json`);
}

/** --format of the inspect commands, which print JSON only (accepted so scripts can say so). */
export function requireJsonFormat(command: string, value: string | undefined): void {
  if (value !== undefined && value !== 'json') throw usageError(`unsupported --format "${value}": ${command} prints json`);
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function warn(text: string): void {
  process.stderr.write(`berth: ${text}\n`);
}

/** Runs `fn` for each ref; a CliError is reported and turns the exit code to error, the rest go on. */
export async function eachRef(refs: string[], fn: (ref: string) => Promise<void>): Promise<number> {
  let code = EXIT.ok as number;
  for (const ref of refs) {
    try {
      await fn(ref);
    } catch (e) {
      if (!(e instanceof CliError)) throw e;
      warn(e.message);
      code = EXIT.error;
    }
  }
  return code;
}
