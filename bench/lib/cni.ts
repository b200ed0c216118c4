// The benchmark's own CNI network, shared by both runtimes so pods cost the same on each side: a
// conflist (bridge + host-local IPAM + portmap, as the CRI harness's cni-up.sh) in a temp conf dir,
// on a bridge named bberth<k> and a subnet 10.<215+k>.0.0/16 that no interface or route on the
// host uses, with the IP allocations in the temp dir. Loopback needs no conf: containerd adds it
// itself from the plugin dir, berth sets lo up in its pinned netns. cleanup() deletes the bridge
// and the dir and puts ip_forward back if the bridge plugin turned it on; it is registered with
// the cleanup registry so Ctrl-C releases the network too.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onCleanup } from './procs';

export const CNI_BIN_DIR = process.env.BERTH_BENCH_CNI_BIN ?? '/usr/lib/cni';

export interface BenchCniNetwork {
  /** Conf dir for both runtimes (containerd `conf_dir`, berthd `--cni-conf-dir`). */
  confDir: string;
  binDir: string;
  /** host-local dataDir (allocations in <dataDir>/<name>/). */
  dataDir: string;
  name: string;
  bridge: string;
  subnet: string;
  /** IPs host-local has handed out and not released. */
  allocations(): string[];
  /** veth interfaces enslaved to the bridge (host ends of pod links). */
  bridgePorts(): string[];
  /** Delete the bridge and the dirs; idempotent. */
  cleanup(): void;
}

const sh = (file: string, args: string[]): string => execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

export function linkExists(name: string): boolean {
  try {
    sh('ip', ['link', 'show', 'dev', name]);
    return true;
  } catch {
    return false;
  }
}

export function createBenchCniNetwork(parentDir: string = tmpdir()): BenchCniNetwork {
  for (const p of ['bridge', 'host-local', 'portmap', 'loopback']) {
    if (!existsSync(join(CNI_BIN_DIR, p))) throw new Error(`CNI plugin ${join(CNI_BIN_DIR, p)} is missing: install containernetworking-plugins`);
  }
  const used = sh('ip', ['-4', 'route', 'show', 'table', 'all']) + sh('ip', ['-4', 'addr', 'show']);
  let k = 0;
  // A bridge left by another benchmark run (or a crashed one) is not ours to reuse or delete.
  while (linkExists(`bberth${k}`) || used.includes(`10.${215 + k}.`)) {
    if (++k > 9) throw new Error('no free bberth<k> bridge / 10.<215+k>.0.0/16 subnet for the benchmark network (leftovers of earlier runs? see `ip link`)');
  }
  const bridge = `bberth${k}`;
  const subnet = `10.${215 + k}.0.0/16`;
  const name = `berth-bench-${k}`;
  const dir = mkdtempSync(join(parentDir, 'berth-bench-cni-'));
  const confDir = join(dir, 'net.d');
  const dataDir = join(dir, 'ipam');
  mkdirSync(confDir);
  const ipForwardBefore = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  const conflist = {
    cniVersion: '1.0.0',
    name,
    plugins: [
      {
        type: 'bridge',
        bridge,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir, routes: [{ dst: subnet }] },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
  writeFileSync(join(confDir, '10-berth-bench.conflist'), `${JSON.stringify(conflist, null, 2)}\n`);
  let done = false;
  const cleanup = () => {
    if (done) return;
    done = true;
    unregister();
    // Created by the bridge plugin on the first pod; the name was free when we started.
    if (linkExists(bridge)) sh('ip', ['link', 'del', bridge]);
    if (ipForwardBefore === '0') writeFileSync('/proc/sys/net/ipv4/ip_forward', '0');
    rmSync(dir, { recursive: true, force: true });
  };
  const unregister = onCleanup(`CNI bridge ${bridge}`, cleanup);
  const ipRe = /^\d+\.\d+\.\d+\.\d+$/;
  return {
    confDir,
    binDir: CNI_BIN_DIR,
    dataDir,
    name,
    bridge,
    subnet,
    allocations: () => {
      const d = join(dataDir, name);
      return existsSync(d) ? readdirSync(d).filter((f) => ipRe.test(f)).sort() : [];
    },
    bridgePorts: () => {
      if (!linkExists(bridge)) return [];
      return sh('ip', ['-o', 'link', 'show', 'master', bridge])
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(':')[1]!.trim().split('@')[0]!);
    },
    cleanup,
  };
}
