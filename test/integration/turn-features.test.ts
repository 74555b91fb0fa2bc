/**
 * The complete turn on the real stack, seen from outside (streamed events and Postgres rows): tool
 * hops, the hop limit, the loop guard, memory, the fast path, fresh start, the context guard, and
 * duplicate requests.
 */
import { randomUUID } from 'node:crypto';
import { hopLimitWarning } from '../../src/workflows/chat-turn';
import { answerRequests, createAgent, postChat, runTurn, storedEvents } from '../support/chat';
import { chunksOf, readSse, textOf, userMessage } from '../support/sse';
import { activitySummaries } from '../support/history';
import { LLM_RESTART_INTERVAL_MS } from '../../src/shared/policy';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

async function turn(chatId: string, text: string, extra: Record<string, unknown> = {}) {
  return runTurn(stack, chatId, text, { extra });
}

async function events(chatId: string) {
  return storedEvents(stack, chatId);
}

/** A protobuf duration of a history event, in milliseconds. */
function durationMs(duration: { seconds?: { toString(): string } | null; nanos?: number | null } | null | undefined): number {
  return Number(duration?.seconds?.toString() ?? 0) * 1000 + Math.round((duration?.nanos ?? 0) / 1e6);
}

/** The turns' own model requests that carry the fragment (see `answerRequests`). */
function llmRequestsContaining(fragment: string) {
  return answerRequests(stack.llm, fragment);
}

describe('tool hops', () => {
  it('runs a 3-hop tool turn: each call is an activity, results go back to the model, the client sees every step', async () => {
    const agentId = await createAgent(stack, { allowedTools: ['test_*'] });
    const chatId = `chat-${randomUUID()}`;
    const tag = randomUUID().slice(0, 8);
    const result = await turn(chatId, `use test_record_side_effect for ${tag} [[hops=3]]`, { agentId });

    expect(result.chunks.filter((chunk) => chunk.type === 'start-step')).toHaveLength(4);
    expect(result.chunks.filter((chunk) => chunk.type === 'tool-input-available')).toHaveLength(3);
    expect(result.chunks.filter((chunk) => chunk.type === 'tool-output-available')).toHaveLength(3);
    expect(result.chunks.filter((chunk) => chunk.type === 'data-tool-execution')[0]).toMatchObject({ data: { text: 'Executing 1 tool…' } });
    expect(result.text).toMatch(/^Tool results: /);

    const sideEffects = await stack.pool.query('SELECT idempotency_key FROM tool_side_effects WHERE label LIKE $1', [`%${tag}%`]);
    expect(sideEffects.rows).toHaveLength(3);
    const rows = await events(chatId);
    expect(rows.filter((row) => row.type === 'tool-result')).toHaveLength(3);
    const answer = rows.find((row) => row.role === 'assistant')!;
    expect(answer.extra.finishReason).toBe('stop');
    expect(answer.content.parts!.filter((part) => part.type === 'tool-test_record_side_effect')).toHaveLength(3);
  });

  it('checks the tool-round limit before a round runs: at the limit its tools never run, and the warning is streamed and kept', async () => {
    const agentId = await createAgent(stack, { allowedTools: ['test_*'], maxHops: 2 });
    const chatId = `chat-${randomUUID()}`;
    const tag = randomUUID().slice(0, 8);
    const result = await turn(chatId, `use test_record_side_effect for ${tag} [[hops=5]]`, { agentId });
    // Two rounds ran; the model's third request for the tool was answered without running it.
    expect((await stack.pool.query('SELECT 1 FROM tool_side_effects WHERE label LIKE $1', [`%${tag}%`])).rows).toHaveLength(2);
    expect(llmRequestsContaining(tag)).toHaveLength(3);
    const rows = await events(chatId);
    const decisions = rows.filter((row) => row.type === 'tool-result').map((row) => row.extra.decision);
    expect(decisions).toEqual(['executed', 'executed', 'skipped']);
    expect(String(rows.filter((row) => row.type === 'tool-result').at(-1)!.content.content)).toContain('limit of 2 tool rounds');

    const warning = hopLimitWarning(2);
    expect(result.text).toContain(warning);
    expect(result.chunks).toContainEqual(expect.objectContaining({ type: 'data-warning' }));
    // The unexecuted call ends in the stream as it is stored: with an error, never left waiting.
    expect(result.chunks.filter((chunk) => chunk.type === 'tool-output-error')).toHaveLength(1);
    expect(result.chunks.at(-1)).toMatchObject({ type: 'finish', finishReason: 'other', messageMetadata: { finishReason: 'tool-limit-reached' } });
    const answer = rows.find((row) => row.role === 'assistant')!;
    expect(answer.extra.finishReason).toBe('tool-limit-reached');
    expect(JSON.stringify(answer.content.parts)).toContain(warning);
    expect(answer.content.parts!.filter((part) => part.type === 'tool-test_record_side_effect').map((part) => part.state)).toEqual(['output-available', 'output-available', 'output-error']);
  });

  it('turns a failing tool into a tool message the model reacts to, not a failed turn', async () => {
    const agentId = await createAgent(stack, { allowedTools: ['test_*'] });
    const result = await turn(`chat-${randomUUID()}`, 'use test_fail now', { agentId });
    expect(result.chunks).toContainEqual(expect.objectContaining({ type: 'tool-output-error' }));
    expect(result.text).toMatch(/^Tool results: Error: /);
    expect(result.chunks.at(-1)).toMatchObject({ type: 'finish', messageMetadata: { finishReason: 'stop' } });
  });

  it('never offers tools the agent is not allowed', async () => {
    const agentId = await createAgent(stack, { allowedTools: ['platform_*'] });
    const marker = randomUUID();
    await turn(`chat-${randomUUID()}`, `use test_fail ${marker}`, { agentId });
    const request = llmRequestsContaining(marker)[0]!;
    const offered = (request.tools ?? []).map((tool) => tool.function?.name);
    expect(offered).toEqual(expect.arrayContaining(['platform_list_agents']));
    expect(offered).not.toContain('test_fail');
  });
});

