/**
 * A running durable-chat for one test file: the scripted LLM, a worker on its own task queue, the API
 * on a free port with its own Redis key prefix, and a seeded workspace with a fresh API key. The
 * Temporal server and database come from the global setup. Everything is real: no mocks.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { activityDependenciesFrom } from '../../src/activities';
import { startApi, type RunningApi } from '../../src/api/server';
import { createOpenAiClient } from '../../src/clients';
import { dataConverterFor } from '../../src/codec/encryption-codec';
import { loadConfiguration, type Configuration } from '../../src/config';
import { generateApiKey, WorkspaceRepository } from '../../src/db/workspace-repository';
import { createLogger } from '../../src/logger';
import { startScriptedLlm, type ScriptedLlm } from '../../src/scripted-llm/server';
import { createChatWorker, installTemporalRuntime } from '../../src/worker/create-worker';

export interface TestStack {
  configuration: Configuration;
  apiUrl: string;
  apiKey: string;
  workspaceId: string;
  llm: ScriptedLlm;
  pool: Pool;
  redis: Redis;
  temporal: Client;
  worker: Worker;
  /** Creates another workspace with its own key (tenant isolation tests). */
  addWorkspace(): Promise<{ workspaceId: string; apiKey: string }>;
  stop(): Promise<void>;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest (npm test), whose global setup sets it.`);
  return value;
}

/**
 * The configuration of one test file's stack: the run's database and Temporal server, its own task
 * queue, Redis prefix and workspace-files directory (named `<name>-<unique>`), a free API port.
 */
export function testConfiguration(name: string, options: { heartbeatTimeoutMs?: number; environment?: Record<string, string> } = {}): Configuration {
  const unique = randomUUID().slice(0, 8);
  return loadConfiguration({
    ...process.env,
    DATABASE_URL: required('TEST_DATABASE_URL'),
    TEMPORAL_ADDRESS: required('TEST_TEMPORAL_ADDRESS'),
    TEMPORAL_TASK_QUEUE: `${name}-${unique}`,
    REDIS_KEY_PREFIX: `dc-${name}-${unique}:`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    LLM_HEARTBEAT_TIMEOUT_MS: String(options.heartbeatTimeoutMs ?? 5000),
    SSE_KEEPALIVE_MS: '2000',
    PORT: '0',
    WORKSPACE_FILES_ROOT: path.join(os.tmpdir(), `durable-chat-files-${unique}`),
    ...options.environment,
  });
}

export async function startTestStack(options: { heartbeatTimeoutMs?: number; environment?: Record<string, string> } = {}): Promise<TestStack> {
  const configuration = testConfiguration('test', options);
  const logger = createLogger(configuration.logLevel, 'test');
  const llm = await startScriptedLlm();
  const pool = new Pool({ connectionString: configuration.databaseUrl, max: 10 });
  const redis = new Redis(configuration.redis.url);
  const apiRedis = new Redis(configuration.redis.url);
  const subscriber = new Redis(configuration.redis.url);
  const workerRedis = new Redis(configuration.redis.url);
  const address = configuration.temporal.address!;
  const dataConverter = dataConverterFor(configuration.encryption.keys);
  const temporal = new Client({ connection: await Connection.connect({ address }), namespace: configuration.temporal.namespace, ...(dataConverter ? { dataConverter } : {}) });
  installTemporalRuntime(process.env.TEST_LOG_LEVEL === 'debug' ? 'DEBUG' : 'ERROR');
  const workerConnection = await NativeConnection.connect({ address });
  const worker = await createChatWorker({
    connection: workerConnection,
    namespace: configuration.temporal.namespace,
    taskQueue: configuration.temporal.taskQueue,
    encryptionKeys: configuration.encryption.keys,
    workflowBundle: { codePath: required('TEST_WORKFLOW_BUNDLE') },
    dependencies: activityDependenciesFrom(configuration, { pool, redis: workerRedis, openai: createOpenAiClient(llm.url, 'scripted-test-key'), logger }),
    overrides: { shutdownGraceTime: '1 second' },
  });
  const workerRun = worker.run();
  const api: RunningApi = await startApi({ configuration, pool, redis: apiRedis, subscriber, temporal, logger }, 0);

  const workspaces = new WorkspaceRepository(pool);
  const addWorkspace = async () => {
    const workspaceId = `ws-${randomUUID().slice(0, 8)}`;
    const apiKey = generateApiKey();
    await workspaces.seedWorkspace({ workspaceId, workspaceName: workspaceId, userId: `${workspaceId}-user`, userName: 'Test user', apiKey });
    return { workspaceId, apiKey };
  };
  const { workspaceId, apiKey } = await addWorkspace();

  return {
    configuration,
    apiUrl: api.url,
    apiKey,
    workspaceId,
    llm,
    pool,
    redis,
    temporal,
    worker,
    addWorkspace,
    async stop() {
      await api.stop();
      worker.shutdown();
      await workerRun;
      await workerConnection.close();
      await temporal.connection.close();
      await llm.close();
      for (const connection of [redis, apiRedis, subscriber, workerRedis]) connection.disconnect();
      await pool.end();
    },
  };
}
