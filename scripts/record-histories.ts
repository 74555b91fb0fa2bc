/**
 * Records the workflow histories that test/replay/replay.test.ts replays against the current
 * `chatTurn` code, one file per scenario in test/replay/histories/<scenario>.json.
 *
 * Run (Postgres and Redis as for `npm test`; Temporal as for `npm test`: TEMPORAL_ADDRESS when
 * reachable, otherwise a dev server started and stopped here):
 *
 *   npx tsx scripts/record-histories.ts                 # every scenario
 *   npx tsx scripts/record-histories.ts hop-limit ...   # only these
 *
 * It starts the same stack as the jest global setup plus `startTestStack`, drives each turn through
 * the HTTP API like a client, waits for the workflow to close, checks the history shows what the
 * scenario is named for (a history that silently covers less is worse than none), and saves it,
 * replacing the scenario's file. A recorded history stands for turns that ran on the code of its
 * day: when workflow code changes, add the new shape as a new scenario and keep the old file (see
 * docs/replay.md), rather than re-recording it in place.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { activityTypes, describeEvent, eventCount, fetchWorkflowHistory, writeHistoryFile, type History, type HistoryEvent } from '../src/replay/workflow-history';
import { assistantMessageId } from '../src/shared/ids';
import type { ChatTurnResult } from '../src/shared/turn';
import globalSetup from '../test/support/global-setup';
import globalTeardown from '../test/support/global-teardown';
import { answerRequests, createAgent, postChat } from '../test/support/chat';
import { chunksOf, readSse, textOf, userMessage, type SseEvent } from '../test/support/sse';
import { startTestStack, type TestStack } from '../test/support/stack';
import { apiClient } from '../test/support/api-client';
import { startMcpTestServer } from '../test/support/mcp-test-server';

const HISTORIES_DIRECTORY = path.resolve(__dirname, '../test/replay/histories');

interface Scenario {
  name: string;
  /** Runs one turn through the API and returns its workflow id once the client saw the stream end. */
  run(stack: TestStack): Promise<string>;
  /** Throws when the closed turn's history does not show what the scenario is named for. */
  check(history: History): void;
}

