// The command tree. Separate from main.ts so completion and tests can build it without running it.
import { Command } from 'commander';
import { bashCompletion, zshCompletion } from './completion';
import { DEFAULT_SOCKET } from './connection';
import { Ctx } from './context';
import { registerContainerCommands } from './commands/containers';
import { registerImageCommands } from './commands/images';
import { registerImageTransferCommands } from './commands/image-transfer';
import { registerPodCommands } from './commands/pods';
import { registerRunCommands } from './commands/run';
import { registerStatsCommand } from './commands/stats';
import { registerSystemCommands } from './commands/system';
import { registerSystemExtraCommands } from './commands/system-extra';
import { registerVolumeCommands } from './commands/volumes';
import { usageError } from './errors';
import { print } from './output';
import { clientVersion } from './version';

export function buildProgram(): { program: Command; ctx: Ctx } {
  const program = new Command('berth');
  const ctx = new Ctx(program);
  program
    .description('Run and inspect containers, pods and images of berthd (docker-like, over CRI)')
    .option('-H, --host <unix:///path>', `berthd socket (env BERTH_HOST; default unix://${DEFAULT_SOCKET})`)
    .version(clientVersion(), '-V, --client-version', 'print the client version')
    // Options after `run IMAGE` belong to the container's command, as with docker.
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .addHelpText('after', '\nEvery command takes --help. Exit codes: 0 ok, 1 error, 2 usage, 125 run failed before the container started; run, exec: the command\'s own.');

  registerRunCommands(program, ctx);
  registerContainerCommands(program, ctx);
  registerStatsCommand(program, ctx);
  registerPodCommands(program, ctx);
  registerImageCommands(program, ctx);
  registerSystemCommands(program, ctx);
  // After images: replaces the CRI pull with the berth service's (CRI stays its fallback).
  registerImageTransferCommands(program, ctx);
  registerSystemExtraCommands(program, ctx);
  registerVolumeCommands(program, ctx);

  program
    .command('completion')
    .description('Print a shell completion script (bash or zsh)')
    .argument('<shell>', 'bash or zsh')
    .addHelpText('after', '\nInstall: berth completion bash > /etc/bash_completion.d/berth\n         berth completion zsh > "${fpath[1]}/_berth"')
    .action((shell: string) => {
      if (shell === 'bash') print(bashCompletion(program));
      else if (shell === 'zsh') print(zshCompletion(program));
      else throw usageError(`unsupported shell "${shell}": use bash or zsh`);
    });

  // Help for every command shows the global options too.
  for (const c of allCommands(program)) c.showHelpAfterError(false);
  return { program, ctx };
}

export function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)];
}
