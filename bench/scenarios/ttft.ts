/**
 * Scenario 1, time to first token: POST /api/chat → first `text-delta` at the client, for the product
 * and for the baseline, turns alternating so both see the same machine state. The scripted model
 * answers with ttft=0, so what remains is the orchestration overhead: the API's checks and the start
 * RPC, the workflow task and the steps before the LLM call, the activity's own preparation, Redis and
 * the bridge. The breakdown puts each turn's timestamps side by side, all on the same machine clock:
 * the client's, the Temporal history's and the scripted LLM's record of the request; inside the
 * first workflow task, `beginTurn`'s timings recorded with its result (the worker's clock).
 */
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { BeginTurnResult } from '../../src/activities/begin-turn';
import { waitForQuiet, type ScenarioContext, type ScenarioResult } from '../lib/scenario';
import { roundSummary, Samples, type Summary } from '../lib/stats';
import { scriptedRequestsByTag } from '../lib/scripted-requests';
import { scrapeTemporalCounters, temporalWorkPerTurn } from '../lib/temporal-metrics';
import { forEachLimited, questionPrompt, startTurn, type Target } from '../lib/turns';

const EventType = temporal.api.enums.v1.EventType;

interface Observed {
  tag: string;
  workflowId: string;
  postedAt: number;
  headersAt: number | undefined;
  firstDeltaAt: number;
}

async function timeToFirstDelta(target: Target, index: number): Promise<Observed | undefined> {
  const tag = `ttft-${target.kind}-${index}`;
  const turn = startTurn(target, questionPrompt(tag), { timeoutMs: 30_000 });
  const outcome = await turn.done;
  if (outcome.end !== 'done' || turn.firstDeltaAt === undefined) return undefined;
  return { tag, workflowId: turn.workflowId, postedAt: turn.stream.startedAt, headersAt: turn.headersAt, firstDeltaAt: turn.firstDeltaAt };
}

function eventMilliseconds(event: temporal.api.history.v1.IHistoryEvent): number {
  return Number(event.eventTime?.seconds ?? 0) * 1000 + (event.eventTime?.nanos ?? 0) / 1e6;
}

type Breakdown = Record<string, Summary | undefined>;

/** The timings `beginTurn` recorded with its result (the first local activity marker that has them). */
function beginTurnTimings(events: temporal.api.history.v1.IHistoryEvent[]): BeginTurnResult['timings'] {
  for (const event of events) {
    const marker = event.markerRecordedEventAttributes;
    const payload = marker?.markerName === 'core_local_activity' ? marker.details?.result?.payloads?.[0] : undefined;
    if (!payload) continue;
    try {
      const result = defaultPayloadConverter.fromPayload<Partial<BeginTurnResult>>(payload);
      if (result?.timings) return result.timings;
    } catch {
      // Not a JSON result (an encrypted history): no timings.
    }
  }
  return undefined;
}

/**
 * Where each turn's time goes (p50 etc. per segment). For the product: POST → workflow started
 * (history) → LLM activity started (history) → LLM request arrives (scripted LLM) → its first byte →
 * first delta at the client. For the baseline only the last three exist.
 */
