// The CLI's streaming client against berthd's streaming server in this process (a scripted fake
// runtime behind it): exec output, stdin and its EOF, exit codes, terminal sizes, detach keys,
// aborting, refused and expired URLs, backpressure, and port-forward through local listeners.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { PassThrough, Writable, type Duplex } from 'node:stream';
import { CliError } from '../../../src/cli/errors';
import { PortForwarder, forwardConnection } from '../../../src/cli/streaming/port-forward';
import { runRemoteCommand, type SizeSource, type TerminalSize } from '../../../src/cli/streaming/remote-command';
import { StreamingServer } from '../../../src/streaming/server';
import type { AttachRequest, ExecIO, ExecRequest, StreamingRuntime, TerminalSize as ServerSize } from '../../../src/streaming/types';
import { setLogLevel } from '../../../src/util/log';

setLogLevel('silent');

const readAll = (r: NodeJS.ReadableStream | undefined): Promise<Buffer> =>
  new Promise((resolve) => {
    if (!r) return resolve(Buffer.alloc(0));
    const chunks: Buffer[] = [];
    r.on('data', (c: Buffer) => chunks.push(c));
    r.on('end', () => resolve(Buffer.concat(chunks)));
    r.on('close', () => resolve(Buffer.concat(chunks)));
  });

const write = (w: NodeJS.WritableStream | undefined, data: string | Buffer): Promise<void> =>
  new Promise((resolve) => (w ? w.write(data, () => resolve()) : resolve()));

/** Records what the protocol layer handed over; behaviour chosen by cmd[0]. */
class ScriptedRuntime implements StreamingRuntime {
  stdinSeen: Buffer[] = [];
  sizes: ServerSize[][] = [];
  aborts = 0;
  attachEnded = 0;

  async exec(req: ExecRequest, io: ExecIO): Promise<{ exitCode: number }> {
    io.signal.addEventListener('abort', () => this.aborts++, { once: true });
    const [what, arg] = req.cmd;
    switch (what) {
      case 'cat-then-exit': {
        // Echo stdin to stdout until EOF, say so on stderr, exit with the given code.
        const input = await readAll(io.stdin);
        this.stdinSeen.push(input);
        await write(io.stdout, input);
        await write(io.stderr, 'stdin closed\n');
        return { exitCode: Number(arg) };
      }
      case 'sizes': {
        const got: ServerSize[] = [];
        this.sizes.push(got);
        for await (const s of io.resize!) {
          got.push(s);
          if (got.length === Number(arg)) break;
        }
        await write(io.stdout, got.map((s) => `${s.width}x${s.height}`).join(' '));
        return { exitCode: 0 };
      }
      case 'flood': {
        const data = randomBytes(Number(arg));
        for (let i = 0; i < data.length; i += 65536) {
          if (!io.stdout!.write(data.subarray(i, i + 65536))) await new Promise((r) => io.stdout!.once('drain', r));
        }
        await write(io.stderr, createHash('sha256').update(data).digest('hex'));
        return { exitCode: 0 };
      }
      case 'hang':
        await new Promise((r) => io.signal.addEventListener('abort', r, { once: true }));
        return { exitCode: 137 };
      case 'fail':
        throw new Error(`no such program: ${arg}`);
      default:
        throw new Error(`unscripted ${what}`);
    }
  }

  async attach(_req: AttachRequest, io: ExecIO): Promise<void> {
    // Echo until the client goes away (detach) or closes stdin.
    io.stdin!.on('data', (c: Buffer) => {
      this.stdinSeen.push(c);
      io.stdout!.write(c);
    });
    await new Promise<void>((resolve) => {
      io.signal.addEventListener('abort', () => resolve(), { once: true });
      io.stdin!.once('end', () => resolve());
    });
    this.attachEnded++;
  }

  portForward(_pod: string, port: number, stream: Duplex, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1');
      signal.addEventListener('abort', () => sock.destroy(), { once: true });
      sock.once('error', reject);
      sock.once('connect', () => {
        stream.pipe(sock);
        sock.pipe(stream);
      });
      sock.once('close', () => resolve());
    });
  }
}

