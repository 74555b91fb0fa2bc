/**
 * The worker as a real child process (`node --import tsx worker.ts`), for tests that kill it with
 * signals (chaos). One OS process per worker: the Temporal worker identity is `<pid>@<hostname>`, so
 * the pid read here names the worker in workflow histories and in `describe().pendingActivities`.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

export interface WorkerProcess {
  pid: number;
  /** The identity Temporal records for this worker's tasks (the SDK default `<pid>@<hostname>`). */
  identity: string;
  kill(signal?: NodeJS.Signals): boolean;
  /** Resolves with the exit code (null when a signal ended the process). */
  exited: Promise<number | null>;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
}

/** The environment a worker process needs; everything else is inherited. */
export interface WorkerProcessEnvironment {
  TEMPORAL_ADDRESS: string;
  DATABASE_URL: string;
  REDIS_URL: string;
  REDIS_KEY_PREFIX: string;
  TEMPORAL_TASK_QUEUE: string;
  OPENAI_BASE_URL: string;
  OPENAI_API_KEY?: string;
  LLM_HEARTBEAT_TIMEOUT_MS?: string;
  LOG_LEVEL?: string;
  WORKSPACE_FILES_ROOT?: string;
  [name: string]: string | undefined;
}

const ROOT = path.resolve(__dirname, '../..');
/** The line worker.ts logs (at info) once the worker is created and about to poll. */
const READY_LINE = 'worker running';
const OUTPUT_LIMIT = 200_000;

/**
 * Spawns worker.ts and resolves once it logs that it runs. `LOG_LEVEL` defaults to `info`: the
 * readiness line is an info line, so `warn` would never announce it.
 */
export async function startWorkerProcess(environment: WorkerProcessEnvironment, options: { readyTimeoutMs?: number } = {}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      OPENAI_API_KEY: 'scripted-test-key',
      LLM_HEARTBEAT_TIMEOUT_MS: '2000',
      LOG_LEVEL: 'info',
      NODE_OPTIONS: '',
      ...environment,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error('worker process did not start');
  const pid = child.pid;
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const timeoutMs = options.readyTimeoutMs ?? 60_000;
  await new Promise<void>((resolve, reject) => {
    const onData = () => {
      if (!output.includes(READY_LINE)) return;
      cleanup();
      resolve();
    };
    const timer = setTimeout(() => {
      cleanup();
      child.kill('SIGKILL');
      reject(new Error(`worker ${pid} did not log "${READY_LINE}" within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stderr.off('data', onData);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      cleanup();
      reject(new Error(`worker ${pid} exited with ${code} before it ran:\n${output}`));
    });
    onData();
  });

  return {
    pid,
    identity: `${pid}@${os.hostname()}`,
    kill: (signal: NodeJS.Signals = 'SIGKILL') => child.kill(signal),
    exited,
    output: () => output,
  };
}
