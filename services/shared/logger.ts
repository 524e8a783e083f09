import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * The root pino logger of a process: JSON lines on stdout. Modules take a child
 * (`logger.child({ module: 'merge' })`); user-controlled values go in values, never keys.
 */
export function createLogger(level: string, service: string): Logger {
  return pino({ level, base: { service, pid: process.pid } });
}
