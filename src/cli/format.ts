// Human formats for tables: durations ("3 minutes"), sizes ("4.26MB", "1.95MiB"), ids, times.

/** CRI timestamps are int64 nanoseconds since the epoch as decimal strings; "0" means unset. */
export function nsToMs(ns: string | number | undefined | null): number {
  if (ns === undefined || ns === null || ns === '' || ns === '0' || ns === 0) return 0;
  return Number(BigInt(ns) / 1_000_000n);
}

const plural = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? '' : 's'}`;

/**
 * A duration as people say it, with docker's thresholds: seconds below a minute, minutes below an
 * hour, hours below two days, days below two weeks, weeks below three months, months below two
 * years, then years.
 */
export function humanDuration(ms: number): string {
  const s = Math.floor(Math.max(0, ms) / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return plural(s, 'second');
  const m = Math.floor(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return plural(m, 'minute');
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return plural(h, 'hour');
  const d = Math.floor(s / 86400);
  if (d < 14) return plural(d, 'day');
  if (d < 90) return plural(Math.floor(d / 7), 'week');
  if (d < 730) return plural(Math.floor(d / 30), 'month');
  return plural(Math.floor(d / 365), 'year');
}

/** "3 minutes ago", from a time in ms since the epoch. */
export function ago(thenMs: number, nowMs: number = Date.now()): string {
  if (!thenMs) return '';
  return `${humanDuration(nowMs - thenMs)} ago`;
}

function sizeWith(bytes: number, base: number, units: readonly string[], digits: number): string {
  let v = Math.max(0, bytes);
  let i = 0;
  for (;;) {
    if (v < base || i === units.length - 1) {
      // Rounding may carry into the next unit (999.99 → "1e+3").
      const text = Number(v.toPrecision(digits));
      if (text >= base && i < units.length - 1) {
        v /= base;
        i++;
        continue;
      }
      return `${text}${units[i]}`;
    }
    v /= base;
    i++;
  }
}

/** Decimal units with 3 significant digits, as docker images/df print sizes: "4.26MB". */
export function humanSize(bytes: number): string {
  return sizeWith(bytes, 1000, ['B', 'kB', 'MB', 'GB', 'TB', 'PB'], 3);
}

/** Binary units with 4 significant digits, as docker stats prints memory: "1.953MiB". */
export function binarySize(bytes: number): string {
  return sizeWith(bytes, 1024, ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'], 4);
}

/** The 12 hex digits people see for an id ("sha256:" dropped). */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** An RFC 3339 time (UTC) from ms since the epoch, or '' for unset. */
export function isoTime(ms: number): string {
  return ms ? new Date(ms).toISOString() : '';
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go-style duration ("1h30m", "10s", "1.5h") in ms, or undefined if it is not one. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (!s || !/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * DURATION_UNITS[m[2]];
  return total;
}

/**
 * docker's --since/--until forms, in ms since the epoch: a duration back from now ("10m"), an
 * RFC 3339 time or date, or unix seconds (with an optional fraction).
 */
export function parseSince(text: string, nowMs: number = Date.now()): number {
  const d = parseDuration(text);
  if (d !== undefined) return nowMs - d;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const t = Date.parse(text);
    if (!Number.isNaN(t)) return t;
  }
  throw new Error(`"${text}" is not a duration (10m, 1h30m), an RFC 3339 time or unix seconds`);
}
