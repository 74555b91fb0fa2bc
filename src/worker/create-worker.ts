/**
 * Builds the Temporal worker that runs chat turns: workflows from `src/workflows` (or a prebuilt
 * bundle) and the activities built from injected dependencies.
 */
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';
import { activeTracing } from '../telemetry/active';
import path from 'node:path';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDependencies } from '../activities';
import { dataConverterFor, type EncryptionKey } from '../codec/encryption-codec';

export const WORKFLOWS_PATH = path.resolve(__dirname, '../workflows/index.ts');

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /**
   * `all` (default): workflows and activities. `workflows`: workflow tasks and their local activities,
   * no activity polling. `activities`: activity tasks only. Separate processes keep workflow tasks from
   * queueing behind streaming activities on one event loop.
   */
  role?: 'all' | 'workflows' | 'activities';
  dependencies: ActivityDependencies;
  /** A prebuilt workflow bundle (tests build one once); otherwise the workflows are bundled here. */
  workflowBundle?: { codePath: string };
  /** Payload encryption keys; the codec runs outside the workflow sandbox. */
  encryptionKeys?: EncryptionKey[];
  overrides?: Partial<WorkerOptions>;
}

export async function createChatWorker(options: CreateWorkerOptions): Promise<Worker> {
  const tracing = activeTracing();
  const role = options.role ?? 'all';
  const workflows = options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH };
  return Worker.create({
    // Tracing on: workflow and activity interceptors and the sink that exports workflow spans.
    ...(tracing ? { plugins: [new OpenTelemetryPlugin({ resource: tracing.resource, spanProcessor: tracing.spanProcessor })] } : {}),
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    // The workflows role keeps the activities: the turn's local steps run in the workflow's worker.
    ...(role === 'activities' ? {} : workflows),
    ...(role === 'workflows' ? { enableNonLocalActivities: false } : {}),
    activities: createActivities(options.dependencies),
    ...(options.encryptionKeys?.length ? { dataConverter: dataConverterFor(options.encryptionKeys) } : {}),
    maxConcurrentActivityTaskExecutions: 400,
    // Pollers scale with the server's feedback (at most 10 fixed by default, 2 of them on the
    // non-sticky queue every new turn's first task waits in): a burst of new turns finds a poller
    // waiting instead of a backlog (start rate 7.1–7.9 → 9.2–10.7 turns/s in the bench).
    workflowTaskPollerBehavior: { type: 'autoscaling' },
    activityTaskPollerBehavior: { type: 'autoscaling' },
    shutdownGraceTime: '10 seconds',
    // When this worker dies, its sticky queue hands the turn to another worker after 2 s, not 10 s.
    stickyQueueScheduleToStartTimeout: '2 seconds',
    ...options.overrides,
  });
}

/**
 * Installs the Temporal runtime with its SDK logger at `level` (the default INFO prints the whole
 * webpack report of the workflow bundle). Call once, before the first connection.
 */
export function installTemporalRuntime(level: LogLevel = 'WARN'): void {
  try {
    Runtime.install({ logger: new DefaultLogger(level) });
  } catch {
    // Already installed in this process (tests start several stacks): the first install stands.
  }
}
