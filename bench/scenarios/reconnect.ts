/**
 * Scenario 6, reconnect: `GET /api/chat/:id/stream` with `Last-Event-ID` → first replayed event at the
 * client. A few finished turns provide the logs; each reconnect resumes one of them from an id in the
 * middle of its log and reads to the end. Baseline: a GET on the baseline server that answers one
 * event at once (HTTP + Express + SSE framing, no lookup, no replay).
 */
import { openStream } from '../lib/sse-client';
import type { ScenarioContext, ScenarioResult } from '../lib/scenario';
import { roundSummary, Samples } from '../lib/stats';
import { resumeStream, startTurn } from '../lib/turns';

const TURNS = 5;
const WARMUP = 5;

export async function runReconnect(context: ScenarioContext): Promise<ScenarioResult> {
  const { count } = context.config.reconnect;
  context.progress(`reconnect: ${count} resumes with Last-Event-ID over ${TURNS} finished turns`);
  const logs: Array<{ conversationId: string; ids: string[] }> = [];
  for (let index = 0; index < TURNS; index++) {
    const ids: string[] = [];
    const turn = startTurn(context.ours, `Tell me something long for reconnect ${index} [[ttft=0]]`, {
      timeoutMs: 30_000,
      onEvent: (event) => {
        if (event.id) ids.push(event.id);
      },
    });
    const outcome = await turn.done;
    if (outcome.end === 'done' && ids.length > 4) logs.push({ conversationId: turn.conversationId, ids });
  }
  if (logs.length === 0) throw new Error('reconnect: no finished turn to resume');

  const ours = new Samples();
  const baseline = new Samples();
  let failures = 0;
  for (let index = 0; index < WARMUP + count; index++) {
    const log = logs[index % logs.length]!;
    const afterId = log.ids[Math.floor(log.ids.length / 2)];
    let first: number | undefined;
    const stream = resumeStream(context.ours, log.conversationId, afterId, { timeoutMs: 10_000, onEvent: (event) => (first ??= event.receivedAt) });
    const outcome = await stream.done;
    if (outcome.end !== 'done' || first === undefined) failures += 1;
    else if (index >= WARMUP) ours.add(first - stream.startedAt);

    let baselineFirst: number | undefined;
    const ping = openStream({ url: `${context.baseline.url}/api/ping-stream`, timeoutMs: 10_000, onEvent: (event) => (baselineFirst ??= event.receivedAt) });
    await ping.done;
    if (baselineFirst !== undefined && index >= WARMUP) baseline.add(baselineFirst - ping.startedAt);
  }
  const oursSummary = ours.summary();
  const baselineSummary = baseline.summary();
  return {
    rows: [
      { scenario: '6 reconnect', metric: 'Last-Event-ID → first replayed event p50 ms', measured: oursSummary?.p50, baseline: baselineSummary?.p50 },
      { scenario: '6 reconnect', metric: `Last-Event-ID → first replayed event p95 ms (${oursSummary?.count ?? 0})`, measured: oursSummary?.p95, baseline: baselineSummary?.p95, target: { comparison: '<=', value: 20 } },
    ],
    details: { turns: logs.length, failures, ours: roundSummary(oursSummary), baseline: roundSummary(baselineSummary) },
  };
}
