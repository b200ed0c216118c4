// Attach and port-forward through a real berthd: attach to a container's shell (terminal and not),
// two clients at once, resize, detach leaving the container running; port-forward into a pod's
// network namespace (20 concurrent echoed connections), into a host-network pod, and refused
// connections reported on the error stream. berthd's fds are counted before and after.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { readdirSync, readlinkSync } from 'node:fs';
import { RuntimeEnv, waitFor, type Pod } from '../helpers/runtime-leaks';
import { spdyConnect, spdyExec, wsConnect, type ClientStream, type SpdyClient } from '../helpers/stream-client';
import { freePort } from '../helpers/registry';

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

interface Interactive {
  tty: boolean;
  stdin: boolean;
  stdinOnce?: boolean;
}

async function createInteractive(env: RuntimeEnv, pod: Pod, name: string, command: string[], o: Interactive): Promise<string> {
  const res = await env.call<{ containerId: string }>('CreateContainer', {
    podSandboxId: pod.id,
    sandboxConfig: pod.config,
    config: {
      metadata: { name, attempt: 0 },
      image: { image: env.image },
      command,
      logPath: `${name}.log`,
      tty: o.tty,
      stdin: o.stdin,
      stdinOnce: o.stdinOnce ?? false,
    },
  });
  env.containers.set(res.containerId, {});
  await env.startContainer(res.containerId);
  return res.containerId;
}

interface AttachSession {
  client: SpdyClient;
  error: ClientStream;
  stdin: ClientStream;
  stdout: ClientStream;
  stderr?: ClientStream;
  resize?: ClientStream;
  text(): string;
}

async function attach(env: RuntimeEnv, id: string, tty: boolean): Promise<AttachSession> {
  const { url } = await env.call<{ url: string }>('Attach', { containerId: id, stdin: true, stdout: true, stderr: !tty, tty });
  const client = await spdyConnect(url, ['v4.channel.k8s.io']);
  const error = client.openStream({ streamType: 'error' });
  const stdin = client.openStream({ streamType: 'stdin' });
  const stdout = client.openStream({ streamType: 'stdout' });
  const stderr = tty ? undefined : client.openStream({ streamType: 'stderr' });
  const resize = tty ? client.openStream({ streamType: 'resize' }) : undefined;
  await Promise.all([error, stdin, stdout, stderr, resize].filter(Boolean).map((s) => s!.replied));
  return { client, error, stdin, stdout, stderr, resize, text: () => Buffer.concat(stdout.chunks).toString() };
}

/**
 * env.close() can wait on gRPC calls whose timers grpc-js does not ref; with nothing else pending the
 * test runner would see an empty event loop. A ref'd timer keeps it alive meanwhile.
 */
async function closeEnv(env: RuntimeEnv | undefined): Promise<void> {
  const keep = setInterval(() => undefined, 1000);
  try {
    await env?.close();
  } finally {
    clearInterval(keep);
  }
}

async function running(env: RuntimeEnv, id: string): Promise<boolean> {
  return (await env.containerStatus(id)).status.state === 'CONTAINER_RUNNING';
}