async function breakdown(context: ScenarioContext, target: Target, observed: Observed[]): Promise<Breakdown> {
  const requests = await scriptedRequestsByTag(context.stack.llmUrl, new Set(observed.map((turn) => turn.tag)));
  const segments = new Map<string, Samples>();
  const add = (name: string, value: number) => {
    if (!segments.has(name)) segments.set(name, new Samples());
    segments.get(name)!.add(value);
  };
  for (const turn of observed) {
    const request = requests.get(turn.tag);
    if (!request?.firstByteAt) continue;
    if (target.kind === 'ours') {
      const history = await context.stack.temporalClient.workflow.getHandle(turn.workflowId).fetchHistory().catch(() => undefined);
      const events = history?.events ?? [];
      const started = events.find((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
      const llmScheduled = events.find((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'streamCompletion');
      const llmStarted = events.find(
        (event) => event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED && String(event.activityTaskStartedEventAttributes?.scheduledEventId) === String(llmScheduled?.eventId),
      );
      const firstTaskStarted = events.find((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED);
      const firstTaskCompleted = events.find((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
      if (started && llmStarted && firstTaskStarted && firstTaskCompleted) {
        add('post→workflowStarted', eventMilliseconds(started) - turn.postedAt);
        add('workflowStarted→llmActivityStarted', eventMilliseconds(llmStarted) - eventMilliseconds(started));
        add('  workflowStarted→firstTaskStarted', eventMilliseconds(firstTaskStarted) - eventMilliseconds(started));
        add('  firstTaskStarted→firstTaskCompleted (local activities inside)', eventMilliseconds(firstTaskCompleted) - eventMilliseconds(firstTaskStarted));
        add('  firstTaskCompleted→llmActivityStarted', eventMilliseconds(llmStarted) - eventMilliseconds(firstTaskCompleted));
        // Inside the first task: the workflow's first activation and the local activity's dispatch,
        // beginTurn itself (its parts side by side), then the next activation and the task's completion.
        const timings = beginTurnTimings(events);
        if (timings) {
          add('    firstTaskStarted→beginTurnStarted', timings.startedAt - eventMilliseconds(firstTaskStarted));
          add('    beginTurn', timings.totalMs);
          add('      beginTurn message stored', timings.messageMs);
          add('      beginTurn agent activated', timings.agentMs);
          if (timings.memoryMs !== undefined) add('      beginTurn memory retrieved', timings.memoryMs);
          if (timings.contextMs !== undefined) add('      beginTurn context guarded', timings.contextMs);
          add('    beginTurnEnded→firstTaskCompleted', eventMilliseconds(firstTaskCompleted) - (timings.startedAt + timings.totalMs));
        }
        add('llmActivityStarted→llmRequest', request.startedAt - eventMilliseconds(llmStarted));
      }
      if (turn.headersAt !== undefined) add('post→responseHeaders', turn.headersAt - turn.postedAt);
    }
    add('post→llmRequest', request.startedAt - turn.postedAt);
    add('llmRequest→llmFirstByte', request.firstByteAt - request.startedAt);
    add('llmFirstByte→clientDelta', turn.firstDeltaAt - request.firstByteAt);
  }
  return Object.fromEntries([...segments].map(([name, samples]) => [name, roundSummary(samples.summary())]));
}

export async function runTtft(context: ScenarioContext): Promise<ScenarioResult> {
  const { turns, warmupTurns, concurrency } = context.config.ttft;
  const ours = new Samples();
  const baseline = new Samples();
  const observed: Record<Target['kind'], Observed[]> = { ours: [], baseline: [] };
  let failures = 0;
  context.progress(`ttft: ${warmupTurns} warm-up + ${turns} turns each, concurrency ${concurrency}`);
  const metricsUrl = context.stack.temporal.metricsUrl;
  const countersBefore = metricsUrl ? await scrapeTemporalCounters(metricsUrl) : undefined;
  let oursStarted = 0;
  await forEachLimited(warmupTurns + turns, concurrency, async (index) => {
    const order: Array<[Target, Samples]> = index % 2 === 0 ? [[context.ours, ours], [context.baseline, baseline]] : [[context.baseline, baseline], [context.ours, ours]];
    for (const [target, samples] of order) {
      if (target.kind === 'ours') oursStarted += 1;
      const turn = await timeToFirstDelta(target, index);
      if (turn === undefined) failures += 1;
      else if (index >= warmupTurns) {
        samples.add(turn.firstDeltaAt - turn.postedAt);
        observed[target.kind].push(turn);
      }
    }
  });
  // The turns' steps after the answer (title, memory extraction) run after their streams ended.
  if (countersBefore) await waitForQuiet(context, 30_000);
  const countersAfter = countersBefore && metricsUrl ? await scrapeTemporalCounters(metricsUrl) : undefined;
  const temporalWork = countersBefore && countersAfter ? temporalWorkPerTurn(countersBefore, countersAfter, oursStarted) : undefined;
  const oursSummary = ours.summary();
  const baselineSummary = baseline.summary();
  const split = {
    ours: await breakdown(context, context.ours, observed.ours),
    baseline: await breakdown(context, context.baseline, observed.baseline),
  };
  const p50 = (figures: Breakdown, name: string) => figures[name]?.p50 ?? '–';
  const splitCell = (figures: Breakdown) => `${p50(figures, 'post→llmRequest')} / ${p50(figures, 'llmRequest→llmFirstByte')} / ${p50(figures, 'llmFirstByte→clientDelta')}`;
  const overhead = (key: 'p50' | 'p95' | 'p99') => (oursSummary && baselineSummary ? oursSummary[key] - baselineSummary[key] : Number.NaN);
  return {
    rows: [
      { scenario: '1 ttft', metric: 'TTFT p50 ms (target on Δ vs baseline)', measured: oursSummary?.p50, baseline: baselineSummary?.p50, target: { comparison: '<=', value: 30, appliesTo: 'overhead' } },
      { scenario: '1 ttft', metric: 'TTFT p95 ms', measured: oursSummary?.p95, baseline: baselineSummary?.p95 },
      { scenario: '1 ttft', metric: 'TTFT p99 ms (target on Δ vs baseline)', measured: oursSummary?.p99, baseline: baselineSummary?.p99, target: { comparison: '<=', value: 100, appliesTo: 'overhead' } },
      { scenario: '1 ttft', metric: 'p50 ms: POST→LLM request / →LLM 1st byte / →client delta', measured: splitCell(split.ours), baseline: splitCell(split.baseline) },
      {
        scenario: '1 ttft',
        metric: 'p50 ms: POST→wf started / →LLM activity started / →LLM request',
        measured: `${p50(split.ours, 'post→workflowStarted')} / ${p50(split.ours, 'workflowStarted→llmActivityStarted')} / ${p50(split.ours, 'llmActivityStarted→llmRequest')}`,
      },
      {
        scenario: '1 ttft',
        metric: 'p50 ms: first task started→beginTurn / beginTurn / →task completed',
        measured: `${p50(split.ours, '    firstTaskStarted→beginTurnStarted')} / ${p50(split.ours, '    beginTurn')} / ${p50(split.ours, '    beginTurnEnded→firstTaskCompleted')}`,
      },
      ...(temporalWork
        ? [
            {
              scenario: '1 ttft',
              metric: 'Temporal per turn: workflow / activity tasks, service RPCs, persistence requests',
              measured: `${temporalWork.workflowTasks} / ${temporalWork.activityTasks}, ${temporalWork.serviceRequests}, ${temporalWork.persistenceRequests}`,
            },
          ]
        : []),
    ],
    details: {
      turns,
      warmupTurns,
      concurrency,
      failures,
      ours: roundSummary(oursSummary),
      baseline: roundSummary(baselineSummary),
      overheadMs: { p50: overhead('p50'), p95: overhead('p95'), p99: overhead('p99') },
      breakdown: split,
      ...(temporalWork ? { temporalPerTurn: temporalWork } : {}),
    },
  };
}
