// The runtime side of exec, attach and port-forward streaming (src/streaming/ speaks the
// protocols; this runs the processes and opens the connections).
import type { Duplex } from 'node:stream';
import { BerthError } from '../util/errors';
import type { AttachRequest, ExecIO, ExecRequest, StreamingRuntime } from '../streaming/types';
import type { ContainerManager } from './container-manager';
import type { PodManager } from './pod-manager';
import type { OciRuntime } from '../oci/runc';

export interface ContainerStreamsDeps {
  containers: ContainerManager;
  pods: PodManager;
  runtime: (handler: string) => OciRuntime;
}

export class ContainerStreams implements StreamingRuntime {
  constructor(private readonly deps: ContainerStreamsDeps) {}

  async exec(_req: ExecRequest, _io: ExecIO): Promise<{ exitCode: number }> {
    throw new BerthError('unimplemented', 'streaming exec is not implemented yet');
  }

  async attach(_req: AttachRequest, _io: ExecIO): Promise<void> {
    throw new BerthError('unimplemented', 'attach is not implemented yet');
  }

  async portForward(_podSandboxId: string, _port: number, _stream: Duplex, _signal: AbortSignal): Promise<void> {
    throw new BerthError('unimplemented', 'port-forward is not implemented yet');
  }
}
