// The image the pull benchmark pulls: ~270 MB uncompressed in 5 gzip layers with ~15k files,
// built by berth's own image writer (src/image/writer) from a seeded generator, so every build is
// byte-identical. Mostly small text-like files (compress ~3x, like source trees and
// node_modules), medium files that are a quarter random, a few large random files (incompressible, like
// binaries and assets), symlinks, hardlinks, and a top layer with whiteouts and an opaque directory.
// Built blobs are cached under /var/tmp/berth-bench-cache/<version>/ so reruns skip the ~20 s build.
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/util/atomic-file';
import { buildImage, type BuiltImage } from '../../src/image/writer/image';
import { buildLayerFromEntries, type BuiltLayer, type LayerEntry } from '../../src/image/writer/layer';

/** Bump when the generator changes: it names the cache directory. */
export const BENCH_IMAGE_VERSION = 'pull-image-v1';
export const DEFAULT_CACHE_DIR = process.env.BERTH_BENCH_CACHE ?? '/var/tmp/berth-bench-cache';

export interface BenchImageInfo {
  image: BuiltImage;
  /** Uncompressed bytes of file contents, number of entries, per layer and total. */
  layers: Array<{ name: string; digest: string; size: number; files: number; entries: number; contentBytes: number }>;
  totalCompressed: number;
  totalContent: number;
  totalFiles: number;
  cached: boolean;
  buildMs: number;
}

// ---- deterministic randomness ----

/** mulberry32: a tiny seeded PRNG for choices and sizes. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Incompressible bytes from an AES-CTR keystream (deterministic per label, ~1 GB/s). */
class RandomBytes {
  private readonly cipher;
  constructor(label: string) {
    const key = createHash('sha256').update(`berth-bench:${label}`).digest();
    this.cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  }
  take(n: number): Buffer {
    return this.cipher.update(Buffer.alloc(n));
  }
}

/** A text corpus (code-like lines from a made-up vocabulary); files are slices of it. */
function makeCorpus(rand: () => number, bytes: number): Buffer {
  const letters = 'abcdefghijklmnopqrstuvwxyz_';
  const vocab: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const len = 2 + Math.floor(rand() * 10);
    let w = '';
    for (let j = 0; j < len; j++) w += letters[Math.floor(rand() * letters.length)];
    vocab.push(w);
  }
  const punct = [' = ', '(', ') ', '.', ', ', ' { ', ' }', ';', ' + ', ' => ', ': ', ' '];
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const indent = ' '.repeat(2 * Math.floor(rand() * 4));
    const n = 3 + Math.floor(rand() * 9);
    let line = indent;
    for (let i = 0; i < n; i++) line += vocab[Math.floor(Math.pow(rand(), 2) * vocab.length)]! + punct[Math.floor(rand() * punct.length)]!;
    line += '\n';
    parts.push(line);
    size += line.length;
  }
  return Buffer.from(parts.join(''), 'latin1');
}

class Gen {
  readonly rand: () => number;
  readonly rnd: RandomBytes;
  readonly corpus: Buffer;

  constructor(label: string, seed: number) {
    this.rand = prng(seed);
    this.rnd = new RandomBytes(label);
    this.corpus = makeCorpus(prng(seed ^ 0x5eed), 4 * 1024 * 1024);
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rand() * (hi - lo + 1));
  }

  /** Small file sizes: log-uniform between lo and hi (many tiny files, some larger). */
  logSize(lo: number, hi: number): number {
    return Math.round(Math.exp(Math.log(lo) + this.rand() * (Math.log(hi) - Math.log(lo))));
  }

  text(n: number, tag: string): Buffer {
    const header = Buffer.from(`// ${tag}\n`, 'latin1');
    if (n <= header.length) return header.subarray(0, n);
    const off = this.int(0, this.corpus.length - n - 1);
    return Buffer.concat([header, this.corpus.subarray(off, off + n - header.length)]);
  }

  /** Three quarters text, one quarter random (like compiled code: compresses ~2x). */
  mixed(n: number, tag: string): Buffer {
    const textPart = Math.floor((n * 3) / 4);
    return Buffer.concat([this.text(textPart, tag), this.rnd.take(n - textPart)]);
  }
}

