/**
 * The whole stack for one bench run, started here and torn down at the end:
 * - Temporal: a CLI dev server on a SQLite file in a temp dir (WAL, synchronous=normal), headless;
 * - Postgres: a fresh `durable_chat_bench_<ts>` database, migrated, dropped at the end;
 * - Redis: the configured server with a run-specific key prefix, whose keys are deleted at the end;
 * - the scripted LLM, the baseline server, the worker and the API as child processes.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { dropDatabase, ensureDatabase, migrate } from '../../src/db/database';
import { generateApiKey, WorkspaceRepository } from '../../src/db/workspace-repository';
import { createLogger } from '../../src/logger';
import { freePort, obtainTemporalServer, type TemporalServer } from '../../src/stack/temporal-server';
import { WORKFLOWS_PATH } from '../../src/worker/create-worker';
import { spawnNode, waitForHttp, type Child, ROOT } from './children';
import type { BenchConfig, WorkerRole } from './config';
import { CpuMeter, descendantPids, pidsByName, type WatchedProcess } from './process-stats';

export interface BenchStack {
  runId: string;
  logDirectory: string;
  temporal: TemporalServer;
  temporalPid: number | undefined;
  temporalClient: Client;
  databaseUrl: string;
  pool: Pool;
  redis: Redis;
  redisPid: number | undefined;
  redisVersion: string;
  keyPrefix: string;
  taskQueue: string;
  llm: Child;
  llmUrl: string;
  baseline: Child;
  baselineUrl: string;
  /** The first worker and API process; `workers` and `apis` hold them all (BENCH_WORKER_ROLES, BENCH_APIS). */
  worker: Child;
  workers: Array<{ child: Child; role: WorkerRole }>;
  api: Child;
  apiUrl: string;
  apis: Array<{ child: Child; url: string }>;
  apiKey: string;
  workspaceId: string;
  /** Starts another worker (crash recovery) with environment overrides. */
  startWorker(name: string, overrides?: Record<string, string>): Promise<Child>;
  /** Starts another API process with environment overrides; resolves with its URL once healthy. */
  startApi(name: string, overrides?: Record<string, string>): Promise<{ child: Child; url: string }>;
  /** Starts another baseline server (a fresh process, for memory measurements). */
  startBaseline(name: string): Promise<{ child: Child; url: string }>;
  /** A CPU meter over the stack's processes (plus this bench process). */
  cpuMeter(extra?: WatchedProcess[]): CpuMeter;
  stop(): Promise<void>;
}

const quietLogger = createLogger(process.env.BENCH_LOG_LEVEL ?? 'warn', 'bench');

