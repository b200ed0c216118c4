// The berth CLI's interactive commands end to end: a real berthd (RuntimeEnv: registry, busybox
// fixture, a private CNI network), the CLI run as a child process with piped stdin, or under a
// pseudo-terminal from util-linux `script` where the command needs one. Covers exec -i/-t/-it,
// run -i/-it, attach with detach keys and a second attach, and port-forward into a pod. Every CLI
// process started here is waited for (and killed by PID if a test failed); the environment's leak
// check runs at the end.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { constants } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/berthd';
import { freePort } from '../helpers/registry';
import { RuntimeEnv, waitFor } from '../helpers/runtime-leaks';

const CLI = join(REPO, 'src/cli/main.ts');
const SCRIPT = '/usr/bin/script';

const shellQuote = (args: string[]): string => args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');

interface Cli {
  child: ChildProcess;
  out(): string;
  err(): string;
  write(data: string | Buffer): void;
  end(data?: string | Buffer): void;
  /** Exit code (128+n for a signal). */
  exited: Promise<number>;
  waitOutput(re: RegExp, ms?: number): Promise<string>;
}

describe('berth CLI interactive sessions against a real berthd', { timeout: 600_000 }, () => {
  let env: RuntimeEnv;
  let ref = '';
  const started: ChildProcess[] = [];

  before(async () => {
    if (!existsSync(SCRIPT)) throw new Error(`${SCRIPT} is missing: install util-linux (script gives the CLI a terminal)`);
    env = await RuntimeEnv.start();
    ref = env.image;
  });

  after(async () => {
    // CLI processes a failed test left behind: ours, by PID.
    for (const c of started) if (c.exitCode === null && c.signalCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
    const keep = setInterval(() => undefined, 1000);
    try {
      await env?.close();
    } finally {
      clearInterval(keep);
    }
  });

  function track(child: ChildProcess): Cli {
    started.push(child);
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.stdin!.on('error', () => undefined);
    const exited = new Promise<number>((resolve) =>
      child.once('close', (code, sig) => resolve(code ?? 128 + (sig ? constants.signals[sig] : 0))),
    );
    return {
      child,
      out: () => out,
      err: () => err,
      write: (d) => child.stdin!.write(d),
      end: (d) => child.stdin!.end(d),
      exited,
      waitOutput: (re, ms = 20_000) => waitFor(`output matching ${re} (got ${JSON.stringify(out.slice(-300))})`, () => re.exec(out)?.[0], ms, 50),
    };
  }

  function cliArgs(args: string[]): string[] {
    return ['--import', 'tsx', CLI, '--host', `unix://${env.berthd.socket}`, ...args];
  }

  /** The CLI with pipes for stdin, stdout and stderr. */
  function berth(args: string[]): Cli {
    return track(spawn(process.execPath, cliArgs(args), { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  /** The CLI on a pseudo-terminal of `cols` x `rows` (script copies our pipe to it and its output back). */
  function berthOnTerminal(args: string[], size = { cols: 100, rows: 30 }): Cli {
    const cmd = `stty cols ${size.cols} rows ${size.rows} && exec ${shellQuote([process.execPath, ...cliArgs(args)])}`;
    return track(spawn(SCRIPT, ['-qec', cmd, '/dev/null'], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  async function run(args: string[], input?: string | Buffer): Promise<{ code: number; out: string; err: string }> {
    const c = berth(args);
    c.end(input);
    const code = await c.exited;
    return { code, out: c.out(), err: c.err() };
  }

  async function ok(args: string[]): Promise<string> {
    const r = await run(args);
    assert.equal(r.code, 0, `berth ${args.join(' ')} exited ${r.code}: ${r.err}`);
    return r.out;
  }

  async function state(name: string): Promise<{ State: string; Status: string } | undefined> {
    const all = JSON.parse(await ok(['ps', '-a', '--format', 'json'])) as Array<{ Names: string; State: string; Status: string }>;
    return all.find((c) => c.Names === name);
  }

  it('exec -i: piped stdin reaches the command, its end closes the command\'s stdin, the exit code comes back', async () => {
    await ok(['run', '-d', '--name', 'box', ref, 'sleep', '600']);
    const r = await run(['exec', '-i', 'box', 'sh', '-c', 'cat; echo done >&2; exit 4'], 'hello\nworld\n');
    assert.equal(r.code, 4, r.err);
    assert.equal(r.out, 'hello\nworld\n');
    assert.equal(r.err, 'done\n');

    // Two MiB of binary input arrive intact (flow control on both sides).
    const data = randomBytes(2 * 1024 * 1024);
    const sum = await run(['exec', '-i', 'box', 'sha256sum'], data);
    assert.equal(sum.code, 0, sum.err);
    assert.equal(sum.out.split(/\s/)[0], createHash('sha256').update(data).digest('hex'));

    // -e and -w as on the non-interactive path.
    const envd = await run(['exec', '-i', '-e', 'X=42', '-w', '/etc', 'box', 'sh', '-c', 'read y; echo $X $y $PWD'], 'in\n');
    assert.equal(envd.out, '42 in /etc\n', envd.err);
  });

  it('exec -t on a terminal: the container\'s terminal has our size; exit codes pass through', async () => {
    const c = berthOnTerminal(['exec', '-t', 'box', 'sh', '-c', 'stty size; tty; exit 3'], { cols: 100, rows: 30 });
    c.end();
    assert.equal(await c.exited, 3, c.out());
    assert.match(c.out(), /^30 100\r+\n\/dev\/pts\/\d+\r+\n$/);
  });

  it('exec -it: typed input runs in the container shell; ctrl-c is a key for the container', async () => {
    const c = berthOnTerminal(['exec', '-it', 'box', 'sh']);
    await c.waitOutput(/# /);
    c.write('sleep 60\r');
    await c.waitOutput(/sleep 60\r+\n/);
    c.write('\x03'); // SIGINT through the container's terminal, not to berth
    await c.waitOutput(/\^C/);
    c.write('echo $((6*7)); exit 5\r');
    assert.equal(await c.exited, 5, c.out());
    assert.match(c.out(), /\r\n42\r/);
  });

  it('exec -it refuses a stdin that is not a terminal, in one line', async () => {
    const r = await run(['exec', '-it', 'box', 'sh'], '');
    assert.equal(r.code, 1);
    assert.equal(r.err, 'berth: the input device is not a TTY (leave out -t, or run from a terminal)\n');
  });

  it('exec -i of a missing program: 127 and berthd\'s message', async () => {
    const r = await run(['exec', '-i', 'box', 'no-such-program'], '');
    assert.equal(r.code, 127);
    assert.match(r.err, /^berth: .*executable file not found/m);
  });

  it('run -i --rm: piped stdin, output, the container\'s exit code, nothing left', async () => {
    const r = await run(['run', '-i', '--rm', '--name', 'readx', ref, 'sh', '-c', 'read x; echo got $x; echo bye >&2; exit 6'], 'hello\n');
    assert.equal(r.code, 6, r.err);
    assert.equal(r.out, 'got hello\n');
    assert.match(r.err, /bye\n/);
    assert.equal(await state('readx'), undefined);
    // stdin's end closes the container's stdin.
    const cat = await run(['run', '-i', '--rm', ref, 'sh', '-c', 'cat; echo eof'], 'a\nb\n');
    assert.equal(cat.code, 0, cat.err);
    assert.equal(cat.out, 'a\nb\neof\n');
  });

  it('run -it --rm on a terminal: a shell, its prompt, its exit code; the container is removed', async () => {
    const c = berthOnTerminal(['run', '-it', '--rm', '--name', 'shell', ref, 'sh']);
    await c.waitOutput(/# /);
    c.write('echo $((6*7)); exit 3\r');
    assert.equal(await c.exited, 3, c.out());
    assert.match(c.out(), /\r\n42\r/);
    assert.equal(await state('shell'), undefined);
  });

  it('attach: typed commands run, ctrl-p ctrl-q detaches leaving the container running; a second attach ends with its exit', async () => {
    await ok(['run', '-d', '-it', '--name', 'att', ref, 'sh']);
    const first = berthOnTerminal(['attach', 'att']);
    // The shell redraws its prompt when attach sets the terminal's size: berth is connected and in raw mode.
    await first.waitOutput(/# /);
    first.write('echo marker-$((6*7))\r');
    await first.waitOutput(/marker-42/);
    first.write('\x10\x11');
    assert.equal(await first.exited, 0, first.out());
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await state('att'))?.State, 'running', 'detaching left the container running');

    const second = berthOnTerminal(['attach', 'att'], { cols: 90, rows: 20 });
    await second.waitOutput(/# /);
    second.write('stty size\r');
    await second.waitOutput(/20 90/);
    second.write('exit 7\r');
    assert.equal(await second.exited, 7, second.out());
    assert.match((await state('att'))?.Status ?? '', /^Exited \(7\)/);
    await ok(['rm', 'att']);
  });

  it('attach refuses a container that is not running', async () => {
    await ok(['run', '--name', 'done', ref, 'true']);
    const r = await run(['attach', 'done']);
    assert.equal(r.code, 1);
    assert.equal(r.err, 'berth: cannot attach to container done: it is not running (start it first)\n');
    await ok(['rm', 'done']);
  });

  it('port-forward: local ports reach httpd in the pod; a closed port is reported; Ctrl-C stops it', async () => {
    const script = 'mkdir -p /www && echo hello-pf > /www/index.html && exec httpd -f -p 8080 -h /www';
    await ok(['run', '-d', '--name', 'web', ref, 'sh', '-c', script]);
    const local = await freePort();
    const pf = berth(['port-forward', 'web', `${local}:8080`, ':8080', ':9']);
    await pf.waitOutput(/(Forwarding from .*\n){3}/);
    const lines = pf.out().split('\n');
    assert.equal(lines[0], `Forwarding from 127.0.0.1:${local} -> 8080`);
    const picked = Number(/^Forwarding from 127\.0\.0\.1:(\d+) -> 8080$/.exec(lines[1])?.[1]);
    const closedLocal = Number(/^Forwarding from 127\.0\.0\.1:(\d+) -> 9$/.exec(lines[2])?.[1]);
    assert.ok(picked > 0 && closedLocal > 0, pf.out());

    // httpd may take a moment to listen.
    await waitFor('httpd through the forward', async () => (await get(local).catch(() => undefined))?.status === 200, 15_000, 200);
    const bodies = await Promise.all([...Array(8)].map((_, i) => get(i % 2 ? picked : local)));
    for (const b of bodies) assert.deepEqual(b, { status: 200, body: 'hello-pf\n' });
    assert.match(pf.out(), new RegExp(`Handling connection for ${local}\n`));

    // Nothing listens on port 9 in the pod: the connection closes, berth says why.
    await assert.rejects(get(closedLocal));
    await pf.waitOutput(/Forwarding/); // still running
    await waitFor('the refusal on stderr', () => /berth: port-forward 127\.0\.0\.1:\d+ -> 9: .*error forwarding port 9/.test(pf.err()), 10_000);

    pf.child.kill('SIGINT');
    assert.equal(await pf.exited, 0, pf.err());
    await assert.rejects(connectOnce(local), /ECONNREFUSED/);
    await ok(['rm', '-f', 'web']);
  });

  it('port-forward to something that does not exist: one line, exit 1', async () => {
    const r = await run(['port-forward', 'nothing-here', '8080']);
    assert.equal(r.code, 1);
    assert.equal(r.err, 'berth: No such container or pod: nothing-here\n');
    const bad = await run(['port-forward', 'box', '99999']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /^berth: invalid port "99999"/);
  });

  it('leaves no CLI process behind', async () => {
    await ok(['rm', '-f', 'box']);
    for (const c of started) assert.ok(c.exitCode !== null || c.signalCode !== null, `berth process ${c.pid} (${c.spawnargs.slice(-4).join(' ')}) still running`);
  });
});

function get(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function connectOnce(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
  });
}
