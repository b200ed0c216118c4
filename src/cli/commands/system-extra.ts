// System commands over berth's own service: events (a live stream) and system prune.
import { Option, type Command } from 'commander';
import type { Event__Output } from '../berth-connection';
import type { Ctx } from '../context';
import { usageError } from '../errors';
import { humanSize, nsToMs } from '../format';
import { outputFormat, print, printJson } from '../output';
import { confirm } from '../prompt';
import { withBerth } from './image-transfer';

const EVENT_TYPES = { container: 'CONTAINER', pod: 'POD', image: 'IMAGE' } as const;

export interface EventFilters {
  types: Array<(typeof EVENT_TYPES)[keyof typeof EVENT_TYPES]>;
  actions: string[];
  ids: string[];
}

/** docker-style --filter KEY=VALUE: type=container|pod|image, event=ACTION, container|pod|image|id=ID. */
export function parseEventFilters(filters: readonly string[]): EventFilters {
  const out: EventFilters = { types: [], actions: [], ids: [] };
  for (const f of filters) {
    const eq = f.indexOf('=');
    const key = eq > 0 ? f.slice(0, eq) : '';
    const value = f.slice(eq + 1);
    if (!key || !value) throw usageError(`bad --filter "${f}": use KEY=VALUE`);
    if (key === 'type') {
      const t = EVENT_TYPES[value as keyof typeof EVENT_TYPES];
      if (!t) throw usageError(`bad --filter "${f}": type is container, pod or image`);
      out.types.push(t);
    } else if (key === 'event' || key === 'action') out.actions.push(value);
    else if (key === 'id' || key === 'container' || key === 'pod' || key === 'image') out.ids.push(value);
    else throw usageError(`unsupported --filter "${key}": use type, event or id`);
  }
  return out;
}

/** One event as docker prints it: time, type, action, id, (attributes). */
export function eventLine(e: Event__Output): string {
  const ns = BigInt(e.time || '0');
  const secs = new Date(Number(ns / 1_000_000_000n) * 1000).toISOString().replace(/\.\d+Z$/, '');
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  const attrs = Object.entries(e.attributes ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  return `${secs}.${frac}Z ${String(e.type).toLowerCase()} ${e.action} ${e.id}${attrs.length ? ` (${attrs.join(', ')})` : ''}`;
}

export function registerSystemExtraCommands(program: Command, ctx: Ctx): void {
  const events = (cmd: Command) =>
    cmd
      .option('-f, --follow', 'keep streaming (the default: events stream until Ctrl-C)')
      .option('--filter <key=value>', 'type=container|pod|image, event=ACTION, id=ID (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
      .option('--format <format>', 'table or json (one JSON object per line)')
      .addOption(new Option('--until-count <n>', 'stop after n events').hideHelp())
      .action(
        ctx.action(async (o: { filter: string[]; format?: string; untilCount?: string }) => {
          const fmt = outputFormat(o.format);
          const f = parseEventFilters(o.filter);
          const limit = o.untilCount === undefined ? Infinity : Number(o.untilCount);
          if (!(limit > 0)) throw usageError(`bad --until-count "${o.untilCount}": a positive number`);
          let n = 0;
          await withBerth(ctx, async (b) => {
            for await (const e of b.events(f)) {
              if (fmt === 'json') {
                process.stdout.write(
                  `${JSON.stringify({ Time: nsToMs(e.time) / 1000, TimeNano: String(e.time), Type: String(e.type).toLowerCase(), Action: e.action, ID: e.id, Attributes: e.attributes })}\n`,
                );
              } else print(eventLine(e));
              if (++n >= limit) break;
            }
          });
        }),
      );
  events(program.command('events').description('Stream container, pod and image events until interrupted'));

  const system = program.command('system').description('Manage berthd');
  events(system.command('events').description('Stream container, pod and image events until interrupted'));
  system
    .command('prune')
    .description('Remove exited containers, not-ready pods and dangling (-a: all unused) images (--volumes: unused volumes)')
    .option('-a, --all', 'remove every image no container uses, not only untagged ones')
    .option('-f, --force', 'do not ask for confirmation')
    .option('--volumes', 'also remove named volumes no container mounts')
    .option('--format <format>', 'table or json')
    .action(
      ctx.action(async (o: { all?: boolean; force?: boolean; volumes?: boolean; format?: string }) => {
        const fmt = outputFormat(o.format);
        if (!o.force && process.stdin.isTTY) {
          const what = ['all exited containers', 'all pods that are not ready', o.all ? 'all images without a container using them' : 'all dangling images'];
          if (o.volumes) what.push('all volumes no container mounts');
          const yes = await confirm(`WARNING! This will remove:\n${what.map((w) => `  - ${w}`).join('\n')}\n\nAre you sure you want to continue?`);
          if (!yes) return;
        }
        const r = await withBerth(ctx, (b) => b.prune({ images: o.all ? 'ALL_UNUSED' : 'DANGLING', containers: true, pods: true, volumes: !!o.volumes }));
        const reclaimed = Number(r.reclaimedBytes);
        if (fmt === 'json') {
          return printJson({ ContainersDeleted: r.removedContainers, PodsDeleted: r.removedPods, ImagesDeleted: r.removedImages, VolumesDeleted: r.removedVolumes, SpaceReclaimed: reclaimed });
        }
        const section = (title: string, ids: string[]) => ids.length && print(`${title}:\n${ids.join('\n')}\n`);
        section('Deleted Containers', r.removedContainers);
        section('Deleted Pods', r.removedPods);
        section('Deleted Images', r.removedImages);
        section('Deleted Volumes', r.removedVolumes);
        print(`Total reclaimed space: ${humanSize(reclaimed)}`);
      }),
    );
}
