// berthd entry point: parse flags, load config, assemble the daemon, serve until signalled.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { configToToml, loadConfig, withoutSecrets } from './config';
import { parseDaemonArgs } from './flags';
import { errorMessage } from '../util/errors';
import { logger, setLogLevel } from '../util/log';
import { startDaemon } from './daemon';

function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      return (JSON.parse(readFileSync(join(__dirname, rel), 'utf8')) as { version: string }).version;
    } catch {
      /* try the next layout (src/ under tsx, dist/src/ compiled) */
    }
  }
  return '0.0.0';
}

async function main(): Promise<void> {
  const version = packageVersion();
  let args;
  try {
    args = parseDaemonArgs(process.argv.slice(2), version);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    throw e;
  }
  const config = loadConfig(args.configFile, args.flags, args.configGiven);
  if (args.printConfig) {
    process.stdout.write(configToToml(withoutSecrets(config)));
    return;
  }
  setLogLevel(config.logLevel);
  const log = logger('berthd');
  const daemon = await startDaemon(config, version);
  log.info({ version, socket: config.listen, root: config.root, state: config.state }, 'berthd ready');

  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, 'shutting down (containers keep running)');
    daemon.close().then(
      () => process.exit(0),
      (e) => {
        log.error({ err: errorMessage(e) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // A bug in one request must not take the runtime away from the kubelet: log it loudly, go on.
  process.on('unhandledRejection', (reason) => log.error({ err: errorMessage(reason), stack: (reason as Error)?.stack }, 'unhandled rejection'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((e) => {
  process.stderr.write(`berthd: ${errorMessage(e)}\n`);
  process.exit(1);
});
