// Image commands over the CRI ImageService: pull, images, rmi, image inspect.
import type { Command } from 'commander';
import type { Image__Output } from '../../cri/proto';
import type { Connection } from '../connection';
import { DEADLINE } from '../connection';
import type { Ctx } from '../context';
import { CliError, EXIT } from '../errors';
import { humanSize, shortId } from '../format';
import { outputFormat, print, printJson, requireJsonFormat, warn } from '../output';
import { renderTable } from '../table';
import { BerthConnection } from '../berth-connection';

/** "host:5000/a/b:tag" → ["host:5000/a/b", "tag"]; a digest reference → [repo, "<none>"]. */
export function splitRepoTag(ref: string): [string, string] {
  const at = ref.indexOf('@');
  if (at >= 0) return [ref.slice(0, at), '<none>'];
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) return [ref.slice(0, colon), ref.slice(colon + 1)];
  return [ref, 'latest'];
}

export interface ImageRow {
  repository: string;
  tag: string;
  digest: string;
  id: string;
  size: number;
}

/** One row per tag, as docker lists images; an untagged image gets one <none> row. */
export function imageRows(images: readonly Image__Output[]): ImageRow[] {
  const rows: ImageRow[] = [];
  for (const img of images) {
    const size = Number(img.size);
    const digestOf = (repo: string) => img.repoDigests.find((d) => d.startsWith(`${repo}@`))?.slice(repo.length + 1) ?? '<none>';
    if (!img.repoTags.length) {
      const [repo] = img.repoDigests.length ? splitRepoTag(img.repoDigests[0]) : ['<none>'];
      rows.push({ repository: repo, tag: '<none>', digest: img.repoDigests.length ? digestOf(repo) : '<none>', id: img.id, size });
      continue;
    }
    for (const t of img.repoTags) {
      const [repository, tag] = splitRepoTag(t);
      rows.push({ repository, tag, digest: digestOf(repository), id: img.id, size });
    }
  }
  return rows;
}

export async function imageStatus(conn: Connection, ref: string, verbose = false) {
  return conn.image('ImageStatus', { image: { image: ref }, verbose });
}

