// The CNI driver: runs a network's plugin chain for ADD, CHECK and DEL (CNI spec 0.3.x–1.1.0) and
// records each attachment so later DEL/CHECK use exactly what ADD used.
import { alreadyExists, BerthError, deadlineExceeded, failedPrecondition, internal, isBerthError } from '../util/errors';
import { logger } from '../util/log';
import { CniResultCache, type CachedAttachment } from './cni-cache';
import { compareVersions, type NetworkConfigList, type PluginConf } from './cni-config';
import {
  cniEnv,
  hasCheckAndDelPrevResult,
  parsePluginError,
  pluginError,
  pluginStdin,
  validateRuntimeConf,
  type CniCommand,
  type RuntimeConf,
} from './cni-protocol';
import { emptyResult, parseCniResult, type CniResult } from './cni-result';
import { run, tail } from '../util/run';
import { isNamespaceFile } from './namespaces';
import { findPluginBinary } from './plugin-path';

const log = logger('cni');

export interface CniDriverOptions {
  /** Directories searched for plugin executables, in order; also passed as CNI_PATH. */
  binDirs: string[];
  /** berth's state dir; attachments are recorded under <stateDir>/cni/results. */
  stateDir: string;
  /** Per plugin invocation; the plugin's whole process group is killed when it expires. */
  timeoutMs?: number;
}

export class CniDriver {
  readonly cache: CniResultCache;
  private readonly timeoutMs: number;

