// crictl (cri-tools 1.26.1, what kubelet operators use) against a real berthd: the image commands
// must succeed or fail like they do against containerd (samples: /tmp/crictl-containerd-samples.txt,
// captured from containerd 1.6.20) and show the same shapes. registry.k8s.io and gcr.io are
// mirrored to a local docker-registry through hosts.toml, as in the containerd capture.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBerthd, type RunningBerthd } from '../helpers/berthd';
import { startRegistry, type TestRegistry } from '../helpers/registry';
import { buildBusyboxImage, pushBusyboxImage, pushFixture, type PushedFixture } from '../helpers/fixtures';
import { snapshotHost, assertNoLeaks, type HostSnapshot } from '../helpers/leaks';

const CRICTL = process.env.CRICTL ?? '/usr/local/bin/crictl';
// crictl is a cross-check built from cri-tools outside the project (Debian does not package it);
// without it these tests are skipped, and say why.
const skip = existsSync(CRICTL) ? false : `${CRICTL} not installed (cri-tools v1.26.1, built outside the tree; set CRICTL to use another path)`;
const BUSYBOX = 'registry.k8s.io/e2e-test-images/busybox:1.29-2';
const PAUSE = 'registry.k8s.io/pause:3.6';
const TAGS = 'gcr.io/k8s-staging-cri-tools/test-image-tags';

