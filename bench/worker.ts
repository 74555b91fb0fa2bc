/**
 * The worker the bench runs as a child process: `startWorker` from `worker.ts`, with the workflow bundle the bench built once
 * (BENCH_WORKFLOW_BUNDLE) instead of bundling at every start: the crash-recovery scenario restarts
 * workers after `kill -9`, and a webpack build per start would add its time to every restart and the
 * bundler's heap to the measured RSS.
 * Announces readiness with the same line as worker.ts ("worker running").
 */
import { loadConfiguration } from '../src/config';
import { createLogger } from '../src/logger';
import { installTemporalRuntime } from '../src/worker/create-worker';
import { startWorker } from '../worker';

async function run() {
  const configuration = loadConfiguration();
  const logger = createLogger(configuration.logLevel, 'bench-worker');
  const bundlePath = process.env.BENCH_WORKFLOW_BUNDLE;
  if (!bundlePath) throw new Error('BENCH_WORKFLOW_BUNDLE is not set (bench/run.ts sets it).');
  if (!configuration.temporal.address || !configuration.llm.baseUrl) throw new Error('TEMPORAL_ADDRESS and OPENAI_BASE_URL must be set.');
  installTemporalRuntime('WARN');
  const running = await startWorker(
    configuration,
    configuration.temporal.address,
    { baseUrl: configuration.llm.baseUrl, apiKey: configuration.llm.apiKey ?? 'unset' },
    logger,
    { workflowBundle: { codePath: bundlePath }, overrides: { shutdownGraceTime: '2 seconds' } },
  );
  process.stdout.write(`worker running pid=${process.pid}\n`);
  await running.done;
}

run().catch((error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
