// The runtime side of exec, attach and port-forward streaming (src/streaming/ speaks the
// protocols; this runs the processes and opens the connections). The work is in streams/.
import type { Duplex } from 'node:stream';
import { failedPrecondition } from '../util/errors';
import type { AttachRequest, ExecIO, ExecRequest, StreamingRuntime } from '../streaming/types';
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

export class ContainerStreams implements StreamingRuntime {
  constructor(private readonly deps: ContainerStreamsDeps) {}

  private running(id: string): ContainerRecord {
    const rec = this.deps.containers.require(id);
    if (rec.state !== 'running') throw failedPrecondition(`container ${rec.id} is not running (${rec.state})`, { containerId: rec.id, state: rec.state });
    return rec;
  }

  async exec(req: ExecRequest, io: ExecIO): Promise<{ exitCode: number }> {
    const rec = this.running(req.containerId);
    return streamExec(this.deps.runtime(rec.runtimeHandler), rec.id, req, io);
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
