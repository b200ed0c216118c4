// Server side of a SPDY/3.1 session over an already-upgraded socket: accepts client-initiated
// streams (SYN_STREAM → SYN_REPLY), exposes each as a Duplex, answers PING, honours GOAWAY,
// RST_STREAM, half-close (FLAG_FIN) and flow control (WINDOW_UPDATE both ways).
//
// Flow control and kubernetes clients: the SPDY library every kubernetes client uses (spdystream)
// neither sends WINDOW_UPDATE nor respects ours. Blocking on the peer's window would stall any
// exec with more than 64 KiB of output from kubectl or crictl, so in the default 'auto' mode the
// send window is enforced only once the peer has shown it does flow control (it sent a
// WINDOW_UPDATE or an INITIAL_WINDOW_SIZE setting). We always send WINDOW_UPDATEs as our
// readers consume data, and fall back to pausing the socket when a peer overruns a stream's buffer.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { logger } from '../../util/log';
import {
  DEFAULT_INITIAL_WINDOW, FLAG_FIN, FLAG_UNIDIRECTIONAL, FrameParser, GoAwayStatus, RstStatus, SettingsId,
  SpdyProtocolError, encodeDataHeader, encodeFrame, type Frame,
} from './frames';
import { HeaderCompressor, HeaderDecompressor, type HeaderMap } from './header-block';

const log = logger('streaming');

export type FlowControlMode = 'auto' | 'always' | 'never';

export interface SpdyConnectionOptions {
  /** When to hold DATA back for the peer's window (see the file comment). Default 'auto'. */
  flowControl?: FlowControlMode;
  /** Pause reading the socket while one stream buffers more than this (peer ignores our window). */
  maxStreamBuffer?: number;
  /** Largest DATA frame we send. */
  maxDataFrame?: number;
  /** Decide on a new stream: return an error message to refuse it (RST_STREAM REFUSED_STREAM). */
  acceptStream?: (headers: HeaderMap, streamId: number) => string | undefined;
  /** Refuse streams beyond this many open at once. */
  maxConcurrentStreams?: number;
}

const MAX_WINDOW = 0x7fffffff;

type Pending = Buffer | Promise<Buffer> | 'end';

export class SpdyConnection extends EventEmitter {
  private readonly parser = new FrameParser();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private readonly streams = new Map<number, SpdyStream>();
  private readonly congested = new Set<SpdyStream>();
  private readonly pings = new Map<number, { start: bigint; resolve: (ms: number) => void; reject: (e: Error) => void }>();
  private readonly inbox: Frame[] = [];
  private readonly outQueue: Pending[] = [];
  private pumping = false;
  private processing = false;
  private lastRemoteId = 0;
  private nextPingId = 2;
  private goAwaySent = false;
  private goAwayReceived = false;
  private closedFlag = false;
  private peerFlowControl = false;
  /** Initial send window for new streams, as the peer's SETTINGS say. */
  private peerInitialWindow = DEFAULT_INITIAL_WINDOW;
  sessionSendWindow = DEFAULT_INITIAL_WINDOW;
  private sessionReceivedUngranted = 0;
  readonly flowControl: FlowControlMode;
  readonly maxStreamBuffer: number;
  readonly maxDataFrame: number;
  readonly recvWindow = DEFAULT_INITIAL_WINDOW;

  constructor(
    readonly socket: Socket,
    private readonly opts: SpdyConnectionOptions = {},
    head?: Buffer,
  ) {
    super();
    this.flowControl = opts.flowControl ?? 'auto';
    this.maxStreamBuffer = opts.maxStreamBuffer ?? 4 * 1024 * 1024;
    this.maxDataFrame = opts.maxDataFrame ?? 32 * 1024;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => log.debug({ err: e.message }, 'spdy socket error'));
    socket.on('close', () => this.onSocketClose());
    socket.on('end', () => {
      // The peer stopped sending: nothing more can arrive on any stream, so each is half-closed
      // by the peer, and the connection ends once our side of every stream is done.
      this.goAwayReceived = true;
      for (const s of [...this.streams.values()]) s.onRemoteFin();
      this.closeIfIdle();
    });
    if (head?.length) queueMicrotask(() => this.onData(head));
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  get openStreams(): number {
    return this.streams.size;
  }

