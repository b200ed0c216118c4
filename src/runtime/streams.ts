// The runtime side of exec, attach and port-forward streaming (src/streaming/ speaks the
// protocols; this runs the processes and opens the connections). The work is in streams/.
import type { Duplex } from 'node:stream';
import { promises as fsp } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { deadlineExceeded, errorMessage, failedPrecondition, internal, invalidArgument, isBerthError } from '../util/errors';
import type { AttachRequest, ExecIO, ExecProcessSettings, ExecRequest, StreamingRuntime } from '../streaming/types';
import { resolveUser } from '../oci/user';
import type { OciProcess } from '../oci/runtime-spec';
import type { ContainerManager } from './container-manager';
import type { PodManager } from './pod-manager';
import type { OciRuntime } from '../oci/runc';
import type { ContainerRecord } from './types';
import { streamExec } from './streams/exec';
import { streamAttach } from './streams/attach';
import { forwardPort } from './streams/port-forward';

export interface ContainerStreamsDeps {
  containers: ContainerManager;
  pods: PodManager;
  runtime: (handler: string) => OciRuntime;
}

/** `berth exec -u/-w/-e` as asked: user as `uid[:gid]` or `name[:group]`. */
export interface ExecOverrideRequest {
  user?: string;
  workdir?: string;
  env?: string[];
}

/** Same cap as CRI ExecSync: output beyond it is dropped, not buffered. */
const EXEC_SYNC_OUTPUT_LIMIT = 16 << 20;

export class ContainerStreams implements StreamingRuntime {
  constructor(private readonly deps: ContainerStreamsDeps) {}

  private running(id: string): ContainerRecord {
    const rec = this.deps.containers.require(id);
    if (rec.state !== 'running') throw failedPrecondition(`container ${rec.id} is not running (${rec.state})`, { containerId: rec.id, state: rec.state });
    return rec;
  }

  async exec(req: ExecRequest, io: ExecIO): Promise<{ exitCode: number }> {
    const rec = this.running(req.containerId);
    // A terminal exec runs from a full process spec, so its first size is set before it starts.
    const process = req.tty && !req.process?.base ? { ...req.process, base: await readBundleProcess(rec.bundle, rec.id) } : req.process;
    return streamExec(this.deps.runtime(rec.runtimeHandler), rec.id, { ...req, process }, io);
  }

  /**
   * Validates exec overrides and resolves a user name against the container's own /etc/passwd and
   * /etc/group (read inside its rootfs), so runc gets numeric ids. Undefined when nothing is overridden.
   */
  async processSettings(containerId: string, o: ExecOverrideRequest): Promise<ExecProcessSettings | undefined> {
    const rec = this.running(containerId);
    const ctx = { containerId: rec.id };
    const out: ExecProcessSettings = {};
    let home: string | undefined;
    if (o.user) {
      try {
        const u = await resolveUser(rec.rootfs, { imageUser: o.user });
        out.user = `${u.uid}:${u.gid}`;
        // As docker: the user's own groups, not those of the container's process; replacing them
        // takes a full process spec based on the container's own.
        out.additionalGids = u.additionalGids.length ? u.additionalGids : [u.gid];
        out.base = await readBundleProcess(rec.bundle, rec.id);
        home = u.home;
      } catch (e) {
        if (isBerthError(e, 'invalid-argument')) throw invalidArgument(`exec user "${o.user}": ${e.message.replace(/the image's/g, "the container's")}`, { ...ctx, user: o.user });
        throw e;
      }
    }
    if (o.workdir) {
      if (!isAbsolute(o.workdir)) throw invalidArgument(`exec working directory "${o.workdir}" must be absolute`, { ...ctx, workdir: o.workdir });
      out.cwd = o.workdir;
    }
    const env = [...(o.env ?? [])];
    for (const e of env) if (e.indexOf('=') <= 0) throw invalidArgument(`exec environment entry "${e}" is not KEY=value`, ctx);
    // The container's HOME is its own user's: another user gets theirs (as the spec builder does), unless -e sets it.
    if (home !== undefined && !env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${home}`);
    if (env.length) out.env = env;
    return Object.keys(out).length ? out : undefined;
  }

  /** ExecSync with process overrides (CRI's ExecSync has none). */
  async execSync(containerId: string, cmd: string[], timeoutSeconds: number, settings: ExecProcessSettings | undefined): Promise<{ stdout: Buffer; stderr: Buffer; exitCode: number }> {
    const rec = this.running(containerId);
    if (!cmd.length) throw invalidArgument('exec command is empty', { containerId: rec.id });
    const r = await this.deps.runtime(rec.runtimeHandler).execSync(rec.id, cmd, {
      timeoutMs: timeoutSeconds > 0 ? timeoutSeconds * 1000 : undefined,
      maxOutputBytes: EXEC_SYNC_OUTPUT_LIMIT,
      process: settings,
    });
    if (r.timedOut) throw deadlineExceeded(`command ${JSON.stringify(cmd)} in container ${rec.id} timed out after ${timeoutSeconds}s`, { containerId: rec.id });
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
  }

  async attach(req: AttachRequest, io: ExecIO): Promise<void> {
    const rec = this.running(req.containerId);
    await streamAttach(rec, this.deps.containers.socketDir, req, io);
  }

  async portForward(podSandboxId: string, port: number, stream: Duplex, signal: AbortSignal): Promise<void> {
    const pod = this.deps.pods.require(podSandboxId);
    if (pod.state !== 'ready') throw failedPrecondition(`pod sandbox ${pod.id} is not ready`, { podId: pod.id, port });
    // A host-network pod has no pinned namespace: its localhost is the host's.
    await forwardPort(pod.id, pod.networkMode === 'NODE' ? undefined : pod.namespaces.net, port, stream, signal);
  }
}

/** The container's own process spec, from its bundle. */
async function readBundleProcess(bundle: string, containerId: string): Promise<OciProcess> {
  try {
    return (JSON.parse(await fsp.readFile(join(bundle, 'config.json'), 'utf8')) as { process: OciProcess }).process;
  } catch (e) {
    throw internal(`cannot read the process spec of container ${containerId}: ${errorMessage(e)}`, { containerId });
  }
}
