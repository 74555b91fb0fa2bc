/**
 * The worker the bench runs as a child process: the same dependencies (`activityDependenciesFrom`) and
 * `createChatWorker` as `worker.ts`, with the workflow bundle the bench built once
 * (BENCH_WORKFLOW_BUNDLE) instead of bundling at every start: the crash-recovery scenario restarts
 * workers after `kill -9`, and a webpack build per start would add its time to every restart and the
 * bundler's heap to the measured RSS.
 * Announces readiness with the same line as worker.ts ("worker running").
 */
import { activityDependenciesFrom } from '../src/activities';
import { connectRedis, connectTemporalWorker, createOpenAiClient } from '../src/clients';
import { loadConfiguration } from '../src/config';
import { createPool } from '../src/db/database';
import { createLogger } from '../src/logger';
import { createChatWorker, installTemporalRuntime } from '../src/worker/create-worker';

async function run() {
  const configuration = loadConfiguration();
  const logger = createLogger(configuration.logLevel, 'bench-worker');
  const bundlePath = process.env.BENCH_WORKFLOW_BUNDLE;
  if (!bundlePath) throw new Error('BENCH_WORKFLOW_BUNDLE is not set (bench/run.ts sets it).');
  if (!configuration.temporal.address || !configuration.llm.baseUrl) throw new Error('TEMPORAL_ADDRESS and OPENAI_BASE_URL must be set.');
  installTemporalRuntime('WARN');
  const pool = createPool(configuration.databaseUrl);
  const redis = await connectRedis(configuration.redis.url, 'durable-chat-bench-worker');
  const connection = await connectTemporalWorker(configuration, configuration.temporal.address);
  try {
    const worker = await createChatWorker({
      connection,
      namespace: configuration.temporal.namespace,
      taskQueue: configuration.temporal.taskQueue,
      encryptionKeys: configuration.encryption.keys,
      workflowBundle: { codePath: bundlePath },
      dependencies: activityDependenciesFrom(configuration, { pool, redis, openai: createOpenAiClient(configuration.llm.baseUrl, configuration.llm.apiKey ?? 'unset'), logger }),
      overrides: { shutdownGraceTime: '2 seconds' },
    });
    process.stdout.write(`worker running pid=${process.pid}\n`);
    await worker.run();
  } finally {
    await connection.close();
    redis.disconnect();
    await pool.end();
  }
}

run().catch((error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
