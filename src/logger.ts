/** Structured logs (pino): one JSON line per event; turn events carry `turnId`. */
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', name = 'durable-chat'): Logger {
  return pino({ name, level });
}
