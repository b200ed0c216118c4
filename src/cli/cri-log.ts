// The CRI container log format conmon writes, one record per line:
//   <RFC 3339 nano time> <stdout|stderr> <P|F> <content>
// P marks a partial record (a long line split by the writer), F the last piece of a line. Reading
// works on bytes so a multi-byte character split across partial records comes out whole.
import { open } from 'node:fs/promises';

export type LogStream = 'stdout' | 'stderr';

export interface CriLogRecord {
  /** The time exactly as written (for `logs -t`). */
  time: string;
  /** The time in ms since the epoch (NaN if unparsable). */
  timeMs: number;
  stream: LogStream;
  partial: boolean;
  content: Buffer;
}

/** One line of a CRI log file, without its newline; undefined for a malformed line. */
export function parseCriLogLine(line: Buffer): CriLogRecord | undefined {
  const s1 = line.indexOf(0x20);
  if (s1 <= 0) return undefined;
  const s2 = line.indexOf(0x20, s1 + 1);
  if (s2 < 0) return undefined;
  const stream = line.toString('latin1', s1 + 1, s2);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  // Old writers omitted the tag; treat a missing tag as a full line.
  let partial = false;
  let contentStart = s2 + 1;
  const s3 = line.indexOf(0x20, s2 + 1);
  const tag = s3 < 0 ? line.toString('latin1', s2 + 1) : line.toString('latin1', s2 + 1, s3);
  if (tag === 'P' || tag === 'F' || /^[PF](:[A-Za-z0-9]+)*$/.test(tag)) {
    partial = tag.split(':')[0] === 'P';
    contentStart = s3 < 0 ? line.length : s3 + 1;
  }
  const time = line.toString('latin1', 0, s1);
  return { time, timeMs: Date.parse(time), stream, partial, content: line.subarray(contentStart) };
}

/** A complete log message (partials joined), with its newline. */
export interface LogMessage {
  time: string;
  timeMs: number;
  stream: LogStream;
  content: Buffer;
}

/**
 * Turns the bytes of a log file, fed in arbitrary chunks, into complete messages. Partial
 * records are held per stream until their F record arrives.
 */
export class CriLogDecoder {
  private rest: Buffer = Buffer.alloc(0);
  private readonly pending: Record<LogStream, { time: string; timeMs: number; parts: Buffer[] } | undefined> = { stdout: undefined, stderr: undefined };

  push(chunk: Buffer): LogMessage[] {
    const data = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    const out: LogMessage[] = [];
    let start = 0;
    for (;;) {
      const nl = data.indexOf(0x0a, start);
      if (nl < 0) break;
      const rec = parseCriLogLine(data.subarray(start, nl));
      start = nl + 1;
      if (!rec) continue;
      const p = this.pending[rec.stream] ?? { time: rec.time, timeMs: rec.timeMs, parts: [] };
      // Copied: the caller may reuse the chunk's memory for its next read.
      p.parts.push(Buffer.from(rec.content));
      if (rec.partial) {
        this.pending[rec.stream] = p;
        continue;
      }
      this.pending[rec.stream] = undefined;
      out.push({ time: p.time, timeMs: p.timeMs, stream: rec.stream, content: Buffer.concat([...p.parts, Buffer.from('\n')]) });
    }
    this.rest = Buffer.from(data.subarray(start));
    return out;
  }

  /** Partial records never finished (the writer stopped mid-line): emitted without a newline. */
  flush(): LogMessage[] {
    // A last record without its newline: the writer stopped mid-write.
    const out: LogMessage[] = this.rest.length ? this.push(Buffer.from('\n')) : [];
    for (const stream of ['stdout', 'stderr'] as const) {
      const p = this.pending[stream];
      if (p) out.push({ time: p.time, timeMs: p.timeMs, stream, content: Buffer.concat(p.parts) });
      this.pending[stream] = undefined;
    }
    return out;
  }
}

export interface LogOutputOptions {
  timestamps?: boolean;
  /** Only messages at or after this time (ms since the epoch). */
  sinceMs?: number;
}

/** Applies --since and -t to a message; undefined if filtered out. */
export function renderMessage(m: LogMessage, opts: LogOutputOptions): Buffer | undefined {
  if (opts.sinceMs !== undefined && !(m.timeMs >= opts.sinceMs)) return undefined;
  return opts.timestamps ? Buffer.concat([Buffer.from(`${m.time} `), m.content]) : m.content;
}

/** The last n messages (n < 0: all). */
export function tail<T>(items: T[], n: number): T[] {
  return n < 0 ? items : n === 0 ? [] : items.slice(-n);
}

/**
 * Reads a log file from an offset, incrementally: each read() returns the messages completed since
 * the last one. A file that shrinks (rotated or truncated) is read again from its start.
 */
export class LogFileReader {
  private offset = 0;
  private readonly decoder = new CriLogDecoder();

  constructor(private readonly path: string) {}

  async read(): Promise<LogMessage[]> {
    let fh;
    try {
      fh = await open(this.path, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    try {
      const { size } = await fh.stat();
      if (size < this.offset) this.offset = 0;
      const out: LogMessage[] = [];
      const buf = Buffer.alloc(256 * 1024);
      while (this.offset < size) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
        if (!bytesRead) break;
        this.offset += bytesRead;
        out.push(...this.decoder.push(buf.subarray(0, bytesRead)));
      }
      return out;
    } finally {
      await fh.close();
    }
  }

  flush(): LogMessage[] {
    return this.decoder.flush();
  }
}
