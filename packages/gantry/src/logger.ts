/**
 * The error log (gunicorn's errorlog): pino on standard error, JSON lines or readable text. Every line
 * carries the process's role and pid, so a worker's lines can be told apart. Writes are synchronous so
 * that nothing is lost when a process exits right after logging.
 */
import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
export type { Logger };

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
  /** "primary", "worker" or "stack": who is speaking. */
  readonly role: string;
  readonly workerId?: number;
}

/** Colour only on a terminal; NO_COLOR and FORCE_COLOR win (https://no-color.org). */
export function useColor(stream: { isTTY?: boolean } = process.stderr): boolean {
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') return true;
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  return Boolean(stream.isTTY);
}

export function createLogger(options: LoggerOptions): Logger {
  const base = { role: options.role, pid: process.pid, ...(options.workerId ? { worker: options.workerId } : {}) };
  if (options.format === 'json') {
    return pino(
      { level: options.level, base, timestamp: pino.stdTimeFunctions.isoTime },
      pino.destination({ fd: 2, sync: true }),
    );
  }
  // Required only for text (a few MiB in every process that logs JSON otherwise); synchronously, as
  // loggers are made before anything is awaited.
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  const stream = pretty({
    destination: 2,
    sync: true,
    colorize: useColor(),
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'role,pid,worker,hostname',
    messageFormat: '[{role}{if worker} {worker}{end} {pid}] {msg}',
  });
  return pino({ level: options.level, base }, stream);
}
