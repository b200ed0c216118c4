// Structured logging (pino): one JSON object per line on stderr.
import pino from 'pino';

export type Logger = pino.Logger;

let root: Logger = pino(
  { level: process.env.BERTH_LOG_LEVEL ?? 'info', base: { svc: 'berth' }, timestamp: pino.stdTimeFunctions.isoTime },
  pino.destination(2),
);

// pino children keep the level they were created with; modules create theirs at import time,
// before the config is read, so level changes are applied to every child explicitly.
const children: Logger[] = [];

export function setLogLevel(level: string): void {
  root.level = level;
  for (const c of children) c.level = level;
}

/**
 * Replace the root logger, e.g. silence it in tests. Loggers created before (at import time) keep
 * their destination but take the new root's level.
 */
export function setRootLogger(l: Logger): void {
  root = l;
  for (const c of children) c.level = l.level;
}

export function logger(component: string): Logger {
  const c = root.child({ component });
  children.push(c);
  return c;
}