function ensure(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

const scheduledActivities = activityTypes;

function count(names: string[], name: string): number {
  return names.filter((candidate) => candidate === name).length;
}

function closingEvent(history: History): HistoryEvent {
  const last = history.events?.at(-1);
  ensure(last !== undefined, 'empty history');
  return last;
}

function completedResult(history: History): ChatTurnResult {
  const payload = closingEvent(history).workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
  ensure(payload != null, `the turn did not complete: last event ${describeEvent(closingEvent(history))}`);
  return defaultPayloadConverter.fromPayload<ChatTurnResult>(payload);
}

interface TurnRequest {
  chatId?: string;
  requestId?: string;
  text: string;
  agentId?: string;
  /** Extra body fields (`trigger`, `messageId`). */
  extra?: Record<string, unknown>;
  onEvent?: (event: SseEvent, chatId: string) => void;
}

/** POSTs a user message as an ai 7 client and reads the stream to its end. */
async function sendTurn(stack: TestStack, request: TurnRequest) {
  const chatId = request.chatId ?? `chat-${randomUUID()}`;
  const requestId = request.requestId ?? `msg-${randomUUID()}`;
  const response = await postChat(
    stack,
    { id: chatId, messages: [userMessage(requestId, request.text)], ...(request.agentId ? { agentId: request.agentId } : {}), ...request.extra },
    { headers: { 'x-ai-sdk-version': '7' } },
  );
  if (response.status !== 200) throw new Error(`POST /api/chat answered ${response.status}: ${await response.text()}`);
  const chunks = chunksOf(await readSse(response, (event) => request.onEvent?.(event, chatId)));
  const workflowId = chunks.length > 0 ? stack.turnId(chatId, turnKeyOf(chunks)) : stack.turnId(chatId, requestId);
  return { chatId, requestId, workflowId, chunks, text: textOf(chunks) };
}

/** The turn key a stream announces: its `start` chunk names the answer `assistantMessageId(turnKey)`. */
function turnKeyOf(chunks: Array<{ type: string; [key: string]: unknown }>): string {
  const messageId = String(chunks.find((chunk) => chunk.type === 'start')?.messageId ?? '');
  return messageId.slice(0, -assistantMessageId('').length);
}

/** An agent whose `test_*` tools need approval. */
async function approvalAgent(stack: TestStack, timeoutSeconds: number): Promise<string> {
  const agentId = await createAgent(stack, { allowedTools: ['test_*'], memoryEnabled: false });
  await stack.pool.query('UPDATE agents SET tool_approval = $2 WHERE id = $1', [agentId, JSON.stringify({ tools: ['test_*'], timeoutSeconds })]);
  return agentId;
}

async function waitForTurnStatus(stack: TestStack, workflowId: string, status: string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    const state = await stack.temporal.workflow
      .getHandle(workflowId)
      .query<{ status: string }>('state')
      .catch(() => undefined);
    if (state?.status === status) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${workflowId} never reached ${status}`);
}

/**
 * A turn whose tool call waits for approval, answered over REST (or not at all, `answer` undefined):
 * an ai 5 client's stream stays open through the wait.
 */
async function approvalTurn(stack: TestStack, agentId: string, answer: { approved: boolean; reason?: string } | undefined): Promise<string> {
  const chatId = `chat-${randomUUID()}`;
  const requestId = `msg-${randomUUID()}`;
  const workflowId = stack.turnId(chatId, requestId);
  const response = await postChat(stack, { id: chatId, agentId, messages: [userMessage(requestId, `use test_record_side_effect for ${randomUUID().slice(0, 8)}`)] });
  const reading = readSse(response);
  await waitForTurnStatus(stack, workflowId, 'awaiting-approval');
  if (answer) {
    const resumed = await fetch(`${stack.apiUrl}/api/chat/${chatId}/stream`, { headers: { authorization: `Bearer ${stack.apiKey}`, 'x-ai-sdk-version': '7' } });
    const approvalId = String(chunksOf(await readSse(resumed)).find((chunk) => chunk.type === 'tool-approval-request')?.approvalId);
    const given = await fetch(`${stack.apiUrl}/api/chat/${chatId}/approvals/${approvalId}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(answer),
    });
    ensure(given.status === 200, `the approval answer got ${given.status}: ${await given.text()}`);
  }
  await reading;
  return workflowId;
}

function updatesAccepted(history: History): number {
  return (history.events ?? []).filter((event) => event.workflowExecutionUpdateAcceptedEventAttributes != null).length;
}