describe('attach over CRI', { timeout: 240_000 }, () => {
  let env: RuntimeEnv;
  let pod: Pod;
  let fdsBefore: string[] = [];
  before(async () => {
    env = await RuntimeEnv.start();
    pod = await env.runPod('attach');
    fdsBefore = fdTargets(env.berthd.pid);
  });
  after(async () => {
    try {
      if (env) {
        await waitFor('berthd fds back to the baseline', () => fdTargets(env.berthd.pid).length <= fdsBefore.length, 5000).catch(() => undefined);
        const now = fdTargets(env.berthd.pid);
        assert.ok(now.length <= fdsBefore.length, `berthd fds: ${fdsBefore.length} before, ${now.length} after; new: ${now.filter((f) => !fdsBefore.includes(f)).join(', ')}`);
        await env.cleanAndCheck();
      }
    } finally {
      await closeEnv(env);
    }
  });

  it('terminal: a command through stdin, its output, resize, detach leaves the container running', async () => {
    const id = await createInteractive(env, pod, 'tty-sh', ['sh'], { tty: true, stdin: true });
    const a = await attach(env, id, true);
    await a.stdin.write('echo hi-$((6*7))\n');
    await waitFor('the command output', () => a.text().includes('hi-42'), 10_000);
    await a.resize!.write(JSON.stringify({ Width: 77, Height: 22 }));
    await waitFor('the resize to apply', async () => {
      await a.stdin.write('stty size\n');
      await new Promise((r) => setTimeout(r, 300));
      return a.text().includes('22 77');
    }, 10_000, 200);
    a.stdin.end(); // detach
    const status = JSON.parse((await a.error.done()).toString() || '{"status":"Success"}');
    assert.equal(status.status, 'Success');
    await a.client.closedPromise;
    assert.ok(await running(env, id), 'the container still runs after the client detached');
    // and can be attached again
    const b = await attach(env, id, true);
    await b.stdin.write('echo again\n');
    await waitFor('output on a second attach', () => b.text().includes('again'), 10_000);
    b.stdin.end();
    await b.client.closedPromise;
    assert.ok(await running(env, id));
  });

  it('two clients at once both see the output', async () => {
    const id = await createInteractive(env, pod, 'two', ['sh'], { tty: false, stdin: true });
    const a = await attach(env, id, false);
    const b = await attach(env, id, false);
    await a.stdin.write('echo from-a; echo oops >&2\n');
    await waitFor('output on both', () => a.text() === 'from-a\n' && b.text() === 'from-a\n', 10_000);
    await waitFor('stderr on both', () => Buffer.concat(a.stderr!.chunks).toString() === 'oops\n' && Buffer.concat(b.stderr!.chunks).toString() === 'oops\n', 10_000);
    a.stdin.end();
    await a.client.closedPromise;
    // b is still attached, and the container's stdin still open (not stdinOnce)
    await b.stdin.write('echo from-b\n');
    await waitFor('b still attached', () => b.text() === 'from-a\nfrom-b\n', 10_000);
    b.stdin.end();
    await b.client.closedPromise;
    assert.ok(await running(env, id));
  });

  it('attach ends when the container exits (WebSocket)', async () => {
    const id = await createInteractive(env, pod, 'ends', ['sh'], { tty: false, stdin: true });
    const { url } = await env.call<{ url: string }>('Attach', { containerId: id, stdin: true, stdout: true, stderr: true, tty: false });
    const s = await wsConnect(url, ['v5.channel.k8s.io']);
    s.send(0, 'echo bye; exit 4\n');
    await s.closed;
    assert.equal(s.channelData(1).toString(), 'bye\n');
    const st = await env.waitExited(id);
    assert.equal(st.exitCode, 4);
  });
});

