/**
 * Scenarios 2 (delta latency) and 3 (capacity): N concurrent turns streaming at 50 tokens/s.
 *
 * Latency of a delta = client receive time (epoch ms, sub-ms) − the millisecond part of its SSE `id:`.
 * For the product that id is the Redis Stream entry id, i.e. the Redis clock when the worker's append
 * script ran (worker publish → client: Redis, the API bridge, the socket). The baseline writes an id of
 * the same shape from `Date.now()` when it writes the event (its publish point), so both carry the
 * same 1 ms truncation (a 0–1 ms upward bias; mean +0.5 ms).
 *
 * Per level: turns are started with at most `rampConcurrency` waiting for their first delta; once all
 * stream (or starting stalls), a measurement window of `windowSeconds` opens after a 1 s settle, and
 * CPU/RSS are sampled over it. Answers are sized to outlast the ramp's deadline and the window (a
 * short question with the scripted model's `tokens=` directive); afterwards every stream is dropped
 * and the product's workflows are terminated.
 *
 * That latency starts at the publish, so a queue in front of it (a worker reading the model's stream
 * more slowly than the model writes) does not show in it. Two more figures do: deltas/s delivered
 * against the nominal rate, and the model→client lag of each turn at the end of the window, from the
 * scripted LLM's per-request `deltasSent` counter.
 */
import type { CpuReport } from '../lib/process-stats';
import type { Row } from '../lib/report';
import { samplePostgresActivity, waitForQuiet, type ScenarioContext, type ScenarioResult } from '../lib/scenario';
import { entryIdMilliseconds, epochNow } from '../lib/sse-client';
import { roundSummary, Samples, type Summary } from '../lib/stats';
import { scriptedRequestsByTag } from '../lib/scripted-requests';
import { forEachLimited, questionPrompt, sleep, startTurn, waitUntil, type Target, type TurnHandle } from '../lib/turns';

export interface LevelResult {
  target: Target['kind'];
  level: number;
  tokensPerTurn: number;
  /** Turns that had streamed their first delta when the window opened. */
  streaming: number;
  failures: number;
  rampSeconds: number;
  windowSeconds: number;
  latencyMs: Summary | undefined;
  /**
   * Per turn at the end of the window: (deltas the scripted model had sent − deltas the client had
   * received) × the delta interval. How far the client trails the model, queues before the publish included.
   */
  modelToClientLagMs: Summary | undefined;
  deliveredPerSecond: number;
  expectedPerSecond: number;
  /** POST → first delta while ramping (includes queueing behind other starts). */
  rampTtftMs: Summary | undefined;
  cpu: CpuReport;
  /** The product's active Postgres statements over the ramp and the window (sampled every 500 ms), most seen first. */
  postgresActive?: Array<{ query: string; seen: number; waits: string[] }>;
  notes: string[];
}

const SETTLE_MS = 1000;

/** See {@link LevelResult.modelToClientLagMs}; resolution one delta interval (20 ms at 50 tokens/s). */
async function modelToClientLag(context: ScenarioContext, count: number, tagOf: (index: number) => string, received: number[], tokensPerSecond: number): Promise<Summary | undefined> {
  const snapshot = received.slice();
  const tags = new Set(Array.from({ length: count }, (_, index) => tagOf(index)));
  const requests = await scriptedRequestsByTag(context.stack.llmUrl, tags).catch(() => undefined);
  if (!requests) return undefined;
  const lags = new Samples();
  for (let index = 0; index < count; index++) {
    const request = requests.get(tagOf(index));
    if (!request || request.outcome !== 'in-progress') continue;
    lags.add(Math.max(0, request.deltasSent - (snapshot[index] ?? 0)) * (1000 / tokensPerSecond));
  }
  return roundSummary(lags.summary());
}

/** Starting is considered stalled when no turn got its first delta for this long. */
const STALL_MS = 10_000;

