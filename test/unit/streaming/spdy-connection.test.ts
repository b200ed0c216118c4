// SpdyConnection over a loopback socket, driven by the independent test client.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { SpdyConnection, type FlowControlMode, type SpdyStream } from '../../../src/streaming/spdy/connection';
import { setRootLogger } from '../../../src/util/log';
import { SpdyClient } from '../../helpers/stream-client';

setRootLogger(pino({ level: 'silent' }));

let listener: net.Server;
let port = 0;
let nextServer: ((s: net.Socket) => void) | undefined;

before(async () => {
  listener = net.createServer({ allowHalfOpen: true }, (s) => nextServer?.(s));
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  port = (listener.address() as net.AddressInfo).port;
});
after(() => new Promise<void>((r) => listener.close(() => r())));

async function pair(flowControl: FlowControlMode, clientFlow: 'none' | 'windowed' = 'none'): Promise<{ conn: SpdyConnection; client: SpdyClient; streams: SpdyStream[] }> {
  const streams: SpdyStream[] = [];
  const connP = new Promise<SpdyConnection>((resolve) => {
    nextServer = (s) => {
      const conn = new SpdyConnection(s, { flowControl, acceptStream: (h) => (h.get('bad') ? 'bad header' : undefined) });
      conn.on('stream', (st: SpdyStream) => streams.push(st));
      resolve(conn);
    };
  });
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  return { conn: await connP, client: new SpdyClient(sock, 'test', { flowControl: clientFlow }), streams };
}

const until = async (cond: () => boolean, what: string) => {
  const end = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('SpdyConnection', () => {
  it("'always': stops at the peer's 64 KiB window and resumes on WINDOW_UPDATE", async () => {
    const { conn, client, streams } = await pair('always');
    const cs = client.openStream({ streamType: 'stdout' });
    await cs.replied;
    const st = streams[0];
    st.write(Buffer.alloc(200_000, 1));
    await until(() => cs.received === 65536, 'first window');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(cs.received, 65536, 'nothing beyond the window');
    client.windowUpdate(cs.id, 100_000);
    client.windowUpdate(0, 100_000);
    await until(() => cs.received === 165536, 'second window');
    client.windowUpdate(cs.id, 50_000);
    client.windowUpdate(0, 50_000);
    await until(() => cs.received === 200_000, 'rest');
    conn.destroy();
  });

  it("'auto': a peer that never sends WINDOW_UPDATE still gets everything", async () => {
    const { conn, client, streams } = await pair('auto');
    const cs = client.openStream({ streamType: 'stdout' });
    await cs.replied;
    streams[0].end(Buffer.alloc(500_000, 2));
    const got = await cs.done();
    assert.equal(got.length, 500_000);
    assert.equal(conn.enforcingPeerWindow, false);
    conn.destroy();
  });

  it('grants window as its reader consumes, so a windowed peer can send more than 64 KiB', async () => {
    const { conn, client, streams } = await pair('auto', 'windowed');
    const cs = client.openStream({ streamType: 'stdin' });
    await cs.replied;
    const payload = Buffer.alloc(300_000, 3);
    const w = cs.write(payload).then(() => cs.end());
    const chunks: Buffer[] = [];
    for await (const c of streams[0]) chunks.push(c as Buffer);
    await w;
    assert.equal(Buffer.concat(chunks).length, 300_000);
    assert.ok((client.frameCounts.get('window_update') ?? 0) >= 2);
    conn.destroy();
  });

  it('RST_STREAM from the peer destroys the stream; refused streams get REFUSED_STREAM', async () => {
    const { conn, client, streams } = await pair('auto');
    const cs = client.openStream({ streamType: 'x' });
    await cs.replied;
    const closed = new Promise((r) => streams[0].once('close', r));
    client.rst(cs.id, 5);
    await closed;
    assert.equal(streams[0].resetCode, 5);
    const bad = client.openStream({ bad: '1' });
    await new Promise((r) => bad.once('rst', r));
    assert.equal(bad.reset, 3);
    assert.equal(conn.openStreams, 0);
    conn.destroy();
  });

  it('FIN half-closes: peer FIN ends our readable, our end() sends FIN', async () => {
    const { conn, client, streams } = await pair('auto');
    const cs = client.openStream({ streamType: 'x' }, true);
    await cs.replied;
    const st = streams[0];
    const ended = new Promise((r) => st.once('end', r));
    st.resume();
    await ended;
    st.end('bye');
    assert.equal((await cs.done()).toString(), 'bye');
    await until(() => conn.openStreams === 0, 'stream removed');
    conn.destroy();
  });

  it('answers PING; GOAWAY from the peer closes the idle connection', async () => {
    const { conn, client } = await pair('auto');
    const pong = new Promise((r) => client.once('ping', r));
    client.ping(9);
    assert.equal(await pong, 9);
    const rtt = conn.ping();
    assert.ok((await rtt) >= 0);
    client.goAway();
    await client.closedPromise;
    await until(() => conn.closed, 'server side closed');
    assert.equal(client.goaway, 0);
  });

  it('an even (server-side) stream id from the client is a protocol error: GOAWAY PROTOCOL_ERROR', async () => {
    const { client } = await pair('auto');
    // The reference SYN_STREAM (first header block of the connection) with its id changed to 2.
    const ga = new Promise((r) => client.once('goaway', r));
    client.socket.write(Buffer.from('80030001000000290000000200000000000078f9e3c6a7c26260606004a7b392a2d4c45c6851c29a0a0a6800000000ffff', 'hex'));
    assert.equal(await ga, 1);
    client.socket.destroy();
  });
});
