// System commands: version, info, df.
import type { Command } from 'commander';
import type { Ctx } from '../context';
import { humanSize } from '../format';
import { outputFormat, print, printJson } from '../output';
import { renderTable } from '../table';
import { clientVersion } from '../version';

export function registerSystemCommands(program: Command, ctx: Ctx): void {
  program
    .command('version')
    .description('Show the client and server versions')
    .option('--format <format>', 'table or json')
    .action(
      ctx.action(async (o: { format?: string }) => {
        const fmt = outputFormat(o.format);
        const client = { Version: clientVersion(), Node: process.version, Os: process.platform, Arch: process.arch };
        const v = await ctx.conn().runtime('Version', { version: 'v1' });
        const server = { Version: v.runtimeVersion, RuntimeName: v.runtimeName, ApiVersion: v.runtimeApiVersion, Socket: ctx.socket };
        if (fmt === 'json') return printJson({ Client: client, Server: server });
        print(
          [
            'Client:',
            ` Version:      ${client.Version}`,
            ` Node.js:      ${client.Node}`,
            ` OS/Arch:      ${client.Os}/${client.Arch}`,
            '',
            'Server:',
            ` Runtime:      ${server.RuntimeName}`,
            ` Version:      ${server.Version}`,
            ` CRI API:      ${server.ApiVersion}`,
            ` Socket:       ${server.Socket}`,
          ].join('\n'),
        );
      }),
    );

  program
    .command('info')
    .description('Show what berthd reports about itself')
    .option('--format <format>', 'table or json')
    .action(
      ctx.action(async (o: { format?: string }) => {
        const fmt = outputFormat(o.format);
        const conn = ctx.conn();
        const [v, st, rc, ctrs, pods, imgs, fs] = await Promise.all([
          conn.runtime('Version', { version: 'v1' }),
          conn.runtime('Status', { verbose: true }),
          conn.runtime('RuntimeConfig', {}),
          conn.runtime('ListContainers', {}),
          conn.runtime('ListPodSandbox', {}),
          conn.image('ListImages', {}),
          conn.image('ImageFsInfo', {}),
        ]);
        const count = (state: string) => ctrs.containers.filter((c) => c.state === state).length;
        const info = {
          Runtime: v.runtimeName,
          Version: v.runtimeVersion,
          ApiVersion: v.runtimeApiVersion,
          Socket: ctx.socket,
          CgroupDriver: (rc.linux?.cgroupDriver ?? '').toLowerCase(),
          RuntimeHandlers: st.runtimeHandlers.map((h) => h.name || '(default)'),
          Conditions: (st.status?.conditions ?? []).map((c) => ({ Type: c.type, Status: c.status, Reason: c.reason, Message: c.message })),
          Containers: { Total: ctrs.containers.length, Running: count('CONTAINER_RUNNING'), Exited: count('CONTAINER_EXITED'), Created: count('CONTAINER_CREATED') },
          Pods: { Total: pods.items.length, Ready: pods.items.filter((p) => p.state === 'SANDBOX_READY').length },
          Images: imgs.images.length,
          ImageFilesystems: fs.imageFilesystems.map((f) => ({ Mountpoint: f.fsId?.mountpoint ?? '', UsedBytes: Number(f.usedBytes?.value ?? 0) })),
          Details: st.info,
        };
        if (fmt === 'json') return printJson(info);
        const lines = [
          `Runtime:            ${info.Runtime} ${info.Version} (CRI ${info.ApiVersion})`,
          `Socket:             ${info.Socket}`,
          `Cgroup driver:      ${info.CgroupDriver}`,
          `Runtime handlers:   ${info.RuntimeHandlers.join(', ')}`,
          'Conditions:',
          ...info.Conditions.map((c) => `  ${c.Type}: ${c.Status}${c.Reason ? ` (${c.Reason}${c.Message ? `: ${c.Message}` : ''})` : ''}`),
          `Containers:         ${info.Containers.Total} (running ${info.Containers.Running}, exited ${info.Containers.Exited}, created ${info.Containers.Created})`,
          `Pods:               ${info.Pods.Total} (ready ${info.Pods.Ready})`,
          `Images:             ${info.Images}`,
          ...info.ImageFilesystems.map((f) => `Image filesystem:   ${f.Mountpoint} (${humanSize(f.UsedBytes)} used)`),
        ];
        const keys = Object.keys(info.Details);
        if (keys.length) {
          lines.push('Details:');
          for (const k of keys) lines.push(`  ${k}:`, ...info.Details[k].split('\n').filter(Boolean).map((l) => `    ${l}`));
        }
        print(lines.join('\n'));
      }),
    );

  program
    .command('df')
    .description('Show disk usage of images and containers')
    .option('--format <format>', 'table or json')
    .action(
      ctx.action(async (o: { format?: string }) => {
        const fmt = outputFormat(o.format);
        const conn = ctx.conn();
        const [imgs, ctrs, stats, fs] = await Promise.all([
          conn.image('ListImages', {}),
          conn.runtime('ListContainers', {}),
          conn.runtime('ListContainerStats', {}),
          conn.image('ImageFsInfo', {}),
        ]);
        const used = new Set(ctrs.containers.flatMap((c) => [c.imageId, c.imageRef]));
        const active = imgs.images.filter((i) => used.has(i.id) || i.repoDigests.some((d) => used.has(d)));
        const imgSize = imgs.images.reduce((s, i) => s + Number(i.size), 0);
        const activeSize = active.reduce((s, i) => s + Number(i.size), 0);
        const running = new Set(ctrs.containers.filter((c) => c.state === 'CONTAINER_RUNNING').map((c) => c.id));
        const layer = (id: string) => Number(stats.stats.find((s) => s.attributes?.id === id)?.writableLayer?.usedBytes?.value ?? 0);
        const ctrSize = ctrs.containers.reduce((s, c) => s + layer(c.id), 0);
        const ctrReclaim = ctrs.containers.filter((c) => !running.has(c.id)).reduce((s, c) => s + layer(c.id), 0);
        const rows = [
          { Type: 'Images', Total: imgs.images.length, Active: active.length, Size: imgSize, Reclaimable: imgSize - activeSize },
          { Type: 'Containers', Total: ctrs.containers.length, Active: running.size, Size: ctrSize, Reclaimable: ctrReclaim },
        ];
        const filesystems = fs.imageFilesystems.map((f) => ({ Mountpoint: f.fsId?.mountpoint ?? '', UsedBytes: Number(f.usedBytes?.value ?? 0) }));
        if (fmt === 'json') return printJson({ Usage: rows, ImageFilesystems: filesystems });
        const pct = (part: number, whole: number) => (whole ? ` (${Math.round((part / whole) * 100)}%)` : '');
        print(
          renderTable(
            ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'],
            rows.map((r) => [r.Type, String(r.Total), String(r.Active), humanSize(r.Size), `${humanSize(r.Reclaimable)}${pct(r.Reclaimable, r.Size)}`]),
          ),
        );
        for (const f of filesystems) print(`Image filesystem ${f.Mountpoint}: ${humanSize(f.UsedBytes)} on disk (shared layers counted once)`);
      }),
    );
}
