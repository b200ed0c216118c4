// Errors the CLI reports as one line ("berth: <message>") with a chosen exit code.

/** Exit codes. Container exit codes pass through unchanged. */
export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  /** docker's code for a run/create that failed before the container started. */
  runFailed: 125,
  /** docker's codes when the command could not be invoked / was not found. */
  cannotInvoke: 126,
  commandNotFound: 127,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.error,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string): CliError => new CliError(message, EXIT.usage);

/** A feature that needs streaming or the berth service, neither of which berthd serves yet. */
export const notYetAvailable = (what: string, needs: string, exitCode: number = EXIT.error): CliError =>
  new CliError(`${what} needs ${needs} (not yet available)`, exitCode);
