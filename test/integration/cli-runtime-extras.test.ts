// The berth CLI's container features that need berth's own service, run as people run them (a
// child process) against a real berthd: exec -u/-w/-e, run --rm -d (removed by berthd when the
// container exits, also across a berthd restart), and named volumes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runBerthCli, type CliResult } from '../helpers/cli';
import { RuntimeEnv, sleep, waitFor } from '../helpers/runtime-leaks';
import { APP_GID, APP_UID } from '../helpers/fixtures';



describe('berth CLI: exec overrides, run --rm -d, named volumes', { timeout: 600_000 }, () => {
  let env: RuntimeEnv;
  const tag = randomBytes(3).toString('hex');

  function berth(args: string[], opts: { input?: string } = {}): Promise<CliResult> {
    return runBerthCli(args, { host: `unix://${env.berthd.socket}`, input: opts.input });
  }

  async function ok(args: string[]): Promise<CliResult> {
    const r = await berth(args);
    assert.equal(r.code, 0, `berth ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r;
  }

  const json = async <T = any>(args: string[]): Promise<T> => JSON.parse((await ok(args)).stdout) as T;
  const names = async (): Promise<string[]> => (await json<any[]>(['ps', '-a', '--format', 'json'])).map((c) => c.Names);
  const podNames = async (): Promise<string[]> => (await json<any[]>(['pod', 'ls', '--format', 'json'])).map((p) => p.Name);

  before(async () => {
    env = await RuntimeEnv.start();
  });

  after(async () => {
    const keepAlive = setInterval(() => undefined, 100);
    try {
      try {
        await env?.cleanAndCheck();
      } finally {
        await env?.close();
      }
    } finally {
      clearInterval(keepAlive);
    }
  });

  it('exec -u runs as a user from the container\'s passwd/group, numeric ids, and refuses unknown users', async () => {
    const name = `ex${tag}`;
    await ok(['run', '-d', '--network', 'host', '--name', name, env.image, 'sleep', '300']);
    // Default: the container's own user (root).
    assert.equal((await ok(['exec', name, 'id', '-u'])).stdout.trim(), '0');
    // By name: nobody's uid and primary gid from the image's /etc/passwd.
    const passwd = (await ok(['exec', name, 'cat', '/etc/passwd'])).stdout;
    const nobody = passwd.split('\n').find((l) => l.startsWith('nobody:'))!.split(':');
    assert.ok(nobody, passwd);
    assert.equal((await ok(['exec', '-u', 'nobody', name, 'id', '-u'])).stdout.trim(), nobody[2]);
    assert.equal((await ok(['exec', '-u', 'nobody', name, 'id', '-g'])).stdout.trim(), nobody[3]);
    // The user's own groups, not root's inherited from the container process (as docker).
    assert.equal((await ok(['exec', '-u', 'nobody', name, 'id', '-G'])).stdout.trim(), nobody[3]);
    // HOME follows the user (from passwd), unless -e sets it.
    assert.equal((await ok(['exec', name, 'sh', '-c', 'echo $HOME'])).stdout.trim(), '/root');
    assert.equal((await ok(['exec', '-u', 'nobody', name, 'sh', '-c', 'echo $HOME'])).stdout.trim(), nobody[5]);
    assert.equal((await ok(['exec', '-u', 'nobody', '-e', 'HOME=/x', name, 'sh', '-c', 'echo $HOME'])).stdout.trim(), '/x');
    // Numeric uid:gid, no entry needed.
    assert.equal((await ok(['exec', '-u', '4321:4322', name, 'sh', '-c', 'echo $(id -u):$(id -g)'])).stdout.trim(), '4321:4322');
    // name:group
    assert.equal((await ok(['exec', '-u', 'app:root', name, 'sh', '-c', 'echo $(id -u):$(id -g)'])).stdout.trim(), `${APP_UID}:0`);
    assert.equal((await ok(['exec', '-u', 'app', name, 'id', '-g'])).stdout.trim(), String(APP_GID));
    // The same through the streaming path (-i).
    const viaStream = await berth(['exec', '-i', '-u', 'nobody', name, 'sh', '-c', 'cat; id -u']);
    assert.equal(viaStream.code, 0, viaStream.stderr);
    assert.equal(viaStream.stdout.trim(), nobody[2]);
    // Unknown user or group: a clear error, docker's 126, nothing run.
    const bad = await berth(['exec', '-u', 'nosuchuser', name, 'id']);
    assert.equal(bad.code, 126, bad.stderr);
    assert.match(bad.stderr, /^berth: exec user "nosuchuser": user "nosuchuser" not found in the container's \/etc\/passwd/m);
    assert.equal(bad.stdout, '');
    const badGroup = await berth(['exec', '-u', 'nobody:nosuchgroup', name, 'id']);
    assert.equal(badGroup.code, 126, badGroup.stderr);
    assert.match(badGroup.stderr, /group "nosuchgroup" not found/);
    await ok(['rm', '-f', name]);
  });

  it('exec -w and -e set the process\'s cwd and environment (no shell in between)', async () => {
    const name = `ew${tag}`;
    await ok(['run', '-d', '--network', 'host', '--name', name, '-e', 'KEEP=image-env', env.image, 'sleep', '300']);
    assert.equal((await ok(['exec', '-w', '/tmp', name, 'pwd'])).stdout.trim(), '/tmp');
    // The argv reaches the program as it is: no sh -c, so no word splitting or expansion.
    assert.equal((await ok(['exec', '-w', '/etc', name, 'ls', 'passwd'])).stdout.trim(), 'passwd');
    const e = await ok(['exec', '-e', 'FOO=bar baz', '-e', 'KEEP=over', name, 'env']);
    const vars = e.stdout.split('\n');
    assert.ok(vars.includes('FOO=bar baz'), e.stdout);
    assert.ok(vars.includes('KEEP=over'), `-e replaces a container variable: ${e.stdout}`);
    assert.ok(!vars.includes('KEEP=image-env'), e.stdout);
    assert.equal((await ok(['exec', name, 'sh', '-c', 'echo $KEEP'])).stdout.trim(), 'image-env', 'without -e the container\'s own');
    // All three at once, interactive path.
    const all = await berth(['exec', '-i', '-u', 'nobody', '-w', '/tmp', '-e', 'X=1', name, 'sh', '-c', 'cat >/dev/null; echo $(id -un) $(pwd) $X']);
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout.trim(), 'nobody /tmp 1');
    // A relative workdir is a usage error.
    const rel = await berth(['exec', '-w', 'tmp', name, 'pwd']);
    assert.equal(rel.code, 2, rel.stderr);
    await ok(['rm', '-f', name]);
  });

  it('run --rm -d: berthd removes the container and its pod when it exits', async () => {
    const name = `rd${tag}`;
    const r = await ok(['run', '--rm', '-d', '--network', 'host', '--name', name, env.image, 'sh', '-c', 'sleep 1; exit 4']);
    assert.match(r.stdout.trim(), /^[0-9a-f]{64}$/);
    assert.ok((await names()).includes(name), 'running at first');
    await waitFor('the --rm -d container and its pod to go', async () => !(await names()).includes(name) && !(await podNames()).includes(name), 20_000, 200);
    // Stopping one removes it too (docker does the same).
    const s = `rs${tag}`;
    await ok(['run', '--rm', '-d', '--network', 'host', '--name', s, env.image, 'sleep', '300']);
    await ok(['stop', '-t', '0', s]);
    await waitFor('the stopped --rm -d container to go', async () => !(await names()).includes(s) && !(await podNames()).includes(s), 20_000, 200);
    // Without --rm a detached container stays after it exits.
    const keep = `rk${tag}`;
    await ok(['run', '-d', '--network', 'host', '--name', keep, env.image, 'true']);
    await waitFor('the plain -d container to exit', async () => (await json<any[]>(['ps', '-a', '--format', 'json'])).find((c) => c.Names === keep)?.State === 'exited', 20_000, 200);
    await sleep(500);
    assert.ok((await names()).includes(keep));
    await ok(['rm', keep]);
  });

  it('run --rm -d: a container that exited while berthd was down is removed when it starts', async () => {
    const name = `rr${tag}`;
    await ok(['run', '--rm', '-d', '--network', 'host', '--name', name, env.image, 'sh', '-c', 'sleep 3']);
    await env.restart({ signal: 'SIGKILL', downMs: 4500 });
    await waitFor('the --rm -d container to be removed after the restart', async () => !(await names()).includes(name) && !(await podNames()).includes(name), 20_000, 200);
  });

  it('named volumes: created on first use, shared between containers, listed, inspected, refused while in use, removed', async () => {
    const vol = `data${tag}`;
    // -v NAME:/path makes the volume.
    const w = await berth(['run', '--rm', '--network', 'host', '-v', `${vol}:/data`, env.image, 'sh', '-c', 'echo persisted > /data/f; echo done']);
    assert.equal(w.code, 0, w.stderr);
    assert.equal(w.stdout.trim(), 'done');
    const listed = await json<any[]>(['volume', 'ls', '--format', 'json']);
    const v = listed.find((x) => x.Name === vol);
    assert.ok(v, JSON.stringify(listed));
    assert.equal(v.Mountpoint, join(env.berthd.root, 'volumes', vol, '_data'));
    assert.equal(readFileSync(join(v.Mountpoint, 'f'), 'utf8'), 'persisted\n');
    // Another container sees the data; :ro mounts it read-only.
    const rd = await berth(['run', '--rm', '--network', 'host', '-v', `${vol}:/in:ro`, env.image, 'sh', '-c', 'cat /in/f; touch /in/g && echo writable || echo readonly']);
    assert.equal(rd.code, 0, rd.stderr);
    assert.match(rd.stdout, /^persisted\n/);
    assert.match(rd.stdout, /readonly/);
    assert.equal(existsSync(join(v.Mountpoint, 'g')), false);
    // Table output.
    const table = (await ok(['volume', 'ls'])).stdout.split('\n');
    assert.match(table[0], /^DRIVER\s+VOLUME NAME$/);
    assert.ok(table.some((l) => /^local\s+/.test(l) && l.endsWith(vol)), table.join('\n'));
    assert.equal((await ok(['volume', 'ls', '-q'])).stdout.split('\n').includes(vol), true);
    // In use by an (exited) container: rm is refused, even with -f.
    const user = `vu${tag}`;
    await ok(['run', '--network', 'host', '--name', user, '-v', `${vol}:/data`, env.image, 'true']);
    const insp = await json<any[]>(['volume', 'inspect', vol]);
    assert.equal(insp[0].Name, vol);
    assert.equal(insp[0].Driver, 'local');
    assert.equal(insp[0].UsedBy.length, 1);
    const refused = await berth(['volume', 'rm', vol]);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, new RegExp(`^berth: volume ${vol} is in use by container [0-9a-f]{12}`, 'm'));
    assert.equal((await berth(['volume', 'rm', '-f', vol])).code, 1);
    assert.ok(existsSync(v.Mountpoint));
    await ok(['rm', user]);
    // create is idempotent; create --label; inspect of several; rm.
    const other = `other${tag}`;
    assert.equal((await ok(['volume', 'create', '--label', 'team=a', other])).stdout.trim(), other);
    assert.equal((await ok(['volume', 'create', other])).stdout.trim(), other);
    const both = await json<any[]>(['volume', 'inspect', vol, other]);
    assert.deepEqual(both.map((x) => x.Name), [vol, other]);
    assert.deepEqual(both[1].Labels, { team: 'a' });
    assert.equal((await ok(['volume', 'rm', vol, other])).stdout, `${vol}\n${other}\n`);
    assert.equal(existsSync(v.Mountpoint), false);
    assert.equal(existsSync(join(env.berthd.root, 'meta', 'volumes', `${vol}.json`)), false);
    // Missing: an error, unless -f.
    const missing = await berth(['volume', 'rm', vol]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no such volume/);
    await ok(['volume', 'rm', '-f', vol]);
    const bad = await berth(['volume', 'create', 'bad/name']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid volume name/);
    const badInspect = await berth(['volume', 'inspect', vol]);
    assert.equal(badInspect.code, 1);
    assert.deepEqual(readdirSync(join(env.berthd.root, 'volumes')), []);
  });

  it('an empty named volume gets the image files at its mount path on first use (docker copy-up), once', async () => {
    const etc = `ce${tag}`;
    const home = `ch${tag}`;
    const none = `cn${tag}`;
    const first = await berth([
      'run', '--rm', '--network', 'host', '-v', `${etc}:/etc`, '-v', `${home}:/home/app`, '-v', `${none}:/nothing-here`, env.image,
      'sh', '-c', 'grep -c "^root:" /etc/passwd; echo mine > /etc/added; stat -c %u:%g /home/app; ls -A /nothing-here | wc -l',
    ]);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(first.stdout.trim().split('\n'), ['1', `${APP_UID}:${APP_GID}`, '0'], 'the image\'s /etc and /home/app owner are in the new volumes');
    const mp = (v: string) => join(env.berthd.root, 'volumes', v, '_data');
    assert.match(readFileSync(join(mp(etc), 'passwd'), 'utf8'), /^root:/);
    assert.equal(readFileSync(join(mp(etc), 'added'), 'utf8'), 'mine\n');
    assert.equal(statSync(mp(home)).uid, APP_UID);
    assert.deepEqual(readdirSync(mp(none)), [], 'nothing at the path in the image: the volume stays empty');

    // A volume with data is not copied into again: what was removed stays removed.
    rmSync(join(mp(etc), 'passwd'));
    const second = await berth(['run', '--rm', '--network', 'host', '-v', `${etc}:/etc`, env.image, 'sh', '-c', 'test -e /etc/passwd && echo back || echo gone; cat /etc/added']);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, 'gone\nmine\n');
    assert.equal((await ok(['volume', 'rm', etc, home, none])).stdout, `${etc}\n${home}\n${none}\n`);
  });

  it('system prune --volumes removes volumes no container mounts', async () => {
    const unused = `pu${tag}`;
    const used = `pk${tag}`;
    await ok(['volume', 'create', unused]);
    const c = `pc${tag}`;
    await ok(['run', '-d', '--network', 'host', '--name', c, '-v', `${used}:/d`, env.image, 'sleep', '300']);
    const r = await ok(['system', 'prune', '-f', '--volumes', '--format', 'json']);
    const report = JSON.parse(r.stdout);
    assert.ok(report.VolumesDeleted.includes(unused), r.stdout);
    assert.ok(!report.VolumesDeleted.includes(used), r.stdout);
    const left = (await json<any[]>(['volume', 'ls', '--format', 'json'])).map((x) => x.Name);
    assert.ok(left.includes(used) && !left.includes(unused), left.join(','));
    await ok(['rm', '-f', c]);
    await ok(['volume', 'rm', used]);
  });
});
