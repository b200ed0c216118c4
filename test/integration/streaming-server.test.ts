// The streaming server end to end: real HTTP upgrades to SPDY/3.1 and WebSocket from independent
// clients (test/helpers/stream-client.ts), with a fake runtime in this file whose exec runs a real
// host process (`sh -c ...`) and whose port-forward dials 127.0.0.1.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Duplex } from 'node:stream';
import pino from 'pino';
import { StreamingServer } from '../../src/streaming/server';
import type { AttachRequest, ExecIO, ExecRequest, StreamingRuntime, TerminalSize } from '../../src/streaming/types';
import { isBerthError } from '../../src/util/errors';
import { setRootLogger } from '../../src/util/log';
import { spdyConnect, spdyExec, upgradeRequest, wsConnect, type ClientStream } from '../helpers/stream-client';

setRootLogger(pino({ level: 'silent' }));

const SH = '/bin/sh';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs the command on the host; records what the protocol layer handed it. */
class HostRuntime implements StreamingRuntime {
  pids: number[] = [];
  resizes: TerminalSize[][] = [];
  aborted = 0;
  forwards = 0;

  exec(req: ExecRequest, io: ExecIO): Promise<{ exitCode: number }> {
    return this.run(req.cmd, io);
  }

  attach(req: AttachRequest, io: ExecIO): Promise<void> {
    // "attach" to a cat: whatever comes in goes out.
    void req;
    return this.run(['cat'], io).then(() => undefined);
  }

  private run(cmd: string[], io: ExecIO): Promise<{ exitCode: number }> {
    const child = spawn(cmd[0], cmd.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.pids.push(child.pid!);
    const sizes: TerminalSize[] = [];
    this.resizes.push(sizes);
    if (io.resize) void (async () => { for await (const s of io.resize!) sizes.push(s); })();
    const onAbort = () => {
      this.aborted++;
      child.kill('SIGKILL');
    };
    io.signal.addEventListener('abort', onAbort);
    child.stdin.on('error', () => undefined);
    if (io.stdin) io.stdin.pipe(child.stdin);
    else child.stdin.end();
    const outDone = pipeOut(child.stdout, io.stdout);
    const errDone = pipeOut(child.stderr, io.stderr);
    return new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', async (code, sig) => {
        io.signal.removeEventListener('abort', onAbort);
        await Promise.all([outDone, errDone]);
        resolve({ exitCode: code ?? 128 + (sig ? 9 : 0) });
      });
    });
  }

  portForward(_pod: string, port: number, stream: Duplex, signal: AbortSignal): Promise<void> {
    this.forwards++;
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1');
      const abort = () => sock.destroy();
      signal.addEventListener('abort', abort);
      sock.once('error', (e) => {
        signal.removeEventListener('abort', abort);
        reject(e);
      });
      sock.once('connect', () => {
        stream.pipe(sock);
        sock.pipe(stream);
      });
      sock.once('close', () => {
        signal.removeEventListener('abort', abort);
        resolve();
      });
    });
  }
}

function pipeOut(from: NodeJS.ReadableStream, to: NodeJS.WritableStream | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!to) {
      from.resume();
      from.on('end', resolve);
      return;
    }
    from.pipe(to, { end: false });
    from.on('end', resolve);
    from.on('error', () => resolve());
    to.on('error', () => resolve());
  });
}

