// berthd's command line → ConfigFlags.
import { Command, Option } from 'commander';
import type { ConfigFlags } from './config';

export interface DaemonArgs {
  configFile: string;
  configGiven: boolean;
  printConfig: boolean;
  flags: ConfigFlags;
}

export function parseDaemonArgs(argv: string[], version: string): DaemonArgs {
  const cmd = new Command('berthd')
    .description('berth: a Kubernetes container runtime serving CRI v1 on a unix socket')
    .version(version)
    .option('--config <file>', 'TOML config file', '/etc/berth/berth.toml')
    .option('--root <dir>', 'persistent data (images, snapshots, metadata)')
    .option('--state <dir>', 'runtime state (sockets, pinned namespaces, container state)')
    .option('--listen <socket>', 'CRI unix socket path')
    .option('--registry-config-dir <dir>', "registry hosts.toml directory (containerd's certs.d format)")
    .option('--cni-conf-dir <dir>', 'CNI network config directory')
    .option('--cni-bin-dir <dir...>', 'CNI plugin directories (repeatable)')
    .option('--streaming-address <addr>', 'address the streaming server (exec/attach/port-forward) listens on')
    .addOption(new Option('--streaming-port <port>', 'streaming server port (0: any free port)').argParser((v) => Number(v)))
    .option('--metrics-address <host:port>', 'Prometheus metrics endpoint ("" disables)')
    .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal']))
    .option('--print-config', 'print the effective configuration as TOML and exit', false)
    .exitOverride();
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts();
  return {
    configFile: o.config,
    configGiven: cmd.getOptionValueSource('config') === 'cli',
    printConfig: Boolean(o.printConfig),
    flags: {
      root: o.root,
      state: o.state,
      listen: o.listen,
      logLevel: o.logLevel,
      registryConfigDir: o.registryConfigDir,
      cniConfDir: o.cniConfDir,
      cniBinDir: o.cniBinDir,
      streamingAddress: o.streamingAddress,
      streamingPort: o.streamingPort,
      metricsAddress: o.metricsAddress,
    },
  };
}
