// spawnProcess (posix_spawn through the native addon): stdio, exit codes, signals, env, cwd, setsid,
// fd hygiene and errors, against real programs.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { test } from 'node:test';
import { spawnProcess } from '../../../src/util/spawn';

async function collect(s: NodeJS.ReadableStream | null): Promise<string> {
  assert.ok(s);
  let out = '';
  for await (const b of s) out += String(b);
  return out;
}

test('stdin in, stdout and stderr out, exit code', async () => {
  const p = spawnProcess('sh', ['-c', 'read x; echo "out:$x"; echo err >&2; exit 3'], { stdio: ['pipe', 'pipe', 'pipe'] });
  assert.ok(p.pid > 0);
  p.stdin!.end('hello\n');
  const [out, err, status] = await Promise.all([collect(p.stdout), collect(p.stderr), p.closed]);
  assert.equal(out, 'out:hello\n');
  assert.equal(err, 'err\n');
  assert.deepEqual(status, { code: 3, signal: null });
});

test('a signal is reported as such, and kill() after exit is refused', async () => {
  const p = spawnProcess('sleep', ['30']);
  assert.equal(p.kill('SIGKILL'), true);
  assert.deepEqual(await p.exited, { code: null, signal: 'SIGKILL' });
  assert.equal(p.kill('SIGKILL'), false);
});

test('signal mask and dispositions are reset: node ignores SIGPIPE, its children must not', async () => {
  const parentIgnored = BigInt(`0x${/SigIgn:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`);
  assert.ok(parentIgnored & (1n << 12n), 'precondition: node ignores SIGPIPE');
  const p = spawnProcess('grep', ['-E', '^Sig(Ign|Blk)', '/proc/self/status'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const out = await collect(p.stdout);
  const field = (name: string) => BigInt(`0x${new RegExp(`${name}:\\s*([0-9a-f]+)`).exec(out)![1]}`);
  assert.equal(field('SigIgn') & (1n << 12n), 0n, 'SIGPIPE still ignored in the child');
  assert.equal(field('SigBlk'), 0n, 'signals blocked in the child');
});

test('env, cwd and the PATH lookup of the child env', async () => {
  const p = spawnProcess('sh', ['-c', 'echo "$FOO $(pwd)"'], { env: { PATH: '/usr/bin:/bin', FOO: 'bar' }, cwd: '/tmp', stdio: ['ignore', 'pipe', 'ignore'] });
  assert.equal(await collect(p.stdout), 'bar /tmp\n');
  assert.equal((await p.exited).code, 0);
});

test('only the given fds reach the child, at the given numbers', async () => {
  const p = spawnProcess('sh', ['-c', 'ls /proc/self/fd; echo x >&3'], { stdio: ['ignore', 'pipe', 'ignore', 'pipe-out', 'pipe-in'] });
  const [list, fd3] = await Promise.all([collect(p.stdout), collect(p.stdio[3] as NodeJS.ReadableStream)]);
  (p.stdio[4] as NodeJS.WritableStream).end();
  // ls opens one more fd of its own for the directory.
  const fds = list.trim().split('\n').map(Number).sort((a, b) => a - b);
  assert.deepEqual(fds.slice(0, 5), [0, 1, 2, 3, 4]);
  assert.ok(fds.length <= 6, `unexpected fds in the child: ${fds.join(',')}`);
  assert.equal(fd3, 'x\n');
  await p.closed;
});

test('detached: the child leads its own session', async () => {
  const p = spawnProcess('sh', ['-c', 'echo $$; cut -d" " -f6 /proc/$$/stat'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  const [pid, sid] = (await collect(p.stdout)).trim().split('\n');
  assert.equal(sid, pid);
  assert.equal(Number(pid), p.pid);
});

test('a missing program or cwd throws ENOENT, and no fd is left open', async () => {
  const before = new Set(readdirSync('/proc/self/fd'));
  assert.throws(() => spawnProcess('berth-no-such-program', [], { stdio: ['pipe', 'pipe', 'pipe'] }), { code: 'ENOENT' });
  assert.throws(() => spawnProcess('/bin/true', [], { cwd: '/nonexistent-berth-dir', stdio: ['pipe', 'pipe', 'pipe'] }), { code: 'ENOENT' });
  // Streams of earlier tests may still be closing: only new fds count.
  const added = readdirSync('/proc/self/fd').filter((fd) => !before.has(fd));
  assert.deepEqual(added, [], 'fds leaked by failed spawns');
});

test('many children at once are each reaped with their own status', async () => {
  const ps = Array.from({ length: 40 }, (_, i) => spawnProcess('sh', ['-c', `exit ${i}`]));
  const codes = (await Promise.all(ps.map((p) => p.exited))).map((s) => s.code);
  assert.deepEqual(codes, Array.from({ length: 40 }, (_, i) => i));
  // No zombies left behind.
  for (const p of ps) assert.throws(() => readlinkSync(`/proc/${p.pid}/exe`));
});
