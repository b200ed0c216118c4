// Layer decompression: a Transform from compressed layer bytes to the plain tar stream.
//
// zstd: Node 20's zlib has no zstd. Measured on the dev VM (2 vCPU) with bench/unpack-micro.ts
// decompressing a 64 MB .tar.zst (137 MB tar of /usr/share/{doc,perl}, zstd -3) into a null sink,
// 3 runs each:
//   `zstd -dc` child process  196-254 ms  (~600 MB/s of output)
//   fzstd (pure JS, npm)      745-864 ms  (~170 MB/s), all of it on the main thread
// The Debian zstd binary is ~3.5x faster, runs on another core in parallel with tar extraction and keeps
// the event loop free, and is the reference decoder (robust to every frame feature: skippable
// frames, multiple frames, long windows). So zstd goes through a tiny driver around `zstd -dc`.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { Transform, type TransformCallback, type Readable, type Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { unavailable, invalidArgument } from '../util/errors';

export type CompressionKind = 'gzip' | 'zstd' | 'none';

/** Path of the zstd binary (overridable for tests / unusual installs). */
const ZSTD_BIN = process.env.BERTH_ZSTD_BIN ?? 'zstd';

/** Returns a fresh Transform that turns `kind`-compressed bytes into plain bytes. */
export function decompressor(kind: CompressionKind): Transform {
  switch (kind) {
    case 'gzip':
      return createGunzip();
    case 'zstd':
      return new ZstdProcessTransform();
    case 'none':
      return new Transform({ transform: (chunk, _enc, cb) => cb(null, chunk) });
    default:
      throw invalidArgument(`unknown compression kind ${String(kind)}`, { kind });
  }
}

/** Driver for `zstd -dc`: stdin gets compressed bytes, stdout is pushed downstream with backpressure. */
class ZstdProcessTransform extends Transform {
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private stderr = '';
  private exited: Promise<number | null>;
  private outEnded: Promise<void>;

  constructor() {
    super();
    this.child = spawn(ZSTD_BIN, ['-dcq'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code) => resolve(code));
      this.child.once('error', (err) => {
        this.destroy(unavailable(`cannot run ${ZSTD_BIN}: ${err.message}`, { binary: ZSTD_BIN }));
        resolve(null);
      });
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (s: string) => {
      if (this.stderr.length < 4096) this.stderr += s;
    });
    // EPIPE when zstd died early is reported through the exit status instead.
    this.child.stdin.on('error', () => undefined);
    this.outEnded = new Promise((resolve) => this.child.stdout.once('end', resolve));
    this.child.stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) this.child.stdout.pause();
    });
  }

  override _read(size: number): void {
    this.child.stdout.resume();
    super._read(size);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.child.stdin.write(chunk)) cb();
    else this.child.stdin.once('drain', () => cb());
  }

  override _flush(cb: TransformCallback): void {
    this.child.stdin.end();
    Promise.all([this.exited, this.outEnded]).then(
      ([code]) => {
        if (code === 0) cb();
        else cb(new Error(`zstd -dc failed (exit ${code}): ${this.stderr.trim() || 'no message'}`));
      },
      (e) => cb(e as Error),
    );
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    cb(err);
  }
}
