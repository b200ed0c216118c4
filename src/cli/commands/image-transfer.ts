// Image commands over berth's own service: tag, push, pull with per-layer progress (CRI pull as
// the fallback for a berthd without the service), save, load, history; login/logout keep registry
// credentials in docker's config.json, which push and pull send along.
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import { BerthConnection, isUnimplemented, type AuthConfig } from '../berth-connection';
import type { Ctx } from '../context';
import { CredentialStore, registryKey, registryOfReference } from '../credentials';
import { CliError, usageError } from '../errors';
import { ago, humanSize, shortId } from '../format';
import { outputFormat, print, printJson } from '../output';
import { ask, readStdin } from '../prompt';
import { ProgressBoard } from '../pull-progress';
import { renderTable, truncate } from '../table';
import { pullImage } from './images';

/** Runs `fn` with a connection to berth's service on ctx's socket, closed afterwards. */
export async function withBerth<T>(ctx: Ctx, fn: (b: BerthConnection) => Promise<T>): Promise<T> {
  const b = new BerthConnection(ctx.socket);
  try {
    return await fn(b);
  } finally {
    b.close();
  }
}

/** Stored credentials for the registry of `ref`, as the service's AuthConfig (undefined: anonymous). */
export function authFor(ref: string, store: CredentialStore = new CredentialStore()): AuthConfig | undefined {
  const c = store.get(registryOfReference(ref));
  return c ? { username: c.username, password: c.password } : undefined;
}

interface PullResult {
  Reference: string;
  ImageID: string;
  Layers: Array<{ Digest: string; Size: number; Status: string }>;
}

/** Pulls over the berth service with progress on stderr; falls back to CRI's PullImage. */
export async function pullWithProgress(ctx: Ctx, ref: string, opts: { quiet?: boolean; tty?: boolean } = {}): Promise<PullResult> {
  const tty = opts.tty ?? process.stderr.isTTY === true;
  const board = new ProgressBoard();
  const layers = new Map<string, { Digest: string; Size: number; Status: string }>();
  let imageId = '';
  let reference = ref;
  let lastDraw = 0;
  const t0 = Date.now();
  try {
    await withBerth(ctx, async (b) => {
      if (!opts.quiet) process.stderr.write(`Pulling ${ref}\n`);
      for await (const m of b.pull({ image: ref, auth: authFor(ref) })) {
        if (m.done) {
          imageId = m.imageId;
          reference = m.reference || ref;
          continue;
        }
        if (m.digest) layers.set(m.digest, { Digest: m.digest, Size: Number(m.total), Status: m.status });
        const line = board.update({ digest: m.digest, status: m.status, current: Number(m.current), total: Number(m.total) });
        if (opts.quiet) continue;
        if (!tty) {
          if (line) process.stderr.write(`${line}\n`);
        } else if (Date.now() - lastDraw > 100 || m.status !== 'downloading') {
          process.stderr.write(board.frame());
          lastDraw = Date.now();
        }
      }
    });
  } catch (e) {
    if (!isUnimplemented(e)) throw e;
    // An older berthd: CRI's pull (no progress, no credentials from config.json).
    const id = await pullImage(ctx.conn(), ref, { quiet: opts.quiet });
    return { Reference: ref, ImageID: id, Layers: [] };
  }
  if (!imageId) throw new CliError(`berthd ended the pull of ${ref} without an image id`);
  if (!opts.quiet) {
    if (tty) process.stderr.write(board.frame());
    process.stderr.write(`Pulled ${reference} in ${((Date.now() - t0) / 1000).toFixed(1)}s\nImage ID: ${imageId}\n`);
  }
  return { Reference: reference, ImageID: imageId, Layers: [...layers.values()] };
}