describe('loop guard', () => {
  async function toolDecisions(chatId: string) {
    return (await events(chatId))
      .filter((row) => row.type === 'tool-result')
      .map((row) => ({ decision: row.extra.decision as string, content: row.content.content as string }));
  }

  it('answers an exact duplicate call from the earlier result without executing it again', async () => {
    const agentId = await createAgent(stack, { allowedTools: ['test_*'] });
    const tag = randomUUID().slice(0, 8);
    const chatId = `chat-${randomUUID()}`;
    // Two identical calls in one answer: the second is reused.
    const result = await turn(chatId, `use test_record_side_effect and test_record_side_effect ${tag}`, { agentId });
    expect((await stack.pool.query('SELECT 1 FROM tool_side_effects WHERE label LIKE $1', [`%${tag}%`])).rows).toHaveLength(1);
    const decisions = await toolDecisions(chatId);
    expect(decisions.map((entry) => entry.decision)).toEqual(['executed', 'reused']);
    expect(decisions[1]!.content).toContain('already called with the same arguments');
    expect(result.text).toContain('Not executed again');
  });

  it('reuses a search whose query is at least 75% similar to an earlier one', async () => {
    const agentId = await createAgent(stack, { allowedTools: ['search_knowledge'] });
    const chatId = `chat-${randomUUID()}`;
    // Round 2 asks "<same query> (round 2)": similar enough to round 1 to be answered from it.
    await turn(chatId, `use search_knowledge quarterly revenue figures ${randomUUID().slice(0, 8)} [[hops=2]]`, { agentId });
    const decisions = await toolDecisions(chatId);
    expect(decisions.map((entry) => entry.decision)).toEqual(['executed', 'reused']);
    expect(decisions[1]!.content).toMatch(/similar/);
  });

  it('stops a tool at its per-turn limit with a message saying why', async () => {
    const agentId = await createAgent(stack, { allowedTools: ['test_*'] });
    const chatId = `chat-${randomUUID()}`;
    const tag = randomUUID().slice(0, 8);
    // Four rounds with different arguments: the default limit of 3 executions skips the fourth.
    await turn(chatId, `use test_record_side_effect for ${tag} [[hops=4]]`, { agentId });
    const decisions = await toolDecisions(chatId);
    expect(decisions.map((entry) => entry.decision)).toEqual(['executed', 'executed', 'executed', 'skipped']);
    expect(decisions[3]!.content).toContain('reached its limit of 3 executions');
    expect((await stack.pool.query('SELECT 1 FROM tool_side_effects WHERE label LIKE $1', [`%${tag}%`])).rows).toHaveLength(3);
  });
});

