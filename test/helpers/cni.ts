// A CNI network private to one test: a conflist (bridge + host-local + portmap) in a temp conf dir,
// on a bridge name and a /24 subnet no other interface or route on the host uses, with the
// host-local allocations in the temp dir. cleanup() deletes the bridge and the dir, and puts
// ip_forward back if the bridge plugin turned it on.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes, randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CNI_BIN_DIR = process.env.BERTH_TEST_CNI_BIN ?? '/usr/lib/cni';

export interface TestCniNetwork {
  /** The directory to give berthd as --cni-conf-dir. */
  confDir: string;
  /** host-local's dataDir (allocations live in <dataDir>/<name>/). */
  dataDir: string;
  name: string;
  bridge: string;
  /** e.g. "10.214.37" (the /24 is <prefix>.0/24, the gateway <prefix>.1). */
  prefix: string;
  subnet: string;
  gateway: string;
  /** IPs host-local has handed out and not released. */
  allocations(): string[];
  /** veth interfaces enslaved to the bridge (host side of the pods' links). */
  bridgePorts(): string[];
  inSubnet(ip: string): boolean;
  cleanup(): void;
}

const sh = (file: string, args: string[]): string => execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function requireTools(): void {
  for (const p of ['bridge', 'host-local', 'portmap', 'loopback']) {
    if (!existsSync(join(CNI_BIN_DIR, p))) throw new Error(`CNI plugin ${join(CNI_BIN_DIR, p)} is missing: install containernetworking-plugins`);
  }
  try {
    sh('ip', ['-V']);
  } catch {
    throw new Error('ip(8) is missing: install iproute2');
  }
}

function linkExists(name: string): boolean {
  try {
    sh('ip', ['link', 'show', 'dev', name]);
    return true;
  } catch {
    return false;
  }
}

export function createTestCniNetwork(): TestCniNetwork {
  requireTools();
  const routes = sh('ip', ['-4', 'route', 'show', 'table', 'all']) + sh('ip', ['-4', 'addr', 'show']);
  let prefix = '';
  for (let i = 0; ; i++) {
    prefix = `10.214.${randomInt(0, 256)}`;
    if (!routes.includes(`${prefix}.`)) break;
    if (i > 50) throw new Error('no free 10.214.x.0/24 subnet for the test network');
  }
  let bridge = '';
  do bridge = `bb${randomBytes(2).toString('hex')}`;
  while (linkExists(bridge));
  const tag = bridge.slice(2);
  const name = `berth-rt-${tag}`;
  const dir = mkdtempSync(join(tmpdir(), 'berth-cni-'));
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
        ipam: { type: 'host-local', ranges: [[{ subnet: `${prefix}.0/24` }]], dataDir, routes: [{ dst: `${prefix}.0/24` }] },
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    ],
  };
  writeFileSync(join(confDir, '10-berth-test.conflist'), JSON.stringify(conflist, null, 2));
  const ipRe = /^\d+\.\d+\.\d+\.\d+$/;
  return {
    confDir,
    dataDir,
    name,
    bridge,
    prefix,
    subnet: `${prefix}.0/24`,
    gateway: `${prefix}.1`,
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
    inSubnet: (ip: string) => ip.startsWith(`${prefix}.`) && ipRe.test(ip) && Number(ip.split('.')[3]) > 0 && Number(ip.split('.')[3]) < 255,
    cleanup: () => {
      if (linkExists(bridge)) sh('ip', ['link', 'del', bridge]);
      if (ipForwardBefore === '0') writeFileSync('/proc/sys/net/ipv4/ip_forward', '0');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The host's nat table as `iptables -S` prints it. */
export function natRules(): string {
  return sh('iptables', ['-w', '-t', 'nat', '-S']);
}

// iptables -S prints comments in double quotes; split like a shell would.
function ruleArgs(line: string): string[] {
  return (line.match(/"[^"]*"|\S+/g) ?? []).map((t) => (t.startsWith('"') ? t.slice(1, -1) : t));
}

/**
 * portmap's shared top-level chains outlive the pods: remove them (call it only if the test
 * created them) unless another user left rules in them.
 */
export function removeHostportChains(): void {
  const rules = natRules();
  if (/-A CNI-DN-/.test(rules) || !rules.includes('CNI-HOSTPORT-')) return;
  for (const line of rules.split('\n')) {
    if (/^-A (PREROUTING|OUTPUT|POSTROUTING) .*-j CNI-HOSTPORT-/.test(line)) sh('iptables', ['-w', '-t', 'nat', ...ruleArgs(line.replace(/^-A/, '-D'))]);
  }
  for (const chain of ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-SETMARK', 'CNI-HOSTPORT-MASQ', 'CNI-HOSTPORT-SNAT']) {
    try {
      sh('iptables', ['-w', '-t', 'nat', '-F', chain]);
      sh('iptables', ['-w', '-t', 'nat', '-X', chain]);
    } catch {
      // never created
    }
  }
}