class Collector extends Writable {
  chunks: Buffer[] = [];
  constructor(private readonly delayMs = 0) {
    super({ highWaterMark: 1024 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(chunk);
    if (this.delayMs) setTimeout(cb, this.delayMs);
    else cb();
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString();
  }
}

class FakeSizes implements SizeSource {
  private listeners = new Set<() => void>();
  constructor(public current: TerminalSize | undefined) {}
  size() {
    return this.current;
  }
  watch(cb: () => void) {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }
  change(s: TerminalSize) {
    this.current = s;
    for (const l of this.listeners) l();
  }
  get watching(): number {
    return this.listeners.size;
  }
}

describe('CLI streaming client against the streaming server', () => {
  const runtime = new ScriptedRuntime();
  let server: StreamingServer;
  let echo: net.Server;
  let echoPort = 0;

  before(async () => {
    server = new StreamingServer({ runtime });
    await server.start();
    echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoPort = (echo.address() as net.AddressInfo).port;
  });

  after(async () => {
    await server.stop();
    await new Promise<void>((r) => echo.close(() => r()));
  });

  const execUrl = (cmd: string[], o: Partial<ExecRequest> = {}) =>
    server.getExecUrl({ containerId: 'c1', cmd, tty: false, stdin: false, stdout: true, stderr: true, ...o });

  it('exec: stdin reaches the process, its end is the close signal, the exit code comes back', async () => {
    const stdin = new PassThrough();
    const stdout = new Collector();
    const stderr = new Collector();
    const session = runRemoteCommand(execUrl(['cat-then-exit', '4'], { stdin: true }), { stdin, stdout, stderr });
    stdin.write('hello ');
    setTimeout(() => stdin.end('world\n'), 50);
    assert.deepEqual(await session, { kind: 'exit', exitCode: 4 });
    assert.equal(stdout.text, 'hello world\n');
    assert.equal(stderr.text, 'stdin closed\n');
  });

  it('exec: exit 0 is Success', async () => {
    const stdin = new PassThrough();
    stdin.end();
    const stdout = new Collector();
    assert.deepEqual(await runRemoteCommand(execUrl(['cat-then-exit', '0'], { stdin: true }), { stdin, stdout, stderr: new Collector() }), { kind: 'exit', exitCode: 0 });
    assert.equal(stdout.text, '');
  });

  it('exec: a stdin that had already ended is sent as closed at once', { timeout: 5000 }, async () => {
    const stdin = new PassThrough();
    stdin.end();
    stdin.resume();
    await new Promise((r) => stdin.once('end', r));
    assert.deepEqual(await runRemoteCommand(execUrl(['cat-then-exit', '2'], { stdin: true }), { stdin, stdout: new Collector(), stderr: new Collector() }), { kind: 'exit', exitCode: 2 });
  });

  it('exec: a failure berthd reports is the session\'s failure, with its message', async () => {
    const end = await runRemoteCommand(execUrl(['fail', 'frob']), { stdout: new Collector(), stderr: new Collector() });
    assert.equal(end.kind, 'failed');
    assert.match((end as { message: string }).message, /error executing command in container: no such program: frob/);
  });

  it('tty: the initial size and every change are sent, duplicates not', async () => {
    const sizes = new FakeSizes({ columns: 80, rows: 24 });
    const stdout = new Collector();
    const session = runRemoteCommand(execUrl(['sizes', '3'], { tty: true, stderr: false }), { stdout, sizes });
    await new Promise((r) => setTimeout(r, 100));
    sizes.change({ columns: 80, rows: 24 }); // no change: not sent
    sizes.change({ columns: 100, rows: 40 });
    sizes.change({ columns: 132, rows: 50 });
    assert.deepEqual(await session, { kind: 'exit', exitCode: 0 });
    assert.equal(stdout.text, '80x24 100x40 132x50');
    assert.equal(sizes.watching, 0, 'stopped watching at the end');
  });

  it('attach: the detach keys end the session, what was typed before them arrives, the rest not', async () => {
    const stdin = new PassThrough();
    const stdout = new Collector();
    const before = runtime.attachEnded;
    const url = server.getAttachUrl({ containerId: 'c1', tty: true, stdin: true, stdout: true, stderr: false });
    const session = runRemoteCommand(url, { stdin, stdout, detachKeys: Buffer.from([0x10, 0x11]) });
    stdin.write('echo hi\r');
    await new Promise((r) => setTimeout(r, 100));
    stdin.write(Buffer.from([0x65, 0x10]));
    stdin.write(Buffer.from([0x11, 0x78]));
    assert.deepEqual(await session, { kind: 'detached' });
    assert.equal(stdout.text.startsWith('echo hi\r'), true, stdout.text);
    for (let i = 0; i < 50 && runtime.attachEnded === before; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(runtime.attachEnded, before + 1, 'the server saw the client go');
    const typed = Buffer.concat(runtime.stdinSeen.slice(-2)).toString('latin1');
    assert.ok(typed.endsWith('echo hi\re'), JSON.stringify(typed));
    assert.ok(!typed.includes('\x10') && !typed.includes('x'), 'neither the keys nor what followed them were sent');
  });

  it('abort ends the session from this side and berthd stops the process', async () => {
    const ctl = new AbortController();
    const aborts = runtime.aborts;
    const session = runRemoteCommand(execUrl(['hang']), { stdout: new Collector(), stderr: new Collector(), signal: ctl.signal });
    setTimeout(() => ctl.abort(), 100);
    assert.deepEqual(await session, { kind: 'aborted' });
    for (let i = 0; i < 50 && runtime.aborts === aborts; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(runtime.aborts, aborts + 1);
  });

  it('a slow stdout gets everything, in order (the socket is paused, not buffered without end)', async () => {
    const stdout = new Collector(1);
    const stderr = new Collector();
    const end = await runRemoteCommand(execUrl(['flood', String(3 * 1024 * 1024)]), { stdout, stderr });
    assert.deepEqual(end, { kind: 'exit', exitCode: 0 });
    assert.equal(Buffer.concat(stdout.chunks).length, 3 * 1024 * 1024);
    assert.equal(createHash('sha256').update(Buffer.concat(stdout.chunks)).digest('hex'), stderr.text);
  });

  it('a used URL and a dead server are one-line CliErrors', async () => {
    const url = execUrl(['cat-then-exit', '0']);
    await runRemoteCommand(url, { stdout: new Collector(), stderr: new Collector() });
    await assert.rejects(runRemoteCommand(url, { stdout: new Collector() }), (e: unknown) => e instanceof CliError && /expired or was already used/.test(e.message));
    const tmp = net.createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
    const dead = (tmp.address() as net.AddressInfo).port;
    await new Promise<void>((r) => tmp.close(() => r()));
    await assert.rejects(runRemoteCommand(`http://127.0.0.1:${dead}/exec/x`, { stdout: new Collector() }), (e: unknown) => e instanceof CliError && /connection refused/.test(e.message) && !e.message.includes('\n'));
  });

  describe('port-forward', () => {
    it('forwards concurrent local connections, each through a URL of its own', async () => {
      let urls = 0;
      const events: string[] = [];
      const fwd = new PortForwarder(
        async (remote) => {
          urls++;
          return server.getPortForwardUrl({ podSandboxId: 'p1', ports: [remote] });
        },
        { connection: (f) => events.push(`conn ${f.remote}`), error: (_f, m) => events.push(`error ${m}`) },
      );
      const [f] = await fwd.listen([{ local: 0, remote: echoPort }]);
      assert.ok(f.local > 0);
      try {
        const payloads = Array.from({ length: 5 }, (_, i) => randomBytes(100_000 + i));
        const echoed = await Promise.all(payloads.map((p) => roundTrip(f.local, p)));
        echoed.forEach((e, i) => assert.ok(e.equals(payloads[i]), `connection ${i} echoed intact`));
        assert.equal(urls, 5);
        assert.deepEqual(events, Array(5).fill(`conn ${echoPort}`));
      } finally {
        await fwd.close();
      }
    });

    it('a refused port reaches the client as berthd\'s message, and the local connection is closed', async () => {
      const tmp = net.createServer();
      await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
      const closed = (tmp.address() as net.AddressInfo).port;
      await new Promise<void>((r) => tmp.close(() => r()));
      const errors: string[] = [];
      const fwd = new PortForwarder(async (remote) => server.getPortForwardUrl({ podSandboxId: 'p1', ports: [remote] }), { error: (_f, m) => errors.push(m) });
      const [f] = await fwd.listen([{ local: 0, remote: closed }]);
      try {
        const got = await roundTrip(f.local, Buffer.from('x'), false);
        assert.equal(got.length, 0);
        for (let i = 0; i < 50 && !errors.length; i++) await new Promise((r) => setTimeout(r, 20));
        assert.equal(errors.length, 1);
        assert.match(errors[0], new RegExp(`error forwarding port ${closed} to pod p1`));
        assert.match(errors[0], /ECONNREFUSED/);
      } finally {
        await fwd.close();
      }
    });

    it('a port in use is a one-line error and nothing stays listening', async () => {
      const busy = net.createServer();
      await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
      const port = (busy.address() as net.AddressInfo).port;
      const fwd = new PortForwarder(async () => 'http://unused');
      try {
        await assert.rejects(fwd.listen([{ local: 0, remote: 1 }, { local: port, remote: 2 }]), (e: unknown) => e instanceof CliError && e.message === `cannot listen on 127.0.0.1:${port}: the address is in use`);
      } finally {
        await new Promise<void>((r) => busy.close(() => r()));
      }
    });

    it('forwardConnection ends the local socket when the pod side closes', async () => {
      // A server that answers and closes, like an HTTP/1.0 server.
      const once = net.createServer((s) => s.end('bye\n'));
      await new Promise<void>((r) => once.listen(0, '127.0.0.1', r));
      const port = (once.address() as net.AddressInfo).port;
      const [a, b] = await socketPair();
      try {
        const done = forwardConnection(server.getPortForwardUrl({ podSandboxId: 'p1', ports: [port] }), a);
        assert.equal((await readAll(b)).toString(), 'bye\n');
        await done;
      } finally {
        b.destroy();
        await new Promise<void>((r) => once.close(() => r()));
      }
    });
  });
});

/** Connects, sends `data`, and reads until the other side ends (optionally half-closing first). */
function roundTrip(port: number, data: Buffer, waitForAll = true): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let got = 0;
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (waitForAll && got >= data.length) s.end();
    });
    s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? resolve(Buffer.concat(chunks)) : reject(e)));
    s.on('close', () => resolve(Buffer.concat(chunks)));
    s.write(data);
  });
}

/** Two connected sockets on 127.0.0.1. */
function socketPair(): Promise<[net.Socket, net.Socket]> {
  return new Promise((resolve) => {
    const srv = net.createServer({ pauseOnConnect: true }, (a) => {
      srv.close();
      resolve([a, b]);
    });
    let b: net.Socket;
    srv.listen(0, '127.0.0.1', () => {
      b = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
    });
  });
}