const scenarios: Scenario[] = [
  {
    name: 'approved-tool',
    async run(stack) {
      return approvalTurn(stack, await approvalAgent(stack, 300), { approved: true });
    },
    check(history) {
      const activities = scheduledActivities(history);
      ensure(updatesAccepted(history) === 1, 'expected the approval accepted as one update');
      ensure(count(activities, 'publishApprovalRequests') === 1 && count(activities, 'executeTool') === 1, `expected one approval request and the tool run once: ${activities.join(', ')}`);
      ensure(completedResult(history).finishReason === 'stop', 'expected finish reason stop');
    },
  },
  {
    name: 'denied-tool',
    async run(stack) {
      return approvalTurn(stack, await approvalAgent(stack, 300), { approved: false, reason: 'not now' });
    },
    check(history) {
      const activities = scheduledActivities(history);
      ensure(updatesAccepted(history) === 1, 'expected the denial accepted as one update');
      ensure(count(activities, 'executeTool') === 0 && count(activities, 'streamCompletion') === 2, `expected no tool run and the model told: ${activities.join(', ')}`);
    },
  },
  {
    name: 'approval-timeout',
    async run(stack) {
      return approvalTurn(stack, await approvalAgent(stack, 5), undefined);
    },
    check(history) {
      ensure((history.events ?? []).some((event) => event.timerFiredEventAttributes != null), 'expected the approval timer to fire');
      ensure(count(scheduledActivities(history), 'executeTool') === 0, 'expected no tool run');
    },
  },
  {
    name: 'steered-turn',
    async run(stack) {
      let deltas = 0;
      let steer: Promise<Response> | undefined;
      const turn = await sendTurn(stack, {
        text: 'Something long please [[tps=40]]',
        onEvent(event, chatId) {
          if (event.data.includes('"text-delta"') && ++deltas === 5) {
            steer = fetch(`${stack.apiUrl}/api/chat/${chatId}/steer`, {
              method: 'POST',
              headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
              body: JSON.stringify({ text: 'Also mention bananas' }),
            });
          }
        },
      });
      ensure(steer !== undefined && (await steer).status === 202, 'expected the steering message taken');
      return turn.workflowId;
    },
    check(history) {
      const activities = scheduledActivities(history);
      ensure(updatesAccepted(history) === 1, 'expected the steering accepted as one update');
      ensure(count(activities, 'recordSteering') === 1 && count(activities, 'streamCompletion') === 2, `expected a second hop that read the steering: ${activities.join(', ')}`);
    },
  },
  {
    name: 'queued-turn',
    async run(stack) {
      const chatId = `chat-${randomUUID()}`;
      const firstId = `msg-${randomUUID()}`;
      const first = postChat(stack, { id: chatId, messages: [userMessage(firstId, 'Something long please [[tps=80]]')] }, { headers: { 'x-ai-sdk-version': '7' } });
      await waitForTurnStatus(stack, stack.turnId(chatId, firstId), 'streaming');
      const second = await sendTurn(stack, { chatId, text: 'And then this one' });
      await readSse(await first);
      ensure(second.chunks.some((chunk) => chunk.type === 'data-turn-queued'), 'expected the second turn queued');
      return second.workflowId;
    },
    check(history) {
      ensure(count(scheduledActivities(history), 'awaitTurnEnd') === 1, 'expected the queued turn to wait for the first');
      ensure(completedResult(history).finishReason === 'stop', 'expected finish reason stop');
    },
  },
  {
    name: 'plain-answer',
    async run(stack) {
      return (await sendTurn(stack, { text: 'What does a durable chat backend do for me?' })).workflowId;
    },
    check(history) {
      const activities = scheduledActivities(history);
      ensure(count(activities, 'streamCompletion') === 1 && count(activities, 'executeTool') === 0, `expected one hop and no tools: ${activities.join(', ')}`);
      // after-turn-v1: a new conversation's title and memory extraction are one activity of the turn.
      ensure(count(activities, 'afterAnswer') === 1 && count(activities, 'extractMemories') === 0, `expected one afterAnswer activity: ${activities.join(', ')}`);
      ensure(!(history.events ?? []).some((event) => event.startChildWorkflowExecutionInitiatedEventAttributes), 'expected no child workflow');
      // turn-start-v1: the message, the agent, memory and the context guard are one local step.
      ensure(count(activities, 'beginTurn') === 1 && count(activities, 'persistUserMessage') === 0, `expected one beginTurn step: ${activities.join(', ')}`);
      ensure(completedResult(history).text.startsWith('You said: '), 'expected the scripted echo answer');
    },
  },
  {
    name: 'three-hop-tools',
    async run(stack) {
      const agentId = await createAgent(stack, { allowedTools: ['test_*'], maxHops: 10 });
      return (await sendTurn(stack, { text: `use test_record_side_effect for ${randomUUID().slice(0, 8)} [[hops=3]]`, agentId })).workflowId;
    },
    check(history) {
      const activities = scheduledActivities(history);
      ensure(count(activities, 'executeTool') === 3 && count(activities, 'streamCompletion') === 4, `expected 3 tool hops and a final answer: ${activities.join(', ')}`);
      // turn-start-v1: each call that ran records its own result; no recordToolResults step.
      ensure(count(activities, 'recordToolResults') === 0, `expected the tool calls to record their own results: ${activities.join(', ')}`);
      ensure(completedResult(history).finishReason === 'stop', 'expected finish reason stop');
    },
  },
  {
    name: 'hop-limit',
    async run(stack) {
      const agentId = await createAgent(stack, { allowedTools: ['test_*'], maxHops: 2 });
      return (await sendTurn(stack, { text: `use test_record_side_effect for ${randomUUID().slice(0, 8)} [[hops=5]]`, agentId })).workflowId;
    },
    check(history) {
      const activities = scheduledActivities(history);
      // Two tool rounds ran; the third request for tools met the limit and ran nothing.
      ensure(count(activities, 'streamCompletion') === 3 && count(activities, 'executeTool') === 2, `expected 3 hops and 2 tool runs: ${activities.join(', ')}`);
      ensure(completedResult(history).finishReason === 'tool-limit-reached', 'expected finish reason tool-limit-reached');
    },
  },
  {
    name: 'retried-hop',
    async run(stack) {
      return (await sendTurn(stack, { text: `Retry me ${randomUUID().slice(0, 8)} [[fault=cut:6 vary=1 tps=50]]` })).workflowId;
    },
    check(history) {
      const attempts = (history.events ?? []).flatMap((event) => (event.activityTaskStartedEventAttributes ? [event.activityTaskStartedEventAttributes.attempt ?? 1] : []));
      ensure(attempts.some((attempt) => attempt >= 2), `expected an activity on its second attempt, attempts: ${attempts.join(', ')}`);
      ensure(completedResult(history).text.startsWith('(attempt 2) '), 'expected the answer of the second attempt');
    },
  },
  {
    name: 'stopped-turn',
    async run(stack) {
      let deltas = 0;
      let stop: Promise<Response> | undefined;
      const turn = await sendTurn(stack, {
        text: 'A long answer to stop [[tps=20]]',
        onEvent(event, chatId) {
          if (event.data.includes('"text-delta"') && ++deltas === 5) {
            stop = fetch(`${stack.apiUrl}/api/chat/${chatId}/stop`, { method: 'POST', headers: { authorization: `Bearer ${stack.apiKey}` } });
          }
        },
      });
      ensure(stop !== undefined, `the stream ended after ${deltas} deltas, before the stop`);
      const answer = (await (await stop).json()) as { stopped: boolean };
      ensure(answer.stopped, `the stop endpoint answered ${JSON.stringify(answer)}`);
      await stack.temporal.workflow.getHandle(turn.workflowId).result().catch(() => undefined);
      return turn.workflowId;
    },
    check(history) {
      // The stop reaches the hop over Redis at once; the hop returns what it streamed, and the turn
      // ends cancelled (or, when the workflow cancel came later, completes with finish reason cancelled).
      const closing = closingEvent(history);
      const finishedCancelled =
        closing.workflowExecutionCanceledEventAttributes != null ||
        (closing.workflowExecutionCompletedEventAttributes != null && completedResult(history).finishReason === 'cancelled');
      ensure(finishedCancelled, `expected a stopped turn, last event ${describeEvent(closing)}`);
      ensure((history.events ?? []).some((event) => event.workflowExecutionCancelRequestedEventAttributes != null), 'expected the workflow asked to cancel');
      ensure(count(scheduledActivities(history), 'finalizeTurn') === 1, 'expected the partial answer finalized');
    },
  },
  {
    name: 'fallback-model',
    async run(stack) {
      const agentId = await createAgent(stack, { model: 'scripted-1', fallbackModels: ['scripted-mini'], llmMaxAttempts: 1 });
      const tag = randomUUID().slice(0, 8);
      stack.llm.injectFault({ match: tag, fault: '400', times: 1 });
      return (await sendTurn(stack, { text: `Answer with the fallback model ${tag}`, agentId })).workflowId;
    },
    check(history) {
      ensure(count(scheduledActivities(history), 'streamCompletion') === 2, 'expected the hop on the model, then on its fallback');
      ensure(completedResult(history).finishReason === 'stop', 'expected the fallback model to answer');
    },
  },
  {
    name: 'regenerated-answer',
    async run(stack) {
      const chatId = `chat-${randomUUID()}`;
      const requestId = `msg-${randomUUID()}`;
      const text = `Answer this twice ${requestId}`;
      const first = await sendTurn(stack, { chatId, requestId, text });
      await stack.temporal.workflow.getHandle(first.workflowId).result();
      const replaced = String(first.chunks.find((chunk) => chunk.type === 'start')?.messageId);
      const second = await sendTurn(stack, { chatId, requestId, text, extra: { trigger: 'regenerate-message', messageId: replaced } });
      ensure(second.workflowId !== first.workflowId, 'expected the regenerated answer to run as a turn of its own');
      return second.workflowId;
    },
    check(history) {
      ensure(count(scheduledActivities(history), 'streamCompletion') === 1, 'expected a single hop');
      completedResult(history);
    },
  },
  {
    name: 'cached-duplicate',
    async run(stack) {
      const chatId = `chat-${randomUUID()}`;
      const requestId = `msg-${randomUUID()}`;
      const text = `Say it once ${requestId}`;
      const first = await sendTurn(stack, { chatId, requestId, text });
      await stack.temporal.workflow.getHandle(first.workflowId).result();
      const second = await sendTurn(stack, { chatId, requestId, text });
      ensure(second.text === first.text, `the duplicate answered "${second.text}" instead of "${first.text}"`);
      const modelCalls = answerRequests(stack.llm, requestId).length;
      ensure(modelCalls === 1, `expected one model call for both requests, got ${modelCalls}`);
      return first.workflowId;
    },
    check(history) {
      ensure(count(scheduledActivities(history), 'streamCompletion') === 1, 'expected a single hop');
      completedResult(history);
    },
  },
  {
    // An app action: the model calls a tool of an MCP server (the project's test server over streamable HTTP).
    name: 'app-action',
    async run(stack) {
      const server = await startMcpTestServer();
      try {
        const registered = await apiClient(stack.apiUrl, stack.apiKey).post('/mcp-servers', { name: 'replay', transport: 'http', url: server.url });
        ensure(registered.status === 201 && registered.body.refresh?.status === 'ok', `registering the MCP server answered ${registered.status}: ${registered.text}`);
        const agentId = await createAgent(stack, { allowedTools: ['APP_REPLAY_*'], maxHops: 3 });
        const turn = await sendTurn(stack, { text: `use APP_REPLAY_ECHO ${randomUUID().slice(0, 8)}`, agentId });
        await stack.temporal.workflow.getHandle(turn.workflowId).result();
        return turn.workflowId;
      } finally {
        await server.close();
      }
    },
    check(history) {
      const activities = scheduledActivities(history);
      ensure(count(activities, 'executeTool') === 1 && count(activities, 'streamCompletion') === 2, `expected one app action and a final answer: ${activities.join(', ')}`);
      ensure(completedResult(history).text.includes('echo over http: '), 'expected the echo of the MCP server in the answer');
    },
  },
  {
    // A recipe run: an app action, a prompt to the default agent reading its output, another action.
    name: 'recipe-run',
    async run(stack) {
      const server = await startMcpTestServer();
      try {
        const admin = apiClient(stack.apiUrl, stack.apiKey);
        const registered = await admin.post('/mcp-servers', { name: 'recipes', transport: 'http', url: server.url });
        ensure(registered.status === 201 && registered.body.refresh?.status === 'ok', `registering the MCP server answered ${registered.status}: ${registered.text}`);
        const recipe = await admin.post('/recipes', {
          name: `replay-${randomUUID().slice(0, 8)}`,
          stages: [
            { name: 'greet', kind: 'action', action: 'APP_RECIPES_ECHO', arguments: { text: 'hello {{input.who}}' } },
            { name: 'note', kind: 'prompt', prompt: 'Note this: {{stages.greet}}' },
            { name: 'final', kind: 'action', action: 'APP_RECIPES_ECHO', arguments: { text: 'done: {{stages.note}}' } },
          ],
        });
        ensure(recipe.status === 201, `creating the recipe answered ${recipe.status}: ${recipe.text}`);
        const response = await fetch(`${stack.apiUrl}/api/recipes/${recipe.body.recipe.id}/runs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.apiKey}`, 'x-ai-sdk-version': '7' },
          body: JSON.stringify({ input: { who: 'replay' } }),
        });
        const runId = response.headers.get('x-recipe-run-id');
        ensure(response.status === 200 && runId !== null, `running the recipe answered ${response.status}`);
        await readSse(response);
        const workflowId = `recipe:${stack.workspaceId}/${runId}`;
        await stack.temporal.workflow.getHandle(workflowId).result();
        return workflowId;
      } finally {
        await server.close();
      }
    },
    check(history) {
      const activities = scheduledActivities(history);
      ensure(count(activities, 'executeTool') === 2 && count(activities, 'recipePrompt') === 1, `expected two action stages and one prompt stage: ${activities.join(', ')}`);
      const payload = closingEvent(history).workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
      ensure(payload != null, 'the run did not complete');
      const result = defaultPayloadConverter.fromPayload<{ status: string; outputs: Record<string, string> }>(payload);
      ensure(result.status === 'completed' && result.outputs.final?.startsWith('echo over http: done: ') === true, `unexpected result ${JSON.stringify(result)}`);
    },
  },
];

