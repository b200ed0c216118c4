// decompressor(): gzip via zlib, zstd via the zstd binary, passthrough; errors surface as stream errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { decompressor } from '../../src/image/decompress';

function zstdCompress(data: Buffer): Buffer {
  const r = spawnSync('zstd', ['-q', '-c', '-3'], { input: data, maxBuffer: 1 << 30 });
  assert.equal(r.error, undefined, 'the zstd binary is required (apt install zstd)');
  assert.equal(r.status, 0, String(r.stderr));
  return r.stdout;
}

// Compressible but not trivial: random blocks repeated.
const plain = Buffer.concat(Array.from({ length: 200 }, (_, i) => Buffer.concat([randomBytes(2048), Buffer.alloc(8192, i)])));

async function run(kind: 'gzip' | 'zstd' | 'none', input: Buffer, slowReader = false): Promise<Buffer> {
  const parts: Buffer[] = [];
  const chunks: Buffer[] = [];
  for (let i = 0; i < input.length; i += 7000) chunks.push(input.subarray(i, i + 7000));
  await pipeline(
    Readable.from(chunks),
    decompressor(kind),
    new Writable({
      highWaterMark: 1024,
      write(c: Buffer, _e, cb) {
        parts.push(c);
        if (slowReader) setTimeout(cb, 1);
        else cb();
      },
    }),
  );
  return Buffer.concat(parts);
}

test('gzip, zstd and none round-trip', async () => {
  assert.ok((await run('gzip', gzipSync(plain))).equals(plain));
  assert.ok((await run('zstd', zstdCompress(plain))).equals(plain));
  assert.ok((await run('none', plain)).equals(plain));
});

test('zstd output respects backpressure from a slow consumer', async () => {
  assert.ok((await run('zstd', zstdCompress(plain), true)).equals(plain));
});

test('corrupt zstd input fails the stream with zstd\'s message', async () => {
  const bad = zstdCompress(plain);
  bad.fill(0x41, 100, 400);
  await assert.rejects(run('zstd', bad), /zstd -dc failed/);
  await assert.rejects(run('zstd', Buffer.from('definitely not zstd')), /zstd -dc failed/);
});

test('corrupt gzip input fails the stream', async () => {
  await assert.rejects(run('gzip', Buffer.from('not gzip at all')), /incorrect header check|Z_DATA_ERROR/);
});

test('destroying the zstd stream mid-way kills the zstd child', async () => {
  const d = decompressor('zstd') as unknown as { child: { pid: number; exitCode: number | null; signalCode: string | null; once: (e: string, f: () => void) => void } } & Writable;
  const pid = d.child.pid;
  assert.ok(pid > 0);
  d.write(zstdCompress(plain).subarray(0, 1000));
  const exited = new Promise<void>((resolve) => d.child.once('close', () => resolve()));
  d.destroy();
  await exited;
  assert.equal(d.child.signalCode, 'SIGKILL');
});
