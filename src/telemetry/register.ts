/**
 * Imported first by the process entry points (`src/api/main.ts`, `worker.ts`, `scripts/start.ts`):
 * starts tracing before Express, pg and ioredis are loaded, so their instrumentation applies.
 * `DURABLE_CHAT_SERVICE` names the process in traces when OTEL_SERVICE_NAME does not.
 */
import path from 'node:path';
import { startTracing } from './tracing';

const entry = path.basename(process.argv[1] ?? 'durable-chat', path.extname(process.argv[1] ?? ''));
const names: Record<string, string> = { main: 'durable-chat-api', worker: 'durable-chat-worker', start: 'durable-chat' };
startTracing(process.env.DURABLE_CHAT_SERVICE ?? names[entry] ?? 'durable-chat');
