// The benchmark registry: the tests' docker-registry helper (127.0.0.1, random port, own temp
// storage, stopped by PID), plus a hosts.toml directory that both runtimes read, so berthd and
// containerd reach it over the same plain-HTTP endpoint.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, type TestRegistry } from '../../test/helpers/registry';
import { onCleanup } from './procs';

export interface BenchRegistry extends TestRegistry {
  /** containerd `config_path` / berthd `--registry-config-dir`: maps `host` to http://host. */
  hostsDir: string;
}

/** hosts.toml content mapping a registry host to a plain-HTTP endpoint (pull + resolve). */
export function hostsToml(url: string): string {
  return [`server = "${url}"`, '', `[host."${url}"]`, '  capabilities = ["pull", "resolve"]', ''].join('\n');
}

export async function startBenchRegistry(parentDir: string = tmpdir()): Promise<BenchRegistry> {
  const reg = await startRegistry();
  const hostsDir = mkdtempSync(join(parentDir, 'berth-bench-hosts-'));
  const stopAll = async () => {
    await reg.stop();
    rmSync(hostsDir, { recursive: true, force: true });
  };
  const unregister = onCleanup(`docker-registry pid ${reg.pid}`, stopAll);
  mkdirSync(join(hostsDir, reg.host));
  writeFileSync(join(hostsDir, reg.host, 'hosts.toml'), hostsToml(reg.url));
  return {
    ...reg,
    hostsDir,
    stop: async () => {
      unregister();
      await stopAll();
    },
  };
}
