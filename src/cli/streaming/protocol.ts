// The client side of kubernetes' WebSocket channel protocols as berthd serves them: every message
// is one channel's bytes behind a one-byte channel number. remotecommand v5 (exec/attach) adds the
// message [255, n] "channel n is closed" (stdin EOF); port-forward (v4) puts each port's number,
// 2 bytes little-endian, at the start of both of its channels. Written for the CLI on its own: the
// tests drive it against the server code, so a misreading would have to be made twice to pass.

/** Exec/attach: the only remotecommand protocol with a stdin close signal. */
export const REMOTECOMMAND_PROTOCOL = 'v5.channel.k8s.io';
/** Port-forward: binary channels, one data/error pair per port. */
export const PORTFORWARD_PROTOCOL = 'v4.channel.k8s.io';

export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4 } as const;
const CLOSE_SIGNAL = 255;

export function encodeFrame(channel: number, data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(data.length + 1);
  out[0] = channel;
  data.copy(out, 1);
  return out;
}

export function encodeClose(channel: number): Buffer {
  return Buffer.from([CLOSE_SIGNAL, channel]);
}

export type Frame = { kind: 'data'; channel: number; data: Buffer } | { kind: 'close'; channel: number };

/** One incoming message; undefined for an empty one (nothing to act on). */
export function decodeFrame(msg: Buffer, closeSignal = true): Frame | undefined {
  if (msg.length === 0) return undefined;
  if (closeSignal && msg[0] === CLOSE_SIGNAL && msg.length === 2) return { kind: 'close', channel: msg[1] };
  return { kind: 'data', channel: msg[0], data: msg.subarray(1) };
}

/** A resize message: Go's TerminalSize as JSON. */
export function encodeResize(size: { columns: number; rows: number }): Buffer {
  return Buffer.from(JSON.stringify({ Width: size.columns, Height: size.rows }));
}

/** How an exec/attach ended, read from the metav1.Status on the error channel. */
export type StatusOutcome = { kind: 'exit'; exitCode: number } | { kind: 'error'; message: string };

/**
 * Success → exit 0; reason NonZeroExitCode → the code in its ExitCode cause; any other Failure →
 * its message. Text that is not a Status is itself the error (what v1–v3 servers send).
 */
export function parseStatus(text: string): StatusOutcome {
  let s: unknown;
  try {
    s = JSON.parse(text);
  } catch {
    return { kind: 'error', message: text.trim() || 'unknown error' };
  }
  if (typeof s !== 'object' || s === null) return { kind: 'error', message: text.trim() };
  const st = s as { status?: unknown; reason?: unknown; message?: unknown; details?: { causes?: Array<{ reason?: unknown; message?: unknown }> } };
  if (st.status === 'Success') return { kind: 'exit', exitCode: 0 };
  if (st.reason === 'NonZeroExitCode') {
    const cause = st.details?.causes?.find((c) => c.reason === 'ExitCode');
    const code = Number(cause?.message);
    if (Number.isInteger(code) && code >= 0) return { kind: 'exit', exitCode: code };
  }
  return { kind: 'error', message: typeof st.message === 'string' && st.message ? st.message : 'the command failed (no message from berthd)' };
}

/** Strips a port-forward channel's 2-byte port prefix, however the messages cut it. */
export class PortPrefixReader {
  private pending = Buffer.alloc(0);
  private seen = false;
  /** The port the server named (after the first 2 bytes). */
  port: number | undefined;

  /** Returns the payload bytes of this chunk (none until the prefix is complete). */
  push(chunk: Buffer): Buffer {
    if (this.seen) return chunk;
    this.pending = Buffer.concat([this.pending, chunk]);
    if (this.pending.length < 2) return Buffer.alloc(0);
    this.seen = true;
    this.port = this.pending.readUInt16LE(0);
    const rest = this.pending.subarray(2);
    this.pending = Buffer.alloc(0);
    return rest;
  }
}
