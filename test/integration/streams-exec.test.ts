// Streaming exec through a real berthd (runc, conmon, CNI): the CRI Exec URL driven by independent
// SPDY and WebSocket clients (test/helpers/stream-client.ts). Exit codes on the error stream, stdin,
// terminals (output, exit code, resize), 100 MB intact, and a client that vanishes mid-exec leaving
// no process behind; berthd's fds are counted before and after.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { GrpcStatus, RuntimeEnv, grpcCode, sleep, waitFor, type Pod } from '../helpers/runtime-leaks';
import { spdyConnect, spdyExec, wsConnect } from '../helpers/stream-client';

/** Host PIDs whose cmdline is exactly `argv`. */
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


/** berthd's open fds, by what they point at. */
function fdTargets(pid: number): string[] {
  const out: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      out.push(`${fd} -> ${readlinkSync(`/proc/${pid}/fd/${fd}`)}`);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** Descendants of `pid` (runc children left behind would show here). */
function childrenOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
}

async function execUrl(env: RuntimeEnv, req: object): Promise<string> {
  return (await env.call<{ url: string }>('Exec', req)).url;
}

describe('streaming exec over CRI', { timeout: 300_000 }, () => {
  let env: RuntimeEnv;
  let pod: Pod;
  let id = '';
  let fdsBefore: string[] = [];
  before(async () => {
    env = await RuntimeEnv.start();
    pod = await env.runPod('exec', { pid: 'CONTAINER' });
    id = await env.createContainer(pod, 'target', ['tail', '-f', '/dev/null']);
    // One exec first so lazily opened things (the addon, log files) are counted in the baseline.
    await spdyExec(await execUrl(env, { containerId: id, cmd: ['true'], stdout: true }));
    await spdyExec(await execUrl(env, { containerId: id, cmd: ['true'], stdout: true, tty: true, stdin: true }), { tty: true, stdin: '' });
    fdsBefore = fdTargets(env.berthd.pid);
  });
  after(async () => {
    try {
      if (env) {
        // Nothing of the execs is left open in berthd, nor running under it.
        await waitFor('berthd fds back to the baseline', () => fdTargets(env.berthd.pid).length <= fdsBefore.length, 5000).catch(() => undefined);
        const fdsAfter = fdTargets(env.berthd.pid);
        const extra = fdsAfter.filter((f) => !fdsBefore.includes(f));
        assert.ok(fdsAfter.length <= fdsBefore.length, `berthd had ${fdsBefore.length} fds before the tests and ${fdsAfter.length} after; new: ${extra.join(', ')}`);
        assert.deepEqual(childrenOf(env.berthd.pid), [], 'no runc left under berthd');
        await env.cleanAndCheck();
      }
    } finally {
      await env?.close();
    }
  });

  it('reports a non-zero exit code on the error stream, stdout and stderr apart (SPDY)', async () => {
    const url = await execUrl(env, { containerId: id, cmd: ['sh', '-c', 'echo out; echo err >&2; exit 7'], stdout: true, stderr: true });
    const r = await spdyExec(url, { stderr: true });
    assert.equal(r.stdout.toString(), 'out\n');
    assert.equal(r.stderr.toString(), 'err\n');
    assert.equal(r.status?.status, 'Failure');
    assert.equal(r.status?.reason, 'NonZeroExitCode');
    assert.deepEqual(r.status?.details?.causes, [{ reason: 'ExitCode', message: '7' }]);
  });

  it('reports success for exit 0 and errors for a command that cannot run', async () => {
    const ok = await spdyExec(await execUrl(env, { containerId: id, cmd: ['echo', 'hello'], stdout: true, stderr: true }), { stderr: true });
    assert.equal(ok.stdout.toString(), 'hello\n');
    assert.equal(ok.status?.status, 'Success');
    const bad = await spdyExec(await execUrl(env, { containerId: id, cmd: ['/no/such/binary'], stdout: true, stderr: true }), { stderr: true });
    assert.equal(bad.status?.status, 'Failure');
    assert.match(bad.status?.message ?? '', /no such file|not found/i);
  });

  it('feeds stdin and ends it when the client closes it (SPDY)', async () => {
    const url = await execUrl(env, { containerId: id, cmd: ['sh', '-c', 'cat; echo done'], stdin: true, stdout: true, stderr: true });
    const r = await spdyExec(url, { stdin: 'line one\nline two\n', stderr: true });
    assert.equal(r.stdout.toString(), 'line one\nline two\ndone\n');
    assert.equal(r.status?.status, 'Success');
  });

  it('runs with a terminal: output, stdin and the exit code', async () => {
    const url = await execUrl(env, { containerId: id, cmd: ['sh'], stdin: true, stdout: true, tty: true });
    const r = await spdyExec(url, { tty: true, stdin: 'echo hi; exit 3\n' });
    assert.match(r.stdout.toString(), /\r\nhi\r\n/);
    assert.deepEqual(r.status?.details?.causes, [{ reason: 'ExitCode', message: '3' }]);
  });

  it('prints hello\\r\\n for echo hello on a terminal (what critest expects)', async () => {
    const url = await execUrl(env, { containerId: id, cmd: ['echo', 'hello'], stdin: true, stdout: true, tty: true });
    const r = await spdyExec(url, { tty: true, stdin: null });
    assert.equal(r.stdout.toString(), 'hello\r\n');
    assert.equal(r.status?.status, 'Success');
  });

  it('applies terminal resizes', async () => {
    const url = await execUrl(env, { containerId: id, cmd: ['sh', '-c', 'sleep 1; stty size'], stdin: true, stdout: true, tty: true });
    const r = await spdyExec(url, { tty: true, stdin: null, resize: [{ Width: 123, Height: 45 }] });
    assert.match(r.stdout.toString(), /^45 123\r\n$/);
  });

  it('delivers 100 MB of output intact', { timeout: 180_000 }, async () => {
    const size = 100 * 1024 * 1024;
    const line = Buffer.from('0123456789abcdef\n');
    const expected = createHash('sha256');
    const block = Buffer.concat(Array.from({ length: 4096 }, () => line));
    let left = size;
    while (left > 0) {
      const part = block.subarray(0, Math.min(block.length, left));
      expected.update(part);
      left -= part.length;
    }
    const url = await execUrl(env, { containerId: id, cmd: ['sh', '-c', `yes 0123456789abcdef | head -c ${size}`], stdout: true, stderr: true });
    const r = await spdyExec(url, { stderr: true, hashStdout: true });
    assert.equal(r.stdoutBytes, size);
    assert.equal(r.stdoutSha256, expected.digest('hex'));
    assert.equal(r.status?.status, 'Success');
  });

  it('kills the process when the client vanishes mid-exec', async () => {
    const argv = ['sleep', '4321'];
    const url = await execUrl(env, { containerId: id, cmd: argv, stdin: true, stdout: true, stderr: true });
    const client = await spdyConnect(url, ['v4.channel.k8s.io']);
    for (const t of ['error', 'stdin', 'stdout', 'stderr']) client.openStream({ streamType: t });
    await waitFor('the exec to start', () => processesRunning(argv).length === 1, 10_000);
    // A crashed client: the connection is reset (a FIN alone half-closes the streams, see src/streaming/).
    client.socket.resetAndDestroy();
    await waitFor('the exec process to be killed', () => processesRunning(argv).length === 0, 10_000);
    const ps = await env.exec(id, ['ps', '-o', 'args']);
    assert.doesNotMatch(ps.stdout, /sleep 4321/);
    await waitFor('runc to exit', () => childrenOf(env.berthd.pid).length === 0, 10_000);
  });

  it('works over WebSocket (v5): stdin close, exit code', async () => {
    const url = await execUrl(env, { containerId: id, cmd: ['sh', '-c', 'cat; exit 5'], stdin: true, stdout: true, stderr: true });
    const s = await wsConnect(url, ['v5.channel.k8s.io']);
    s.send(0, 'via websocket\n');
    await sleep(100);
    s.closeChannel(0);
    await s.closed;
    assert.equal(s.channelData(1).toString(), 'via websocket\n');
    const status = JSON.parse(s.channelData(3).toString());
    assert.deepEqual(status.details?.causes, [{ reason: 'ExitCode', message: '5' }]);
  });

  it('refuses a container that is not running', async () => {
    const done = await env.createContainer(pod, 'done', ['true']);
    await env.waitExited(done);
    await assert.rejects(execUrl(env, { containerId: done, cmd: ['true'], stdout: true }), (e) => grpcCode(e) === GrpcStatus.FAILED_PRECONDITION);
  });
});