export async function startBenchStack(progress: (message: string) => void, topology: BenchConfig['topology']): Promise<BenchStack> {
  const runId = new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14);
  const directory = mkdtempSync(path.join(os.tmpdir(), 'durable-chat-bench-'));
  const logDirectory = path.join(ROOT, 'bench/results', `logs-${runId}`);
  mkdirSync(logDirectory, { recursive: true });
  const cleanups: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => progress(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`));
    }
  };
  cleanups.push(async () => rmSync(directory, { recursive: true, force: true }));

  try {
    progress('starting Temporal dev server (SQLite + WAL in a temp dir)');
    const temporal = await obtainTemporalServer({
      configuredAddress: process.env.BENCH_TEMPORAL_ADDRESS,
      databaseFile: path.join(directory, 'temporal.sqlite'),
      headless: true,
      logger: quietLogger,
      ...(process.env.BENCH_TEMPORAL_DYNAMIC_CONFIG ? { dynamicConfig: JSON.parse(process.env.BENCH_TEMPORAL_DYNAMIC_CONFIG) as Record<string, unknown> } : {}),
    });
    cleanups.push(() => temporal.stop());
    // Under `npm start`'s supervision the server runs behind a guardian shell: look below this process.
    const temporalPid = descendantPids(process.pid, /^temporal/)[0];
    const temporalClient = new Client({ connection: await Connection.connect({ address: temporal.address }), namespace: temporal.namespace });
    cleanups.push(() => temporalClient.connection.close());

    const base = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
    base.pathname = `/durable_chat_bench_${runId}`;
    const databaseUrl = base.toString();
    progress(`creating and migrating ${base.pathname.slice(1)}`);
    await ensureDatabase(databaseUrl, quietLogger);
    cleanups.push(() => dropDatabase(databaseUrl));
    await migrate(databaseUrl, quietLogger);
    const pool = new Pool({ connectionString: databaseUrl, max: 4 });
    cleanups.push(() => pool.end());

    const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    const keyPrefix = `dc-bench-${runId}:`;
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
    cleanups.push(async () => redis.disconnect());
    cleanups.push(() => deleteKeys(redis, keyPrefix));
    const info = await redis.info('server');
    const redisPid = Number(/process_id:(\d+)/.exec(info)?.[1]) || undefined;
    const redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';

    progress('bundling the workflow code once');
    const bundle = await bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (message) => quietLogger.error(message) },
    });
    const bundlePath = path.join(directory, 'workflow-bundle.js');
    writeFileSync(bundlePath, bundle.code);

    const children = new Set<Child>();
    cleanups.push(async () => {
      await Promise.all([...children].map((child) => child.stop()));
    });
    const track = (child: Child) => {
      children.add(child);
      void child.exited.then(() => children.delete(child));
    };
    progress('starting the scripted LLM and the baseline server');
    const llmProcess = await spawnNode({
      name: 'scripted-llm',
      entry: 'src/scripted-llm/main.ts',
      environment: { SCRIPTED_LLM_PORT: '0', LOG_LEVEL: 'warn' },
      logDirectory,
      ready: (output) => /listening at (http\S+)/.exec(output)?.[1],
    });
    track(llmProcess.child);
    const llmUrl = llmProcess.ready;
    // BENCH_HEAP_SNAPSHOT=1: an API or baseline server writes a V8 heap snapshot into the log directory on SIGUSR2 (the idle scenario asks for two).
    const heapArguments = process.env.BENCH_HEAP_SNAPSHOT === '1' ? ['--heapsnapshot-signal=SIGUSR2', '--diagnostic-dir', logDirectory] : [];
    const startBaseline = async (name: string) => {
      const { child, ready } = await spawnNode({
        name,
        entry: 'bench/baseline-server.ts',
        nodeArguments: heapArguments,
        environment: { BASELINE_PORT: '0', OPENAI_BASE_URL: llmUrl, OPENAI_API_KEY: 'scripted-bench' },
        logDirectory,
        ready: (output) => /baseline listening at (http\S+)/.exec(output)?.[1],
      });
      track(child);
      return { child, url: ready };
    };
    const baselineProcess = await startBaseline('baseline');

    const taskQueue = `bench-${runId}`;
    const serviceEnvironment = (overrides: Record<string, string> = {}): Record<string, string> => ({
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
      TEMPORAL_TASK_QUEUE: taskQueue,
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: keyPrefix,
      OPENAI_BASE_URL: llmUrl,
      OPENAI_API_KEY: 'scripted-bench',
      LOG_LEVEL: 'warn',
      WORKSPACE_FILES_ROOT: path.join(directory, 'workspace-files'),
      BENCH_WORKFLOW_BUNDLE: bundlePath,
      // One bench key drives hundreds of turns a second: the API's rate limits would be the figure measured.
      RATE_LIMIT_PER_KEY: '0',
      RATE_LIMIT_PER_WORKSPACE: '0',
      RATE_LIMIT_PER_ADDRESS: '0',
      ...overrides,
    });
    // BENCH_CPU_PROFILE=1: V8 CPU profiles of the worker and API processes, written to the log directory at exit.
    const profileArguments = process.env.BENCH_CPU_PROFILE === '1' ? ['--cpu-prof', '--cpu-prof-dir', logDirectory] : [];
    const startWorker = async (name: string, overrides: Record<string, string> = {}) => {
      const { child } = await spawnNode({
        name,
        entry: 'bench/worker.ts',
        nodeArguments: profileArguments,
        environment: serviceEnvironment(overrides),
        logDirectory,
        ready: (output) => (output.includes('worker running') ? 'ready' : undefined),
      });
      track(child);
      return child;
    };
    const startApi = async (name: string, overrides: Record<string, string> = {}) => {
      const port = await freePort();
      const { child } = await spawnNode({
        name,
        entry: 'src/api/main.ts',
        nodeArguments: [...profileArguments, ...heapArguments],
        environment: serviceEnvironment({ PORT: String(port), HOST: '127.0.0.1', ...overrides }),
        logDirectory,
        ready: () => 'spawned',
      });
      track(child);
      const url = `http://127.0.0.1:${port}`;
      await waitForHttp(`${url}/healthz`, child);
      return { child, url };
    };

    progress(`starting ${topology.workerRoles.length} worker(s) (${topology.workerRoles.join(', ')}) and ${topology.apis} API process(es)`);
    const [workers, apis] = await Promise.all([
      Promise.all(topology.workerRoles.map(async (role, index) => ({ role, child: await startWorker(`worker-${index}-${role}`, { WORKER_ROLE: role }) }))),
      Promise.all(Array.from({ length: topology.apis }, (_, index) => startApi(index === 0 ? 'api' : `api-${index}`))),
    ]);
    const worker = workers[0]!.child;
    const api = apis[0]!;

    const apiKey = generateApiKey();
    const workspaceId = `bench-${runId}`;
    await new WorkspaceRepository(pool).seedWorkspace({ workspaceId, workspaceName: 'Bench', userId: `${workspaceId}-user`, userName: 'Bench user', apiKey });

    const cpuMeter = (extra: WatchedProcess[] = []) =>
      new CpuMeter([
        { name: 'worker', threads: true, pids: () => workers.map(({ child }) => child.pid) },
        { name: 'api', threads: true, pids: () => apis.map(({ child }) => child.pid) },
        // With split roles, each role's share of 'worker' as well.
        ...(new Set(topology.workerRoles).size > 1
          ? [...new Set(topology.workerRoles)].map((role) => ({ name: `worker:${role}`, part: true, pids: () => workers.filter((entry) => entry.role === role).map(({ child }) => child.pid) }))
          : []),
        { name: 'redis', pids: () => (redisPid ? [redisPid] : []) },
        { name: 'temporal', pids: () => (temporalPid ? [temporalPid] : []) },
        { name: 'postgres', pids: () => pidsByName(/^postgres/) },
        { name: 'scripted-llm', pids: () => [llmProcess.child.pid] },
        { name: 'baseline', pids: () => [baselineProcess.child.pid] },
        { name: 'bench-client', pids: () => [process.pid] },
        ...extra,
      ]);

    return {
      runId,
      logDirectory,
      temporal,
      temporalPid,
      temporalClient,
      databaseUrl,
      pool,
      redis,
      redisPid,
      redisVersion,
      keyPrefix,
      taskQueue,
      llm: llmProcess.child,
      llmUrl,
      baseline: baselineProcess.child,
      baselineUrl: baselineProcess.url,
      worker,
      workers,
      api: api.child,
      apiUrl: api.url,
      apis,
      apiKey,
      workspaceId,
      startWorker,
      startApi,
      startBaseline,
      cpuMeter,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Deletes every key of the run's prefix (SCAN + UNLINK; the loop ends when the cursor wraps). */
async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  for (let round = 0; round < 100_000; round++) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
    if (cursor === '0') return;
  }
}