async function writeStreamToFile(chunks: AsyncIterable<Buffer>, file: string): Promise<void> {
  // A temp file beside the target, renamed at the end: a failed save leaves no half archive.
  const tmp = join(dirname(file), `.${basename(file)}.tmp-${randomBytes(4).toString('hex')}`);
  try {
    await pipeline(Readable.from(chunks), createWriteStream(tmp, { mode: 0o644 }));
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

async function* chunkData(stream: AsyncIterable<{ data: Buffer }>): AsyncGenerator<Buffer> {
  for await (const c of stream) yield c.data;
}

export function registerImageTransferCommands(program: Command, ctx: Ctx): void {
  const image = program.commands.find((c) => c.name() === 'image');

  const pull = (cmd: Command) =>
    cmd
      .argument('<image>', 'image reference, e.g. docker.io/library/busybox:latest')
      .option('-q, --quiet', 'print only the image id')
      .option('--format <format>', 'table or json (the result)')
      .action(
        ctx.action(async (ref: string, o: { quiet?: boolean; format?: string }) => {
          const fmt = outputFormat(o.format);
          const res = await pullWithProgress(ctx, ref, { quiet: o.quiet || fmt === 'json' });
          if (fmt === 'json') return printJson(res);
          print(o.quiet ? res.ImageID : res.Reference);
        }),
      );
  pull(program.command('pull').description('Pull an image from a registry (with per-layer progress)'));
  if (image) {
    pull(image.command('pull').description('Pull an image from a registry (with per-layer progress)'));
  }

  const tag = (cmd: Command) =>
    cmd
      .argument('<source>', 'image reference, id or id prefix')
      .argument('<target>', 'new reference, e.g. registry:5000/app:v1')
      .action(
        ctx.action(async (source: string, target: string) => {
          await withBerth(ctx, (b) => b.tag({ source, target }));
        }),
      );
  tag(program.command('tag').description('Give an image another reference'));
  if (image) tag(image.command('tag').description('Give an image another reference'));

  const push = (cmd: Command) =>
    cmd
      .argument('<image>', 'image reference (NAME[:TAG]) to push to its registry')
      .option('-q, --quiet', 'print only the pushed manifest digest')
      .action(
        ctx.action(async (ref: string, o: { quiet?: boolean }) => {
          const board = new ProgressBoard();
          let digest = '';
          let reference = ref;
          await withBerth(ctx, async (b) => {
            for await (const m of b.push({ image: ref, auth: authFor(ref) })) {
              if (m.done) {
                digest = m.manifestDigest;
                reference = m.reference || ref;
                continue;
              }
              const line = board.update({ digest: m.digest, status: m.status, current: Number(m.current), total: Number(m.total) });
              if (line && !o.quiet) process.stderr.write(`${line}\n`);
            }
          });
          if (!digest) throw new CliError(`berthd ended the push of ${ref} without a manifest digest`);
          print(o.quiet ? digest : `${reference}: digest: ${digest}`);
        }),
      );
  push(program.command('push').description('Push an image to its registry (credentials from berth login)'));
  if (image) push(image.command('push').description('Push an image to its registry (credentials from berth login)'));

  const save = (cmd: Command) =>
    cmd
      .argument('<image...>', 'image references or ids')
      .option('-o, --output <file>', 'write to this file (default: stdout, which must not be a terminal)')
      .option('--format <format>', 'docker (docker-archive, default) or oci (OCI image layout tar)', 'docker')
      .action(
        ctx.action(async (refs: string[], o: { output?: string; format: string }) => {
          if (o.format !== 'docker' && o.format !== 'oci') throw usageError(`unsupported --format "${o.format}": use docker or oci`);
          if (!o.output && process.stdout.isTTY) throw usageError('refusing to write an archive to a terminal: use -o FILE or redirect stdout');
          await withBerth(ctx, async (b) => {
            const chunks = chunkData(b.save({ images: refs, format: o.format === 'oci' ? 'OCI_ARCHIVE' : 'DOCKER_ARCHIVE' }));
            if (o.output) await writeStreamToFile(chunks, o.output);
            else await pipeline(Readable.from(chunks), process.stdout, { end: false });
          });
        }),
      );
  save(program.command('save').description('Save images to a tar archive (docker-archive or OCI)'));
  if (image) save(image.command('save').description('Save images to a tar archive (docker-archive or OCI)'));

  const load = (cmd: Command) =>
    cmd
      .option('-i, --input <file>', 'read this archive (default: stdin); gzip and zstd are fine')
      .option('-q, --quiet', 'print only image ids')
      .action(
        ctx.action(async (o: { input?: string; quiet?: boolean }) => {
          if (!o.input && process.stdin.isTTY) throw usageError('no archive on stdin: use -i FILE or redirect stdin');
          const source = (o.input ? createReadStream(o.input, { highWaterMark: 256 << 10 }) : process.stdin) as AsyncIterable<Buffer>;
          const res = await withBerth(ctx, (b) => b.load(source));
          for (const img of res.images) {
            if (o.quiet) print(img.id);
            else if (img.tags.length) for (const t of img.tags) print(`Loaded image: ${t}`);
            else print(`Loaded image ID: ${img.id}`);
          }
        }),
      );
  load(program.command('load').description('Load images from a tar archive (docker-archive or OCI)'));
  if (image) load(image.command('load').description('Load images from a tar archive (docker-archive or OCI)'));

  const history = (cmd: Command) =>
    cmd
      .argument('<image>', 'image reference, id or id prefix')
      .option('--no-trunc', 'do not shorten ids and commands')
      .option('-q, --quiet', 'print only the image id')
      .option('--format <format>', 'table or json')
      .action(
        ctx.action(async (ref: string, o: { trunc: boolean; quiet?: boolean; format?: string }) => {
          const fmt = outputFormat(o.format);
          const h = await withBerth(ctx, (b) => b.history({ image: ref }));
          if (o.quiet) return print(o.trunc ? shortId(h.imageId) : h.imageId);
          if (fmt === 'json') {
            return printJson(
              h.entries.map((e, i) => ({
                ID: i === 0 ? h.imageId : '<missing>',
                Created: e.created,
                CreatedBy: e.createdBy,
                Size: Number(e.size),
                Comment: e.comment,
                EmptyLayer: e.emptyLayer,
                Layer: e.layer,
              })),
            );
          }
          const rows = h.entries.map((e, i) => {
            const created = e.created ? Date.parse(e.created) : 0;
            return [
              i === 0 ? (o.trunc ? shortId(h.imageId) : h.imageId) : '<missing>',
              created ? ago(created) : '',
              o.trunc ? truncate(e.createdBy.replace(/\s+/g, ' '), 45) : e.createdBy,
              humanSize(Number(e.size)),
              e.comment,
            ];
          });
          print(renderTable(['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], rows));
        }),
      );
  history(program.command('history').description('Show the history of an image'));
  if (image) history(image.command('history').description('Show the history of an image'));

  program
    .command('login')
    .description('Check credentials against a registry and store them (docker config.json; used by pull and push)')
    .argument('<server>', 'registry host[:port], e.g. registry.example.com:5000')
    .option('-u, --username <user>', 'user name')
    .option('-p, --password <password>', 'password (visible in the process list: prefer --password-stdin)')
    .option('--password-stdin', 'read the password from stdin')
    .action(
      ctx.action(async (server: string, o: { username?: string; password?: string; passwordStdin?: boolean }) => {
        if (o.password !== undefined && o.passwordStdin) throw usageError('--password and --password-stdin are exclusive');
        let username = o.username;
        let password = o.password;
        if (o.passwordStdin) {
          if (!username) throw usageError('--password-stdin needs --username');
          password = (await readStdin()).replace(/\r?\n$/, '');
        }
        const interactive = process.stdin.isTTY === true;
        if (!username) {
          if (!interactive) throw usageError('no username: use -u USER');
          username = (await ask('Username: ')).trim();
        }
        if (password === undefined) {
          if (!interactive) throw usageError('no password: use --password-stdin or -p');
          password = await ask('Password: ', { secret: true });
        }
        if (!username || !password) throw usageError('username and password must not be empty');
        // As docker: the registry must accept them before they are kept (berthd asks it; the CLI
        // has no registry client of its own). A refusal saves nothing.
        await withBerth(ctx, (b) => b.checkLogin({ registry: server, auth: { username, password } }));
        const store = new CredentialStore();
        await store.set(server, { username, password });
        print(`Credentials for ${registryKey(server)} saved in ${store.file}`);
        print('Login Succeeded');
      }),
    );

  program
    .command('logout')
    .description('Remove stored credentials for a registry')
    .argument('<server>', 'registry host[:port]')
    .action(
      ctx.action(async (server: string) => {
        const store = new CredentialStore();
        if (await store.remove(server)) print(`Removing login credentials for ${registryKey(server)}`);
        else print(`Not logged in to ${registryKey(server)}`);
      }),
    );
}