describe('memory, fast path and fresh start', () => {
  it('injects a matching workspace memory into the system prompt and reports it to the client', async () => {
    const fact = `The ${randomUUID().slice(0, 6)} project codename is Bluebird`;
    const added = await fetch(`${stack.apiUrl}/api/memories`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.apiKey}` },
      body: JSON.stringify({ content: fact }),
    });
    expect(added.status).toBe(201);
    const marker = randomUUID();
    const result = await turn(`chat-${randomUUID()}`, `What is the project codename Bluebird about? ${marker}`);
    const memoryPart = result.chunks.find((chunk) => chunk.type === 'data-memory') as { data: { memories: Array<{ text: string }> } } | undefined;
    expect(memoryPart?.data.memories.map((memory) => memory.text)).toContain(fact);
    const system = llmRequestsContaining(marker)[0]!.messages[0] as { role: string; content: string };
    expect(system.role).toBe('system');
    expect(system.content).toContain(fact);
  });

  it('takes the fast path for a greeting: no memory retrieval, no tools, minimal prompt', async () => {
    const agentId = await createAgent(stack, { allowedTools: ['*'] });
    const chatId = `chat-${randomUUID()}`;
    await turn(chatId, 'Hello!', { agentId });
    const request = stack.llm.requests.filter((recorded) => recorded.lastUserText === 'Hello!').at(-1)!;
    expect(request.tools ?? []).toHaveLength(0);
    expect((request.messages[0] as { content: string }).content).not.toContain('You are a test agent.');
    const turnId = (await events(chatId)).find((row) => row.role === 'user')!.turn_id!;
    const steps = await activitySummaries(stack.temporal, turnId);
    // The turn's first step names what it does: on the fast path, neither memory nor the context guard.
    expect(steps).toEqual(expect.arrayContaining(['begin turn', 'LLM hop 0 · scripted-1']));
    expect(steps.join('\n')).not.toMatch(/memory|context guard/);
  });

  it('resets the context on "start over": earlier messages stay stored but are no longer sent', async () => {
    const chatId = `chat-${randomUUID()}`;
    const secret = `secret-${randomUUID()}`;
    await turn(chatId, `Remember ${secret} for me please`);
    const marker = randomUUID();
    await turn(chatId, `Let's start over ${marker}`);
    const request = llmRequestsContaining(marker)[0]!;
    expect(JSON.stringify(request.messages)).not.toContain(secret);
    const rows = await events(chatId);
    expect(rows.map((row) => row.type)).toContain('context-reset');
    expect(JSON.stringify(rows)).toContain(secret);
  });
});

