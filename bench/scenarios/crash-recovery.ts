/**
 * Scenario 5, crash recovery: two workers (WORKER_ROLE=all) on a dedicated task queue and two API
 * processes whose LLM_HEARTBEAT_TIMEOUT_MS is the scenario's heartbeat timeout (default 2000 ms); rounds
 * alternate between the APIs. Each round starts a
 * 50 tokens/s answer (144 deltas), waits for k deltas, finds the worker running the LLM activity
 * (`pendingActivities[].lastWorkerIdentity` = `<pid>@<host>`), `kill -9`s it and measures kill →
 * first delta of the retried attempt at the client (`text-<hop>-<attempt ≥ 2>`, after the
 * `data-hop-restart` part). A replacement worker is started right after each kill, so two workers
 * are up at every kill. k goes from BENCH_CRASH_DELTAS_BEFORE_KILL (default 10) to 80 over the
 * rounds, so the kills land at different points of the heartbeat cycle (the SDK sends a heartbeat at
 * most every 0.8 × the heartbeat timeout, and the server notices a dead worker one timeout after the
 * last heartbeat it received). Where the time goes is read off the pending activity while it waits
 * (`describe()` every 25 ms): kill → the server's last heartbeat before it, kill → the attempt timed
 * out (`lastAttemptCompleteTime`), the wait the retry policy set (`nextAttemptScheduleTime`), that
 * time → the retried attempt started (`lastStartedTime`), and that start → the client's `hop-restart`.
 */
import os from 'node:os';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import type { Child } from '../lib/children';
import { waitForQuiet, type ScenarioContext, type ScenarioResult } from '../lib/scenario';
import { epochNow } from '../lib/sse-client';
import { roundSummary, Samples } from '../lib/stats';
import { sleep, startTurn, waitUntil, type Target } from '../lib/turns';

/** The turn's pending LLM hop, as `describe()` reports it. */
function pendingHop(description: WorkflowExecutionDescription) {
  return description.raw.pendingActivities?.find((activity) => activity.activityType?.name === 'streamCompletion');
}