interface LayerPlan {
  name: string;
  entries: LayerEntry[];
}

const dir = (path: string, mode = 0o755, uid = 0, gid = 0): LayerEntry => ({ path, type: 'dir', mode, uid, gid });
const file = (path: string, content: Buffer, mode = 0o644, uid = 0, gid = 0): LayerEntry => ({ path, type: 'file', content, mode, uid, gid });

/** Directory tree `prefix/d{i}/s{j}` with parents listed first. */
function tree(prefix: string, top: number, sub: number): { dirs: LayerEntry[]; leaves: string[] } {
  const dirs: LayerEntry[] = [];
  const leaves: string[] = [];
  const parts = prefix.split('/');
  for (let i = 1; i <= parts.length; i++) dirs.push(dir(parts.slice(0, i).join('/')));
  for (let i = 0; i < top; i++) {
    const d = `${prefix}/d${i.toString().padStart(3, '0')}`;
    dirs.push(dir(d));
    for (let j = 0; j < sub; j++) {
      const s = `${d}/s${j.toString().padStart(2, '0')}`;
      dirs.push(dir(s));
      leaves.push(s);
    }
  }
  return { dirs, leaves };
}

const MiB = 1024 * 1024;

function planLayers(): LayerPlan[] {
  const g = new Gen('pull-image', 20240611);
  const plans: LayerPlan[] = [];

  // 1. "os": config-ish and library-ish files, symlinks, a few setuid/executable files.
  {
    const e: LayerEntry[] = [dir('bin'), dir('etc'), dir('tmp', 0o1777), dir('var'), dir('var/tmp', 0o1777)];
    const t = tree('usr/lib/os', 20, 10);
    e.push(...t.dirs);
    for (let i = 0; i < 4000; i++) {
      const leaf = t.leaves[i % t.leaves.length]!;
      const p = `${leaf}/f${i}.conf`;
      e.push(file(p, g.text(g.logSize(64, 24 * 1024), p), i % 7 === 0 ? 0o755 : 0o644));
    }
    for (let i = 0; i < 300; i++) {
      const p = `usr/lib/os/d${String(i % 20).padStart(3, '0')}/lib${i}.so`;
      e.push(file(p, g.mixed(g.int(16 * 1024, 192 * 1024), p), 0o755));
    }
    for (let i = 0; i < 400; i++) e.push({ path: `bin/tool${i}`, type: 'symlink', linkname: `../usr/lib/os/d000/s00/f${i * 10}.conf` });
    e.push(file('bin/sudo-ish', g.mixed(200 * 1024, 'sudo'), 0o4755));
    plans.push({ name: 'os', entries: e });
  }
  // 2. "runtime": an interpreter's standard library plus two large binaries.
  {
    const e: LayerEntry[] = [];
    const t = tree('opt/runtime/lib', 25, 8);
    e.push(...t.dirs);
    for (let i = 0; i < 4000; i++) {
      const leaf = t.leaves[i % t.leaves.length]!;
      const p = `${leaf}/m${i}.py`;
      e.push(file(p, g.text(g.logSize(128, 32 * 1024), p)));
    }
    for (let i = 0; i < 600; i++) {
      const p = `${t.leaves[(i * 7) % t.leaves.length]!}/ext${i}.so`;
      e.push(file(p, g.mixed(g.int(8 * 1024, 128 * 1024), p), 0o755));
    }
    e.push(dir('opt/runtime/bin'));
    e.push(file('opt/runtime/bin/runtime', g.mixed(24 * MiB, 'runtime'), 0o755));
    e.push(file('opt/runtime/bin/runtime-debug', g.mixed(8 * MiB, 'runtime-debug'), 0o755));
    plans.push({ name: 'runtime', entries: e });
  }
  // 3. "deps": a node_modules-like tree: deep, tiny files, hardlinked duplicates, app-owned.
  {
    const e: LayerEntry[] = [dir('app', 0o755, 1000, 1000)];
    const t = tree('app/node_modules', 40, 6);
    for (const d of t.dirs) if (d.path.startsWith('app/')) e.push({ ...d, uid: 1000, gid: 1000 });
    const have = new Set<string>();
    for (let i = 0; i < 4500; i++) {
      const leaf = t.leaves[i % t.leaves.length]!;
      const p = `${leaf}/${i % 3 === 0 ? 'package.json' : `index${i}.js`}`;
      if (have.has(p)) continue;
      have.add(p);
      e.push(file(p, g.text(g.logSize(32, 16 * 1024), p), 0o644, 1000, 1000));
    }
    for (let i = 0; i < 400; i++) {
      const p = `${t.leaves[(i * 13) % t.leaves.length]!}/native${i}.node`;
      e.push(file(p, g.mixed(g.int(16 * 1024, 160 * 1024), p), 0o755, 1000, 1000));
    }
    for (let i = 0; i < 200; i++) {
      e.push({ path: `${t.leaves[(i * 5 + 1) % t.leaves.length]!}/LICENSE-link${i}`, type: 'hardlink', linkname: `${t.leaves[0]!}/package.json` });
    }
    plans.push({ name: 'deps', entries: e });
  }
  // 4. "assets": large incompressible files (models, media) plus some medium ones.
  {
    const e: LayerEntry[] = [dir('srv'), dir('srv/assets')];
    for (let i = 0; i < 6; i++) e.push(file(`srv/assets/blob${i}.bin`, g.rnd.take(16 * MiB)));
    for (let i = 0; i < 150; i++) e.push(file(`srv/assets/img${i}.png`, g.rnd.take(g.int(32 * 1024, 256 * 1024))));
    plans.push({ name: 'assets', entries: e });
  }
  // 5. "update": whiteouts over lower layers, an opaque dir, rewritten and new files.
  {
    const e: LayerEntry[] = [];
    const seen = new Set<string>();
    const add = (x: LayerEntry) => {
      if (!seen.has(x.path)) {
        seen.add(x.path);
        e.push(x);
      }
    };
    add(dir('usr'));
    add(dir('usr/lib'));
    add(dir('usr/lib/os'));
    for (let i = 0; i < 20; i++) add(dir(`usr/lib/os/d${String(i).padStart(3, '0')}`));
    // f{i}.conf of layer "os" lives in leaf i % 200, i.e. d{leaf / 10}/s{leaf % 10}
    for (let i = 0; i < 300; i++) {
      const d = `usr/lib/os/d${String(Math.floor((i % 200) / 10)).padStart(3, '0')}`;
      add(dir(`${d}/s${String(i % 10).padStart(2, '0')}`));
      add({ path: `${d}/s${String(i % 10).padStart(2, '0')}/f${i}.conf`, type: 'whiteout' });
    }
    // the whole runtime extension dir d001 is replaced: opaque marker plus new content
    add(dir('opt'));
    add(dir('opt/runtime'));
    add(dir('opt/runtime/lib'));
    add(dir('opt/runtime/lib/d001'));
    add({ path: 'opt/runtime/lib/d001', type: 'opaque' });
    for (let i = 0; i < 200; i++) add(file(`opt/runtime/lib/d001/new${i}.py`, g.text(g.logSize(128, 8 * 1024), `new${i}`)));
    // a removed package directory
    add(dir('app', 0o755, 1000, 1000));
    add(dir('app/node_modules', 0o755, 1000, 1000));
    add({ path: 'app/node_modules/d039', type: 'whiteout' });
    for (let i = 0; i < 800; i++) {
      const leafDir = `app/node_modules/d${String(i % 39).padStart(3, '0')}`;
      add(dir(leafDir, 0o755, 1000, 1000));
      add(dir(`${leafDir}/s0${i % 6}`, 0o755, 1000, 1000));
      add(file(`${leafDir}/s0${i % 6}/patched${i}.js`, g.text(g.logSize(64, 8 * 1024), `p${i}`), 0o644, 1000, 1000));
    }
    add(dir('etc'));
    add(file('etc/app.conf', g.text(4096, 'app.conf')));
    plans.push({ name: 'update', entries: e });
  }
  return plans;
}