/** Pulls with plain progress lines on stderr; returns the image id. */
export async function pullImage(conn: Connection, ref: string, opts: { quiet?: boolean } = {}): Promise<string> {
  const t0 = Date.now();
  const say = (s: string) => !opts.quiet && process.stderr.write(`${s}\n`);
  say(`Pulling ${ref}`);
  // PullImage is one unary call: berthd reports no progress over CRI, so say we are still at it.
  const ticker = setInterval(() => say(`Still pulling ${ref} (${Math.round((Date.now() - t0) / 1000)}s)`), 10_000);
  try {
    const res = await conn.image('PullImage', { image: { image: ref } }, DEADLINE.pull);
    const st = await imageStatus(conn, res.imageRef);
    const size = st.image ? ` ${humanSize(Number(st.image.size))}` : '';
    say(`Pulled ${ref}:${size} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    say(`Image ID: ${res.imageRef}`);
    return res.imageRef;
  } finally {
    clearInterval(ticker);
  }
}

/** docker's short forms: `busybox` is docker.io/library/busybox:latest, `x/y` docker.io/x/y. */
export function normalizedTag(ref: string): string {
  let r = ref;
  if (!/^[^/]+[.:][^/]*\//.test(r) && !r.startsWith('localhost/')) r = r.includes('/') ? `docker.io/${r}` : `docker.io/library/${r}`;
  if (!/:[^/]+$/.test(r.split('@')[0])) r = `${r}:latest`;
  return r;
}

export function registerImageCommands(program: Command, ctx: Ctx): void {
  // `pull` itself is registered by image-transfer.ts (berth's service, with progress); pullImage()
  // here is its CRI fallback and what `run` uses to fetch a missing image.

  const list = (cmd: Command) =>
    cmd
      .argument('[repository]', 'only images of this repository (or reference)')
      .option('-q, --quiet', 'print only image ids')
      .option('--digests', 'show digests')
      .option('--no-trunc', 'do not shorten image ids')
      .option('--format <format>', 'table or json')
      .action(
        ctx.action(async (repo: string | undefined, o: { quiet?: boolean; digests?: boolean; trunc: boolean; format?: string }) => {
          const fmt = outputFormat(o.format);
          const { images } = await ctx.conn().image('ListImages', {});
          let rows = imageRows(images);
          if (repo) {
            const [r, t] = repo.includes(':') || repo.includes('@') ? splitRepoTag(repo) : [repo, undefined];
            rows = rows.filter((x) => (x.repository === r || x.repository.endsWith(`/${r}`)) && (t === undefined || x.tag === t));
          }
          if (o.quiet) {
            const ids = [...new Set(rows.map((r) => (o.trunc ? shortId(r.id) : r.id)))];
            return print(ids.join('\n'));
          }
          if (fmt === 'json') {
            return printJson(rows.map((r) => ({ Repository: r.repository, Tag: r.tag, Digest: r.digest, ID: r.id, Size: r.size })));
          }
          const headers = ['REPOSITORY', 'TAG', ...(o.digests ? ['DIGEST'] : []), 'IMAGE ID', 'SIZE'];
          const body = rows.map((r) => [r.repository, r.tag, ...(o.digests ? [r.digest] : []), o.trunc ? shortId(r.id) : r.id, humanSize(r.size)]);
          print(renderTable(headers, body));
        }),
      );
  list(program.command('images').description('List images'));

  const rmi = (cmd: Command) =>
    cmd
      .argument('<image...>', 'image references or ids')
      .option('-f, --force', 'remove even if containers use the image')
      .action(
        ctx.action(async (refs: string[], o: { force?: boolean }) => {
          const conn = ctx.conn();
          let code = EXIT.ok as number;
          const inUse = o.force ? [] : (await conn.runtime('ListContainers', {})).containers;
          for (const ref of refs) {
            try {
              const st = await imageStatus(conn, ref);
              if (!st.image) throw new CliError(`No such image: ${ref}`);
              const img = st.image;
              const users = inUse.filter((c) => c.imageId === img.id || c.imageRef === img.id || img.repoDigests.includes(c.imageRef));
              if (users.length) {
                throw new CliError(`image ${ref} is used by container ${shortId(users[0].id)}${users.length > 1 ? ` and ${users.length - 1} more` : ''}; remove them first or use -f`);
              }
              // As docker: naming one of several tags removes just that tag; naming an image by id
              // with several tags needs -f; the image goes with its last reference.
              const namedTag = img.repoTags.find((t) => t === ref || t === normalizedTag(ref));
              if (namedTag && img.repoTags.length > 1) {
                const b = new BerthConnection(ctx.socket);
                try {
                  await b.untag({ reference: namedTag });
                } finally {
                  b.close();
                }
                print(`Untagged: ${namedTag}`);
                continue;
              }
              if (!namedTag && img.repoTags.length > 1 && !o.force) {
                throw new CliError(`image ${ref} is referenced in ${img.repoTags.length} repositories; name a tag or use -f`);
              }
              await conn.image('RemoveImage', { image: { image: img.id } });
              for (const t of img.repoTags) print(`Untagged: ${t}`);
              print(`Deleted: ${img.id}`);
            } catch (e) {
              if (!(e instanceof CliError)) throw e;
              warn(e.message);
              code = EXIT.error;
            }
          }
          return code;
        }),
      );
  rmi(program.command('rmi').description('Remove images'));

  const inspect = (cmd: Command) =>
    cmd.argument('<image...>', 'image references or ids').option('-f, --format <format>', 'json (the only format)').action(
      ctx.action(async (refs: string[], o: { format?: string }) => {
        requireJsonFormat('image inspect', o.format);
        const out = [];
        let code = EXIT.ok as number;
        for (const ref of refs) {
          const st = await imageStatus(ctx.conn(), ref, true);
          if (!st.image) {
            warn(`No such image: ${ref}`);
            code = EXIT.error;
            continue;
          }
          out.push(imageJson(st.image, st.info));
        }
        printJson(out);
        return code;
      }),
    );

  const image = program.command('image').description('Manage images');
  inspect(image.command('inspect').description('Show details of images as JSON'));
  list(image.command('ls').description('List images'));
  rmi(image.command('rm').description('Remove images'));
}

export function imageJson(img: Image__Output, info: Record<string, string>): Record<string, unknown> {
  let details: unknown = undefined;
  if (info.info) {
    try {
      details = JSON.parse(info.info);
    } catch {
      details = info.info;
    }
  }
  return {
    Id: img.id,
    RepoTags: img.repoTags,
    RepoDigests: img.repoDigests,
    Size: Number(img.size),
    User: img.username || (img.uid ? img.uid.value : ''),
    Pinned: img.pinned,
    ...(details !== undefined ? { Details: details } : {}),
  };
}