  /** Whether DATA is currently held to the peer's window. */
  get enforcingPeerWindow(): boolean {
    return this.flowControl === 'always' || (this.flowControl === 'auto' && this.peerFlowControl);
  }

  /** Graceful close: GOAWAY, then end the socket once everything queued is written. */
  close(): void {
    if (this.closedFlag) return;
    this.sendGoAway(GoAwayStatus.OK);
    this.enqueue('end');
  }

  /** Immediate close: every stream is destroyed, the socket too. */
  destroy(err?: Error): void {
    if (err) log.debug({ err: err.message }, 'spdy connection destroyed');
    this.socket.destroy();
    this.onSocketClose();
  }

  /** Send a PING and resolve with the round trip in milliseconds. */
  ping(timeoutMs = 10_000): Promise<number> {
    const id = this.nextPingId;
    this.nextPingId = this.nextPingId >= 0x7ffffffe ? 2 : this.nextPingId + 2;
    return new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => {
        this.pings.delete(id);
        reject(new Error('spdy ping timed out'));
      }, timeoutMs);
      this.pings.set(id, {
        start: process.hrtime.bigint(),
        resolve: (ms) => { clearTimeout(t); resolve(ms); },
        reject: (e) => { clearTimeout(t); reject(e); },
      });
      this.enqueue(encodeFrame({ kind: 'ping', flags: 0, id }));
    });
  }

  // ---- output ----

  /** @internal Queue bytes (or a pending compressed frame) for the socket, in order. */
  enqueue(p: Pending): void {
    if (this.closedFlag) return;
    this.outQueue.push(p);
    this.pump();
  }

  private pump(): void {
    if (this.pumping) return;
    while (this.outQueue.length) {
      const head = this.outQueue[0];
      if (head instanceof Promise) {
        this.pumping = true;
        head.then(
          (buf) => {
            this.outQueue[0] = buf;
            this.pumping = false;
            this.pump();
          },
          (e: Error) => {
            this.pumping = false;
            this.destroy(e);
          },
        );
        return;
      }
      this.outQueue.shift();
      if (this.socket.destroyed) continue;
      if (head === 'end') this.socket.end();
      else this.socket.write(head);
    }
  }

  /** @internal Call back when the socket can take more (write backpressure for streams). */
  whenWritable(cb: () => void): void {
    if (this.closedFlag || !this.socket.writableNeedDrain) return cb();
    const done = () => {
      this.socket.removeListener('drain', done);
      this.socket.removeListener('close', done);
      cb();
    };
    this.socket.once('drain', done);
    this.socket.once('close', done);
  }

  /** @internal */
  sendData(streamId: number, flags: number, data: Buffer): void {
    this.enqueue(encodeDataHeader(streamId, flags, data.length));
    if (data.length) this.enqueue(data);
  }

  /** @internal */
  sendRst(streamId: number, status: number): void {
    this.enqueue(encodeFrame({ kind: 'rst_stream', flags: 0, streamId, status }));
  }

  /** @internal */
  sendWindowUpdate(streamId: number, delta: number): void {
    this.enqueue(encodeFrame({ kind: 'window_update', flags: 0, streamId, delta }));
  }

  /** @internal Session-level receive accounting: grant the window back in batches. */
  consumedSession(n: number): void {
    this.sessionReceivedUngranted += n;
    if (this.sessionReceivedUngranted >= this.recvWindow / 2) {
      this.sendWindowUpdate(0, this.sessionReceivedUngranted);
      this.sessionReceivedUngranted = 0;
    }
  }

  private sendGoAway(status: number): void {
    if (this.goAwaySent || this.closedFlag) return;
    this.goAwaySent = true;
    this.enqueue(encodeFrame({ kind: 'goaway', flags: 0, lastGoodStreamId: this.lastRemoteId, status }));
  }

  // ---- input ----

  private onData(chunk: Buffer): void {
    if (this.closedFlag) return;
    let frames: Frame[];
    try {
      frames = this.parser.push(chunk);
    } catch (e) {
      return this.protocolError(e as Error);
    }
    for (const f of frames) this.inbox.push(f);
    void this.processInbox();
  }

  /**
   * Frames are handled strictly in order; only those with header blocks wait (for zlib), and
   * everything behind them waits too, because a stream's DATA must not overtake its SYN_STREAM.
   */
  private async processInbox(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      while (this.inbox.length && !this.closedFlag) {
        const f = this.inbox.shift()!;
        if (f.kind === 'syn_stream' || f.kind === 'syn_reply' || f.kind === 'headers') {
          const headers = await this.decompressor.decompress(f.headerBlock);
          if (this.closedFlag) break;
          this.handleHeaderFrame(f, headers);
        } else {
          this.handleFrame(f);
        }
      }
    } catch (e) {
      this.protocolError(e as Error);
    } finally {
      this.processing = false;
    }
  }

  private protocolError(e: Error): void {
    log.warn({ err: e.message }, 'spdy protocol error; closing connection');
    this.sendGoAway(GoAwayStatus.PROTOCOL_ERROR);
    this.enqueue('end');
    // Stop reading: nothing after a protocol error can be trusted.
    this.inbox.length = 0;
    setTimeout(() => this.destroy(), 1000).unref();
  }

  private handleHeaderFrame(f: Frame & { kind: 'syn_stream' | 'syn_reply' | 'headers' }, headers: HeaderMap): void {
    if (f.kind === 'syn_stream') return this.onSynStream(f.streamId, f.flags, headers);
    const s = this.streams.get(f.streamId);
    if (f.kind === 'syn_reply') {
      // We never open streams, so no reply can be expected.
      if (s) s.reset(RstStatus.PROTOCOL_ERROR);
      else this.sendRst(f.streamId, RstStatus.INVALID_STREAM);
      return;
    }
    if (!s) {
      if (f.streamId > this.lastRemoteId) this.sendRst(f.streamId, RstStatus.INVALID_STREAM);
      return;
    }
    for (const [k, v] of headers) s.headers.set(k, v);
    if (f.flags & FLAG_FIN) s.onRemoteFin();
  }

  private onSynStream(id: number, flags: number, headers: HeaderMap): void {
    if (id === 0 || id % 2 === 0 || id <= this.lastRemoteId) {
      return this.protocolError(new SpdyProtocolError(`bad client stream id ${id} (last ${this.lastRemoteId})`, id));
    }
    this.lastRemoteId = id;
    if (this.goAwaySent || this.goAwayReceived) return this.sendRst(id, RstStatus.REFUSED_STREAM);
    if (this.opts.maxConcurrentStreams !== undefined && this.streams.size >= this.opts.maxConcurrentStreams) {
      return this.sendRst(id, RstStatus.REFUSED_STREAM);
    }
    const refusal = this.opts.acceptStream?.(headers, id);
    if (refusal !== undefined) {
      log.debug({ streamId: id, reason: refusal }, 'spdy stream refused');
      return this.sendRst(id, RstStatus.REFUSED_STREAM);
    }
    const s = new SpdyStream(this, id, headers, this.peerInitialWindow);
    this.streams.set(id, s);
    this.enqueue(this.compressor.compress([]).then((block) => encodeFrame({ kind: 'syn_reply', flags: 0, streamId: id, headerBlock: block })));
    if (flags & FLAG_UNIDIRECTIONAL) s.onLocalClosedByPeer();
    if (flags & FLAG_FIN) s.onRemoteFin();
    this.emit('stream', s);
  }

  private handleFrame(f: Frame): void {
    switch (f.kind) {
      case 'data': {
        this.consumedSession(f.data.length);
        const s = this.streams.get(f.streamId);
        if (!s) {
          // Data in flight for a stream we already closed or reset is expected; anything else is not.
          if (f.streamId > this.lastRemoteId || f.streamId % 2 === 0) this.sendRst(f.streamId, RstStatus.INVALID_STREAM);
          return;
        }
        s.onData(f.data, (f.flags & FLAG_FIN) !== 0);
        return;
      }
      case 'rst_stream': {
        this.streams.get(f.streamId)?.onPeerReset(f.status);
        return;
      }
      case 'settings': {
        for (const e of f.entries) {
          if (e.id === SettingsId.INITIAL_WINDOW_SIZE) {
            if (e.value > MAX_WINDOW) return this.protocolError(new SpdyProtocolError(`initial window ${e.value} too large`));
            const delta = e.value - this.peerInitialWindow;
            this.peerInitialWindow = e.value;
            this.peerFlowControl = true;
            for (const s of this.streams.values()) s.addSendWindow(delta);
          }
        }
        return;
      }
      case 'ping': {
        if (f.id % 2 === 1) {
          this.enqueue(encodeFrame({ kind: 'ping', flags: 0, id: f.id }));
        } else {
          const p = this.pings.get(f.id);
          if (p) {
            this.pings.delete(f.id);
            p.resolve(Number(process.hrtime.bigint() - p.start) / 1e6);
          }
        }
        return;
      }
      case 'goaway': {
        this.goAwayReceived = true;
        this.closeIfIdle();
        return;
      }
      case 'window_update': {
        this.peerFlowControl = true;
        if (f.delta === 0) return this.protocolError(new SpdyProtocolError('WINDOW_UPDATE with delta 0', f.streamId));
        if (f.streamId === 0) {
          if (this.sessionSendWindow + f.delta > MAX_WINDOW) {
            return this.protocolError(new SpdyProtocolError('session window overflow'));
          }
          this.sessionSendWindow += f.delta;
          for (const s of this.streams.values()) s.flushPending();
        } else {
          this.streams.get(f.streamId)?.addSendWindow(f.delta);
        }
        return;
      }
      case 'unknown':
        return; // SPDY: ignore unknown control frames
      default:
        return;
    }
  }

  // ---- lifecycle ----

  /** @internal */
  removeStream(s: SpdyStream): void {
    this.streams.delete(s.id);
    this.congested.delete(s);
    this.updateReading();
    this.closeIfIdle();
  }

  /** @internal */
  setCongested(s: SpdyStream, on: boolean): void {
    if (on) this.congested.add(s);
    else this.congested.delete(s);
    this.updateReading();
  }

  private updateReading(): void {
    if (this.closedFlag) return;
    if (this.congested.size) this.socket.pause();
    else this.socket.resume();
  }

  private closeIfIdle(): void {
    if (this.goAwayReceived && this.streams.size === 0 && !this.closedFlag) this.close();
  }

  private onSocketClose(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    for (const s of [...this.streams.values()]) s.destroy();
    this.streams.clear();
    for (const p of this.pings.values()) p.reject(new Error('spdy connection closed'));
    this.pings.clear();
    this.outQueue.length = 0;
    this.compressor.close();
    this.decompressor.close();
    this.emit('close');
  }
}

