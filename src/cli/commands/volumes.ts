// Named volumes over berth's own service: volume create, ls, inspect, rm. `run -v NAME:/path`
// makes them on first use (commands/run.ts).
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import type { Volume__Output } from '../berth-connection';
import type { Ctx } from '../context';
import { CliError, EXIT, usageError } from '../errors';
import { collect, parseLabel } from '../flags';
import { eachRef, outputFormat, print, printJson, requireJsonFormat, warn } from '../output';
import { renderTable } from '../table';
import { withBerth } from './image-transfer';

/** docker's JSON shape (berth volumes are all local directories), plus the containers using it. */
export function volumeJson(v: Volume__Output): Record<string, unknown> {
  return {
    Name: v.name,
    Driver: 'local',
    Mountpoint: v.mountpoint,
    CreatedAt: v.createdAt,
    Labels: v.labels ?? {},
    Scope: 'local',
    UsedBy: v.usedBy,
  };
}

export function registerVolumeCommands(program: Command, ctx: Ctx): void {
  const volume = program.command('volume').description('Manage named volumes (directories berthd keeps under its root)');

  volume
    .command('create')
    .description('Create a volume (an existing one is left as it is)')
    .argument('[name]', 'volume name (default: generated)')
    .option('-l, --label <key=value>', 'volume label', collect)
    .action(
      ctx.action(async (name: string | undefined, o: { label?: string[] }) => {
        const labels: Record<string, string> = {};
        for (const l of o.label ?? []) {
          try {
            const [k, v] = parseLabel(l);
            labels[k] = v;
          } catch (e) {
            throw usageError((e as Error).message);
          }
        }
        const v = await withBerth(ctx, (b) => b.createVolume({ name: name ?? randomBytes(32).toString('hex'), labels }));
        print(v.name);
      }),
    );

  volume
    .command('ls')
    .alias('list')
    .description('List volumes')
    .option('-q, --quiet', 'print only volume names')
    .option('--format <format>', 'table or json')
    .action(
      ctx.action(async (o: { quiet?: boolean; format?: string }) => {
        const fmt = outputFormat(o.format);
        const { volumes } = await withBerth(ctx, (b) => b.listVolumes());
        if (o.quiet) return print(volumes.map((v) => v.name).join('\n'));
        if (fmt === 'json') return printJson(volumes.map(volumeJson));
        print(renderTable(['DRIVER', 'VOLUME NAME'], volumes.map((v) => ['local', v.name])));
      }),
    );

  volume
    .command('inspect')
    .description('Show details of volumes as JSON')
    .argument('<name...>')
    .option('-f, --format <format>', 'json (the only format)')
    .action(
      ctx.action(async (names: string[], o: { format?: string }) => {
        requireJsonFormat('volume inspect', o.format);
        const out: unknown[] = [];
        let code: number = EXIT.ok;
        await withBerth(ctx, async (b) => {
          code = await eachRef(names, async (n) => {
            out.push(volumeJson(await b.inspectVolume(n)));
          });
        });
        printJson(out);
        return code;
      }),
    );

  volume
    .command('rm')
    .alias('remove')
    .description('Remove volumes and their data (refused while a container, running or not, mounts one)')
    .argument('<name...>')
    .option('-f, --force', 'no error for volumes that do not exist')
    .action(
      ctx.action(async (names: string[], o: { force?: boolean }) => {
        let code: number = EXIT.ok;
        await withBerth(ctx, async (b) => {
          code = await eachRef(names, async (n) => {
            await b.removeVolume({ name: n, force: !!o.force });
            print(n);
          });
        });
        return code;
      }),
    );
}
