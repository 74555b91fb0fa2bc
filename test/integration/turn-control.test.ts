/**
 * Messages sent while a turn runs, by the agent's busy policy (two messages back to back each):
 * `queue` (the second starts when the first ended, and its stream says it was queued), `interrupt`
 * (the first stops, keeping its partial answer) and `reject` (409 with the running turn's id).
 * Steering: a message posted to the running turn joins the model's context at the next hop boundary,
 * the stream shows it and the stored conversation keeps it in order.
 */
import { randomUUID } from 'node:crypto';
import { assistantText, runAiClient } from '../support/ai-client';
import { answerRequests, createAgent, postChat, storedEvents } from '../support/chat';
import { chunksOf, readSse, textOf, userMessage } from '../support/sse';
import { startTestStack, type TestStack } from '../support/stack';
import { latestTurnKey } from '../../src/stream/keys';
import { assistantMessageId } from '../../src/shared/ids';
import type { ChatTurnInput } from '../../src/shared/turn';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ heartbeatTimeoutMs: 60_000 });
});

afterAll(async () => {
  await stack?.stop();
});

async function policyAgent(busyPolicy: 'queue' | 'interrupt' | 'reject'): Promise<string> {
  const agentId = await createAgent(stack, { memoryEnabled: false });
  await stack.pool.query('UPDATE agents SET busy_policy = $2 WHERE id = $1', [agentId, busyPolicy]);
  return agentId;
}

const ai7 = { 'x-ai-sdk-version': '7' };

function send(chatId: string, agentId: string, text: string, requestId = `msg-${randomUUID()}`) {
  return { requestId, response: postChat(stack, { id: chatId, agentId, messages: [userMessage(requestId, text)] }, { headers: ai7 }) };
}

