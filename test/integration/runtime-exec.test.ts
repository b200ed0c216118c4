// ExecSync through a real berthd: exit codes, stdout and stderr kept apart, a timeout answered with
// DEADLINE_EXCEEDED that leaves neither the process nor a zombie behind, and a megabyte of binary
// output delivered intact.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { RuntimeEnv, grpcCode, GrpcStatus, type Pod } from '../helpers/runtime-leaks';

/** Every process whose cmdline is exactly `argv` (host-wide). */
function processesRunning(argv: string[]): number[] {
  const want = argv.join('\0');
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        return readFileSync(`/proc/${n}/cmdline`, 'utf8').replace(/\0$/, '') === want;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Children of `pid`, zombies included. */
function childrenOf(pid: number): string[] {
  const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return kids.map((k) => {
    try {
      const s = readFileSync(`/proc/${k}/stat`, 'utf8');
      return `${k} ${s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'))} ${s.slice(s.lastIndexOf(')') + 2).split(' ')[0]}`;
    } catch {
      return `${k} (gone)`;
    }
  });
}

describe('ExecSync over CRI', { timeout: 120_000 }, () => {
  let env: RuntimeEnv;
  let pod: Pod;
  let id = '';
  let initPid = 0;
  before(async () => {
    env = await RuntimeEnv.start();
    // A PID namespace of the container's own: its init (tail) is the reaper of everything exec'd.
    pod = await env.runPod('exec', { pid: 'CONTAINER' });
    id = await env.createContainer(pod, 'target', ['tail', '-f', '/dev/null']);
    initPid = Number((await env.containerStatus(id, true)).info.pid);
    assert.ok(initPid > 0);
  });
  after(async () => {
    try {
      await env?.cleanAndCheck();
    } finally {
      await env?.close();
    }
  });
  afterEach(async () => {
    // Nothing an exec started may outlive it.
    assert.deepEqual(childrenOf(initPid), [], 'the container init has no children after the exec returned');
  });

  it('returns exit codes without an error', async () => {
    assert.deepEqual(await env.exec(id, ['sh', '-c', 'exit 0']), { stdout: '', stderr: '', exitCode: 0 });
    assert.deepEqual(await env.exec(id, ['sh', '-c', 'exit 3']), { stdout: '', stderr: '', exitCode: 3 });
    assert.equal((await env.exec(id, ['false'])).exitCode, 1);
    // The exec runs inside the container: its own PID namespace, with tail as PID 1.
    assert.equal((await env.exec(id, ['cat', '/proc/1/comm'])).stdout, 'tail\n');
  });

  it('keeps stdout and stderr apart', async () => {
    const r = await env.exec(id, ['sh', '-c', 'echo out1; echo err1 >&2; echo out2; printf err2 >&2; exit 5']);
    assert.deepEqual(r, { stdout: 'out1\nout2\n', stderr: 'err1\nerr2', exitCode: 5 });
  });

  it('times out with DEADLINE_EXCEEDED and kills the process', async () => {
    const argv = ['sleep', '7777'];
    const t0 = Date.now();
    await assert.rejects(
      env.call('ExecSync', { containerId: id, cmd: argv, timeout: 1 }, 30_000),
      (e) => grpcCode(e) === GrpcStatus.DEADLINE_EXCEEDED && /timed out/.test((e as Error).message),
    );
    const took = Date.now() - t0;
    assert.ok(took >= 1000 && took < 5000, `answered after the 1 s timeout, not much later (${took} ms)`);
    assert.deepEqual(processesRunning(argv), [], 'the timed-out process is gone');
    const ps = await env.exec(id, ['ps', '-o', 'pid,stat,args']);
    assert.doesNotMatch(ps.stdout, /sleep/, `no sleep left in the container:\n${ps.stdout}`);
    // The container is still fine.
    assert.equal((await env.exec(id, ['echo', 'alive'])).stdout, 'alive\n');
  });

  it('delivers a megabyte of binary output intact, with stderr alongside', async () => {
    const r = await env.call<any>(
      'ExecSync',
      { containerId: id, cmd: ['sh', '-c', 'head -c 1048576 /dev/urandom > /tmp/r; cat /tmp/r; md5sum /tmp/r >&2; seq 1 50000 >&2; rm /tmp/r'], timeout: 30 },
      60_000,
    );
    assert.equal(r.exitCode, 0);
    const out = Buffer.from(r.stdout);
    assert.equal(out.length, 1 << 20);
    const err = Buffer.from(r.stderr).toString('utf8').split('\n');
    assert.equal(err[0], `${createHash('md5').update(out).digest('hex')}  /tmp/r`, 'the bytes are the ones the container wrote');
    assert.deepEqual(err.slice(1, -1).map(Number), Array.from({ length: 50000 }, (_, i) => i + 1));
  });

  it('refuses containers that are unknown or not running', async () => {
    await assert.rejects(env.exec('0'.repeat(64), ['true']), (e) => grpcCode(e) === GrpcStatus.NOT_FOUND);
    await assert.rejects(env.exec(id, []), (e) => grpcCode(e) === GrpcStatus.INVALID_ARGUMENT);
    const done = await env.createContainer(pod, 'done', ['true']);
    await env.waitExited(done);
    await assert.rejects(env.exec(done, ['true']), (e) => grpcCode(e) === GrpcStatus.FAILED_PRECONDITION);
    const created = await env.createContainer(pod, 'created', ['true'], { start: false });
    await assert.rejects(env.exec(created, ['true']), (e) => grpcCode(e) === GrpcStatus.FAILED_PRECONDITION);
  });
});