/** `targets`: the turns go round-robin over them (the product's API processes, or the one baseline server). */
async function runLevel(context: ScenarioContext, targets: Target[], level: number): Promise<LevelResult> {
  const target = targets[0]!;
  const { tokensPerSecond, windowSeconds, rampConcurrency, rampRateEstimate } = context.config.delta;
  // Answers outlast the longest ramp the level allows (its deadline) and the window; the teardown
  // ends them. A short question asks for them (`tokens=`), so starting a turn costs what a user's
  // question costs, not a prompt as long as the answer (a slow ramp used to outlast the answers:
  // the window closed at once and the level read 0 deltas/s).
  const rampDeadlineSeconds = 60 + level / Math.max(1, rampRateEstimate / 4);
  const tokensPerTurn = Math.ceil((rampDeadlineSeconds + SETTLE_MS / 1000 + windowSeconds + 3) * tokensPerSecond);
  const tagOf = (index: number) => `delta-${target.kind}-${level}-${index}`;
  const streamTimeoutMs = (tokensPerTurn / tokensPerSecond) * 1000 + 120_000;
  const window = { start: Number.POSITIVE_INFINITY, end: Number.POSITIVE_INFINITY };
  const latencies = new Samples();
  const rampTtft = new Samples();
  const turns: TurnHandle[] = [];
  const received: number[] = [];
  const ended = new Set<TurnHandle>();
  const notes: string[] = [];
  let phase: 'ramp' | 'window' | 'teardown' = 'ramp';
  let firstNaturalEnd = Number.POSITIVE_INFINITY;
  let awaitingFirst = 0;
  let streaming = 0;
  let failures = 0;
  let lastProgress = performance.now();

  const onEvent = (index: number, event: { id: string | undefined; receivedAt: number }, type: string) => {
    if (type !== 'text-delta') return;
    received[index] = (received[index] ?? 0) + 1;
    if (event.receivedAt < window.start || event.receivedAt > window.end) return;
    const sentAt = entryIdMilliseconds(event.id);
    if (sentAt !== undefined) latencies.add(event.receivedAt - sentAt);
  };

  const postgres = target.kind === 'ours' ? samplePostgresActivity(context) : undefined;
  const rampStarted = epochNow();
  const rampDeadline = performance.now() + rampDeadlineSeconds * 1000;
  for (let index = 0; index < level; index++) {
    const free = await waitUntil(() => awaitingFirst < rampConcurrency || performance.now() - lastProgress > STALL_MS, rampDeadline - performance.now());
    if (!free || awaitingFirst >= rampConcurrency) {
      notes.push(`starting stalled after ${index} turns`);
      break;
    }
    awaitingFirst += 1;
    const turn: TurnHandle = startTurn(targets[index % targets.length]!, questionPrompt(tagOf(index), `[[tps=${tokensPerSecond} tokens=${tokensPerTurn}]]`), {
      timeoutMs: streamTimeoutMs,
      onEvent: (event, type) => onEvent(index, event, type),
      onFirstDelta: (at) => {
        awaitingFirst -= 1;
        streaming += 1;
        lastProgress = performance.now();
        rampTtft.add(at - turn.stream.startedAt);
      },
    });
    void turn.done.then((outcome) => {
      ended.add(turn);
      if (turn.firstDeltaAt === undefined) awaitingFirst -= 1;
      if (phase === 'teardown') return;
      if (outcome.end !== 'done' || turn.firstDeltaAt === undefined) {
        failures += 1;
        return;
      }
      // A turn finished on its own: fewer streams from here on, so the window closes now.
      firstNaturalEnd = Math.min(firstNaturalEnd, outcome.endedAt);
      window.end = Math.min(window.end, outcome.endedAt);
    });
    turns.push(turn);
  }
  await waitUntil(() => streaming + failures >= turns.length || performance.now() - lastProgress > STALL_MS, Math.max(0, rampDeadline - performance.now()), 50);
  const rampSeconds = (epochNow() - rampStarted) / 1000;
  if (streaming < level) notes.push(`${streaming} of ${level} turns streaming when the window opened`);

  const meter = context.stack.cpuMeter();
  phase = 'window';
  window.start = epochNow() + SETTLE_MS;
  window.end = Math.max(window.start, Math.min(firstNaturalEnd, window.start + windowSeconds * 1000));
  const streamingAtWindow = streaming;
  await sleep(SETTLE_MS);
  meter.begin();
  await waitUntil(() => epochNow() >= window.end, windowSeconds * 1000 + 1000, 50);
  const cpu = meter.end();
  const postgresActive = (await postgres?.stop())?.slice(0, 5);
  const lagMs = await modelToClientLag(context, turns.length, tagOf, received, tokensPerSecond);
  const measuredSeconds = Math.max(0, (Math.min(window.end, epochNow()) - window.start) / 1000);
  if (measuredSeconds < windowSeconds * 0.9) notes.push(`window closed after ${measuredSeconds.toFixed(1)} s (a turn finished)`);

  // Tear down fast: terminate the product's workflows (server side, no worker involved; the streaming
  // activities see it at their next heartbeat and abort the model request), drop every stream.
  phase = 'teardown';
  for (const turn of turns) turn.stream.abort();
  if (target.kind === 'ours') {
    await forEachLimited(turns.length, 32, async (index) => {
      const turn = turns[index]!;
      await context.stack.temporalClient.workflow
        .getHandle(turn.workflowId)
        .terminate('bench level over')
        .catch(() => undefined);
    });
    const still = await waitForQuiet(context, 30_000);
    if (still > 0) notes.push(`${still} workflows still running 30 s after the teardown`);
    // Activities notice the termination at their next heartbeat (throttled to 0.8 × the heartbeat timeout).
    await sleep(5000);
  }
  await Promise.all(turns.map((turn) => turn.done));

  const latencyMs = latencies.summary();
  return {
    target: target.kind,
    level,
    tokensPerTurn,
    streaming: streamingAtWindow,
    failures,
    rampSeconds: Math.round(rampSeconds * 10) / 10,
    windowSeconds: Math.round(measuredSeconds * 10) / 10,
    latencyMs: roundSummary(latencyMs),
    modelToClientLagMs: lagMs,
    deliveredPerSecond: measuredSeconds > 0 ? Math.round(latencies.count / measuredSeconds) : 0,
    expectedPerSecond: streamingAtWindow * tokensPerSecond,
    rampTtftMs: roundSummary(rampTtft.summary()),
    cpu,
    ...(postgresActive?.length ? { postgresActive } : {}),
    notes,
  };
}