async function untilStreaming(turnId: string) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const state = await stack.temporal.workflow
      .getHandle(turnId)
      .query<{ status: string }>('state')
      .catch(() => undefined);
    if (state?.status === 'streaming') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${turnId} never streamed`);
}

const messageRows = async (chatId: string) => (await storedEvents(stack, chatId)).filter((event) => event.type === 'message');

it('queue (the default): the second message waits for the first answer, its stream says so, and the conversation keeps the order', async () => {
  const agentId = await createAgent(stack, { memoryEnabled: false });
  const chatId = `chat-${randomUUID()}`;
  const first = send(chatId, agentId, 'Something long please [[tps=60]]');
  await untilStreaming(stack.turnId(chatId, first.requestId));
  const second = send(chatId, agentId, 'And now a short one');
  const [firstResponse, secondResponse] = await Promise.all([first.response, second.response]);
  expect(secondResponse.status).toBe(200);
  let firstFinishedAt = 0;
  let secondTextAt = 0;
  const [firstEvents, secondEvents] = await Promise.all([
    readSse(firstResponse, (event) => {
      if (event.data.includes('"type":"finish"')) firstFinishedAt = Date.now();
    }),
    readSse(secondResponse, (event) => {
      if (!secondTextAt && event.data.includes('"text-delta"')) secondTextAt = Date.now();
    }),
  ]);
  const secondChunks = chunksOf(secondEvents);
  expect(secondChunks.find((chunk) => chunk.type === 'data-turn-queued')).toMatchObject({ data: { behindTurnId: stack.turnId(chatId, first.requestId) } });
  expect(secondChunks.map((chunk) => chunk.type)).toContain('data-turn-dequeued');
  expect(textOf(chunksOf(firstEvents)).length).toBeGreaterThan(100);
  expect(textOf(secondChunks)).toBe('You said: And now a short one');
  expect(secondTextAt).toBeGreaterThanOrEqual(firstFinishedAt);

  const rows = await messageRows(chatId);
  expect(rows.map((row) => `${row.role}:${row.role === 'user' ? row.message_id : row.extra.userMessageId}`)).toEqual([
    `user:${first.requestId}`,
    `assistant:${first.requestId}`,
    `user:${second.requestId}`,
    `assistant:${second.requestId}`,
  ]);
});

it('interrupt: the running turn stops keeping its partial answer, and the new message is answered', async () => {
  const agentId = await policyAgent('interrupt');
  const chatId = `chat-${randomUUID()}`;
  const first = send(chatId, agentId, 'Something long please [[tps=20]]');
  await untilStreaming(stack.turnId(chatId, first.requestId));
  const firstReading = first.response.then((response) => readSse(response));
  await new Promise((resolve) => setTimeout(resolve, 700));
  const second = send(chatId, agentId, 'Never mind, a short one');
  const secondResponse = await second.response;
  expect(secondResponse.status).toBe(200);
  const [firstChunks, secondChunks] = [chunksOf(await firstReading), chunksOf(await readSse(secondResponse))];
  expect(firstChunks.at(-1)).toMatchObject({ type: 'finish', messageMetadata: { finishReason: 'cancelled' } });
  expect(textOf(secondChunks)).toBe('You said: Never mind, a short one');
  expect(secondChunks.map((chunk) => chunk.type)).not.toContain('data-turn-queued');

  const rows = await messageRows(chatId);
  expect(rows.map((row) => row.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
  expect(rows[1]!.extra.finishReason).toBe('cancelled');
  const partial = (rows[1]!.content.parts ?? []).filter((part) => part.type === 'text').map((part) => part.text as string).join('');
  expect(partial.length).toBeGreaterThan(0);
  expect(textOf(firstChunks).startsWith(partial.slice(0, 20))).toBe(true);
});

it('reject: the second message gets 409 with the running turn\'s id, and the first one finishes', async () => {
  const agentId = await policyAgent('reject');
  const chatId = `chat-${randomUUID()}`;
  const first = send(chatId, agentId, 'Something long please [[tps=80]]');
  const runningTurn = stack.turnId(chatId, first.requestId);
  await untilStreaming(runningTurn);
  const second = send(chatId, agentId, 'Are you done yet?');
  const rejected = await second.response;
  expect(rejected.status).toBe(409);
  expect((await rejected.json()).error).toMatchObject({ code: 'turn_running', turnId: runningTurn });
  const firstChunks = chunksOf(await readSse(await first.response));
  expect(firstChunks.at(-1)).toMatchObject({ type: 'finish', messageMetadata: { finishReason: 'stop' } });
  expect((await messageRows(chatId)).map((row) => row.role)).toEqual(['user', 'assistant']);
});

it('steering: the model reads the message at the next hop boundary, the ai 7 stream shows it, the conversation keeps it in order', async () => {
  const agentId = await createAgent(stack, { memoryEnabled: false });
  const chatId = `chat-${randomUUID()}`;
  const result = await runAiClient({
    apiUrl: stack.apiUrl,
    apiKey: stack.apiKey,
    chatId,
    headers: ai7,
    body: { agentId },
    steps: [{ action: 'steer', send: 'Something long please [[tps=40]]', text: 'Also mention bananas', afterChars: 30 }],
  });
  expect(result.error).toBeNull();
  expect(result.steerAnswers[0]).toMatchObject({ status: 202, body: { accepted: true } });
  const answer = result.messages.at(-1)!;
  const steeringPart = answer.parts.find((part) => part.type === 'steering-message');
  expect(steeringPart).toMatchObject({ parts: [{ type: 'text', text: 'Also mention bananas' }] });
  expect(assistantText(answer)).toContain('You said: Also mention bananas');
  // The hop after the steering read it as the user's latest word, after what was already answered.
  const steered = answerRequests(stack.llm, 'Also mention bananas').at(-1)!;
  const roles = (steered.messages as Array<{ role: string }>).map((message) => message.role);
  expect(roles.slice(-3)).toEqual(['user', 'assistant', 'user']);

  const rows = await messageRows(chatId);
  expect(rows.map((row) => row.role)).toEqual(['user', 'user', 'assistant']);
  expect(rows[1]!.extra.steering).toBe(true);
  expect(rows[2]!.content.parts?.some((part) => part.type === 'data-steering')).toBe(true);
});

it('steering without a running turn is a 409; bad input is a 400 naming the field', async () => {
  const agentId = await createAgent(stack, { memoryEnabled: false });
  const chatId = `chat-${randomUUID()}`;
  await readSse(await send(chatId, agentId, 'hello').response);
  const steer = (body: unknown) =>
    fetch(`${stack.apiUrl}/api/chat/${chatId}/steer`, { method: 'POST', headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const idle = await steer({ text: 'too late' });
  expect(idle.status).toBe(409);
  expect((await idle.json()).error.code).toBe('turn_not_running');
  const empty = await steer({ text: '' });
  expect(empty.status).toBe(400);
  expect((await empty.json()).error.field).toBe('text');
  const unknown = await fetch(`${stack.apiUrl}/api/chat/chat-nope-${randomUUID()}/steer`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'hi' }),
  });
  expect(unknown.status).toBe(404);
});

it('events: two clients following the chat see the same events in the same order, from the start or after Last-Event-ID', async () => {
  const agentId = await createAgent(stack, { memoryEnabled: false });
  const chatId = `chat-${randomUUID()}`;
  const opening = send(chatId, agentId, 'hello');
  await readSse(await opening.response);

  type Followed = Array<{ id?: string; type: string; turnId: string; [key: string]: unknown }>;
  const follow = (finishedTurns: number, headers: Record<string, string> = {}) => {
    const controller = new AbortController();
    const seen: Followed = [];
    const done = fetch(`${stack.apiUrl}/api/chat/${chatId}/events`, { headers: { authorization: `Bearer ${stack.apiKey}`, ...headers }, signal: controller.signal }).then(async (response) => {
      expect(response.status).toBe(200);
      await readSse(response, (event) => {
        seen.push({ id: event.id, ...JSON.parse(event.data) });
        if (seen.filter((entry) => entry.type === 'turn-finished').length >= finishedTurns) controller.abort();
      }).catch(() => undefined);
      return seen;
    });
    return done;
  };
  const tabs = [follow(3), follow(3)];
  await new Promise((resolve) => setTimeout(resolve, 300));
  const second = send(chatId, agentId, 'Something long please [[tps=80]]');
  await untilStreaming(stack.turnId(chatId, second.requestId));
  const third = send(chatId, agentId, 'And then this one');
  await Promise.all([second.response.then((response) => readSse(response)), third.response.then((response) => readSse(response))]);
  const [one, two] = await Promise.all(tabs);
  expect(one).toEqual(two);

  const secondTurn = stack.turnId(chatId, second.requestId);
  const thirdTurn = stack.turnId(chatId, third.requestId);
  const at = (type: string, turnId: string) => one!.findIndex((entry) => entry.type === type && entry.turnId === turnId);
  expect(at('turn-started', stack.turnId(chatId, opening.requestId))).toBe(0);
  expect(at('turn-started', secondTurn)).toBeLessThan(at('turn-finished', secondTurn));
  expect(at('turn-queued', thirdTurn)).toBeGreaterThan(at('turn-started', secondTurn));
  expect(at('turn-finished', secondTurn)).toBeLessThan(at('turn-dequeued', thirdTurn));
  expect(at('turn-dequeued', thirdTurn)).toBeLessThan(at('turn-finished', thirdTurn));
  expect(one!.find((entry) => entry.type === 'turn-queued')).toMatchObject({ behindTurnId: secondTurn });

  // A tab that comes back with Last-Event-ID gets only what it missed.
  const resumed = await follow(1, { 'last-event-id': one![1]!.id! });
  expect(resumed[0]).toEqual(one![2]);
  const missing = await fetch(`${stack.apiUrl}/api/chat/chat-none-${randomUUID()}/events`, { headers: { authorization: `Bearer ${stack.apiKey}` } });
  expect(missing.status).toBe(404);
});

it('queue: three messages sent back to back are answered one after the other, in the order they were accepted', async () => {
  const agentId = await createAgent(stack, { memoryEnabled: false });
  const chatId = `chat-${randomUUID()}`;
  const first = send(chatId, agentId, 'Something long please [[tps=100]]');
  await untilStreaming(stack.turnId(chatId, first.requestId));
  const second = send(chatId, agentId, 'Second question');
  // The order is the order the API accepted them in: the third is sent once the second's answer
  // stream has begun (its turn is queued), not a fixed few milliseconds later, which a busy machine
  // can turn around.
  await second.response;
  const third = send(chatId, agentId, 'Third question');
  const streams = await Promise.all([first, second, third].map(async (turn) => chunksOf(await readSse(await turn.response))));
  expect(streams[2]!.find((chunk) => chunk.type === 'data-turn-queued')).toMatchObject({ data: { behindTurnId: stack.turnId(chatId, second.requestId) } });
  const rows = await messageRows(chatId);
  expect(rows.map((row) => `${row.role}:${row.role === 'user' ? row.message_id : row.extra.userMessageId}`)).toEqual(
    [first, second, third].flatMap((turn) => [`user:${turn.requestId}`, `assistant:${turn.requestId}`]),
  );
});

it('queue: a message sent while the previous message\'s request is still starting its turn waits for that turn', async () => {
  const agentId = await createAgent(stack, { memoryEnabled: false });
  const chatId = `chat-${randomUUID()}`;
  await readSse(await send(chatId, agentId, 'A first question').response);
  // Another request has claimed the next turn (the API's first step) and not started it yet.
  const startingId = `msg-${randomUUID()}`;
  const startingTurn = stack.turnId(chatId, startingId);
  await stack.redis.set(latestTurnKey(stack.configuration.redis.keyPrefix, stack.conversationKey(chatId)), startingTurn, 'EX', 600);
  const later = send(chatId, agentId, 'A later question');
  await new Promise((resolve) => setTimeout(resolve, 300));
  // That request starts its turn now, as the API would have (a slow answer).
  const input: ChatTurnInput = {
    turnId: startingTurn,
    conversationId: stack.conversationKey(chatId),
    requestId: startingId,
    messageId: assistantMessageId(startingId),
    workspaceId: stack.workspaceId,
    userId: `${stack.workspaceId}-user`,
    agentId,
    userMessage: { id: startingId, role: 'user', parts: [{ type: 'text', text: 'Something long please [[tps=60]]' }] },
    options: { heartbeatTimeoutMs: stack.configuration.llm.heartbeatTimeoutMs, llmStartToCloseTimeoutMs: stack.configuration.llm.startToCloseTimeoutMs },
  };
  const started = await stack.temporal.workflow.start('chatTurn', { taskQueue: stack.configuration.temporal.taskQueue, workflowId: startingTurn, args: [input] });
  const laterChunks = chunksOf(await readSse(await later.response));
  expect(laterChunks.find((chunk) => chunk.type === 'data-turn-queued')).toMatchObject({ data: { behindTurnId: startingTurn } });
  expect(textOf(laterChunks)).toBe('You said: A later question');
  await started.result();
  const rows = await messageRows(chatId);
  expect(rows.slice(2).map((row) => `${row.role}:${row.role === 'user' ? row.message_id : row.extra.userMessageId}`)).toEqual([
    `user:${startingId}`,
    `assistant:${startingId}`,
    `user:${later.requestId}`,
    `assistant:${later.requestId}`,
  ]);
});

it('steering during a tool round reaches the model after the tool results, at the next hop', async () => {
  const agentId = await createAgent(stack, { allowedTools: ['test_*'], memoryEnabled: false });
  const chatId = `chat-${randomUUID()}`;
  const label = randomUUID();
  let steered: Promise<Response> | undefined;
  const { response } = send(chatId, agentId, `use test_record_side_effect for ${label} [[tps=5]]`);
  const chunks = chunksOf(
    await readSse(await response, (event) => {
      if (!steered && event.data.includes('"tool-input-start"')) {
        steered = fetch(`${stack.apiUrl}/api/chat/${chatId}/steer`, {
          method: 'POST',
          headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ text: 'Keep it short', id: 'steer-short' }),
        });
      }
    }),
  );
  expect((await steered!).status).toBe(202);
  const types = chunks.map((chunk) => chunk.type);
  expect(types.indexOf('steering-message')).toBeGreaterThan(types.indexOf('tool-output-available'));
  const hop = answerRequests(stack.llm, 'Keep it short').at(-1)!;
  expect((hop.messages as Array<{ role: string }>).map((message) => message.role).slice(-3)).toEqual(['assistant', 'tool', 'user']);
  const rows = await messageRows(chatId);
  expect(rows.map((row) => `${row.role}:${row.message_id}`).slice(0, 2)).toEqual([expect.stringMatching(/^user:msg-/), 'user:steer-short']);
});
