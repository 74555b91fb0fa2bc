/**
 * Scenario 4, start rate: new turns offered open-loop at a fixed rate (default 30/s) for a fixed time
 * (default 30 s; BENCH_START_RATE_SECONDS=60 for the minute), each a short answer on the full
 * path. "Started" means the client saw the turn's first delta; the sustained rate is those turns over
 * the time from the first POST to the last first delta, so a backlog that builds up lowers it.
 * Workflow-task schedule-to-start comes from the histories of a sample of the turns
 * (WorkflowTaskScheduled → WorkflowTaskStarted event times).
 */
import { temporal } from '@temporalio/proto';
import type { Row } from '../lib/report';
import { waitForQuiet, type ScenarioContext, type ScenarioResult } from '../lib/scenario';
import { epochNow } from '../lib/sse-client';
import { roundSummary, Samples } from '../lib/stats';
import { forEachLimited, questionPrompt, sleep, startTurn, type Target, type TurnHandle } from '../lib/turns';

const EventType = temporal.api.enums.v1.EventType;

interface RateResult {
  offeredPerSecond: number;
  offered: number;
  started: number;
  startRpcPerSecond: number;
  startedPerSecond: number;
  offeredSeconds: number;
  stoppedEarly: string | undefined;
  ttftMs: ReturnType<typeof roundSummary>;
  failures: number;
  turns: TurnHandle[];
}

/**
 * Offers turns at `rate` for `seconds`. Offering stops early once more than `rate × 5` turns wait for
 * their first delta (the rate is not sustainable; going on only builds a queue). The sustained rate is
 * the turns that got their first delta divided by the time from the first POST to the last of those
 * (or to the early stop). Turns still waiting at the end are terminated.
 */
/** `targets`: the turns go round-robin over them (the product's API processes, or the baseline server). */
async function offer(context: ScenarioContext, targets: Target[], rate: number, seconds: number, indexOffset: number): Promise<RateResult> {
  const target = targets[0]!;
  const count = Math.round(rate * seconds);
  const backlogLimit = Math.max(20, rate * 5);
  const turns: TurnHandle[] = [];
  const began = epochNow();
  const origin = performance.now();
  let waiting = 0;
  let stoppedEarlyAt: number | undefined;
  for (let index = 0; index < count; index++) {
    const due = origin + (index * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (waiting > backlogLimit) {
      stoppedEarlyAt = epochNow();
      break;
    }
    waiting += 1;
    const turn = startTurn(targets[index % targets.length]!, questionPrompt(`rate-${target.kind}-${indexOffset + index}`), { timeoutMs: 120_000, onFirstDelta: () => (waiting -= 1) });
    void turn.done.then(() => {
      if (turn.firstDeltaAt === undefined) waiting -= 1;
    });
    turns.push(turn);
  }
  if (stoppedEarlyAt !== undefined) {
    // Terminate what has not started streaming (server side: no worker needed), then drop those streams.
    const backlog = turns.filter((turn) => turn.firstDeltaAt === undefined);
    if (target.kind === 'ours') {
      await forEachLimited(backlog.length, 32, async (index) => {
        const turn = backlog[index]!;
        await context.stack.temporalClient.workflow.getHandle(turn.workflowId).terminate('bench: start rate not sustained').catch(() => undefined);
      });
    }
    for (const turn of backlog) turn.stream.abort();
  }
  await Promise.race([Promise.all(turns.map((turn) => turn.done)), sleep(60_000)]);
  for (const turn of turns) turn.stream.abort();
  const cutoff = stoppedEarlyAt ?? Number.POSITIVE_INFINITY;
  const firstDeltas = turns.flatMap((turn) => (turn.firstDeltaAt === undefined || turn.firstDeltaAt > cutoff ? [] : [turn.firstDeltaAt]));
  const headers = turns.flatMap((turn) => (turn.headersAt === undefined || turn.headersAt > cutoff ? [] : [turn.headersAt]));
  const ttft = new Samples();
  for (const turn of turns) if (turn.firstDeltaAt !== undefined) ttft.add(turn.firstDeltaAt - turn.stream.startedAt);
  const span = (times: number[]) => (stoppedEarlyAt !== undefined ? (stoppedEarlyAt - began) / 1000 : Math.max(seconds, (Math.max(...times) - began) / 1000));
  return {
    offeredPerSecond: rate,
    offered: turns.length,
    started: firstDeltas.length,
    startRpcPerSecond: headers.length > 0 ? headers.length / span(headers) : 0,
    startedPerSecond: firstDeltas.length > 0 ? firstDeltas.length / span(firstDeltas) : 0,
    offeredSeconds: Math.round(((stoppedEarlyAt ?? epochNow()) - began) / 100) / 10,
    stoppedEarly: stoppedEarlyAt !== undefined ? `more than ${backlogLimit} turns waited for their first delta` : undefined,
    ttftMs: roundSummary(ttft.summary()),
    failures: turns.length - turns.filter((turn) => turn.firstDeltaAt !== undefined).length,
    turns,
  };
}

interface TaskTimings {
  /** Workflow task: scheduled → started (waiting for a worker poll). */
  workflowScheduleToStart: Samples;
  /** Workflow task: started → completed (the worker's processing, including its round trips). */
  workflowStartToComplete: Samples;
  /** Activity task: scheduled → started. */
  activityScheduleToStart: Samples;
  histories: number;
}

function eventMilliseconds(event: temporal.api.history.v1.IHistoryEvent): number {
  return Number(event.eventTime?.seconds ?? 0) * 1000 + (event.eventTime?.nanos ?? 0) / 1e6;
}

/** Task timings from the histories of a sample of the turns, spread over the run. */
async function taskTimings(context: ScenarioContext, turns: TurnHandle[], sample: number): Promise<TaskTimings> {
  const timings: TaskTimings = { workflowScheduleToStart: new Samples(), workflowStartToComplete: new Samples(), activityScheduleToStart: new Samples(), histories: 0 };
  const step = Math.max(1, Math.floor(turns.length / Math.max(1, sample)));
  for (let index = 0; index < turns.length && timings.histories < sample; index += step) {
    const turn = turns[index]!;
    const handle = context.stack.temporalClient.workflow.getHandle(turn.workflowId);
    const history = await handle.fetchHistory().catch(() => undefined);
    if (!history?.events) continue;
    timings.histories += 1;
    const times = new Map<string, number>();
    for (const event of history.events) {
      const at = eventMilliseconds(event);
      times.set(String(event.eventId), at);
      if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) {
        const scheduledAt = times.get(String(event.workflowTaskStartedEventAttributes?.scheduledEventId));
        if (scheduledAt !== undefined) timings.workflowScheduleToStart.add(at - scheduledAt);
      } else if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
        const startedAt = times.get(String(event.workflowTaskCompletedEventAttributes?.startedEventId));
        if (startedAt !== undefined) timings.workflowStartToComplete.add(at - startedAt);
      } else if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
        const scheduledAt = times.get(String(event.activityTaskStartedEventAttributes?.scheduledEventId));
        if (scheduledAt !== undefined) timings.activityScheduleToStart.add(at - scheduledAt);
      }
    }
  }
  return timings;
}

