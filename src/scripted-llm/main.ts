/**
 * CLI entry of the scripted OpenAI-compatible server (`npm run scripted-llm`): the test double and
 * demo default LLM, replaced by any real OpenAI-compatible endpoint through OPENAI_BASE_URL.
 *
 * Environment:
 * - SCRIPTED_LLM_PORT (default 4010), SCRIPTED_LLM_HOST (default 127.0.0.1);
 * - SCRIPTED_LLM_TTFT_MS, SCRIPTED_LLM_TOKENS_PER_SECOND: default latency knobs (default 0: no delay);
 * - LOG_LEVEL: pino level for request logs (debug shows every request).
 * Prints exactly one line to stdout, with the base URL, once it listens; stops on SIGINT/SIGTERM.
 */
import { createLogger } from '../logger';
import { startScriptedLlm } from './server';

function readNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  return value;
}

async function main(): Promise<void> {
  const logger = createLogger(process.env.LOG_LEVEL ?? 'info', 'scripted-llm');
  const server = await startScriptedLlm({
    port: readNumber('SCRIPTED_LLM_PORT', 4010),
    host: process.env.SCRIPTED_LLM_HOST || '127.0.0.1',
    ttftMs: readNumber('SCRIPTED_LLM_TTFT_MS', 0),
    tokensPerSecond: readNumber('SCRIPTED_LLM_TOKENS_PER_SECOND', 0),
    logger,
  });
  process.stdout.write(`scripted LLM listening at ${server.url}\n`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.debug({ signal }, 'scripted LLM stopping');
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ error }, 'scripted LLM did not close cleanly');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`scripted LLM failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
