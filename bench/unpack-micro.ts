// Micro-benchmarks behind the design choices of the layer unpacker (numbers quoted in
// src/snapshot/sys.ts and src/image/decompress.ts). Run as root:
//   node --import tsx bench/unpack-micro.ts [--dir parent-of-scratch] [--zstd file.tar.zst] [--tar file.tar]
// Use a tmpfs --dir to measure syscall cost without the disk's inode-creation cost.
// Sections: 1000 mknod / setxattr calls via the addon vs the mknod/setfattr binaries; a 128-layer
// overlay mount via the addon vs the mount binary; zstd -dc vs fzstd; and (with --tar) applyLayer vs
// GNU tar extracting the same layer.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Decompress } from 'fzstd';
import * as sys from '../src/snapshot/sys';
import { decompressor } from '../src/image/decompress';
import { applyLayer } from '../src/snapshot/apply';

const N = 1000;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function timeMs(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function timeMsAsync(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function report(what: string, ms: number, calls = N): void {
  console.log(`${what.padEnd(44)} ${ms.toFixed(1).padStart(9)} ms  (${((ms * 1000) / calls).toFixed(1)} µs/call)`);
}

function benchSpecialFiles(base: string): void {
  sys.llistxattr(base); // load the addon outside the timed loop
  const a = join(base, 'mknod-addon');
  const b = join(base, 'mknod-bin');
  mkdirSync(a);
  mkdirSync(b);
  report('mknod via addon', timeMs(() => {
    for (let i = 0; i < N; i++) sys.mknod(join(a, `c${i}`), 'char', 0o644, 1, 3);
  }));
  report('mknod via `mknod` binary', timeMs(() => {
    for (let i = 0; i < N; i++) execFileSync('mknod', ['-m', '644', join(b, `c${i}`), 'c', '1', '3']);
  }));

  const fa = join(base, 'xattr-addon');
  const fb = join(base, 'xattr-bin');
  mkdirSync(fa);
  mkdirSync(fb);
  for (let i = 0; i < N; i++) {
    writeFileSync(join(fa, `f${i}`), '');
    writeFileSync(join(fb, `f${i}`), '');
  }
  const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex');
  report('lsetxattr via addon', timeMs(() => {
    for (let i = 0; i < N; i++) sys.lsetxattr(join(fa, `f${i}`), 'security.capability', cap);
  }));
  report('setxattr via `setfattr` binary', timeMs(() => {
    for (let i = 0; i < N; i++) {
      execFileSync('setfattr', ['-h', '-n', 'security.capability', '-v', `0x${cap.toString('hex')}`, join(fb, `f${i}`)]);
    }
  }));
}

function benchMount(base: string): void {
  const root = join(base, 'mnt');
  const layers = 128;
  for (let i = 1; i <= layers; i++) {
    mkdirSync(join(root, String(i), 'fs'), { recursive: true });
    writeFileSync(join(root, String(i), 'fs', `f${i}`), String(i));
  }
  const target = join(base, 'target');
  mkdirSync(target);
  const lower = Array.from({ length: layers }, (_, i) => `${layers - i}/fs`).join(':');
  const data = `lowerdir=${lower}`;
  const runs = 20;
  report(`overlay mount, ${layers} layers, via addon`, timeMs(() => {
    for (let i = 0; i < runs; i++) {
      sys.mount('overlay', target, 'overlay', sys.MS.RDONLY, data, { cwd: root });
      sys.umount(target);
    }
  }), runs);
  report(`overlay mount, ${layers} layers, via \`mount\``, timeMs(() => {
    for (let i = 0; i < runs; i++) {
      const r = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', `ro,${data}`, target], { cwd: root });
      if (r.status !== 0) throw new Error(`mount failed: ${r.stderr}`);
      sys.umount(target);
    }
  }), runs);
}

class FzstdTransform extends Transform {
  private readonly d = new Decompress((chunk) => this.push(chunk));
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: (e?: Error | null) => void): void {
    try {
      this.d.push(chunk);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }
  override _flush(cb: (e?: Error | null) => void): void {
    try {
      this.d.push(new Uint8Array(0), true);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }
}

function nullSink(): Writable & { bytes: number } {
  const w = new Writable({
    write(chunk: Buffer, _e, cb) {
      w.bytes += chunk.length;
      cb();
    },
  }) as Writable & { bytes: number };
  w.bytes = 0;
  return w;
}

async function benchZstd(file: string): Promise<void> {
  for (let run = 0; run < 3; run++) {
    let sink = nullSink();
    const bin = await timeMsAsync(() => pipeline(createReadStream(file), decompressor('zstd'), sink));
    const binBytes = sink.bytes;
    sink = nullSink();
    const js = await timeMsAsync(() => pipeline(createReadStream(file), new FzstdTransform(), sink));
    console.log(`zstd run ${run}: zstd -dc ${bin.toFixed(0)} ms (${binBytes} B) | fzstd ${js.toFixed(0)} ms (${sink.bytes} B)`);
  }
}

async function benchUnpack(file: string, base: string): Promise<void> {
  for (let run = 0; run < 3; run++) {
    const d1 = join(base, `apply-${run}`);
    const d2 = join(base, `gnutar-${run}`);
    mkdirSync(d1);
    mkdirSync(d2);
    spawnSync('sync');
    let res = { bytes: 0, files: 0 };
    const ours = await timeMsAsync(async () => {
      res = await applyLayer(createReadStream(file), d1);
    });
    spawnSync('sync');
    const gnu = await timeMsAsync(
      () =>
        new Promise<void>((resolve, reject) => {
          const p = spawn('tar', ['--xattrs', '--xattrs-include=*', '--same-owner', '-xpf', file, '-C', d2], { stdio: 'inherit' });
          p.on('close', (c) => (c === 0 ? resolve() : reject(new Error(`tar exit ${c}`))));
        }),
    );
    console.log(`unpack run ${run}: applyLayer ${ours.toFixed(0)} ms (${res.files} entries, ${res.bytes} B) | GNU tar ${gnu.toFixed(0)} ms`);
  }
}

async function main(): Promise<void> {
  const base = mkdtempSync(join(arg('--dir') ?? tmpdir(), 'berth-bench-'));
  try {
    benchSpecialFiles(base);
    benchMount(base);
    const z = arg('--zstd');
    if (z) await benchZstd(z);
    const t = arg('--tar');
    if (t) await benchUnpack(t, base);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

void main();
