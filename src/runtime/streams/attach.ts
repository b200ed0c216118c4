// Attach: one connection per client to conmon's attach socket (`<socketDir>/<id>/attach`,
// SOCK_SEQPACKET). Each packet conmon sends is one byte naming the stream (2 stdout, 3 stderr) and
// then the data; what we send is raw stdin. Resizes go to conmon's control FIFO `<bundle>/ctl`.
// Ending the session only detaches: the container keeps running.
import { promises as fsp, constants as fsConstants } from 'node:fs';
import { join } from 'node:path';
import type { AttachRequest, ExecIO, TerminalSize } from '../../streaming/types';
import { attachSocketPath } from '../../oci/conmon';
import { errorMessage, unavailable } from '../../util/errors';
import { logger } from '../../util/log';
import { SeqpacketSocket } from '../sys-streams';
import type { ContainerRecord } from '../types';

const log = logger('attach');

/** conmon's stream tags on the attach socket (its STDOUT_PIPE / STDERR_PIPE). */
export const ATTACH_STDOUT = 2;
export const ATTACH_STDERR = 3;
/** conmon reads stdin from the socket in 32 KiB buffers; smaller packets are never cut. */
const STDIN_PACKET = 8192;

/** Splits one packet from conmon into its stream and data (undefined for an unknown tag). */
export function decodeAttachPacket(p: Buffer): { stream: 'stdout' | 'stderr'; data: Buffer } | undefined {
  if (p.length < 1) return undefined;
  if (p[0] === ATTACH_STDOUT) return { stream: 'stdout', data: p.subarray(1) };
  if (p[0] === ATTACH_STDERR) return { stream: 'stderr', data: p.subarray(1) };
  return undefined;
}

/** conmon's control message for a terminal resize. */
export function resizeMessage(s: TerminalSize): string {
  return `1 ${s.height} ${s.width}\n`;
}

export async function streamAttach(rec: ContainerRecord, socketDir: string, req: AttachRequest, io: ExecIO): Promise<void> {
  const ctx = { containerId: rec.id };
  let sock: SeqpacketSocket;
  try {
    sock = new SeqpacketSocket(attachSocketPath(socketDir, rec.id));
  } catch (e) {
    throw unavailable(`cannot connect to the attach socket of container ${rec.id}: ${errorMessage(e)}`, ctx, e);
  }
  const containerStdin = rec.spec.config.stdin === true;
  const stdinOnce = rec.spec.config.stdinOnce === true;
  const tty = rec.spec.config.tty === true;
  log.debug({ ...ctx, stdin: !!io.stdin, tty }, 'attached');
  void watchResizes(rec, io.resize);

  await new Promise<void>((resolve) => {
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      io.signal.removeEventListener('abort', done);
      if (io.stdin) {
        io.stdin.removeListener('data', onStdin);
        io.stdin.resume();
      }
      resolve();
    };
    io.signal.addEventListener('abort', done, { once: true });
    if (io.signal.aborted) return done();

    // Output: conmon's packets to the client's streams, pausing conmon's reader while the client is slow.
    sock.on('data', (p: Buffer) => {
      const d = decodeAttachPacket(p);
      if (!d || d.data.length === 0) return;
      const to = d.stream === 'stdout' || tty ? io.stdout : io.stderr;
      if (!to || to.destroyed) return;
      if (!to.write(d.data)) {
        sock.pause();
        to.once('drain', () => sock.resume());
      }
    });
    // conmon closes its side when the container exits.
    sock.once('end', done);
    sock.once('error', (e) => {
      log.debug({ ...ctx, err: errorMessage(e) }, 'attach socket error');
      done();
    });

    // Input: raw bytes to conmon, one send at a time.
    let sending = Promise.resolve();
    const onStdin = (chunk: Buffer) => {
      if (!containerStdin) return; // the container has no stdin: nothing to feed
      io.stdin!.pause();
      sending = sending
        .then(() => sock.send(chunk, STDIN_PACKET))
        .catch((e) => log.debug({ ...ctx, err: errorMessage(e) }, 'attach stdin send failed'))
        .finally(() => io.stdin!.resume());
    };
    if (io.stdin) {
      io.stdin.on('data', onStdin);
      io.stdin.once('end', () => {
        void sending.then(() => {
          if (stdinOnce && !tty) {
            // conmon closes the container's stdin when this connection stops sending; the output
            // goes on until the container exits.
            sock.endSending();
          } else {
            // The client closed its stdin: it has detached.
            done();
          }
        });
      });
    }
  });
  await sock.close();
  log.debug(ctx, 'detached');
}

/** Starts applying the client's resizes (tty containers) to conmon's control FIFO until they end. */
export function watchResizes(rec: ContainerRecord, sizes: AsyncIterable<TerminalSize> | undefined): Promise<void> {
  if (!sizes || rec.spec.config.tty !== true) return Promise.resolve();
  return (async () => {
    for await (const s of sizes) {
      if (s.width <= 0 || s.height <= 0) continue;
      await writeControl(rec, resizeMessage(s)).catch((e) => log.debug({ containerId: rec.id, err: errorMessage(e) }, 'resize failed'));
    }
  })().catch(() => undefined);
}

async function writeControl(rec: ContainerRecord, msg: string): Promise<void> {
  // Non-blocking: if conmon is gone there is no reader, and open() must not hang.
  const fh = await fsp.open(join(rec.bundle, 'ctl'), fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
  try {
    await fh.write(msg);
  } finally {
    await fh.close();
  }
}
