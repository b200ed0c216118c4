// What every command gets: the connection (made on first use from --host / BERTH_HOST) and a way
// to wrap an action so its result becomes the process's exit code.
import type { Command } from 'commander';
import { Connection, socketFromHost } from './connection';

export class Ctx {
  private connection?: Connection;
  /** The exit code the CLI ends with (an action's number result). */
  exitCode = 0;

  constructor(private readonly program: Command) {}

  get socket(): string {
    const opts = this.program.opts<{ host?: string }>();
    return socketFromHost(opts.host ?? process.env.BERTH_HOST);
  }

  conn(): Connection {
    this.connection ??= new Connection(this.socket);
    return this.connection;
  }

  close(): void {
    this.connection?.close();
  }

  /** Wraps an async action: a returned number becomes the exit code. */
  action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
    return async (...args: A) => {
      const code = await fn(...args);
      if (typeof code === 'number') this.exitCode = code;
    };
  }
}