describe('context guard', () => {
  it('condenses older messages when the prompt passes 85% of the window and later turns use it', async () => {
    const agentId = await createAgent(stack, { contextWindow: 150, memoryEnabled: false });
    const chatId = `chat-${randomUUID()}`;
    for (let index = 0; index < 4; index++) await turn(chatId, `Message number ${index} with some words to fill the window a little more each time`, { agentId });
    const marker = randomUUID();
    await turn(chatId, `And now the latest question ${marker}`, { agentId });
    const rows = await events(chatId);
    const condensed = rows.filter((row) => row.type === 'summary');
    expect(condensed.length).toBeGreaterThan(0);
    const request = llmRequestsContaining(marker)[0]!;
    expect((request.messages[0] as { content: string }).content).toContain('Earlier in this conversation (condensed)');
    // The oldest messages reach the model only through the condensed text, not verbatim.
    expect(JSON.stringify(request.messages.slice(1))).not.toContain('Message number 0 with');
  });
});

describe('retry policy per agent', () => {
  it('retries a failed hop for an agent that allows it, and fails fast for one that does not', async () => {
    const patient = await createAgent(stack, { llmMaxAttempts: 3, llmInitialRetryIntervalMs: 700 });
    const recovered = await turn(`chat-${randomUUID()}`, `Flaky endpoint ${randomUUID()} [[fault=500]]`, { agentId: patient });
    expect(recovered.text).toMatch(/^You said: Flaky endpoint/);
    // In the Temporal UI: the hop restarts soon when its worker is lost (the policy's first
    // interval), and the failed attempt waited the agent's own interval (its failure says so).
    const turnId = (await events(recovered.chatId)).find((row) => row.turn_id)!.turn_id!;
    const history = (await stack.temporal.workflow.getHandle(turnId).fetchHistory()).events ?? [];
    const hop = history.find((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'streamCompletion')!;
    expect(durationMs(hop.activityTaskScheduledEventAttributes!.retryPolicy!.initialInterval)).toBe(LLM_RESTART_INTERVAL_MS);
    const started = history.find((event) => event.activityTaskStartedEventAttributes && event.activityTaskStartedEventAttributes.scheduledEventId?.toString() === hop.eventId?.toString())!;
    expect(started.activityTaskStartedEventAttributes!.attempt).toBe(2);
    expect(durationMs(started.activityTaskStartedEventAttributes!.lastFailure!.applicationFailureInfo!.nextRetryDelay)).toBe(700);

    const impatient = await createAgent(stack, { llmMaxAttempts: 1 });
    const marker = randomUUID();
    const failed = await turn(`chat-${randomUUID()}`, `Flaky endpoint ${marker} [[fault=500]]`, { agentId: impatient });
    expect(failed.chunks).toContainEqual(expect.objectContaining({ type: 'error' }));
    expect(failed.chunks.at(-1)).toMatchObject({ type: 'finish', finishReason: 'error' });
    expect(llmRequestsContaining(marker)).toHaveLength(1);
  });
});

describe('duplicates', () => {
  it('ten concurrent identical POSTs run one workflow and call the model once', async () => {
    const chatId = `chat-${randomUUID()}`;
    const requestId = `msg-${randomUUID()}`;
    const body = JSON.stringify({ id: chatId, messages: [userMessage(requestId, `Concurrent ${requestId} [[tps=100]]`)] });
    const answers = await Promise.all(
      Array.from({ length: 10 }, async () => {
        return textOf(chunksOf(await readSse(await postChat(stack, body))));
      }),
    );
    expect(new Set(answers)).toEqual(new Set([`You said: Concurrent ${requestId}`]));
    expect(llmRequestsContaining(requestId)).toHaveLength(1);
    expect((await events(chatId)).filter((row) => row.type === 'message')).toHaveLength(2);
  });

  it('answers 404 for an unknown agent and starts nothing', async () => {
    const chatId = `chat-${randomUUID()}`;
    const response = await postChat(stack, { id: chatId, agentId: 'no-such-agent', messages: [userMessage('m1', 'hello there friend')] });
    expect(response.status).toBe(404);
    expect((await response.json()).error.code).toBe('agent_not_found');
    expect((await stack.pool.query('SELECT 1 FROM conversations WHERE chat_id = $1', [chatId])).rowCount).toBe(0);
  });
});