/**
 * A few turns, one at a time, on every target before the burst: run alone (`BENCH_SCENARIOS=start-rate`)
 * the burst would otherwise meet workers that have not yet run a turn (code not yet loaded or
 * optimised), as it never does after the other scenarios of a full run.
 */
async function warmUp(targets: Target[], turns: number): Promise<void> {
  for (let index = 0; index < turns; index++) {
    for (const target of targets) await startTurn(target, questionPrompt(`start-rate-warm-up-${target.kind}-${index}`), { timeoutMs: 30_000 }).done;
  }
}

export async function runStartRate(context: ScenarioContext): Promise<ScenarioResult> {
  const { rate, seconds, baselineSeconds, historySample } = context.config.startRate;
  await warmUp([...context.oursAll, context.baseline], 5);
  await waitForQuiet(context);
  context.progress(`start rate: ${rate}/s offered for ${seconds} s (product)`);
  const meter = context.stack.cpuMeter();
  meter.begin();
  const ours = await offer(context, context.oursAll, rate, seconds, 100_000);
  const cpu = meter.end();
  context.progress(`  started ${ours.startedPerSecond.toFixed(1)}/s (${ours.started}/${ours.offered}), TTFT p95 ${ours.ttftMs?.p95} ms`);
  const timings = await taskTimings(context, ours.turns.filter((turn) => turn.firstDeltaAt !== undefined), historySample);
  const scheduleSummary = timings.workflowScheduleToStart.summary();
  await waitForQuiet(context, 30_000);
  context.progress(`start rate: ${rate}/s offered for ${baselineSeconds} s (baseline)`);
  const baseline = await offer(context, [context.baseline], rate, baselineSeconds, 200_000);

  const rows: Row[] = [
    { scenario: '4 start rate', metric: `turns started/s (offered ${rate}/s for ${ours.offeredSeconds} of ${seconds} s${ours.stoppedEarly ? ', backlog stop' : ''})`, measured: ours.startedPerSecond, baseline: baseline.startedPerSecond, target: { comparison: '>=', value: 25 } },
    { scenario: '4 start rate', metric: 'WFT schedule-to-start p95 ms (G6)', measured: scheduleSummary?.p95, target: { comparison: '<=', value: 100 } },
    { scenario: '4 start rate', metric: 'WFT start-to-complete p95 ms (worker processing)', measured: timings.workflowStartToComplete.summary()?.p95 },
    { scenario: '4 start rate', metric: 'TTFT p95 ms under this load', measured: ours.ttftMs?.p95, baseline: baseline.ttftMs?.p95 },
  ];
  const strip = ({ turns: _turns, ...rest }: RateResult) => rest;
  return {
    rows,
    details: {
      ours: strip(ours),
      baseline: strip(baseline),
      baselineSeconds,
      histories: timings.histories,
      workflowTaskScheduleToStartMs: roundSummary(scheduleSummary),
      workflowTaskStartToCompleteMs: roundSummary(timings.workflowStartToComplete.summary()),
      activityTaskScheduleToStartMs: roundSummary(timings.activityScheduleToStart.summary()),
      cpu,
    },
  };
}
