/**
 * The Temporal UI as the operator's console: a turn carries a static summary (the user message),
 * each activity call a summary that tells the turn's story, and the `state` query answers while the
 * turn runs. Also reports the history size per turn (events), which the issue notes track.
 */
import { randomUUID } from 'node:crypto';
import { readSse, userMessage } from '../support/sse';
import { activitySummaries } from '../support/history';
import { startTestStack, type TestStack } from '../support/stack';
import type { TurnState } from '../../src/shared/turn';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

function post(chatId: string, requestId: string, text: string, extra: Record<string, unknown> = {}) {
  return fetch(`${stack.apiUrl}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.apiKey}` },
    body: JSON.stringify({ id: chatId, messages: [userMessage(requestId, text)], ...extra }),
  });
}

it('answers the state query while the turn runs and after it finished', async () => {
  const chatId = `chat-${randomUUID()}`;
  const requestId = `msg-${randomUUID()}`;
  const response = await post(chatId, requestId, 'Tell me something long [[tps=30]]');
  const handle = stack.temporal.workflow.getHandle(stack.turnId(chatId, requestId));
  let running: TurnState | undefined;
  const reading = readSse(response, (event) => {
    if (!running && event.data.includes('"text-delta"')) running = { status: 'starting', hop: -1, usage: { inputTokens: 0, outputTokens: 0 }, toolCalls: 0 };
  });
  while (!running) await new Promise((resolve) => setTimeout(resolve, 20));
  running = await handle.query<TurnState>('state');
  expect(running).toMatchObject({ status: 'streaming', hop: 0 });
  await reading;
  await handle.result();
  const done = await handle.query<TurnState>('state');
  expect(done.status).toBe('completed');
  expect(done.usage.outputTokens).toBeGreaterThan(0);
});

it('reads as the turn story: static summary and one summary per activity', async () => {
  const agentId = `agent-${randomUUID().slice(0, 8)}`;
  await stack.pool.query("INSERT INTO agents (id, workspace_id, name, allowed_tools) VALUES ($1, $2, 'ops', '{test_*}')", [agentId, stack.workspaceId]);
  const chatId = `chat-${randomUUID()}`;
  const requestId = `msg-${randomUUID()}`;
  await readSse(await post(chatId, requestId, `use test_record_side_effect for ${requestId} [[hops=3]]`, { agentId }));
  const workflowId = stack.turnId(chatId, requestId);
  const description = await stack.temporal.workflow.getHandle(workflowId).describe();
  expect(await description.staticSummary()).toContain('use test_record_side_effect');
  const summaries = await activitySummaries(stack.temporal, workflowId);
  expect(summaries).toEqual(expect.arrayContaining(['LLM hop 0 · scripted-1', 'LLM hop 3 · scripted-1', 'tool test_record_side_effect', 'finalize · stop']));
  const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
  console.log(`history of a 3-hop tool turn: ${history.events?.length} events`);

  const plainChatId = `chat-${randomUUID()}`;
  const plainRequestId = `msg-${randomUUID()}`;
  await readSse(await post(plainChatId, plainRequestId, 'What is durable execution, in one line?'));
  const plainHistory = await stack.temporal.workflow.getHandle(stack.turnId(plainChatId, plainRequestId)).fetchHistory();
  console.log(`history of a plain answer: ${plainHistory.events?.length} events`);
  // The path to the first token is one local step: one marker, then the hop, in the first workflow task.
  const events = plainHistory.events ?? [];
  const firstHop = events.findIndex((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'streamCompletion');
  expect(events.slice(0, firstHop).filter((event) => event.markerRecordedEventAttributes?.markerName === 'core_local_activity')).toHaveLength(1);
  expect(events.slice(0, firstHop).filter((event) => event.workflowTaskCompletedEventAttributes)).toHaveLength(1);
  expect(await activitySummaries(stack.temporal, stack.turnId(plainChatId, plainRequestId))).toEqual(expect.arrayContaining(['begin turn · memory · context guard', 'LLM hop 0 · scripted-1']));
});
