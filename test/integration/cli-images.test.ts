// The berth CLI's commands over berth's own service, run as people run them (a child process)
// against a real berthd and registries: login → tag → push (htpasswd) → rmi → pull back with the
// stored credentials; save → load round trip; history; events; system prune; logout.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBerthCli, type CliResult } from '../helpers/cli';
import { RuntimeEnv } from '../helpers/runtime-leaks';
import { startRegistry, type TestRegistry } from '../helpers/registry';



describe('berth CLI: images and system over the berth service', { timeout: 600_000 }, () => {
  let env: RuntimeEnv;
  let authRegistry: TestRegistry | undefined;
  const dockerConfig = mkdtempSync(join(tmpdir(), 'berth-cli-docker-config-'));
  const files = mkdtempSync(join(tmpdir(), 'berth-cli-images-'));
  const auth = { username: 'cli-user', password: 'cli-s3cret' };

  function berth(args: string[], opts: { input?: string } = {}): Promise<CliResult> {
    return runBerthCli(args, { host: `unix://${env.berthd.socket}`, input: opts.input, env: { DOCKER_CONFIG: dockerConfig } });
  }

  async function ok(args: string[], opts: { input?: string } = {}): Promise<CliResult> {
    const r = await berth(args, opts);
    assert.equal(r.code, 0, `berth ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r;
  }

  const imageIds = async (): Promise<Array<{ Repository: string; Tag: string; ID: string }>> => JSON.parse((await ok(['images', '--format', 'json'])).stdout);

  before(async () => {
    env = await RuntimeEnv.start();
    authRegistry = await startRegistry({ auth });
    mkdirSync(join(env.hostsDir, authRegistry.host), { recursive: true });
    writeFileSync(join(env.hostsDir, authRegistry.host, 'hosts.toml'), `server = "${authRegistry.url}"\n`);
  });

  after(async () => {
    const keepAlive = setInterval(() => undefined, 100);
    try {
      await authRegistry?.stop();
      try {
        await env?.cleanAndCheck();
      } finally {
        await env?.close();
      }
    } finally {
      clearInterval(keepAlive);
      rmSync(dockerConfig, { recursive: true, force: true });
      rmSync(files, { recursive: true, force: true });
    }
  });

  it('login stores docker credentials; tag; push with them; rmi; pull back (json result) with them', async () => {
    const host = authRegistry!.host;
    const target = `${host}/cli/pushed:v1`;
    await ok(['tag', env.image, target]);
    const tagged = (await imageIds()).find((r) => `${r.Repository}:${r.Tag}` === target);
    const orig = (await imageIds()).find((r) => `${r.Repository}:${r.Tag}` === env.image);
    assert.ok(tagged && orig, 'the new tag is listed');
    assert.equal(tagged.ID, orig.ID);

    // Without credentials the registry refuses.
    const anon = await berth(['push', target]);
    assert.equal(anon.code, 1, anon.stderr);
    assert.match(anon.stderr, /^berth: .*requires credentials/m);

    const login = await ok(['login', '-u', auth.username, '--password-stdin', host], { input: `${auth.password}\n` });
    assert.match(login.stdout, new RegExp(host.replace(/[.]/g, '\\.')));
    const file = join(dockerConfig, 'config.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const cfg = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(Buffer.from(cfg.auths[host].auth, 'base64').toString(), `${auth.username}:${auth.password}`);

    const push = await ok(['push', target]);
    const m = /^(\S+): digest: (sha256:[a-f0-9]{64})$/m.exec(push.stdout);
    assert.ok(m, push.stdout);
    assert.match(push.stderr, /: (Pushed|Already exists|Done)/i);

    const rmi = await ok(['rmi', target]);
    assert.match(rmi.stdout, new RegExp(`Untagged: ${target.replace(/[.]/g, '\\.')}`));
    assert.doesNotMatch(rmi.stdout, /Deleted:/, 'one of two tags: only the tag goes (docker rmi TAG)');
    const after = await imageIds();
    assert.ok(!after.some((r) => `${r.Repository}:${r.Tag}` === target));
    assert.equal(after.find((r) => `${r.Repository}:${r.Tag}` === env.image)?.ID, orig.ID, 'the other tag keeps the image');
    // By id, an image with several tags needs -f.
    await ok(['tag', env.image, target]);
    const byId = await berth(['rmi', orig.ID]);
    assert.equal(byId.code, 1, byId.stdout);
    assert.match(byId.stderr, /referenced in 2 repositories/);
    await ok(['rmi', target]);

    const pulled = JSON.parse((await ok(['pull', '--format', 'json', target])).stdout);
    assert.equal(pulled.ImageID, orig.ID);
    assert.ok(pulled.Layers.length >= 1, JSON.stringify(pulled));
    // Piped: plain progress lines per layer status.
    const again = await ok(['pull', target]);
    assert.match(again.stderr, /^[a-f0-9]{12}: (Already exists|Pull complete)/m);
    assert.equal(again.stdout.trim(), target);

    // logout removes them; the next pull is refused by the registry.
    assert.match((await ok(['logout', host])).stdout, /Removing login credentials/);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).auths[host], undefined);
    await ok(['rmi', target]);
    const refused = await berth(['pull', target]);
    assert.equal(refused.code, 1, refused.stderr);
    // The fixture tag was never removed.
    assert.ok((await imageIds()).some((r) => `${r.Repository}:${r.Tag}` === env.image));
  });

  it('save → load round trip gives the same image id (docker and OCI formats); stdin and stdout work too', async () => {
    const orig = (await imageIds()).find((r) => `${r.Repository}:${r.Tag}` === env.image)!;
    for (const format of ['docker', 'oci']) {
      const tar = join(files, `img-${format}.tar`);
      await ok(['save', '-o', tar, '--format', format, env.image]);
      assert.ok(statSync(tar).size > 1000);
      await ok(['rmi', env.image]);
      const load = await ok(['load', '-i', tar]);
      assert.match(load.stdout, new RegExp(`^Loaded image: ${env.image.replace(/[.]/g, '\\.')}$`, 'm'));
      const back = (await imageIds()).find((r) => `${r.Repository}:${r.Tag}` === env.image);
      assert.equal(back?.ID, orig.ID, format);
    }
    // Piped stdout, then the archive on stdin.
    const out = await berth(['save', env.image]);
    assert.equal(out.code, 0, out.stderr);
    assert.ok(out.stdout.length > 1000);
    const q = await ok(['load', '-q', '-i', join(files, 'img-docker.tar')]);
    assert.equal(q.stdout.trim(), orig.ID);
    assert.equal((await berth(['save', '--format', 'zip', env.image])).code, 2);
  });

  it('history lists the config history, newest first', async () => {
    const h = JSON.parse((await ok(['history', '--format', 'json', env.image])).stdout);
    assert.ok(h.length >= 1);
    const orig = (await imageIds()).find((r) => `${r.Repository}:${r.Tag}` === env.image)!;
    assert.equal(h[0].ID, orig.ID);
    const text = (await ok(['history', env.image])).stdout.split('\n');
    assert.match(text[0], /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    assert.ok(text[1].startsWith(orig.ID.replace(/^sha256:/, '').slice(0, 12)), text[1]);
    assert.equal((await berth(['history', 'berth.test/none:x'])).code, 1);
  });

  it('events streams what happens, filtered by type, until --until-count', async () => {
    const events = berth(['events', '--filter', 'type=image', '--format', 'json', '--until-count', '2']);
    // Give the stream a moment to subscribe, then make two image events.
    await new Promise((r) => setTimeout(r, 1500));
    await ok(['tag', env.image, 'berth.test/events:one']);
    await ok(['rmi', 'berth.test/events:one']);
    const r = await events;
    await ok(['pull', '-q', env.image]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    for (const e of lines) assert.equal(e.Type, 'image');
    assert.equal(lines[0].Action, 'tag');
    assert.equal((await berth(['events', '--filter', 'type=volume'])).code, 2);
  });

  it('system prune -f -a removes unused images and reports the reclaimed space', async () => {
    await ok(['tag', env.image, 'berth.test/prune:me']);
    const r = await ok(['system', 'prune', '-f', '-a']);
    assert.match(r.stdout, /Deleted Images:\n/);
    assert.match(r.stdout, /^Total reclaimed space: \d+(\.\d+)?[kMG]?B$/m);
    assert.ok(!(await imageIds()).some((x) => x.Repository === 'berth.test/prune'));
    const j = JSON.parse((await ok(['system', 'prune', '-f', '--format', 'json'])).stdout);
    assert.equal(typeof j.SpaceReclaimed, 'number');
  });
});
