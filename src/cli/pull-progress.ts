// Pull progress for people. On a terminal: one line per layer, redrawn in place (short digest,
// status, bytes done/total, speed). Piped: one plain line each time a layer's status changes.
// The renderer is pure (state in, text out) so it can be tested without a terminal.
import { humanSize, shortId } from './format';

export interface ProgressEvent {
  digest: string;
  status: string;
  current: number;
  total: number;
}

interface LayerState extends ProgressEvent {
  /** Bytes and time at the first downloading message, for the speed. */
  startBytes: number;
  startMs: number;
  lastMs: number;
}

export class ProgressBoard {
  private readonly layers = new Map<string, LayerState>();
  /** Lines the last terminal frame drew, to move the cursor back over them. */
  private drawn = 0;

  /** Applies one message; returns the plain line to print when the status changed (piped mode). */
  update(ev: ProgressEvent, nowMs: number = Date.now()): string | undefined {
    if (!ev.digest) return undefined;
    const prev = this.layers.get(ev.digest);
    const downloading = ev.status === 'downloading';
    const st: LayerState = {
      ...ev,
      startBytes: prev && prev.status === 'downloading' ? prev.startBytes : ev.current,
      startMs: prev && prev.status === 'downloading' ? prev.startMs : nowMs,
      lastMs: nowMs,
    };
    if (!downloading && prev) {
      st.startBytes = prev.startBytes;
      st.startMs = prev.startMs;
    }
    this.layers.set(ev.digest, st);
    if (prev && prev.status === ev.status) return undefined;
    return `${shortId(ev.digest)}: ${statusText(ev.status)}${ev.total ? ` ${humanSize(ev.total)}` : ''}`;
  }

  /** One line per layer, in the order they were first seen. */
  lines(): string[] {
    return [...this.layers.values()].map((l) => {
      const parts = [`${shortId(l.digest)}:`, statusText(l.status).padEnd(16)];
      if (l.status === 'downloading' || l.status === 'extracting') {
        parts.push(`${humanSize(l.current)}/${l.total ? humanSize(l.total) : '?'}`);
        const secs = (l.lastMs - l.startMs) / 1000;
        if (l.status === 'downloading' && secs > 0) parts.push(`${humanSize((l.current - l.startBytes) / secs)}/s`);
      } else if (l.total) {
        parts.push(humanSize(l.total));
      }
      return parts.join(' ').trimEnd();
    });
  }

  /** The terminal frame: cursor up over the previous frame, each line cleared and rewritten. */
  frame(): string {
    const lines = this.lines();
    const up = this.drawn ? `\x1b[${this.drawn}A` : '';
    this.drawn = lines.length;
    return `${up}${lines.map((l) => `\x1b[2K${l}\n`).join('')}`;
  }
}

function statusText(status: string): string {
  switch (status) {
    case 'waiting':
      return 'Waiting';
    case 'downloading':
      return 'Downloading';
    case 'extracting':
      return 'Extracting';
    case 'done':
      return 'Pull complete';
    case 'already exists':
      return 'Already exists';
    default:
      return status ? status[0].toUpperCase() + status.slice(1) : '';
  }
}