interface CacheMeta {
  version: string;
  layers: Array<Omit<BuiltLayer, 'blob'> & { name: string; files: number; entries: number; contentBytes: number }>;
}

function layerStats(entries: LayerEntry[]): { files: number; entries: number; contentBytes: number } {
  let files = 0;
  let contentBytes = 0;
  for (const e of entries) {
    if (e.type === 'file') {
      files++;
      contentBytes += e.content ? Buffer.byteLength(e.content) : 0;
    }
  }
  return { files, entries: entries.length, contentBytes };
}

function assemble(meta: CacheMeta, dir: string): BuiltImage {
  const layers: BuiltLayer[] = meta.layers.map((l) => ({
    blob: join(dir, l.digest.replace(/^sha256:/, '')),
    digest: l.digest,
    size: l.size,
    diffId: l.diffId,
    mediaType: l.mediaType,
    compression: l.compression,
  }));
  return buildImage({
    layers,
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['/opt/runtime/bin/runtime'],
      WorkingDir: '/app',
      Labels: { 'org.opencontainers.image.title': 'berth pull benchmark', 'berth.bench.version': BENCH_IMAGE_VERSION },
    },
    history: meta.layers.map((l) => ({ created_by: `berth bench layer ${l.name}` })),
    format: 'oci',
  });
}