async function recordScenario(stack: TestStack, scenario: Scenario): Promise<void> {
  const workflowId = await scenario.run(stack);
  // The client saw the end of the stream; the workflow may still be finishing its last activities.
  await stack.temporal.workflow.getHandle(workflowId).result().catch(() => undefined);
  const history = await fetchWorkflowHistory(stack.temporal, workflowId);
  try {
    scenario.check(history);
  } catch (error) {
    const events = (history.events ?? []).map(describeEvent).join('\n  ');
    throw new Error(`${scenario.name}: ${error instanceof Error ? error.message : String(error)}; the history of ${workflowId}:\n  ${events}`);
  }
  const file = path.join(HISTORIES_DIRECTORY, `${scenario.name}.json`);
  writeHistoryFile(file, history);
  console.log(`recorded ${scenario.name}: ${eventCount(history)} events (${workflowId}) → ${path.relative(process.cwd(), file)}`);
}

async function run(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !scenarios.some((scenario) => scenario.name === name));
  if (unknown.length > 0) throw new Error(`Unknown scenario(s): ${unknown.join(', ')}. Known: ${scenarios.map((scenario) => scenario.name).join(', ')}`);
  const selected = wanted.length > 0 ? scenarios.filter((scenario) => wanted.includes(scenario.name)) : scenarios;
  mkdirSync(HISTORIES_DIRECTORY, { recursive: true });

  // Recorded histories are plaintext, so the replay tests need no keys.
  delete process.env.PAYLOAD_ENCRYPTION_KEYS;
  await globalSetup();
  try {
    // The heartbeat timeout of the stream-bridge tests: a cut hop is retried within seconds.
    const stack = await startTestStack({ heartbeatTimeoutMs: 2000 });
    try {
      for (const scenario of selected) await recordScenario(stack, scenario);
    } finally {
      await stack.stop();
    }
  } finally {
    await globalTeardown();
  }
}

run().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