/** One SPDY stream as a Duplex: readable = peer's DATA, writable = our DATA (end() sends FIN). */
export class SpdyStream extends Duplex {
  private sendWindow: number;
  private received = 0;
  private granted = 0;
  private remoteClosed = false;
  private localClosed = false;
  private resetStatus: number | undefined;
  private pending: { data: Buffer; cb: (e?: Error | null) => void } | undefined;

  constructor(
    private readonly conn: SpdyConnection,
    readonly id: number,
    readonly headers: HeaderMap,
    initialSendWindow: number,
  ) {
    super({ allowHalfOpen: true });
    this.sendWindow = initialSendWindow;
  }

  /** First value of a request header (names are case-insensitive). */
  header(name: string): string | undefined {
    const v = this.headers.get(name.toLowerCase());
    return v === undefined ? undefined : v.split('\0')[0];
  }

  /** RST_STREAM status if the stream was reset (by either side). */
  get resetCode(): number | undefined {
    return this.resetStatus;
  }

  /** Abort the stream with RST_STREAM. */
  reset(status: number = RstStatus.CANCEL): void {
    if (this.resetStatus !== undefined || (this.localClosed && this.remoteClosed)) return;
    this.resetStatus = status;
    this.conn.sendRst(this.id, status);
    this.destroy();
  }