function info(meta: CacheMeta, dir: string, cached: boolean, buildMs: number): BenchImageInfo {
  return {
    image: assemble(meta, dir),
    layers: meta.layers.map((l) => ({ name: l.name, digest: l.digest, size: l.size, files: l.files, entries: l.entries, contentBytes: l.contentBytes })),
    totalCompressed: meta.layers.reduce((a, l) => a + l.size, 0),
    totalContent: meta.layers.reduce((a, l) => a + l.contentBytes, 0),
    totalFiles: meta.layers.reduce((a, l) => a + l.files, 0),
    cached,
    buildMs,
  };
}

/** The benchmark image, from the cache when a complete build of this version is there. */
export async function benchImage(cacheDir = DEFAULT_CACHE_DIR, log: (s: string) => void = () => undefined): Promise<BenchImageInfo> {
  const dir = join(cacheDir, BENCH_IMAGE_VERSION);
  const metaPath = join(dir, 'image.json');
  if (existsSync(metaPath)) {
    try {
      const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as CacheMeta;
      const ok =
        meta.version === BENCH_IMAGE_VERSION &&
        meta.layers.every((l) => {
          const p = join(dir, l.digest.replace(/^sha256:/, ''));
          return existsSync(p) && statSync(p).size === l.size;
        });
      if (ok) return info(meta, dir, true, 0);
    } catch {
      /* rebuild below */
    }
    log(`cache ${dir} is incomplete or stale: rebuilding`);
  }
  const started = Date.now();
  mkdirSync(dir, { recursive: true });
  const plans = planLayers();
  const meta: CacheMeta = { version: BENCH_IMAGE_VERSION, layers: [] };
  for (const [i, plan] of plans.entries()) {
    const tmp = join(dir, `layer-${i}.tmp`);
    rmSync(tmp, { force: true });
    const t = Date.now();
    const built = await buildLayerFromEntries(plan.entries, { compression: 'gzip', outFile: tmp });
    renameSync(tmp, join(dir, built.digest.replace(/^sha256:/, '')));
    const stats = layerStats(plan.entries);
    log(`built layer ${plan.name}: ${stats.files} files, ${(stats.contentBytes / MiB).toFixed(1)} MiB -> ${(built.size / MiB).toFixed(1)} MiB gzip in ${Date.now() - t} ms`);
    const { blob: _blob, ...rest } = built;
    meta.layers.push({ ...rest, name: plan.name, ...stats });
    plan.entries.length = 0; // let the contents go before the next layer is generated
  }
  writeFileAtomic(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
  return info(meta, dir, false, Date.now() - started);
}
