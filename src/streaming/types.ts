// Domain types of the streaming server: what a CRI Exec/Attach/PortForward call registers, and the
// interface through which the protocol layer reaches the runtime (implemented in src/runtime/).
import type { Duplex, Readable, Writable } from 'node:stream';
import type { OciProcess } from '../oci/runtime-spec';

export interface ExecRequest {
  containerId: string;
  cmd: string[];
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** berth's own Exec only (CRI's has none): what the exec'd process gets instead of the container's. */
  process?: ExecProcessSettings;
}

/** Overrides for one exec'd process, resolved before the URL is handed out. */
export interface ExecProcessSettings {
  /** Numeric `uid:gid`. */
  user?: string;
  /** With user: the user's groups (primary first); the container's own are not inherited. */
  additionalGids?: number[];
  /** The container's own process spec, which the overrides are applied to (opaque here). */
  base?: OciProcess;
  cwd?: string;
  /** `KEY=value` entries added to (or replacing in) the container's environment. */
  env?: string[];
}

export interface AttachRequest {
  containerId: string;
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface PortForwardRequest {
  podSandboxId: string;
  /** Ports named in the CRI request; WebSocket clients get one channel pair per port. */
  ports?: number[];
}

export interface TerminalSize {
  width: number;
  height: number;
}

/**
 * The client's streams for one exec or attach. Only those the request asked for are present.
 * The runtime writes process output to stdout/stderr (respecting backpressure) and must have
 * written all of it before its promise settles; ending them is optional (the server ends them).
 */
export interface ExecIO {
  /** Client's stdin; ends when the client closes it (SPDY FIN, WebSocket v5 close, disconnect). */
  stdin?: Readable;
  stdout?: Writable;
  /** Absent when tty is set (a terminal merges stderr into stdout). */
  stderr?: Writable;
  /** Terminal sizes in the order the client sent them (tty only); ends with the connection. */
  resize?: AsyncIterable<TerminalSize>;
  /** Aborted when the client goes away or the server stops: the runtime must then kill the process. */
  signal: AbortSignal;
}

/** Implemented by the runtime; the streaming server calls it once a client has connected. */
export interface StreamingRuntime {
  /** Run req.cmd in the container; resolve with its exit code once it exited and its output is written. */
  exec(req: ExecRequest, io: ExecIO): Promise<{ exitCode: number }>;
  /** Attach to the container's main process; resolve when the client detaches or the process ends. */
  attach(req: AttachRequest, io: ExecIO): Promise<void>;
  /**
   * Connect `stream` to `port` inside the pod's network namespace: copy both ways, half-closing
   * each direction as it ends; resolve when both directions are done. Reject on failure to connect
   * (the message reaches the client). `signal` aborts when the client goes away.
   */
  portForward(podSandboxId: string, port: number, stream: Duplex, signal: AbortSignal): Promise<void>;
}