function passes(result: LevelResult, p99Ms: number): boolean {
  return (
    result.latencyMs !== undefined &&
    result.latencyMs.p99 <= p99Ms &&
    result.streaming >= result.level &&
    result.deliveredPerSecond >= 0.9 * result.expectedPerSecond
  );
}

function cpuCell(cpu: CpuReport): string {
  const order = ['worker', 'api', 'redis', 'temporal', 'postgres', 'scripted-llm', 'baseline', 'bench-client'];
  return `${order.map((name) => Math.round(cpu.processes[name]?.cpuPercent ?? 0)).join('/')} (machine ${Math.round(cpu.machineBusyPercent)}%, other ${cpu.otherPercent})`;
}

/** The busiest threads of a process group, e.g. "node 41, tokio-runtime-w 22, V8 DefaultWorke 9". */
function threadsCell(cpu: CpuReport, name: string): string {
  const threads = Object.entries(cpu.processes[name]?.threads ?? {}).slice(0, 5);
  return threads.map(([thread, percent]) => `${thread} ${Math.round(percent)}`).join(', ');
}

export async function runDeltaLatency(context: ScenarioContext): Promise<{ delta: ScenarioResult; capacity: ScenarioResult }> {
  const { levels, capacityLevels, capacityP99Ms, refineSteps } = context.config.delta;
  const results = new Map<number, { ours: LevelResult; baseline?: LevelResult }>();
  const measure = async (level: number, withBaseline: boolean) => {
    context.progress(`delta: ${level} concurrent turns (product)`);
    const ours = await runLevel(context, context.oursAll, level);
    context.progress(`  p50 ${ours.latencyMs?.p50} ms, p99 ${ours.latencyMs?.p99} ms, lag p50 ${ours.modelToClientLagMs?.p50} ms, ${ours.streaming}/${level} streaming, ${ours.deliveredPerSecond}/${ours.expectedPerSecond} deltas/s, CPU ${cpuCell(ours.cpu)}`);
    for (const statement of ours.postgresActive ?? []) context.progress(`  postgres active ×${statement.seen}: ${statement.query}${statement.waits.length ? ` (waits ${statement.waits.join(', ')})` : ''}`);
    for (const note of ours.notes) context.progress(`  note: ${note}`);
    context.progress(`  threads, worker: ${threadsCell(ours.cpu, 'worker')}; api: ${threadsCell(ours.cpu, 'api')}`);
    let baseline: LevelResult | undefined;
    if (withBaseline) {
      context.progress(`delta: ${level} concurrent turns (baseline)`);
      baseline = await runLevel(context, [context.baseline], level);
      context.progress(`  p50 ${baseline.latencyMs?.p50} ms, p99 ${baseline.latencyMs?.p99} ms, lag p50 ${baseline.modelToClientLagMs?.p50} ms, ${baseline.deliveredPerSecond}/${baseline.expectedPerSecond} deltas/s, CPU ${cpuCell(baseline.cpu)}`);
    }
    results.set(level, { ours, ...(baseline ? { baseline } : {}) });
    return ours;
  };

  const sortedLevels = [...new Set(levels)].sort((left, right) => left - right);
  for (const level of sortedLevels) await measure(level, true);

  // Capacity: the delta levels, then higher ones while everything passes, then bisection steps.
  let allPassed = sortedLevels.every((level) => passes(results.get(level)!.ours, capacityP99Ms));
  for (const level of [...new Set(capacityLevels)].sort((left, right) => left - right)) {
    if (!allPassed || results.has(level) || level < (sortedLevels.at(-1) ?? 0)) continue;
    allPassed = passes((await measure(level, true)), capacityP99Ms);
  }
  for (let step = 0; step < refineSteps; step++) {
    const tried = [...results.keys()].sort((left, right) => left - right);
    const firstFail = tried.find((level) => !passes(results.get(level)!.ours, capacityP99Ms));
    if (firstFail === undefined) break;
    const lastPass = [...tried].reverse().find((level) => level < firstFail && passes(results.get(level)!.ours, capacityP99Ms)) ?? 0;
    const middle = Math.round((lastPass + firstFail) / 2 / 25) * 25;
    if (middle <= lastPass || middle >= firstFail || results.has(middle)) break;
    await measure(middle, false);
  }

  const tried = [...results.keys()].sort((left, right) => left - right);
  const capacity = tried.filter((level) => passes(results.get(level)!.ours, capacityP99Ms)).reduce((best, level) => {
    const lower = tried.filter((other) => other < level);
    return lower.every((other) => passes(results.get(other)!.ours, capacityP99Ms)) ? level : best;
  }, 0);
  const baselineTried = tried.filter((level) => results.get(level)!.baseline);
  const baselineCapacity = baselineTried.filter((level) => passes(results.get(level)!.baseline!, capacityP99Ms)).at(-1) ?? 0;

  const deltaRows: Row[] = [];
  for (const level of sortedLevels) {
    const { ours, baseline } = results.get(level)!;
    const atDesignLoad = level === 200;
    deltaRows.push(
      { scenario: '2 delta latency', metric: `p50 ms @${level} turns`, measured: ours.latencyMs?.p50, baseline: baseline?.latencyMs?.p50, ...(atDesignLoad ? { target: { comparison: '<=', value: 1 } } : {}) },
      { scenario: '2 delta latency', metric: `p99 ms @${level} turns`, measured: ours.latencyMs?.p99, baseline: baseline?.latencyMs?.p99, ...(atDesignLoad ? { target: { comparison: '<=', value: 10 } } : {}) },
      {
        scenario: '2 delta latency',
        metric: `model→client lag p50 / p99 ms @${level} (per turn, ±20 ms)`,
        measured: ours.modelToClientLagMs ? `${ours.modelToClientLagMs.p50} / ${ours.modelToClientLagMs.p99}` : undefined,
        baseline: baseline?.modelToClientLagMs ? `${baseline.modelToClientLagMs.p50} / ${baseline.modelToClientLagMs.p99}` : undefined,
      },
    );
  }
  const capacityRows: Row[] = [
    {
      scenario: '3 capacity',
      metric: `max concurrent turns, p99 ≤ ${capacityP99Ms} ms (tried ${tried.join(',')})`,
      measured: capacity,
      baseline: baselineCapacity,
      target: { comparison: '>=', value: 400 },
    },
  ];
  for (const level of tried) {
    const { ours, baseline } = results.get(level)!;
    capacityRows.push({
      scenario: '3 capacity',
      metric: `deltas/s delivered @${level} (expected ${ours.expectedPerSecond})`,
      measured: ours.deliveredPerSecond,
      baseline: baseline?.deliveredPerSecond,
    });
    // CPU time per delivered delta: percent of one core × 10,000 µs/s ÷ deltas per second.
    const perDelta = (cpuPercent: number | undefined, delivered: number) => (cpuPercent === undefined || delivered <= 0 ? undefined : Math.round((cpuPercent * 10_000) / delivered));
    const workerMicros = perDelta(ours.cpu.processes.worker?.cpuPercent, ours.deliveredPerSecond);
    const apiMicros = perDelta(ours.cpu.processes.api?.cpuPercent, ours.deliveredPerSecond);
    const baselineMicros = baseline ? perDelta(baseline.cpu.processes.baseline?.cpuPercent, baseline.deliveredPerSecond) : undefined;
    capacityRows.push({
      scenario: '3 capacity',
      metric: `CPU µs per delta worker / api @${level}`,
      measured: `${workerMicros ?? '?'} / ${apiMicros ?? '?'}`,
      ...(baselineMicros !== undefined ? { baseline: `${baselineMicros} (baseline server)` } : {}),
    });
    capacityRows.push({
      scenario: '3 capacity',
      metric: `CPU % worker/api/redis/temporal/pg/llm/baseline/client @${level}`,
      measured: cpuCell(ours.cpu),
      baseline: baseline ? cpuCell(baseline.cpu) : undefined,
    });
  }
  const reportLevel = capacity > 0 ? capacity : tried[0];
  if (reportLevel !== undefined) {
    const { ours, baseline } = results.get(reportLevel)!;
    for (const name of ['worker', 'api', 'redis', 'temporal']) {
      const usage = ours.cpu.processes[name];
      capacityRows.push({ scenario: '3 capacity', metric: `${name} CPU % / RSS MiB @${reportLevel}`, measured: usage ? `${usage.cpuPercent} / ${usage.rssMiB}` : undefined, ...(name === 'api' && baseline ? { baseline: `${baseline.cpu.processes.baseline?.cpuPercent} / ${baseline.cpu.processes.baseline?.rssMiB} (baseline server)` } : {}) });
    }
  }
  const levelDetails = tried.map((level) => results.get(level));
  return {
    delta: { rows: deltaRows, details: { method: 'client receive (epoch ms) − Redis stream entry id ms (product) / Date.now() id at write (baseline)', levels: levelDetails.filter((_, index) => sortedLevels.includes(tried[index]!)) } },
    capacity: { rows: capacityRows, details: { capacity, baselineCapacity, p99LimitMs: capacityP99Ms, tried } },
  };
}
