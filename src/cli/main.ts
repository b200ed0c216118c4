// berth: the command-line tool for berthd. Errors are one line "berth: <message>"; the exit code
// is 0, 1 (error), 2 (usage), 125 (run failed before the container started) or the container's.
import { CommanderError } from 'commander';
import { buildProgram, allCommands } from './program';
import { CliError, EXIT } from './errors';

const RUN_COMMANDS = new Set(['run', 'create']);

export async function main(argv: string[]): Promise<number> {
  const { program, ctx } = buildProgram();
  for (const c of allCommands(program)) {
    c.exitOverride();
    c.configureOutput({ outputError: (str, write) => write(`berth: ${str.replace(/^error: /, '')}`) });
  }
  // `berth ps | head` closes the pipe early; that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(ctx.exitCode);
    throw e;
  });
  const sub = argv.slice(2).find((a) => !a.startsWith('-'));
  try {
    if (argv.length <= 2) {
      program.outputHelp();
      return EXIT.ok;
    }
    await program.parseAsync(argv);
    return ctx.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
      return sub && RUN_COMMANDS.has(sub) ? EXIT.runFailed : EXIT.usage;
    }
    if (e instanceof CliError) {
      process.stderr.write(`berth: ${e.message}\n`);
      return e.exitCode;
    }
    const err = e as Error;
    process.stderr.write(`berth: ${err?.message ?? String(e)}\n`);
    if (process.env.BERTH_DEBUG) process.stderr.write(`${err?.stack ?? ''}\n`);
    return sub && RUN_COMMANDS.has(sub) ? EXIT.runFailed : EXIT.error;
  } finally {
    ctx.close();
  }
}

if (require.main === module) {
  main(process.argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`berth: ${(e as Error)?.message ?? String(e)}\n`);
      process.exitCode = EXIT.error;
    },
  );
}