export async function runCrashRecovery(context: ScenarioContext): Promise<ScenarioResult> {
  const { kills, heartbeatTimeoutMs, deltasBeforeKill } = context.config.crash;
  const taskQueue = `${context.stack.taskQueue}-crash`;
  const overrides = { TEMPORAL_TASK_QUEUE: taskQueue, WORKER_ROLE: 'all', LLM_HEARTBEAT_TIMEOUT_MS: String(heartbeatTimeoutMs) };
  context.progress(`crash: ${kills} kills, heartbeat timeout ${heartbeatTimeoutMs} ms, two workers and two APIs on ${taskQueue}`);
  const apis = await Promise.all([context.stack.startApi('api-crash-0', overrides), context.stack.startApi('api-crash-1', overrides)]);
  let generation = 0;
  const workers = new Map<number, Child>();
  const workerStartMs = new Samples();
  const spawnWorker = async () => {
    const began = performance.now();
    const worker = await context.stack.startWorker(`worker-crash-${generation++}`, overrides);
    workerStartMs.add(performance.now() - began);
    workers.set(worker.pid, worker);
    return worker;
  };
  await Promise.all([spawnWorker(), spawnWorker()]);
  // Rounds alternate between the APIs: the client's API is independent of the worker that runs the turn.
  const targets: Target[] = apis.map((api) => ({ kind: 'ours', url: api.url, apiKey: context.stack.apiKey, workspaceId: context.stack.workspaceId }));
  const toRestart = new Samples();
  const toRetriedDelta = new Samples();
  const heartbeatAge = new Samples();
  const toTimeout = new Samples();
  const retryWait = new Samples();
  const dueToStarted = new Samples();
  const startedToRestart = new Samples();
  const notes: string[] = [];
  let replacement: Promise<Child> | undefined;
  const turnIds: string[] = [];

  try {
    for (let round = 0; round < kills; round++) {
      if (replacement) await replacement;
      const killAfter = Math.round(deltasBeforeKill + ((80 - deltasBeforeKill) * round) / Math.max(1, kills - 1));
      let deltas = 0;
      let restartAt: number | undefined;
      let retriedDeltaAt: number | undefined;
      const turn = startTurn(targets[round % targets.length]!, `Tell me something long, round ${round} [[tps=50]]`, {
        timeoutMs: 60_000,
        onEvent: (event, type) => {
          if (type === 'data-hop-restart' || type === 'reset-step') restartAt ??= event.receivedAt;
          if (type !== 'text-delta') return;
          if (/"id":"text-\d+-1"/.test(event.data)) deltas += 1;
          else retriedDeltaAt ??= event.receivedAt;
        },
      });
      if (!(await waitUntil(() => deltas >= killAfter, 30_000, 2))) {
        notes.push(`round ${round}: only ${deltas} deltas before the kill deadline`);
        turn.stream.abort();
        continue;
      }
      const handle = context.stack.temporalClient.workflow.getHandle(turn.workflowId);
      turnIds.push(handle.workflowId);
      const description = await handle.describe();
      const identity = pendingHop(description)?.lastWorkerIdentity ?? '';
      const pid = Number(identity.split('@')[0]);
      const victim = workers.get(pid);
      if (!victim || !identity.endsWith(`@${os.hostname()}`)) {
        notes.push(`round ${round}: activity runs on "${identity}", not a bench worker`);
        turn.stream.abort();
        continue;
      }
      const killedAt = epochNow();
      process.kill(pid, 'SIGKILL');
      workers.delete(pid);
      replacement = spawnWorker();
      const lastHeartbeat = optionalTsToMs(pendingHop(description)?.lastHeartbeatTime);
      if (lastHeartbeat !== undefined) heartbeatAge.add(killedAt - lastHeartbeat);
      // The attempt's timeout and the retry's due time, read while the retry waits (or just after).
      let timedOutAt: number | undefined;
      let retryDueAt: number | undefined;
      while (timedOutAt === undefined && retriedDeltaAt === undefined && epochNow() - killedAt < 30_000) {
        const pending = pendingHop(await handle.describe());
        if ((pending?.attempt ?? 1) >= 2) {
          timedOutAt = optionalTsToMs(pending?.lastAttemptCompleteTime) ?? epochNow();
          retryDueAt = optionalTsToMs(pending?.nextAttemptScheduleTime);
        } else await sleep(25);
      }
      const recovered = await waitUntil(() => retriedDeltaAt !== undefined, 30_000, 5);
      if (timedOutAt !== undefined) toTimeout.add(timedOutAt - killedAt);
      if (timedOutAt !== undefined && retryDueAt !== undefined) {
        retryWait.add(retryDueAt - timedOutAt);
        const retried = pendingHop(await handle.describe());
        const retriedStartedAt = optionalTsToMs(retried?.lastStartedTime);
        if (retriedStartedAt !== undefined && (retried?.attempt ?? 1) >= 2) {
          dueToStarted.add(retriedStartedAt - retryDueAt);
          if (restartAt !== undefined) startedToRestart.add(restartAt - retriedStartedAt);
        }
      }
      if (recovered && retriedDeltaAt !== undefined) {
        toRetriedDelta.add(retriedDeltaAt - killedAt);
        if (restartAt !== undefined) toRestart.add(restartAt - killedAt);
      } else {
        notes.push(`round ${round}: no retried delta within 30 s`);
      }
      context.progress(`  kill ${round + 1}/${kills} after ${killAfter} deltas: retried delta after ${retriedDeltaAt === undefined ? 'n/a' : Math.round(retriedDeltaAt - killedAt)} ms`);
      turn.stream.abort();
      await sleep(200);
    }
  } finally {
    if (replacement) await replacement.catch(() => undefined);
    // Let the retried turns finish on the surviving workers, then make sure none is left running.
    const handles = turnIds.map((workflowId) => context.stack.temporalClient.workflow.getHandle(workflowId));
    await Promise.race([Promise.allSettled(handles.map((handle) => handle.result())), sleep(30_000)]);
    await Promise.allSettled(handles.map((handle) => handle.terminate('bench crash scenario over')));
    await Promise.all([...workers.values()].map((worker) => worker.stop()));
    await Promise.all(apis.map((api) => api.child.stop()));
    await waitForQuiet(context, 10_000);
  }

  const summary = toRetriedDelta.summary();
  return {
    rows: [
      { scenario: '5 crash recovery', metric: `kill -9 → first retried delta p50 ms (heartbeat ${heartbeatTimeoutMs} ms)`, measured: summary?.p50, baseline: 'n/a (a direct stream dies with its process)' },
      { scenario: '5 crash recovery', metric: `kill -9 → first retried delta p95 ms (${summary?.count ?? 0} kills)`, measured: summary?.p95, target: { comparison: '<=', value: 3000 } },
    ],
    details: {
      heartbeatTimeoutMs,
      killAfterDeltas: `${deltasBeforeKill} → 80, evenly over the rounds`,
      killToRetriedDeltaMs: roundSummary(summary),
      killToHopRestartMs: roundSummary(toRestart.summary()),
      lastHeartbeatBeforeKillMs: roundSummary(heartbeatAge.summary()),
      killToAttemptTimedOutMs: roundSummary(toTimeout.summary()),
      retryWaitMs: roundSummary(retryWait.summary()),
      retryDueToAttemptStartedMs: roundSummary(dueToStarted.summary()),
      attemptStartedToHopRestartMs: roundSummary(startedToRestart.summary()),
      workerSpawnToReadyMs: roundSummary(workerStartMs.summary()),
      notes,
    },
  };
}
