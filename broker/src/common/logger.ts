import { pino, type Logger } from 'pino';

/** JSON logs to stdout, one line per event; level from RMQ_LOG_LEVEL (default info). */
export function createLogger(name: string, level = process.env.RMQ_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid, component: name } });
}

/** A logger that drops everything (tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
