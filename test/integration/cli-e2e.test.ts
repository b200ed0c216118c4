// The berth CLI end to end: a real berthd (own root, state, socket and CNI network on a bridge and
// subnet private to this test), a local registry with the busybox fixture, and the CLI run as a
// child process exactly as people run it. Asserts output, JSON and exit codes per command group.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { REPO, startBerthd, type RunningBerthd } from '../helpers/berthd';
import { CLI, runBerthCli, type CliResult } from '../helpers/cli';
import { freePort, startRegistry, type TestRegistry } from '../helpers/registry';
import { pushBusyboxImage } from '../helpers/fixtures';
import { assertNoLeaks, snapshotHost, type HostSnapshot } from '../helpers/leaks';
import { createTestCniNetwork, natRules, removeHostportChains, type TestCniNetwork } from '../helpers/cni';

describe('berth CLI against a real berthd', { timeout: 600_000 }, () => {
  const tag = randomBytes(3).toString('hex');
  let net: TestCniNetwork | undefined;
  let registry: TestRegistry;
  let berthd: RunningBerthd;
  let ref = '';
  let snapshot: HostSnapshot;
  let hadHostportChains = false;

  async function berth(args: string[], opts: { host?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
    return runBerthCli(args, { host: opts.host ?? `unix://${berthd.socket}`, env: opts.env, timeoutMs: opts.timeoutMs ?? 120_000 });
  }

  /** Runs the CLI and insists on exit code 0. */
  async function ok(args: string[]): Promise<CliResult> {
    const r = await berth(args);
    assert.equal(r.code, 0, `berth ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r;
  }

  async function json<T = any>(args: string[]): Promise<T> {
    return JSON.parse((await ok(args)).stdout) as T;
  }

  before(async () => {
    snapshot = snapshotHost();
    hadHostportChains = natRules().includes('CNI-HOSTPORT-DNAT');
    net = createTestCniNetwork();

    registry = await startRegistry();
    ref = (await pushBusyboxImage(registry.url, `cli/busybox${tag}`)).reference;

    berthd = await startBerthd({ cniConfDir: net.confDir });
    // hosts.toml so berthd speaks plain http to the test registry.
    const certs = join(berthd.base, 'certs.d', registry.host);
    mkdirSync(certs, { recursive: true });
    writeFileSync(join(certs, 'hosts.toml'), `server = "${registry.url}"\n`);
    // Wait until berthd has picked the network up.
    for (const end = Date.now() + 15_000; ; ) {
      const info = await json(['info', '--format', 'json']);
      if (info.Conditions.find((c: any) => c.Type === 'NetworkReady')?.Status === true) break;
      if (Date.now() > end) throw new Error(`berthd never reported NetworkReady: ${JSON.stringify(info.Conditions)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  after(async () => {
    const base = berthd?.base;
    // Every step runs even if an earlier one fails: a registry or berthd left running would keep
    // this process alive, and a bridge left behind would outlive the test.
    const errors: unknown[] = [];
    const step = async (fn: () => unknown) => {
      try {
        await fn();
      } catch (e) {
        errors.push(e);
      }
    };
    // Whatever a failed test left: remove every pod through berthd before stopping it.
    await step(async () => {
      const pods = await berth(['pod', 'ls', '-q', '--no-trunc']);
      for (const id of pods.stdout.split('\n').filter(Boolean)) await berth(['pod', 'rm', '-f', id]);
    });
    // A timer keeps the event loop turning until berthd's and the registry's exits are seen: without
    // it the loop can run dry first and this hook never settles (seen with node 20 after children
    // were spawned; the helpers' child handles alone did not hold the loop).
    const keepAlive = setInterval(() => undefined, 100);
    await step(() => berthd?.destroy());
    await step(() => registry?.stop());
    clearInterval(keepAlive);
    await step(() => net?.cleanup());
    await step(() => !hadHostportChains && removeHostportChains());
    if (errors.length) throw errors[0];
    if (snapshot) await assertNoLeaks(snapshot, { mountDirs: base ? [base] : [], processCmdlineIncludes: base ? [base] : [] });
  });

  it('version and info talk to the server', async () => {
    const v = await json(['version', '--format', 'json']);
    assert.equal(v.Server.RuntimeName, 'berth');
    assert.equal(v.Server.ApiVersion, 'v1');
    assert.equal(v.Server.Socket, berthd.socket);
    assert.match(v.Client.Version, /^\d+\.\d+\.\d+/);
    const text = (await ok(['version'])).stdout;
    assert.match(text, /Server:\n Runtime:\s+berth/);
    const info = await json(['info', '--format', 'json']);
    assert.equal(info.Runtime, 'berth');
    assert.ok(['cgroupfs', 'systemd'].includes(info.CgroupDriver), info.CgroupDriver);
    assert.ok(info.RuntimeHandlers.length >= 1);
    assert.match((await ok(['info'])).stdout, /RuntimeReady: true/);
  });

  it('reports a missing daemon in one line with exit code 1', async () => {
    const r = await berth(['ps'], { host: `unix://${join(berthd.base, 'nothing-here.sock')}` });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `berth: cannot connect to berthd at ${join(berthd.base, 'nothing-here.sock')}: is it running?\n`);
    assert.equal(r.stdout, '');
    // BERTH_HOST is honoured when --host is absent.
    const env = await new Promise<CliResult>((resolve) =>
      execFile(process.execPath, ['--import', 'tsx', CLI, 'version', '--format', 'json'], { cwd: REPO, env: { ...process.env, BERTH_HOST: `unix://${berthd.socket}` } }, (err, stdout, stderr) =>
        resolve({ code: err ? 1 : 0, stdout, stderr }),
      ),
    );
    assert.equal(env.code, 0, env.stderr);
    assert.equal(JSON.parse(env.stdout).Server.Socket, berthd.socket);
  });

  it('pulls and lists images', async () => {
    const pulled = await ok(['pull', ref]);
    assert.equal(pulled.stdout.trim(), ref);
    assert.match(pulled.stderr, /Pulled /);
    const images = await json<any[]>(['images', '--format', 'json']);
    const row = images.find((i) => `${i.Repository}:${i.Tag}` === ref);
    assert.ok(row, `${ref} in ${JSON.stringify(images)}`);
    assert.match(row.ID, /^sha256:[0-9a-f]{64}$/);
    assert.ok(row.Size > 1_000_000, `busybox is over 1 MB: ${row.Size}`);
    const table = (await ok(['images'])).stdout.split('\n');
    assert.match(table[0], /^REPOSITORY\s+TAG\s+IMAGE ID\s+SIZE$/);
    assert.ok(table.some((l) => l.startsWith(`${ref.slice(0, ref.lastIndexOf(':'))} `) && l.includes(row.ID.slice(7, 19))), table.join('\n'));
    assert.equal((await ok(['images', '-q'])).stdout.trim().split('\n').includes(row.ID.slice(7, 19)), true);
    assert.match((await ok(['images', '--digests'])).stdout, /sha256:[0-9a-f]{64}/);
    const inspected = await json<any[]>(['image', 'inspect', ref]);
    assert.equal(inspected[0].Id, row.ID);
  });

  it('run in the foreground prints the output and returns the exit code', async () => {
    const r = await berth(['run', '--name', `fg${tag}`, ref, 'sh', '-c', 'echo hi; echo oops >&2; exit 3']);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, 'hi\n');
    assert.match(r.stderr, /oops\n/);
    const ps = await json<any[]>(['ps', '-a', '--format', 'json']);
    const c = ps.find((x) => x.Names === `fg${tag}`);
    assert.ok(c, 'the container stays without --rm');
    assert.equal(c.State, 'exited');
    assert.match(c.Status, /^Exited \(3\) /);
    assert.equal((await ok(['rm', `fg${tag}`])).stdout.trim(), `fg${tag}`);
    assert.equal((await json<any[]>(['pod', 'ls', '--format', 'json'])).some((p) => p.Name === `fg${tag}`), false, 'rm removed the pod too');
  });

  it('run --rm leaves no container and no pod', async () => {
    const r = await berth(['run', '--rm', '--name', `rm${tag}`, '-e', 'GREETING=hello', ref, 'sh', '-c', 'echo $GREETING']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello\n');
    assert.equal((await json<any[]>(['ps', '-a', '--format', 'json'])).some((x) => x.Names === `rm${tag}`), false);
    assert.equal((await json<any[]>(['pod', 'ls', '--format', 'json'])).some((p) => p.Name === `rm${tag}`), false);
  });

  it('run -d, ps, logs, exec, top, inspect, stats, stop, start, restart, kill, rm', async () => {
    const name = `web${tag}`;
    const port = await freePort();
    const script = 'mkdir -p /www && echo hello-$NAME > /www/index.html && echo started && exec httpd -f -p 80 -h /www';
    const run = await ok(['run', '-d', '--name', name, '-e', `NAME=${tag}`, '-p', `127.0.0.1:${port}:80`, '-l', 'tier=web', '--memory', '64m', '--cpus', '0.5', ref, 'sh', '-c', script]);
    const id = run.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);

    // The published port reaches httpd in the container.
    let body = '';
    for (const end = Date.now() + 15_000; ; ) {
      try {
        const res = await request(`http://127.0.0.1:${port}/`);
        body = await res.body.text();
        if (res.statusCode === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > end) throw new Error(`no answer on 127.0.0.1:${port}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(body, `hello-${tag}\n`);

    const ps = await ok(['ps']);
    const lines = ps.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    const line = lines.find((l) => l.endsWith(name));
    assert.ok(line, ps.stdout);
    assert.ok(line.startsWith(id.slice(0, 12)));
    assert.match(line, /Up (Less than a second|\d+ seconds?)/);
    assert.ok(line.includes(`127.0.0.1:${port}->80/tcp`), line);
    assert.equal((await ok(['ps', '-q', '--filter', `name=${name}`])).stdout, `${id.slice(0, 12)}\n`);
    assert.equal((await ok(['ps', '-q', '--filter', 'label=tier=web'])).stdout, `${id.slice(0, 12)}\n`);
    assert.equal((await ok(['ps', '-q', '--filter', 'label=tier=db'])).stdout.trim(), '');
    assert.equal((await ok(['ps', '-q', '--filter', 'status=exited', '--filter', `name=${name}`])).stdout.trim(), '');
    const [pj] = await json<any[]>(['ps', '--format', 'json', '--filter', `id=${id.slice(0, 8)}`]);
    assert.equal(pj.ID, id);
    assert.equal(pj.State, 'running');
    assert.equal(pj.Image, ref);
    assert.match(pj.Command, /^sh -c /);

    assert.equal((await ok(['port', name])).stdout, `80/tcp -> 127.0.0.1:${port}\n`);
    assert.equal((await ok(['port', name, '80'])).stdout, `127.0.0.1:${port}\n`);

    assert.equal((await ok(['logs', name])).stdout, 'started\n');
    assert.match((await ok(['logs', '-t', name])).stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) started\n$/);

    const ex = await berth(['exec', name, 'sh', '-c', 'echo out; echo err >&2; exit 7']);
    assert.equal(ex.code, 7);
    assert.equal(ex.stdout, 'out\n');
    assert.equal(ex.stderr, 'err\n');
    assert.equal((await ok(['exec', '-e', 'X=42', name, 'sh', '-c', 'echo $X'])).stdout, '42\n');
    assert.equal((await ok(['exec', '-w', '/www', name, 'pwd'])).stdout, '/www\n');
    assert.match((await ok(['top', name])).stdout, /httpd -f -p 80/);

    const [ins] = await json<any[]>(['inspect', name]);
    assert.deepEqual((await json<any[]>(['inspect', '--format', 'json', name]))[0].Id, ins.Id);
    assert.equal(ins.Type, 'container');
    assert.equal(ins.Id, id);
    assert.equal(ins.State, 'running');
    assert.equal(ins.Labels.tier, 'web');
    assert.equal(Number(ins.Resources.linux.memoryLimitInBytes), 64 * 1024 * 1024);
    assert.equal(Number(ins.Resources.linux.cpuQuota), 50_000);
    assert.deepEqual(ins.Ports, [{ hostIp: '127.0.0.1', hostPort: port, containerPort: 80, protocol: 'tcp' }]);

    const stats = await json<any[]>(['stats', '--no-stream', '--format', 'json', name]);
    assert.equal(stats[0].id, id);
    assert.ok(stats[0].memoryBytes > 0, JSON.stringify(stats));
    assert.equal(stats[0].memoryLimit, 64 * 1024 * 1024);
    assert.match((await ok(['stats', '--no-stream'])).stdout, new RegExp(`${id.slice(0, 12)}\\s+${name}\\s+\\d+\\.\\d\\d%`));

    // rm without -f refuses a running container.
    const refused = await berth(['rm', name]);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `berth: container ${name} is running: stop it first or use -f\n`);

    assert.equal((await ok(['stop', '-t', '1', name])).stdout, `${name}\n`);
    const [stopped] = await json<any[]>(['ps', '-a', '--format', 'json', '--filter', `name=${name}`]);
    assert.equal(stopped.State, 'exited');

    // start makes the exited container again in its pod; the port still works.
    await ok(['start', name]);
    const [again] = await json<any[]>(['ps', '--format', 'json', '--filter', `name=${name}`]);
    assert.equal(again.State, 'running');
    assert.notEqual(again.ID, id);
    assert.equal(again.PodID, pj.PodID, 'same pod');
    await ok(['restart', '-t', '1', name]);
    const [restarted] = await json<any[]>(['ps', '--format', 'json', '--filter', `name=${name}`]);
    assert.equal(restarted.State, 'running');

    // kill (SIGKILL by default) ends it whatever it does with signals.
    await ok(['kill', name]);
    assert.equal((await ok(['wait', name])).stdout.trim(), '137');

    assert.equal((await ok(['rm', '-f', name])).stdout, `${name}\n`);
    assert.equal((await json<any[]>(['ps', '-a', '--format', 'json'])).some((x) => x.Names === name), false);
    assert.equal((await json<any[]>(['pod', 'ls', '--format', 'json'])).some((p) => p.Name === name), false);
  });

  it('logs -f follows until exit; --tail and --since; wait prints the exit code', async () => {
    const name = `lg${tag}`;
    await ok(['run', '-d', '--name', name, ref, 'sh', '-c', 'for i in 1 2 3 4; do echo line$i; sleep 0.3; done; exit 4']);
    const follow = await ok(['logs', '-f', name]);
    assert.equal(follow.stdout, 'line1\nline2\nline3\nline4\n');
    assert.equal((await ok(['wait', name])).stdout, '4\n');
    assert.equal((await ok(['logs', '--tail', '2', name])).stdout, 'line3\nline4\n');
    assert.equal((await ok(['logs', '--since', '1h', name])).stdout, 'line1\nline2\nline3\nline4\n');
    assert.equal((await ok(['logs', '--since', String(Math.floor(Date.now() / 1000) + 3600), name])).stdout, '');
    await ok(['rm', name]);
  });

  it('kill -s sends other signals to the container\'s PID 1', async () => {
    const name = `sig${tag}`;
    await ok(['run', '-d', '--name', name, ref, 'sh', '-c', 'trap "echo got-term; exit 42" TERM; echo ready; while true; do sleep 0.1; done']);
    for (const end = Date.now() + 10_000; (await ok(['logs', name])).stdout !== 'ready\n'; ) {
      if (Date.now() > end) throw new Error('the container never said ready');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await ok(['kill', '-s', 'SIGTERM', name])).stdout, `${name}\n`);
    assert.equal((await ok(['wait', name])).stdout, '42\n');
    assert.equal((await ok(['logs', name])).stdout, 'ready\ngot-term\n');
    const notRunning = await berth(['kill', name]);
    assert.equal(notRunning.code, 1);
    assert.equal(notRunning.stderr, `berth: container ${name} is not running\n`);
    await ok(['rm', name]);
  });

  it('create then start; pod ls, pod inspect, pod stop, pod rm', async () => {
    const name = `cr${tag}`;
    const id = (await ok(['create', '--name', name, ref, 'sleep', '60'])).stdout.trim();
    const [created] = await json<any[]>(['ps', '-a', '--format', 'json', '--filter', `name=${name}`]);
    assert.equal(created.State, 'created');
    assert.equal(created.Status, 'Created');
    await ok(['start', name]);
    const [pod] = (await json<any[]>(['pod', 'ls', '--format', 'json'])).filter((p) => p.Name === name);
    assert.ok(pod);
    assert.equal(pod.Namespace, 'berth');
    assert.equal(pod.State, 'ready');
    assert.equal(pod.Containers, 1);
    assert.match((await ok(['pod', 'ls'])).stdout, new RegExp(`^${pod.ID.slice(0, 12)}\\s+${name}\\s+berth\\s+Ready`, 'm'));
    const [pi] = await json<any[]>(['pod', 'inspect', name]);
    assert.equal(pi.Id, pod.ID);
    assert.ok(net!.inSubnet(pi.Network.ip), `pod IP ${pi.Network.ip} in ${net!.subnet}`);
    assert.deepEqual(pi.Containers.map((c: any) => c.Id), [id]);
    const refused = await berth(['pod', 'rm', name]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^berth: pod .* is ready: stop it first/);
    await ok(['pod', 'stop', name]);
    const [ps] = await json<any[]>(['ps', '-a', '--format', 'json', '--filter', `name=${name}`]);
    assert.equal(ps.State, 'exited');
    await ok(['pod', 'rm', name]);
    assert.equal((await json<any[]>(['ps', '-a', '--format', 'json'])).some((x) => x.Names === name), false);
  });

  it('run --network host uses the node\'s network namespace', async () => {
    const r = await berth(['run', '--rm', '--network', 'host', ref, 'sh', '-c', 'readlink /proc/1/ns/net >/dev/null; cat /proc/net/dev | grep -c lo']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Number(r.stdout.trim()) >= 1);
    // The host's bridge of this test is visible only with the node's network.
    const seen = await berth(['run', '--rm', '--network', 'host', ref, 'cat', '/proc/net/dev']);
    assert.ok(seen.stdout.includes(net!.bridge), seen.stdout);
  });

  it('fails in one line with docker\'s exit codes', async () => {
    const nosuch = await berth(['rm', 'nosuch-container']);
    assert.equal(nosuch.code, 1);
    assert.equal(nosuch.stderr, 'berth: No such container: nosuch-container\n');
    const badPort = await berth(['run', '-p', '99999:80', ref]);
    assert.equal(badPort.code, 125);
    assert.equal(badPort.stderr.trim().split('\n').length, 1);
    assert.match(badPort.stderr, /^berth: invalid host port "99999"/);
    const notFound = await berth(['run', '--rm', ref, 'no-such-program']);
    assert.ok([125, 127].includes(notFound.code), `exit ${notFound.code}: ${notFound.stderr}`);
    // Without a terminal, -t is refused as docker does.
    const interactive = await berth(['run', '-it', ref, 'sh']);
    assert.equal(interactive.code, 1);
    assert.match(interactive.stderr, /^berth: the input device is not a TTY/);
    const unknown = await berth(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^berth: unknown command 'frobnicate'/);
    const badImage = await berth(['run', '--rm', `${registry.host}/cli/nothing:here`]);
    assert.equal(badImage.code, 125);
    assert.match(badImage.stderr, /^berth: /m);
    // Nothing was left by the failed runs.
    assert.equal((await json<any[]>(['ps', '-a', '--format', 'json'])).length, 0);
    assert.equal((await json<any[]>(['pod', 'ls', '--format', 'json'])).length, 0);
  });

  it('df, then rmi refuses an image in use and removes it when free', async () => {
    const id = (await ok(['create', '--name', `rmi${tag}`, ref, 'true'])).stdout.trim();
    const df = await json(['df', '--format', 'json']);
    const images = df.Usage.find((u: any) => u.Type === 'Images');
    assert.equal(images.Active, 1);
    assert.ok(images.Size > 1_000_000);
    assert.match((await ok(['df'])).stdout, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\nImages\s+1\s+1\s+/);
    const refused = await berth(['rmi', ref]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`^berth: image .* is used by container ${id.slice(0, 12)}`));
    await ok(['rm', `rmi${tag}`]);
    const removed = await ok(['rmi', ref]);
    assert.match(removed.stdout, new RegExp(`^Untagged: ${ref.replace(/[.]/g, '\\.')}\nDeleted: sha256:[0-9a-f]{64}\n$`));
    assert.equal((await json<any[]>(['images', '--format', 'json'])).length, 0);
    const again = await berth(['rmi', ref]);
    assert.equal(again.code, 1);
    assert.equal(again.stderr, `berth: No such image: ${ref}\n`);
  });
});