let tmp: string;
let registry: TestRegistry;
let berthd: RunningBerthd;
let leaksBefore: HostSnapshot;
const pushed: Record<string, PushedFixture> = {};
const ids: Record<string, string> = {};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function crictl(...args: string[]): Run {
  const sock = `unix://${berthd.socket}`;
  const r = spawnSync(CRICTL, ['--runtime-endpoint', sock, '--image-endpoint', sock, '--timeout', '30s', ...args], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(...args: string[]): string {
  const r = crictl(...args);
  assert.equal(r.code, 0, `crictl ${args.join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

before(async () => {
  if (skip) return;
  leaksBefore = snapshotHost();
  tmp = mkdtempSync(join(tmpdir(), 'berth-image-crictl-'));
  registry = await startRegistry();
  const hosts = join(tmp, 'certs.d');
  for (const h of ['registry.k8s.io', 'gcr.io']) {
    mkdirSync(join(hosts, h), { recursive: true });
    writeFileSync(join(hosts, h, 'hosts.toml'), `server = "${registry.url}"\n`);
  }
  berthd = await startBerthd({ registryConfigDir: hosts });
  pushed.busybox = await pushBusyboxImage(registry.url, 'e2e-test-images/busybox', { tag: '1.29-2' });
  pushed.pause = await pushBusyboxImage(registry.url, 'pause', { tag: '3.6', user: '65535:65535', entrypoint: ['/bin/sleep', 'inf'] });
  const same = await buildBusyboxImage({ extraLayers: [[{ path: 'same-image', type: 'file', content: 'same' }]] });
  pushed.tags1 = await pushFixture(registry.url, 'k8s-staging-cri-tools/test-image-tags', '1', same);
  pushed.tags2 = await pushFixture(registry.url, 'k8s-staging-cri-tools/test-image-tags', '2', same);
});

after(async () => {
  if (skip) return;
  const pids = [berthd?.pid, registry?.pid].filter((p): p is number => p !== undefined);
  const base = berthd?.base;
  await berthd?.destroy();
  await registry?.stop();
  for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/);
  await assertNoLeaks(leaksBefore, { mountDirs: [tmp, ...(base ? [base] : [])], processCmdlineIncludes: [tmp, ...(base ? [base] : [])] });
  rmSync(tmp, { recursive: true, force: true });
});

test('crictl version names berth and CRI v1', { skip }, () => {
  const out = ok('version');
  assert.match(out, /^Version:\s+0\.1\.0$/m);
  assert.match(out, /^RuntimeName:\s+berth$/m);
  assert.match(out, /^RuntimeVersion:\s+\S+$/m);
  assert.match(out, /^RuntimeApiVersion:\s+v1$/m);
});

// crictl parses every value of StatusResponse.info as JSON, so berthd must send JSON there.
test('crictl info prints the runtime status and conditions', { skip }, () => {
  const info = JSON.parse(ok('info')) as { status: { conditions: Array<{ type: string; status: boolean }> } };
  const types = info.status.conditions.map((c) => c.type);
  assert.deepEqual(types, ['RuntimeReady', 'NetworkReady']);
  assert.equal(info.status.conditions[0]!.status, true);
});

test('crictl pull: up to date lines with the image id; a missing image exits 1 with NotFound', { skip }, () => {
  for (const [ref, key] of [
    [BUSYBOX, 'busybox'],
    [PAUSE, 'pause'],
    [`${TAGS}:1`, 'tags1'],
    [`${TAGS}:2`, 'tags2'],
  ] as const) {
    const out = ok('pull', ref);
    const m = /^Image is up to date for (sha256:[a-f0-9]{64})$/m.exec(out);
    assert.ok(m, `pull ${ref} output: ${out}`);
    ids[key] = m[1]!;
  }
  assert.equal(ids.tags1, ids.tags2, 'two tags of one image: one id');
  assert.notEqual(ids.busybox, ids.tags1);
  // By digest: same id as by tag.
  const byDigest = ok('pull', `registry.k8s.io/e2e-test-images/busybox@${pushed.busybox!.digest}`);
  assert.match(byDigest, new RegExp(`Image is up to date for ${ids.busybox}`));

  const missing = crictl('pull', 'registry.k8s.io/does-not-exist:1');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /code = NotFound desc = .*does-not-exist/);
});

test('crictl images (table, --digests, -q, -o json, filter) show the pulled images', { skip }, () => {
  const table = ok('images').trim().split('\n');
  assert.match(table[0]!, /^IMAGE\s+TAG\s+IMAGE ID\s+SIZE$/);
  const rows = table.slice(1).map((l) => l.split(/\s+/));
  const short = (id: string) => id.slice(7, 20);
  assert.deepEqual(
    rows.map((r) => `${r[0]} ${r[1]} ${r[2]}`).sort(),
    [
      `${TAGS} 1 ${short(ids.tags1!)}`,
      `${TAGS} 2 ${short(ids.tags1!)}`,
      `registry.k8s.io/e2e-test-images/busybox 1.29-2 ${short(ids.busybox!)}`,
      `registry.k8s.io/pause 3.6 ${short(ids.pause!)}`,
    ].sort(),
  );
  for (const r of rows) assert.match(r[3]!, /^\d+(\.\d+)?[kM]B$/, 'human size');

  const digests = ok('images', '--digests').trim().split('\n');
  assert.match(digests[0]!, /^IMAGE\s+TAG\s+DIGEST\s+IMAGE ID\s+SIZE$/);
  const bb = digests.find((l) => l.startsWith('registry.k8s.io/e2e-test-images/busybox'))!.split(/\s+/);
  assert.equal(bb[2], pushed.busybox!.digest.slice(7, 20));

  assert.deepEqual(ok('images', '-q').trim().split('\n').sort(), [ids.busybox, ids.pause, ids.tags1].sort());

  const json = JSON.parse(ok('images', '-o', 'json')) as {
    images: Array<{ id: string; repoTags: string[]; repoDigests: string[]; size: string; uid: { value: string } | null; username: string; pinned: boolean }>;
  };
  assert.equal(json.images.length, 3);
  const byId = new Map(json.images.map((i) => [i.id, i]));
  const tags = byId.get(ids.tags1!)!;
  assert.deepEqual(tags.repoTags, [`${TAGS}:1`, `${TAGS}:2`]);
  assert.deepEqual(tags.repoDigests, [`${TAGS}@${pushed.tags1!.digest}`]);
  assert.equal(tags.uid, null);
  assert.equal(tags.username, '');
  assert.equal(tags.pinned, false);
  assert.match(tags.size, /^\d+$/);
  assert.deepEqual(byId.get(ids.pause!)!.uid, { value: '65535' });

  // With a name, berthd filters (containerd 1.6 listed everything in the capture).
  const filtered = ok('images', PAUSE).trim().split('\n');
  assert.equal(filtered.length, 2, filtered.join('\n'));
  assert.match(filtered[1]!, /^registry\.k8s\.io\/pause\s+3\.6\s/);
});

test('crictl inspecti: status plus info with chain id and image spec; unknown image exits 1', { skip }, () => {
  const out = JSON.parse(ok('inspecti', BUSYBOX)) as {
    status: { id: string; repoTags: string[]; repoDigests: string[]; size: string };
    info: { chainId?: string; chainID?: string; imageSpec: { architecture: string; os: string; config: { Cmd: string[] }; rootfs: { diff_ids: string[] } } };
  };
  assert.equal(out.status.id, ids.busybox);
  assert.deepEqual(out.status.repoTags, [BUSYBOX]);
  assert.deepEqual(out.status.repoDigests, [`registry.k8s.io/e2e-test-images/busybox@${pushed.busybox!.digest}`]);
  assert.equal(out.info.imageSpec.architecture, 'amd64');
  assert.equal(out.info.imageSpec.os, 'linux');
  assert.deepEqual(out.info.imageSpec.config.Cmd, ['sh']);
  // A one-layer image's chain id is its diff id (the key is chainID, as containerd spells it).
  assert.equal(out.info.chainID, out.info.imageSpec.rootfs.diff_ids[0]);

  const yaml = ok('inspecti', '-o', 'yaml', `${TAGS}:1`);
  assert.match(yaml, new RegExp(`^  id: ${ids.tags1}$`, 'm'));
  assert.match(yaml, /^  - gcr\.io\/k8s-staging-cri-tools\/test-image-tags:2$/m);

  const missing = crictl('inspecti', 'registry.k8s.io/does-not-exist:1');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no such image \\"registry\.k8s\.io\/does-not-exist:1\\" present/);
});

test('crictl imagefsinfo, then rmi (all tags of an image at once; unknown exits 1) back to zero', { skip }, () => {
  const fs1 = JSON.parse(ok('imagefsinfo')) as { status: { timestamp: string; fsId: { mountpoint: string }; usedBytes: { value: string }; inodesUsed: { value: string } } };
  assert.equal(fs1.status.fsId.mountpoint, join(berthd.root, 'snapshots'));
  assert.ok(Number(fs1.status.usedBytes.value) > 0);
  assert.ok(Number(fs1.status.inodesUsed.value) > 0);
  const ts = BigInt(fs1.status.timestamp);
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  assert.ok(ts <= nowNs && nowNs - ts < 60_000_000_000n, 'timestamp is nanoseconds since the epoch');

  const rm = ok('rmi', `${TAGS}:2`);
  assert.deepEqual(rm.trim().split('\n').sort(), [`Deleted: ${TAGS}:1`, `Deleted: ${TAGS}:2`]);
  const again = crictl('rmi', `${TAGS}:1`);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /no such image gcr\.io\/k8s-staging-cri-tools\/test-image-tags:1/);
  assert.match(ok('rmi', BUSYBOX), new RegExp(`^Deleted: ${BUSYBOX.replace(/[.]/g, '\\.')}$`, 'm'));
  assert.equal(crictl('rmi', 'registry.k8s.io/does-not-exist:1').code, 1);
  assert.deepEqual(ok('images', '-q').trim().split('\n'), [ids.pause]);
  ok('rmi', ids.pause!.slice(7, 20));
  assert.equal(ok('images', '-q').trim(), '');

  const fs2 = JSON.parse(ok('imagefsinfo', '-o', 'json')) as { status: { usedBytes: { value: string }; inodesUsed: { value: string } } };
  assert.equal(fs2.status.usedBytes.value, '0');
  assert.equal(fs2.status.inodesUsed.value, '0');
  assert.deepEqual(readdirSync(join(berthd.root, 'content/sha256')), []);
});