  // -- from the connection --

  /** @internal */
  onData(data: Buffer, fin: boolean): void {
    if (this.remoteClosed) {
      this.conn.sendRst(this.id, RstStatus.STREAM_ALREADY_CLOSED);
      return;
    }
    if (data.length) {
      this.received += data.length;
      this.push(data);
      this.maybeGrant();
      if (this.readableLength > this.conn.maxStreamBuffer) this.conn.setCongested(this, true);
    }
    if (fin) this.onRemoteFin();
  }

  /** @internal */
  onRemoteFin(): void {
    if (this.remoteClosed) return;
    this.remoteClosed = true;
    this.push(null);
    this.maybeDone();
  }

  /** @internal Peer opened the stream unidirectional: we may not send. */
  onLocalClosedByPeer(): void {
    this.localClosed = true;
  }

  /** @internal */
  onPeerReset(status: number): void {
    this.resetStatus = status;
    this.destroy();
  }

  /** @internal */
  addSendWindow(delta: number): void {
    if (this.sendWindow + delta > MAX_WINDOW) {
      this.reset(RstStatus.FLOW_CONTROL_ERROR);
      return;
    }
    this.sendWindow += delta;
    this.flushPending();
  }

  // -- Duplex --

  override _read(): void {
    this.conn.setCongested(this, false);
    this.maybeGrant();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.localClosed || this.conn.closed) {
      cb(new Error(`spdy stream ${this.id} is closed for writing`));
      return;
    }
    this.pending = { data: chunk, cb };
    this.flushPending();
  }

  override _final(cb: (e?: Error | null) => void): void {
    if (!this.localClosed && !this.conn.closed && this.resetStatus === undefined) {
      this.conn.sendData(this.id, FLAG_FIN, Buffer.alloc(0));
    }
    this.localClosed = true;
    this.maybeDone();
    cb();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    if (!this.conn.closed && this.resetStatus === undefined && !(this.localClosed && this.remoteClosed)) {
      this.resetStatus = RstStatus.CANCEL;
      this.conn.sendRst(this.id, RstStatus.CANCEL);
    }
    this.localClosed = true;
    this.remoteClosed = true;
    const p = this.pending;
    this.pending = undefined;
    p?.cb(err ?? new Error(`spdy stream ${this.id} destroyed`));
    this.conn.removeStream(this);
    cb(err);
  }

  /** @internal Send as much of the pending write as the windows allow. */
  flushPending(): void {
    const p = this.pending;
    if (!p) return;
    const enforce = this.conn.enforcingPeerWindow;
    while (p.data.length) {
      let n = Math.min(p.data.length, this.conn.maxDataFrame);
      if (enforce) n = Math.min(n, this.sendWindow, this.conn.sessionSendWindow);
      if (n <= 0) return; // wait for WINDOW_UPDATE
      this.conn.sendData(this.id, 0, p.data.subarray(0, n));
      this.sendWindow -= n;
      this.conn.sessionSendWindow -= n;
      p.data = p.data.subarray(n);
    }
    this.pending = undefined;
    this.conn.whenWritable(() => p.cb());
  }

  private maybeGrant(): void {
    if (this.remoteClosed) return;
    const consumed = this.received - this.readableLength;
    const delta = consumed - this.granted;
    if (delta > 0 && delta >= this.conn.recvWindow / 2) {
      this.granted = consumed;
      this.conn.sendWindowUpdate(this.id, delta);
    }
  }

  private maybeDone(): void {
    if (this.localClosed && this.remoteClosed) this.conn.removeStream(this);
  }
}