describe('streaming server', () => {
  const runtime = new HostRuntime();
  let server: StreamingServer;
  let echo: net.Server;
  let echoPort = 0;
  let closedPort = 0;
  let dir = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-streaming-'));
    server = new StreamingServer({ runtime, requestTtlMs: 60_000 });
    await server.start();
    echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoPort = (echo.address() as net.AddressInfo).port;
    // A port nobody listens on: bind then close.
    const tmp = net.createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
    closedPort = (tmp.address() as net.AddressInfo).port;
    await new Promise<void>((r) => tmp.close(() => r()));
  });

  after(async () => {
    await server.stop();
    await new Promise<void>((r) => echo.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
    for (const pid of runtime.pids) assert.equal(alive(pid), false, `process ${pid} left running`);
  });

  const execUrl = (cmd: string, o: Partial<ExecRequest> = {}) =>
    server.getExecUrl({ containerId: 'c1', cmd: [SH, '-c', cmd], tty: false, stdin: false, stdout: true, stderr: false, ...o });

  describe('SPDY exec', () => {
    it('exit 0: output on stdout and stderr, Success status', async () => {
      const r = await spdyExec(execUrl('echo hello; echo oops >&2', { stderr: true }), { stderr: true });
      assert.equal(r.protocol, 'v5.channel.k8s.io');
      assert.equal(r.stdout.toString(), 'hello\n');
      assert.equal(r.stderr.toString(), 'oops\n');
      assert.equal(r.errorText, '{"metadata":{},"status":"Success"}');
      await r.client.closedPromise;
    });

    it('exit 7: NonZeroExitCode with an ExitCode cause of 7', async () => {
      const r = await spdyExec(execUrl('exit 7', { stderr: true }), { stderr: true, protocols: ['v4.channel.k8s.io'] });
      assert.equal(r.protocol, 'v4.channel.k8s.io');
      assert.equal(r.status?.status, 'Failure');
      assert.equal(r.status?.reason, 'NonZeroExitCode');
      assert.deepEqual(r.status?.details?.causes, [{ reason: 'ExitCode', message: '7' }]);
      assert.match(r.status?.message ?? '', /non-zero exit code/);
    });

    it('pre-v4 protocol: failure as plain text, nothing on success', async () => {
      const ok = await spdyExec(execUrl('true'), { protocols: ['v3.channel.k8s.io'] });
      assert.equal(ok.protocol, 'v3.channel.k8s.io');
      assert.equal(ok.errorText, '');
      const bad = await spdyExec(execUrl('exit 3'), { protocols: ['v2.channel.k8s.io'] });
      assert.match(bad.errorText, /non-zero exit code: exit status 3/);
    });

    it('stdin reaches the process and its EOF ends it', async () => {
      const input = randomBytes(200_000);
      const r = await spdyExec(execUrl('cat; echo end >&2', { stdin: true, stderr: true }), { stdin: input, stderr: true });
      assert.ok(r.stdout.equals(input), 'stdin echoed intact');
      assert.equal(r.stderr.toString(), 'end\n', 'cat saw EOF');
      assert.equal(r.status?.status, 'Success');
    });

    it('stdin flow-controlled by a windowed client beyond 64 KiB', async () => {
      const input = randomBytes(1_000_000);
      const r = await spdyExec(execUrl('cat', { stdin: true }), { stdin: input, flowControl: 'windowed' });
      assert.ok(r.stdout.equals(input));
      assert.ok((r.client.frameCounts.get('window_update') ?? 0) > 0, 'server granted window');
    });

    it('tty: resize messages reach the runtime in order', async () => {
      const before = runtime.resizes.length;
      const sizes = [{ Width: 80, Height: 24 }, { Width: 100, Height: 40 }, { Width: 132, Height: 50 }];
      const r = await spdyExec(execUrl('sleep 0.3; echo done', { tty: true, stderr: false }), { tty: true, resize: sizes });
      assert.equal(r.stdout.toString(), 'done\n');
      assert.deepEqual(runtime.resizes[before], sizes.map((s) => ({ width: s.Width, height: s.Height })));
    });

    it('100 MB of output arrives intact (client without flow control, like kubectl)', async () => {
      const file = join(dir, 'big');
      const data = randomBytes(100 * 1024 * 1024);
      writeFileSync(file, data);
      const want = createHash('sha256').update(data).digest('hex');
      const t0 = Date.now();
      const r = await spdyExec(execUrl(`cat ${file}`, { stderr: false }), { hashStdout: true });
      const ms = Date.now() - t0;
      assert.equal(r.stdoutBytes, data.length);
      assert.equal(r.stdoutSha256, want);
      assert.equal(r.status?.status, 'Success');
      console.log(`# 100 MiB exec output over SPDY in ${ms} ms`);
    });

    it('a windowed client with the window enforced gets all output', async () => {
      const s2 = new StreamingServer({ runtime, spdyFlowControl: 'always' });
      await s2.start();
      try {
        const file = join(dir, 'mid');
        const data = randomBytes(3 * 1024 * 1024);
        writeFileSync(file, data);
        const url = s2.getExecUrl({ containerId: 'c', cmd: ['cat', file], tty: false, stdin: false, stdout: true, stderr: false });
        const r = await spdyExec(url, { flowControl: 'windowed' });
        assert.ok(r.stdout.equals(data));
        assert.ok((r.client.frameCounts.get('data') ?? 0) >= 3 * 1024 * 1024 / 65536);
      } finally {
        await s2.stop();
      }
    });

    it('a client that vanishes mid-stream gets its process killed', async () => {
      const abortedBefore = runtime.aborted;
      const url = execUrl('while :; do echo tick; sleep 0.05; done', { stderr: true });
      const client = await spdyConnect(url, ['v4.channel.k8s.io']);
      client.openStream({ streamType: 'error' });
      const out = client.openStream({ streamType: 'stdout' });
      client.openStream({ streamType: 'stderr' });
      await new Promise((r) => out.once('data', r));
      const pid = runtime.pids[runtime.pids.length - 1];
      assert.ok(alive(pid));
      client.socket.destroy();
      await waitFor(() => !alive(pid), 5000, `pid ${pid} to die`);
      assert.equal(runtime.aborted, abortedBefore + 1);
    });

    it('answers PING and refuses streams of unknown type', async () => {
      const client = await spdyConnect(execUrl('sleep 0.2'), ['v4.channel.k8s.io']);
      const pong = new Promise((r) => client.once('ping', r));
      client.ping(7);
      assert.equal(await pong, 7);
      const bogus: ClientStream = client.openStream({ streamType: 'nonsense' });
      await new Promise((r) => bogus.once('rst', r));
      assert.equal(bogus.reset, 3); // REFUSED_STREAM
      client.socket.destroy();
    });

    it('attach copies stdin to stdout', async () => {
      const url = server.getAttachUrl({ containerId: 'c1', tty: false, stdin: true, stdout: true, stderr: false });
      assert.match(url, /\/attach\//);
      const r = await spdyExec(url, { stdin: 'attached\n' });
      assert.equal(r.stdout.toString(), 'attached\n');
      assert.equal(r.status?.status, 'Success');
    });
  });

  describe('tokens', () => {
    it('a used token is gone: 404', async () => {
      const url = execUrl('true');
      const r = await spdyExec(url, { protocols: ['v4.channel.k8s.io'] });
      assert.equal(r.status?.status, 'Success');
      const again = await upgradeRequest(url, { Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' });
      assert.equal(again.status, 404);
    });

    it('an expired token: 404', async () => {
      const s2 = new StreamingServer({ runtime, requestTtlMs: 150 });
      await s2.start();
      try {
        const url = s2.getExecUrl({ containerId: 'c', cmd: ['true'], tty: false, stdin: false, stdout: true, stderr: false });
        await new Promise((r) => setTimeout(r, 300));
        const r = await upgradeRequest(url, { Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' });
        assert.equal(r.status, 404);
      } finally {
        await s2.stop();
      }
    });

    it('unknown tokens and tokens on the wrong path: 404; plain GET: 400', async () => {
      const url = execUrl('true');
      const wrong = url.replace('/exec/', '/attach/');
      assert.equal((await upgradeRequest(wrong, { Upgrade: 'SPDY/3.1' })).status, 404);
      assert.equal((await upgradeRequest(url, { Upgrade: 'SPDY/3.1' })).status, 404, 'consumed by the wrong-path try');
      const url2 = execUrl('true');
      const plain = await fetch(url2);
      assert.equal(plain.status, 400);
      assert.equal((await fetch(`${server.url}/exec/nosuchtoken`)).status, 404);
    });

    it('unsupported protocol versions: 403 with the accepted list', async () => {
      const r = await upgradeRequest(execUrl('true'), { Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v9.channel.k8s.io' });
      assert.equal(r.status, 403);
      assert.match(String(r.headers['x-accepted-stream-protocol-versions']), /v4\.channel\.k8s\.io/);
    });

    it('too many outstanding URLs: resource-exhausted', async () => {
      const s2 = new StreamingServer({ runtime, maxInFlightRequests: 2 });
      await s2.start();
      try {
        const req = { containerId: 'c', cmd: ['true'], tty: false, stdin: false, stdout: true, stderr: false };
        s2.getExecUrl(req);
        s2.getExecUrl(req);
        assert.throws(() => s2.getExecUrl(req), (e) => isBerthError(e, 'resource-exhausted'));
        assert.throws(() => s2.getExecUrl({ ...req, tty: true, stderr: true }), (e) => isBerthError(e, 'invalid-argument'));
      } finally {
        await s2.stop();
      }
    });
  });

  describe('SPDY port-forward', () => {
    it('20 concurrent forwarded connections on one SPDY connection, echoed intact', async () => {
      const url = server.getPortForwardUrl({ podSandboxId: 'pod1' });
      const client = await spdyConnect(url, ['portforward.k8s.io']);
      assert.equal(client.protocol, 'portforward.k8s.io');
      const runs = Array.from({ length: 20 }, async (_, i) => {
        const payload = randomBytes(100_000 + i * 1000);
        const headers = { port: String(echoPort), requestID: String(i) };
        const err = client.openStream({ ...headers, streamType: 'error' });
        const data = client.openStream({ ...headers, streamType: 'data' });
        await data.replied;
        await data.write(payload);
        data.end();
        const got = await data.done();
        const errText = (await err.done()).toString();
        assert.equal(errText, '', `request ${i} error stream`);
        assert.ok(got.equals(payload), `request ${i} echoed ${got.length}/${payload.length} bytes`);
      });
      await Promise.all(runs);
      client.close();
      await client.closedPromise;
    });

    it('20 concurrent SPDY connections', async () => {
      await Promise.all(Array.from({ length: 20 }, async (_, i) => {
        const client = await spdyConnect(server.getPortForwardUrl({ podSandboxId: 'pod1' }), ['portforward.k8s.io'], { flowControl: 'windowed' });
        const payload = randomBytes(300_000);
        const h = { port: String(echoPort), requestID: '0' };
        const err = client.openStream({ ...h, streamType: 'error' });
        const data = client.openStream({ ...h, streamType: 'data' });
        await data.write(payload);
        data.end();
        assert.ok((await data.done()).equals(payload), `connection ${i}`);
        assert.equal((await err.done()).toString(), '');
        client.close();
      }));
    });

    it('a port nobody listens on: JSON error on the error stream', async () => {
      const client = await spdyConnect(server.getPortForwardUrl({ podSandboxId: 'pod1' }), ['portforward.k8s.io']);
      const h = { port: String(closedPort), requestID: '1' };
      const err = client.openStream({ ...h, streamType: 'error' });
      const data = client.openStream({ ...h, streamType: 'data' });
      const text = (await err.done()).toString();
      const msg = JSON.parse(text) as { closeConnection?: boolean; message: string };
      assert.match(msg.message, new RegExp(`error forwarding port ${closedPort} to pod pod1.*ECONNREFUSED`));
      assert.equal(msg.closeConnection, true);
      await data.done();
      client.close();
    });

    it('a stream without a valid port is refused', async () => {
      const client = await spdyConnect(server.getPortForwardUrl({ podSandboxId: 'pod1' }), ['portforward.k8s.io']);
      const s = client.openStream({ port: '0', streamType: 'data', requestID: '1' });
      await new Promise((r) => s.once('rst', r));
      assert.equal(s.reset, 3);
      client.close();
    });
  });

  describe('WebSocket', () => {
    it('v4 binary exec: output, exit 7 status on channel 3', async () => {
      const s = await wsConnect(execUrl('echo out; echo err >&2; exit 7', { stderr: true }), ['v4.channel.k8s.io']);
      assert.equal(s.protocol, 'v4.channel.k8s.io');
      const { code } = await s.closed;
      assert.equal(code, 1000);
      assert.deepEqual(s.messages[0], { channel: 1, data: Buffer.alloc(0) }, 'empty hello on stdout first');
      assert.equal(s.channelData(1).toString(), 'out\n');
      assert.equal(s.channelData(2).toString(), 'err\n');
      const st = JSON.parse(s.channelData(3).toString());
      assert.equal(st.reason, 'NonZeroExitCode');
      assert.deepEqual(st.details.causes, [{ reason: 'ExitCode', message: '7' }]);
    });

    it('v4 base64 exec with stdin and resize', async () => {
      const before = runtime.resizes.length;
      const s = await wsConnect(execUrl('head -c 5; echo', { stdin: true, tty: true, stderr: false }), ['v4.base64.channel.k8s.io']);
      assert.equal(s.protocol, 'v4.base64.channel.k8s.io');
      s.send(4, JSON.stringify({ Width: 90, Height: 30 }));
      s.send(0, 'hello');
      const { code } = await s.closed;
      assert.equal(code, 1000);
      assert.equal(s.channelData(1).toString(), 'hello\n');
      assert.equal(JSON.parse(s.channelData(3).toString()).status, 'Success');
      assert.deepEqual(runtime.resizes[before], [{ width: 90, height: 30 }]);
    });

    it('v5: closing the stdin channel is EOF for the process', async () => {
      const s = await wsConnect(execUrl('cat; echo eof', { stdin: true, stderr: false }), ['v5.channel.k8s.io']);
      assert.equal(s.protocol, 'v5.channel.k8s.io');
      s.send(0, 'abc');
      s.closeChannel(0);
      await s.closed;
      assert.equal(s.channelData(1).toString(), 'abceof\n');
      assert.equal(JSON.parse(s.channelData(3).toString()).status, 'Success');
    });

    it('no subprotocol: binary channels, failure as text', async () => {
      const s = await wsConnect(execUrl('exit 2'), []);
      assert.equal(s.protocol, '');
      await s.closed;
      assert.match(s.channelData(3).toString(), /non-zero exit code: exit status 2/);
    });

    it('a client that disconnects gets its process killed', async () => {
      const s = await wsConnect(execUrl('while :; do echo tick; sleep 0.05; done'), ['v4.channel.k8s.io']);
      await waitFor(() => s.channelData(1).length > 0, 5000, 'output');
      const pid = runtime.pids[runtime.pids.length - 1];
      s.ws.terminate();
      await waitFor(() => !alive(pid), 5000, `pid ${pid} to die`);
    });

    it('v4 port-forward: port prefix on both channels, then echo', async () => {
      const url = server.getPortForwardUrl({ podSandboxId: 'pod1', ports: [echoPort] });
      const s = await wsConnect(url, ['v4.channel.k8s.io']);
      const portLE = Buffer.alloc(2);
      portLE.writeUInt16LE(echoPort);
      await waitFor(() => s.messages.length >= 2, 5000, 'port prefixes');
      assert.deepEqual(s.messages.slice(0, 2), [{ channel: 0, data: portLE }, { channel: 1, data: portLE }]);
      const payload = randomBytes(50_000);
      s.send(0, payload);
      await waitFor(() => s.channelData(0).length >= 2 + payload.length, 5000, 'echo');
      assert.ok(s.channelData(0).subarray(2).equals(payload));
      s.ws.close();
      await s.closed;
    });

    it('v4 base64 port-forward to a closed port: error text on the error channel', async () => {
      const url = server.getPortForwardUrl({ podSandboxId: 'pod1', ports: [closedPort] });
      const s = await wsConnect(url, ['v4.base64.channel.k8s.io']);
      await s.closed;
      assert.match(s.channelData(1).subarray(2).toString(), /ECONNREFUSED/);
    });
  });

  it('exec round-trip latency over SPDY (trivial command)', async () => {
    const n = 20;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const r = await spdyExec(server.getExecUrl({ containerId: 'c', cmd: ['true'], tty: false, stdin: false, stdout: true, stderr: false }), { protocols: ['v4.channel.k8s.io'] });
      assert.equal(r.status?.status, 'Success');
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6 / n;
    console.log(`# exec round trip (SPDY, /bin/true on the host): ${ms.toFixed(2)} ms mean over ${n}`);
  });
});
