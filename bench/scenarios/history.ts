/**
 * Scenario 8, history budget: events and payload bytes of one turn's workflow history, for a plain
 * answer and for a 3-hop tool turn (an agent allowed `test_*`, prompt
 * `use test_record_side_effect for … [[hops=3]]`). Payload bytes are the data + metadata bytes of
 * every Payload in the history; the encoded history size is reported beside them.
 */
import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import type { ScenarioContext, ScenarioResult } from '../lib/scenario';
import { questionPrompt, startTurn } from '../lib/turns';

interface HistoryFigures {
  events: number;
  payloadBytes: number;
  encodedBytes: number;
  eventTypes: Record<string, number>;
  /** Each event's offset from the workflow start (ms) with its type and, for activities, the activity. */
  timeline: string[];
}

/** Sums the bytes of every Payload (`{ metadata, data }`) found anywhere in the history. */
function payloadBytes(value: unknown, seen = new Set<unknown>()): number {
  if (value === null || typeof value !== 'object' || seen.has(value) || value instanceof Uint8Array) return 0;
  seen.add(value);
  const record = value as Record<string, unknown>;
  if (record.data instanceof Uint8Array && 'metadata' in record) {
    let bytes = record.data.byteLength;
    for (const [key, metadataValue] of Object.entries((record.metadata ?? {}) as Record<string, unknown>)) {
      bytes += key.length + (metadataValue instanceof Uint8Array ? metadataValue.byteLength : 0);
    }
    return bytes;
  }
  let total = 0;
  for (const child of Object.values(record)) total += payloadBytes(child, seen);
  return total;
}

async function measureTurn(context: ScenarioContext, text: string, extraBody: Record<string, unknown> = {}): Promise<HistoryFigures> {
  const turn = startTurn(context.ours, text, { timeoutMs: 60_000, extraBody });
  const outcome = await turn.done;
  if (outcome.end !== 'done') throw new Error(`history: the turn ended with ${outcome.end} ${outcome.status} ${outcome.body ?? outcome.error ?? ''}`);
  const handle = context.stack.temporalClient.workflow.getHandle(turn.workflowId);
  await Promise.race([handle.result(), new Promise((_, reject) => setTimeout(() => reject(new Error('history: turn did not complete in 30 s')), 30_000))]);
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  const eventTypes: Record<string, number> = {};
  const timeline: string[] = [];
  const at = (event: (typeof events)[number]) => Number(event.eventTime?.seconds ?? 0) * 1000 + (event.eventTime?.nanos ?? 0) / 1e6;
  const origin = events[0] ? at(events[0]) : 0;
  for (const event of events) {
    const name = temporal.api.enums.v1.EventType[event.eventType ?? 0]?.replace('EVENT_TYPE_', '') ?? String(event.eventType);
    eventTypes[name] = (eventTypes[name] ?? 0) + 1;
    const activity = event.activityTaskScheduledEventAttributes?.activityType?.name;
    timeline.push(`${(at(event) - origin).toFixed(1).padStart(8)} ms  ${name}${activity ? ` ${activity}` : ''}`);
  }
  return {
    events: events.length,
    payloadBytes: payloadBytes(history),
    encodedBytes: temporal.api.history.v1.History.encode(history).finish().byteLength,
    eventTypes,
    timeline,
  };
}

export async function runHistory(context: ScenarioContext): Promise<ScenarioResult> {
  context.progress('history: a plain answer and a 3-hop tool turn');
  const plain = await measureTurn(context, questionPrompt('history-plain'));
  const agentId = `bench-tools-${randomUUID().slice(0, 8)}`;
  await context.stack.pool.query("INSERT INTO agents (id, workspace_id, name, allowed_tools) VALUES ($1, $2, 'bench tools', '{test_*}')", [agentId, context.stack.workspaceId]);
  const tools = await measureTurn(context, `use test_record_side_effect for bench-${randomUUID().slice(0, 8)} [[hops=3]]`, { agentId });
  return {
    rows: [
      { scenario: '8 history', metric: 'events, plain answer', measured: plain.events, target: { comparison: '<=', value: 40 } },
      { scenario: '8 history', metric: 'payload bytes, plain answer (G10)', measured: plain.payloadBytes, target: { comparison: '<=', value: 262144 } },
      { scenario: '8 history', metric: 'events, 3-hop tool turn (G10)', measured: tools.events, target: { comparison: '<=', value: 60 } },
      { scenario: '8 history', metric: 'payload bytes, 3-hop tool turn (G10)', measured: tools.payloadBytes, target: { comparison: '<=', value: 262144 } },
    ],
    details: { plain, tools },
  };
}