describe('port-forward over CRI', { timeout: 240_000 }, () => {
  let env: RuntimeEnv;
  let pod: Pod;
  let hostServer: Server;
  let hostPort = 0;
  let ctr = '';
  let blob = Buffer.alloc(0);
  let fdsBefore: string[] = [];
  before(async () => {
    env = await RuntimeEnv.start();
    pod = await env.runPod('pf');
    // busybox nc -ll resets concurrent connections; httpd forks one process per connection.
    ctr = await env.createContainer(pod, 'web', ['sh', '-c', 'mkdir -p /www && head -c 300000 /dev/urandom > /www/blob && exec httpd -f -p 8080 -h /www']);
    hostPort = await freePort();
    hostServer = createServer((c) => c.pipe(c));
    await new Promise<void>((r) => hostServer.listen(hostPort, '127.0.0.1', r));
    // nc is listening once a connection from inside the pod succeeds.
    await waitFor('httpd to serve', async () => (await env.exec(ctr, ['wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/blob'])).exitCode === 0, 10_000, 200);
    blob = Buffer.from((await env.call<any>('ExecSync', { containerId: ctr, cmd: ['cat', '/www/blob'], timeout: 10 })).stdout);
    assert.equal(blob.length, 300000);
    fdsBefore = fdTargets(env.berthd.pid);
  });
  after(async () => {
    try {
      if (env) {
        await waitFor('berthd fds back to the baseline', () => fdTargets(env.berthd.pid).length <= fdsBefore.length, 5000).catch(() => undefined);
        const now = fdTargets(env.berthd.pid);
        assert.ok(now.length <= fdsBefore.length, `berthd fds: ${fdsBefore.length} before, ${now.length} after; new: ${now.filter((f) => !fdsBefore.includes(f)).join(', ')}`);
        await env.cleanAndCheck();
      }
    } finally {
      hostServer?.close();
      await closeEnv(env);
    }
  });

  async function forward(podId: string, port: number, payloads: Buffer[]): Promise<Array<{ data: Buffer; error: string }>> {
    const { url } = await env.call<{ url: string }>('PortForward', { podSandboxId: podId, port: [] });
    const client = await spdyConnect(url, ['portforward.k8s.io']);
    try {
      return await Promise.all(payloads.map(async (payload, i) => {
        const h = { port: String(port), requestID: String(i) };
        const err = client.openStream({ ...h, streamType: 'error' });
        const data = client.openStream({ ...h, streamType: 'data' });
        await data.replied;
        if (payload.length) await data.write(payload);
        data.end();
        const [got, e] = await Promise.all([data.done(), err.done()]);
        return { data: got, error: e.toString() };
      }));
    } finally {
      client.close();
      await client.closedPromise;
    }
  }

  it('20 concurrent connections into the pod (HTTP from httpd) arrive intact', async () => {
    const req = Buffer.from('GET /blob HTTP/1.0\r\nHost: pod\r\n\r\n');
    const r = await forward(pod.id, 8080, Array.from({ length: 20 }, () => req));
    r.forEach((x, i) => {
      assert.equal(x.error, '', `connection ${i} error stream`);
      const sep = x.data.indexOf('\r\n\r\n');
      assert.match(x.data.subarray(0, sep).toString(), /^HTTP\/1\.[01] 200/, `connection ${i} status`);
      assert.ok(x.data.subarray(sep + 4).equals(blob), `connection ${i}: body of ${x.data.length - sep - 4} bytes is the file`);
    });
  });

  it('sends a megabyte into the pod intact and half-closes (md5sum behind nc)', async () => {
    await env.exec(ctr, ['sh', '-c', 'nc -l -p 9090 -e md5sum >/dev/null 2>&1 &']);
    await new Promise((r) => setTimeout(r, 500));
    const payload = randomBytes(1 << 20);
    const [r] = await forward(pod.id, 9090, [payload]);
    assert.equal(r.error, '');
    assert.equal(r.data.toString().split(' ')[0], createHash('md5').update(payload).digest('hex'));
  });

  it('connects inside the pod namespace, not the host: a host-only port is refused on the error stream', async () => {
    const [r] = await forward(pod.id, hostPort, [Buffer.from('x')]);
    assert.match(r.error, new RegExp(`localhost:${hostPort}.*ECONNREFUSED`));
  });

  it('a host-network pod reaches the host 127.0.0.1', async () => {
    const hostPod = await env.runPod('pf-host', { network: 'NODE' });
    const payload = randomBytes(200_000);
    const [r] = await forward(hostPod.id, hostPort, [payload]);
    assert.equal(r.error, '');
    assert.ok(r.data.equals(payload));
    await env.call('StopPodSandbox', { podSandboxId: hostPod.id });
    await env.call('RemovePodSandbox', { podSandboxId: hostPod.id });
  });

  it('a pod side that closes first ends the forward even while the client keeps its side open', async () => {
    const closer = createServer((c) => c.end('bye'));
    const port = await freePort();
    await new Promise<void>((r) => closer.listen(port, '127.0.0.1', r));
    const hostPod = await env.runPod('pf-closer', { network: 'NODE' });
    try {
      const { url } = await env.call<{ url: string }>('PortForward', { podSandboxId: hostPod.id, port: [] });
      const client = await spdyConnect(url, ['portforward.k8s.io']);
      const h = { port: String(port), requestID: '0' };
      const err = client.openStream({ ...h, streamType: 'error' });
      const data = client.openStream({ ...h, streamType: 'data' });
      // never end `data`: like client-go, wait for the error stream to end
      const [got, e] = await Promise.all([data.done(), err.done()]);
      assert.equal(got.toString(), 'bye');
      assert.equal(e.toString(), '');
      client.close();
      await client.closedPromise;
    } finally {
      closer.close();
      await env.call('StopPodSandbox', { podSandboxId: hostPod.id });
      await env.call('RemovePodSandbox', { podSandboxId: hostPod.id });
    }
  });

  it('works over WebSocket (port given in the CRI request)', async () => {
    const { url } = await env.call<{ url: string }>('PortForward', { podSandboxId: pod.id, port: [8080] });
    const s = await wsConnect(url, ['v4.channel.k8s.io']);
    s.send(0, 'GET /blob HTTP/1.0\r\n\r\n');
    // channel 0 carries the port (2 bytes) first, then the response
    await waitFor('the response', () => s.channelData(0).length >= 2 + blob.length, 10_000);
    assert.ok(s.channelData(0).subarray(-blob.length).equals(blob));
    s.ws.close();
    await s.closed;
  });
});
