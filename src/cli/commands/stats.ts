// `berth stats`: CPU and memory of containers from CRI stats; a live table on a terminal.
import { totalmem } from 'node:os';
import type { Command } from 'commander';
import type { ContainerStats__Output } from '../../cri/proto';
import type { Connection } from '../connection';
import type { Ctx } from '../context';
import { sleep } from '../container-ops';
import { binarySize, shortId } from '../format';
import { outputFormat, print, printJson } from '../output';
import { listContainerViews, pickContainer, type ContainerView } from '../resolve';
import { renderTable } from '../table';

interface Sample {
  cpuNs: number;
  at: number;
  nanoCores: number;
  memory: number;
  writable: number;
}

function sampleOf(s: ContainerStats__Output): Sample {
  return {
    cpuNs: Number(s.cpu?.usageCoreNanoSeconds?.value ?? 0),
    at: Number(BigInt(s.cpu?.timestamp || '0') / 1000n) / 1000,
    nanoCores: Number(s.cpu?.usageNanoCores?.value ?? 0),
    memory: Number(s.memory?.workingSetBytes?.value ?? 0),
    writable: Number(s.writableLayer?.usedBytes?.value ?? 0),
  };
}

/** CPU % of one core, from berthd's rate, or from two samples when it gives none yet. */
export function cpuPercent(now: Sample, before: Sample | undefined): number {
  if (now.nanoCores > 0) return now.nanoCores / 1e7;
  if (!before || now.at <= before.at) return 0;
  return ((now.cpuNs - before.cpuNs) / ((now.at - before.at) * 1e6)) * 100;
}

export interface StatsRow {
  id: string;
  name: string;
  cpuPercent: number;
  memoryBytes: number;
  memoryLimit: number;
  writableBytes: number;
}

async function collect(conn: Connection, targets: ContainerView[] | undefined, before: Map<string, Sample>): Promise<StatsRow[]> {
  const [views, { stats }] = await Promise.all([targets ? Promise.resolve(targets) : listContainerViews(conn), conn.runtime('ListContainerStats', {})]);
  const running = views.filter((v) => v.ctr.state === 'CONTAINER_RUNNING' || targets);
  const rows: StatsRow[] = [];
  for (const v of running) {
    const st = stats.find((s) => s.attributes?.id === v.ctr.id);
    if (!st) continue;
    const now = sampleOf(st);
    const cs = await conn.runtime('ContainerStatus', { containerId: v.ctr.id }).catch(() => undefined);
    const limit = Number(cs?.status?.resources?.linux?.memoryLimitInBytes ?? 0) || totalmem();
    rows.push({ id: v.ctr.id, name: v.name, cpuPercent: cpuPercent(now, before.get(v.ctr.id)), memoryBytes: now.memory, memoryLimit: limit, writableBytes: now.writable });
    before.set(v.ctr.id, now);
  }
  return rows;
}

function table(rows: StatsRow[]): string {
  return renderTable(
    ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'WRITABLE'],
    rows.map((r) => [
      shortId(r.id),
      r.name,
      `${r.cpuPercent.toFixed(2)}%`,
      `${binarySize(r.memoryBytes)} / ${binarySize(r.memoryLimit)}`,
      `${((r.memoryBytes / r.memoryLimit) * 100).toFixed(2)}%`,
      binarySize(r.writableBytes),
    ]),
  );
}

export function registerStatsCommand(program: Command, ctx: Ctx): void {
  program
    .command('stats')
    .description('Show CPU and memory use of running containers (live on a terminal)')
    .argument('[container...]')
    .option('--no-stream', 'print one table and exit')
    .option('--format <format>', 'table or json (json implies --no-stream)')
    .action(
      ctx.action(async (refs: string[], o: { stream: boolean; format?: string }) => {
        const fmt = outputFormat(o.format);
        const conn = ctx.conn();
        let targets: ContainerView[] | undefined;
        if (refs.length) {
          const views = await listContainerViews(conn);
          targets = refs.map((r) => pickContainer(views, r));
        }
        const before = new Map<string, Sample>();
        if (!o.stream || fmt === 'json') {
          // Two samples a moment apart, so CPU % is a rate even when berthd has none yet.
          await collect(conn, targets, before);
          await sleep(500);
          const rows = await collect(conn, targets, before);
          return fmt === 'json' ? printJson(rows) : print(table(rows));
        }
        let stop = false;
        const onSig = () => (stop = true);
        process.on('SIGINT', onSig);
        try {
          const tty = process.stdout.isTTY;
          while (!stop) {
            const text = table(await collect(conn, targets, before));
            // On a terminal, redraw in place; piped, append one table per second.
            process.stdout.write(tty ? `\x1b[2J\x1b[H${text}` : `${text}\n`);
            for (let i = 0; i < 10 && !stop; i++) await sleep(100);
          }
        } finally {
          process.off('SIGINT', onSig);
        }
      }),
    );
}