  constructor(private readonly opts: CniDriverOptions) {
    this.cache = new CniResultCache(opts.stateDir);
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  /**
   * Attach a container (for berth: a pod, id = pod id) to a network. On failure the chain is
   * deleted again (best effort) and the error rethrown; an attachment whose cleanup failed stays
   * recorded so reconcile can retry the DEL.
   */
  async add(net: NetworkConfigList, rt: RuntimeConf): Promise<CniResult> {
    validateRuntimeConf(rt);
    const id = rt.containerId;
    const prev = await this.cache.get(id);
    if (prev?.result !== undefined) throw alreadyExists(`container ${id} is already attached to network ${prev.network.name}`, { containerId: id });
    // A record without result is an ADD that never finished (crash): clean it up first.
    if (prev) await this.delRecorded(prev);

    const runtime: RuntimeConf = { ...rt, ifName: rt.ifName ?? 'eth0' };
    await this.cache.put({ runtime, network: net });
    const started = Date.now();
    let raw: unknown;
    try {
      for (const plugin of net.plugins) {
        const out = await this.exec('ADD', net, plugin, runtime, runtime.netnsPath, raw);
        // A chained plugin may print nothing; the previous result then stands.
        if (out !== undefined) {
          // A malformed result is the plugin's fault, not the caller's.
          try {
            parseCniResult(out, `result of CNI plugin ${plugin.type} on network ${net.name}`);
          } catch (pe) {
            throw internal((pe as Error).message, { plugin: plugin.type, command: 'ADD', network: net.name, containerId: id });
          }
          raw = out;
        }
      }
    } catch (e) {
      try {
        await this.runDel(net, runtime, undefined);
        await this.cache.remove(id);
      } catch (de) {
        log.warn({ containerId: id, network: net.name, err: de }, 'cleanup after failed CNI ADD failed; left for reconcile');
      }
      throw e;
    }
    await this.cache.put({ runtime, network: net, result: raw });
    const result = raw === undefined ? emptyResult(net.cniVersion) : parseCniResult(raw);
    log.info({ containerId: id, network: net.name, ips: result.ips.map((i) => i.address), ms: Date.now() - started }, 'attached to network');
    return result;
  }

  /**
   * Detach. Uses the recorded config, runtime args and result if there is a record, else `fallback`
   * (nothing recorded and no fallback: nothing to do). Every plugin is called even if one fails,
   * and a netns that is gone is passed as empty CNI_NETNS. The record is dropped only on success.
   */
  async del(containerId: string, fallback?: { net: NetworkConfigList; rt: RuntimeConf }): Promise<void> {
    const rec = await this.cache.get(containerId);
    if (rec) return this.delRecorded(rec);
    if (!fallback) {
      log.debug({ containerId }, 'CNI DEL: nothing recorded');
      return;
    }
    validateRuntimeConf(fallback.rt, true);
    await this.runDel(fallback.net, { ...fallback.rt, containerId }, undefined);
  }

  /** CHECK a recorded attachment (spec 0.4.0+; skipped when the network sets disableCheck). */
  async check(containerId: string): Promise<void> {
    const rec = await this.cache.get(containerId);
    if (!rec || rec.result === undefined) throw failedPrecondition(`container ${containerId} is not attached to a network`, { containerId });
    const net = rec.network;
    if (!hasCheckAndDelPrevResult(net.cniVersion))
      throw failedPrecondition(`network ${net.name} uses CNI ${net.cniVersion}, which has no CHECK`, { containerId, network: net.name });
    if (net.disableCheck) return;
    for (const plugin of net.plugins) await this.exec('CHECK', net, plugin, rec.runtime, rec.runtime.netnsPath, rec.result);
  }

  /** The recorded attachment of a container, with its parsed result. */
  async attachment(containerId: string): Promise<{ network: NetworkConfigList; runtime: RuntimeConf; result?: CniResult } | undefined> {
    const rec = await this.cache.get(containerId);
    if (!rec) return undefined;
    return { network: rec.network, runtime: rec.runtime, result: rec.result === undefined ? undefined : parseCniResult(rec.result) };
  }

  /** Ids of all recorded attachments (including unfinished ADDs). */
  attachedIds(): Promise<string[]> {
    return this.cache.list();
  }

  /** Spec versions a plugin supports (the VERSION command). */
  async pluginVersions(type: string, cniVersion = '1.0.0'): Promise<string[]> {
    const net: NetworkConfigList = { name: 'version-probe', cniVersion, disableCheck: true, plugins: [{ type }] };
    const out = await this.exec('VERSION', net, { type }, undefined, '', undefined);
    const v = (out as { supportedVersions?: unknown } | undefined)?.supportedVersions;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').sort(compareVersions) : [];
  }

  private async delRecorded(rec: CachedAttachment): Promise<void> {
    await this.runDel(rec.network, rec.runtime, rec.result);
    await this.cache.remove(rec.runtime.containerId);
    log.info({ containerId: rec.runtime.containerId, network: rec.network.name }, 'detached from network');
  }

  private async runDel(net: NetworkConfigList, rt: RuntimeConf, result: unknown): Promise<void> {
    // Plugins must clean up what they can without the netns; a path that is no longer a namespace
    // would make them fail opening it, so it is not passed at all.
    const netns = rt.netnsPath && (await isNamespaceFile(rt.netnsPath)) ? rt.netnsPath : '';
    const prevResult = hasCheckAndDelPrevResult(net.cniVersion) ? result : undefined;
    const errors: BerthError[] = [];
    for (const plugin of [...net.plugins].reverse()) {
      try {
        await this.exec('DEL', net, plugin, rt, netns, prevResult);
      } catch (e) {
        errors.push(isBerthError(e) ? e : internal((e as Error).message, {}, e));
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) {
      const first = errors[0];
      throw new BerthError(first.kind, `${errors.length} CNI plugins failed DEL: ${errors.map((e) => e.message).join('; ')}`, {
        ...first.context,
        errors: errors.map((e) => e.message),
      });
    }
  }

  /** Run one plugin; returns its parsed JSON stdout (undefined if it printed nothing). */
  private async exec(
    command: CniCommand,
    net: NetworkConfigList,
    plugin: PluginConf,
    rt: RuntimeConf | undefined,
    netns: string,
    prevResult: unknown,
  ): Promise<unknown> {
    const ctx = { plugin: plugin.type, command, network: net.name, containerId: rt?.containerId };
    const bin = await findPluginBinary(plugin.type, this.opts.binDirs);
    if (!bin) throw failedPrecondition(`CNI plugin "${plugin.type}" not found in ${this.opts.binDirs.join(', ')}`, ctx);
    const stdin = command === 'VERSION' ? { cniVersion: net.cniVersion } : pluginStdin(net, plugin, rt?.capabilityArgs, prevResult);
    const started = Date.now();
    let r;
    try {
      r = await run(bin, { env: cniEnv(command, rt, netns, this.opts.binDirs), stdin: JSON.stringify(stdin), timeoutMs: this.timeoutMs });
    } catch (e) {
      throw internal(`cannot run CNI plugin ${bin}: ${(e as Error).message}`, ctx, e);
    }
    log.debug({ ...ctx, code: r.code, ms: Date.now() - started }, 'CNI plugin ran');
    if (r.timedOut) throw deadlineExceeded(`CNI plugin ${plugin.type} ${command} timed out after ${this.timeoutMs} ms on network ${net.name}`, ctx);
    if (r.code !== 0) {
      const perr = parsePluginError(r.stdout) ?? { msg: tail(r.stderr) || tail(r.stdout) || `exit ${r.code ?? r.signal}` };
      throw pluginError(perr, { ...ctx, stderr: tail(r.stderr) || undefined });
    }
    const text = r.stdout.trim();
    if (!text) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw internal(`CNI plugin ${plugin.type} ${command} printed invalid JSON on network ${net.name}`, { ...ctx, stdout: tail(text, 500) });
    }
  }
}
