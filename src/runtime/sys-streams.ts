// Streaming's syscalls through the native addon (native/berth_sys.c): ptys for terminal exec, conmon's
// SOCK_SEQPACKET attach socket (libuv cannot wrap one: a reader thread in the addon feeds a Readable),
// and TCP connections made inside a pod's network namespace without a process per connection.
import { closeSync } from 'node:fs';
import { Readable } from 'node:stream';
import { errnoError, loadAddon, type PacketReaderHandle } from '../util/native-addon';

const EAGAIN = -11;
const SHUT_RDWR = 2;
const SHUT_WR = 1;

/** A new pty pair: [master, slave], both close-on-exec. */
export function openPty(): { master: number; slave: number } {
  const r = loadAddon().openPty();
  if (typeof r === 'number') throw errnoError(r, 'openpty', '/dev/ptmx');
  return { master: r[0], slave: r[1] };
}

/** TIOCSWINSZ: a terminal's size in rows and columns. */
export function setWinsize(fd: number, rows: number, cols: number): void {
  const rc = loadAddon().setWinsize(fd, rows & 0xffff, cols & 0xffff);
  if (rc < 0) throw errnoError(rc, 'ioctl(TIOCSWINSZ)', `fd ${fd}`);
}

/**
 * A connected SOCK_SEQPACKET client socket: received packets come out of the Readable (object mode,
 * one Buffer per packet; pausing the Readable pauses the reader thread), send() writes packets.
 */
export class SeqpacketSocket extends Readable {
  private readonly fd: number;
  private readonly reader: PacketReaderHandle;
  private readerPaused = false;
  private shut = false;
  private readerDone = false;
  private readonly doneWaiters: Array<() => void> = [];

  /** Connects to `path` (a unix socket path of at most 107 bytes). */
  constructor(
    readonly path: string,
    maxPacket = 65536,
  ) {
    super({ objectMode: true, highWaterMark: 16 });
    const addon = loadAddon();
    const fd = addon.connectSeqpacket(path);
    if (fd < 0) throw errnoError(fd, 'connect', path);
    this.fd = fd;
    const r = addon.startPacketReader(fd, maxPacket, (packet, err) => this.onPacket(packet, err));
    if (typeof r === 'number') {
      closeSync(fd);
      throw errnoError(r, 'pthread_create', path);
    }
    this.reader = r;
  }

  private onPacket(packet: Buffer | null, err: number): void {
    if (packet) {
      if (!this.push(packet) && !this.readerPaused && !this.shut) {
        this.readerPaused = true;
        loadAddon().packetReaderControl(this.reader, true, false);
      }
      return;
    }
    // The reader thread has ended: the fd is ours alone now.
    this.readerDone = true;
    closeSync(this.fd);
    this.doneWaiters.splice(0).forEach((w) => w());
    if (err < 0 && !this.shut) this.destroy(errnoError(err, 'recv', this.path));
    else this.push(null);
  }

  override _read(): void {
    if (this.readerPaused && !this.readerDone) {
      this.readerPaused = false;
      loadAddon().packetReaderControl(this.reader, false, false);
    }
  }

  /** Sends `data` as packets of at most `maxPacket` bytes; waits while the peer's queue is full. */
  async send(data: Buffer, maxPacket = 8192): Promise<void> {
    for (let off = 0; off < data.length; ) {
      if (this.shut || this.readerDone) throw errnoError(-32, 'send', this.path); // EPIPE
      const part = data.subarray(off, off + maxPacket);
      const n = loadAddon().sendPacket(this.fd, part);
      if (n === EAGAIN) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      if (n < 0) throw errnoError(n, 'send', this.path);
      off += part.length;
    }
  }

  /** No more packets from us (the peer reads end-of-stream); receiving goes on. */
  endSending(): void {
    if (!this.shut && !this.readerDone) loadAddon().shutdownFd(this.fd, SHUT_WR);
  }

  /** Shut the socket down and resolve once the reader thread has let go of it (then it is closed). */
  close(): Promise<void> {
    if (!this.shut) {
      this.shut = true;
      if (!this.readerDone) {
        loadAddon().packetReaderControl(this.reader, false, true);
        loadAddon().shutdownFd(this.fd, SHUT_RDWR);
      }
    }
    if (this.readerDone) return Promise.resolve();
    return new Promise((r) => this.doneWaiters.push(r));
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    void this.close().then(() => cb(err));
  }
}

/**
 * A TCP connection to host:port made inside the network namespace pinned at `nsPath` (null: berthd's
 * own), on a short-lived thread of the addon; resolves with the socket's fd.
 */
export async function connectInNetns(nsPath: string | null, host: string, port: number, timeoutMs = 10_000): Promise<number> {
  const fd = await loadAddon().connectInNetns(nsPath, host, port, timeoutMs);
  if (fd < 0) throw errnoError(fd, 'connect', `${host}:${port}`);
  return fd;
}
