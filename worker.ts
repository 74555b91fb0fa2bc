/**
 * The worker process: connects to Temporal, Postgres, Redis and the LLM endpoint once, builds the
 * activities from those dependencies and runs the chat-turn worker until SIGINT/SIGTERM, which
 * drains in-flight activities within the shutdown grace time.
 */
// First: tracing instruments the modules imported after it.
import './src/telemetry/register';
import type { Worker } from '@temporalio/worker';
import { activityDependenciesFrom } from './src/activities';
import { connectionName, connectRedisClient, connectTemporalWorker, createOpenAiClient } from './src/clients';
import { loadConfiguration, type Configuration } from './src/config';
import { createPool } from './src/db/database';
import { StopSignals } from './src/stream/stop-signals';
import { createLogger, type Logger } from './src/logger';
import { createChatWorker, installTemporalRuntime, type CreateWorkerOptions } from './src/worker/create-worker';

export interface RunningWorker {
  worker: Worker;
  /** Resolves when the worker has stopped and its connections are closed. */
  done: Promise<void>;
}

/** Starts the worker against `temporalAddress`; the caller decides when to `worker.shutdown()`. */
export async function startWorker(
  configuration: Configuration,
  temporalAddress: string,
  llm: { baseUrl: string; apiKey: string },
  logger: Logger,
  options: Pick<CreateWorkerOptions, 'workflowBundle' | 'overrides'> = {},
): Promise<RunningWorker> {
  const pool = createPool(configuration.databaseUrl, { applicationName: connectionName('durable-chat-worker', configuration), logger });
  const redis = await connectRedisClient(configuration.redis, connectionName('durable-chat-worker', configuration), logger);
  const subscriber = await connectRedisClient(configuration.redis, connectionName('durable-chat-worker-stop', configuration), logger, { subscriber: true });
  const connection = await connectTemporalWorker(configuration, temporalAddress);
  const close = async () => {
    await connection.close();
    redis.disconnect();
    subscriber.disconnect();
    await pool.end();
  };
  try {
    const stopSignals = new StopSignals(subscriber, configuration.redis.keyPrefix);
    await stopSignals.start();
    const worker = await createChatWorker({
      connection,
      namespace: configuration.temporal.namespace,
      taskQueue: configuration.temporal.taskQueue,
      role: configuration.temporal.workerRole,
      encryptionKeys: configuration.encryption.keys,
      dependencies: activityDependenciesFrom(configuration, { pool, redis, openai: createOpenAiClient(llm.baseUrl, llm.apiKey), logger, stopSignals }),
      ...options,
    });
    const done = worker.run().finally(close);
    return { worker, done };
  } catch (error) {
    await close();
    throw error;
  }
}

async function run() {
  const configuration = loadConfiguration();
  const logger = createLogger(configuration.logLevel, 'worker');
  if (!configuration.temporal.address) throw new Error('TEMPORAL_ADDRESS is not set (npm start sets it for you).');
  if (!configuration.llm.baseUrl) throw new Error('OPENAI_BASE_URL is not set: point it at an OpenAI-compatible endpoint (npm start runs the scripted one).');
  installTemporalRuntime(configuration.logLevel === 'debug' || configuration.logLevel === 'trace' ? 'DEBUG' : 'WARN');
  const running = await startWorker(
    configuration,
    configuration.temporal.address,
    { baseUrl: configuration.llm.baseUrl, apiKey: configuration.llm.apiKey ?? 'unset' },
    logger,
  );
  logger.info({ taskQueue: configuration.temporal.taskQueue, role: configuration.temporal.workerRole }, 'worker running');
  await running.done;
}

if (require.main === module) {
  run().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
