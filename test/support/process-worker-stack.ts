/**
 * A durable-chat whose workers are real child processes (`node --import tsx worker.ts`), so a test
 * can `kill -9` the one running an answer: the scripted LLM, the API and the Postgres/Redis/Temporal
 * clients run in the jest process, on the test run's Temporal server and database, with their own
 * task queue and Redis prefix. (`startTestStack` always runs an in-process worker on its queue, which
 * a test cannot kill.)
 */
import type { Client } from '@temporalio/client';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { startApi, type RunningApi } from '../../src/api/server';
import { connectTemporalClient } from '../../src/clients';
import type { Configuration } from '../../src/config';
import { generateApiKey, WorkspaceRepository } from '../../src/db/workspace-repository';
import { createLogger } from '../../src/logger';
import { startScriptedLlm, type ScriptedLlm } from '../../src/scripted-llm/server';
import { testConfiguration } from './stack';
import { startWorkerProcess, type WorkerProcess } from './worker-process';

/** Temporal's `PENDING_ACTIVITY_STATE_STARTED`. */
const ACTIVITY_STARTED = 2;

export interface ProcessWorkerStack {
  configuration: Configuration;
  apiUrl: string;
  apiKey: string;
  workspaceId: string;
  llm: ScriptedLlm;
  pool: Pool;
  temporal: Client;
  /** Workers alive now. */
  workers(): readonly WorkerProcess[];
  /** Starts one more worker process and resolves once it polls. */
  spawnWorker(): Promise<WorkerProcess>;
  /**
   * Kills (SIGKILL) the worker running the turn's started activity, as Temporal reports it, and
   * resolves with it; undefined when no activity of the turn is running.
   */
  killWorkerRunning(turnId: string): Promise<WorkerProcess | undefined>;
  stop(): Promise<void>;
}

export async function startProcessWorkerStack(options: { workers?: number; environment?: Record<string, string> } = {}): Promise<ProcessWorkerStack> {
  const configuration = testConfiguration({ heartbeatTimeoutMs: 2000, ...options });
  const filesRoot = configuration.workspaceFilesRoot;
  const llm = await startScriptedLlm();
  const live: WorkerProcess[] = [];
  const everyWorker: WorkerProcess[] = [];
  const spawnWorker = async () => {
    // A worker bundles the workflow code when it starts: minutes, not seconds, on a loaded 2-core machine.
    const worker = await startWorkerProcess({
      TEMPORAL_ADDRESS: configuration.temporal.address!,
      DATABASE_URL: configuration.databaseUrl,
      REDIS_URL: configuration.redis.url,
      REDIS_KEY_PREFIX: configuration.redis.keyPrefix,
      TEMPORAL_TASK_QUEUE: configuration.temporal.taskQueue,
      OPENAI_BASE_URL: llm.url,
      LLM_HEARTBEAT_TIMEOUT_MS: '2000',
      WORKSPACE_FILES_ROOT: filesRoot,
    }, { readyTimeoutMs: 240_000 });
    live.push(worker);
    everyWorker.push(worker);
    void worker.exited.then(() => {
      const index = live.indexOf(worker);
      if (index >= 0) live.splice(index, 1);
    });
    return worker;
  };
  const starting = Array.from({ length: options.workers ?? 2 }, () => spawnWorker());

  const pool = new Pool({ connectionString: configuration.databaseUrl, max: 10 });
  const apiRedis = new Redis(configuration.redis.url);
  const apiSubscriber = new Redis(configuration.redis.url);
  const temporal = await connectTemporalClient(configuration, configuration.temporal.address!);
  const api: RunningApi = await startApi(
    { configuration, pool, redis: apiRedis, subscriber: apiSubscriber, temporal, logger: createLogger(configuration.logLevel, 'process-stack-api') },
    0,
  );
  const workspaceId = `ws-${configuration.temporal.taskQueue}`;
  const apiKey = generateApiKey();
  await new WorkspaceRepository(pool).seedWorkspace({ workspaceId, workspaceName: 'Browser tests', userId: `${workspaceId}-user`, userName: 'Tester', apiKey });
  await Promise.all(starting);

  return {
    configuration,
    apiUrl: api.url,
    apiKey,
    workspaceId,
    llm,
    pool,
    temporal,
    workers: () => live,
    spawnWorker,
    async killWorkerRunning(turnId: string) {
      const description = await temporal.workflow.getHandle(turnId).describe();
      const running = (description.raw.pendingActivities ?? []).find((activity) => Number(activity.state) === ACTIVITY_STARTED && activity.lastWorkerIdentity);
      const worker = live.find((candidate) => candidate.identity === running?.lastWorkerIdentity);
      if (!worker) return undefined;
      worker.kill('SIGKILL');
      await worker.exited;
      return worker;
    },
    async stop() {
      await Promise.all(
        live.splice(0).map(async (worker) => {
          worker.kill('SIGTERM');
          const timer = setTimeout(() => worker.kill('SIGKILL'), 5000);
          await worker.exited;
          clearTimeout(timer);
        }),
      );
      await Promise.all(everyWorker.map((worker) => worker.exited));
      await api.stop();
      await temporal.connection.close();
      await llm.close();
      apiRedis.disconnect();
      apiSubscriber.disconnect();
      await pool.end();
    },
  };
}
