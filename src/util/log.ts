// Structured logging (pino): one JSON object per line on stderr.
import pino from 'pino';

export type Logger = pino.Logger;

let root: Logger = pino(
  { level: process.env.BERTH_LOG_LEVEL ?? 'info', base: { svc: 'berth' }, timestamp: pino.stdTimeFunctions.isoTime },
  pino.destination(2),
);

export function setLogLevel(level: string): void {
  root.level = level;
}

/** Replace the root logger, e.g. silence it in tests. */
export function setRootLogger(l: Logger): void {
  root = l;
}

export function logger(component: string): Logger {
  return root.child({ component });
}
