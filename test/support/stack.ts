/**
 * A running durable-chat for one test file: the scripted LLM, a worker on its own task queue, the API
 * on a free port with its own Redis key prefix, and a seeded workspace with a fresh API key. The
 * Temporal server and database come from the global setup. Everything is real: no mocks.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { startApiProcess } from '../../src/api/main';
import { connectTemporalClient } from '../../src/clients';
import { loadConfiguration, type Configuration } from '../../src/config';
import { createPool } from '../../src/db/database';
import { generateApiKey, WorkspaceRepository } from '../../src/db/workspace-repository';
import { createLogger, type Logger } from '../../src/logger';
import { startScriptedLlm, type ScriptedLlm } from '../../src/scripted-llm/server';
import { conversationKey, turnWorkflowId } from '../../src/shared/ids';
import { installTemporalRuntime } from '../../src/worker/create-worker';
import { startWorker } from '../../worker';

export interface TestStack {
  configuration: Configuration;
  apiUrl: string;
  apiKey: string;
  workspaceId: string;
  llm: ScriptedLlm;
  /** For assertions: the test's own connections, separate from the worker's and the API's. */
  pool: Pool;
  redis: Redis;
  temporal: Client;
  worker: Worker;
  /** Creates another workspace with its own key (tenant isolation tests). */
  addWorkspace(): Promise<{ workspaceId: string; apiKey: string }>;
  /** The internal conversation key of a chat of the test workspace (or of `workspaceId`). */
  conversationKey(chatId: string, workspaceId?: string): string;
  /** The workflow id of the turn answering `messageId` in a chat of the test workspace. */
  turnId(chatId: string, messageId: string, workspaceId?: string): string;
  stop(): Promise<void>;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest (npm test), whose global setup sets it.`);
  return value;
}

export interface TestStackOptions {
  heartbeatTimeoutMs?: number;
  environment?: Record<string, string>;
  /** Where worker and API log (default: pino to stdout at TEST_LOG_LEVEL or warn). */
  logger?: Logger;
  /**
   * Join another deployment instead of starting a fresh one: share its task queue, Redis prefix and
   * scripted LLM (which this stack then does not close), as a second generation of processes does
   * during a rolling deploy.
   */
  join?: { taskQueue: string; redisKeyPrefix: string; llm: ScriptedLlm };
}

/**
 * The test stack's configuration: the jest global setup's database and Temporal server, and this
 * stack's own task queue, Redis prefix and free API port. With `llmUrl`, the deployment's endpoint is
 * that scripted server (the API then checks agents' models against it), and workspace connection keys
 * get a fresh secrets key ring.
 */
export function testConfiguration(options: Omit<TestStackOptions, 'logger' | 'join'> & { join?: Omit<NonNullable<TestStackOptions['join']>, 'llm'>; llmUrl?: string } = {}): Configuration {
  const unique = randomUUID().slice(0, 8);
  return loadConfiguration({
    ...process.env,
    DATABASE_URL: required('TEST_DATABASE_URL'),
    TEMPORAL_ADDRESS: required('TEST_TEMPORAL_ADDRESS'),
    TEMPORAL_TASK_QUEUE: options.join?.taskQueue ?? `test-${unique}`,
    REDIS_KEY_PREFIX: options.join?.redisKeyPrefix ?? `dc-test-${unique}:`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    LLM_HEARTBEAT_TIMEOUT_MS: String(options.heartbeatTimeoutMs ?? 5000),
    SSE_KEEPALIVE_MS: '2000',
    PORT: '0',
    WORKSPACE_FILES_ROOT: path.join(os.tmpdir(), `durable-chat-files-${unique}`),
    ...(options.llmUrl ? { OPENAI_BASE_URL: options.llmUrl, OPENAI_API_KEY: 'scripted-test-key', LLM_PROVIDER: 'scripted' } : {}),
    SECRETS_ENCRYPTION_KEYS: `test-${unique}:${randomBytes(32).toString('base64')}`,
    OBJECT_STORE_ROOT: path.join(os.tmpdir(), `durable-chat-objects-${unique}`),
    ...options.environment,
  });
}

/** The stack every integration test runs on, wired by the same functions as `npm start`. */
export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const llm = options.join?.llm ?? (await startScriptedLlm());
  const { logger: givenLogger, ...configurationOptions } = options;
  const configuration = testConfiguration({ ...configurationOptions, llmUrl: llm.url });
  const logger = givenLogger ?? createLogger(configuration.logLevel, 'test');
  const address = configuration.temporal.address!;
  installTemporalRuntime(process.env.TEST_LOG_LEVEL === 'debug' ? 'DEBUG' : 'ERROR');
  const running = await startWorker(configuration, address, { baseUrl: llm.url, apiKey: 'scripted-test-key' }, logger, {
    workflowBundle: { codePath: required('TEST_WORKFLOW_BUNDLE') },
    overrides: { shutdownGraceTime: '1 second' },
  });
  const api = await startApiProcess(configuration, address, logger, 0);
  const pool = createPool(configuration.databaseUrl, { max: 10, logger });
  const redis = new Redis(configuration.redis.url);
  const temporal = await connectTemporalClient(configuration, address);

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
    worker: running.worker,
    addWorkspace,
    conversationKey: (chatId, workspace = workspaceId) => conversationKey(workspace, chatId),
    turnId: (chatId, messageId, workspace = workspaceId) => turnWorkflowId(conversationKey(workspace, chatId), messageId),
    async stop() {
      await api.stop();
      if (running.worker.getState() === 'RUNNING') running.worker.shutdown();
      await running.done;
      await temporal.connection.close();
      if (!options.join) await llm.close();
      redis.disconnect();
      await pool.end();
    },
  };
}
