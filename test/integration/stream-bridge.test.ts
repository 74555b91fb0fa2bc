/**
 * The SSE bridge as clients see it: resume from the start or after Last-Event-ID, a client that
 * disconnects does not stop the turn, the stop endpoint cancels for real, and a retried hop reaches
 * ai 7 clients as reset-step and older clients as a data part, with the real `ai` chat engines.
 */
import { randomUUID } from 'node:crypto';
import { longAnswer } from '../../src/scripted-llm/answers';
import { assistantMessageId } from '../../src/shared/ids';
import { TURN_STATUS } from '../../src/shared/search-attributes';
import { assistantText, expectStoppedPartialAnswer, runAiClient, sendThenStop } from '../support/ai-client';
import { chunksOf, readSse, textOf, userMessage, type SseEvent } from '../support/sse';
import { Redis } from 'ioredis';
import { startApi } from '../../src/api/server';
import { createLogger } from '../../src/logger';
import { startTestStack, type TestStack } from '../support/stack';
import { ensureV4Client, parseV4 } from '../support/v4-client';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ heartbeatTimeoutMs: 2000 });
});

afterAll(async () => {
  await stack?.stop();
});

const auth = () => ({ authorization: `Bearer ${stack.apiKey}` });

function post(body: unknown, signal?: AbortSignal) {
  return fetch(`${stack.apiUrl}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth() },
    body: JSON.stringify(body),
    signal,
  });
}

function resume(chatId: string, headers: Record<string, string> = {}) {
  return fetch(`${stack.apiUrl}/api/chat/${chatId}/stream`, { headers: { ...auth(), ...headers } });
}

async function storedAnswer(chatId: string) {
  for (let attempt = 0; attempt < 100; attempt++) {
    const rows = await stack.pool.query("SELECT content, extra FROM chat_events WHERE conversation_id = $1 AND role = 'assistant'", [stack.conversationKey(chatId)]);
    if (rows.rows[0]) return { text: (rows.rows[0].content.parts as Array<{ text: string }>).map((part) => part.text).join(''), extra: rows.rows[0].extra };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no assistant message stored for ${chatId}`);
}

/** Reads SSE events until `count` text deltas arrived, then drops the connection. */
async function readSomeThenDisconnect(response: Response, controller: AbortController, count: number): Promise<SseEvent[]> {
  const seen: SseEvent[] = [];
  let deltas = 0;
  await readSse(response, (event) => {
    seen.push(event);
    if (event.data.includes('"text-delta"') && ++deltas >= count) controller.abort();
  }).catch((error: Error) => {
    if (error.name !== 'AbortError') throw error;
  });
  return seen;
}

describe('resume', () => {
  it('answers 204 when the chat has no turn to resume', async () => {
    expect((await resume(`chat-${randomUUID()}`)).status).toBe(204);
  });

  it('replays the whole stream with the same message id after a disconnect, and the turn completes', async () => {
    const chatId = `chat-${randomUUID()}`;
    const requestId = `msg-${randomUUID()}`;
    const controller = new AbortController();
    const first = await readSomeThenDisconnect(await post({ id: chatId, messages: [userMessage(requestId, 'Something long please [[tps=40]]')] }, controller.signal), controller, 5);
    expect(textOf(chunksOf(first)).length).toBeGreaterThan(0);

    const resumed = chunksOf(await readSse(await resume(chatId)));
    expect(resumed[0]).toEqual({ type: 'start', messageId: assistantMessageId(requestId) });
    expect(textOf(resumed)).toBe(longAnswer);
    expect((await storedAnswer(chatId)).text).toBe(longAnswer);
  });

  it('continues exactly after Last-Event-ID: none twice, none missing', async () => {
    const chatId = `chat-${randomUUID()}`;
    const controller = new AbortController();
    const first = await readSomeThenDisconnect(await post({ id: chatId, messages: [userMessage(`msg-${randomUUID()}`, 'Long one [[tps=40]]')] }, controller.signal), controller, 8);
    const lastId = first.filter((event) => event.id).at(-1)!.id!;
    const rest = await readSse(await resume(chatId, { 'last-event-id': lastId }));
    const ids = [...first, ...rest].filter((event) => event.id).map((event) => event.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(chunksOf(rest)[0]?.type).not.toBe('start');
    expect(textOf(chunksOf(first)) + textOf(chunksOf(rest))).toBe(longAnswer);
  });

  it('resumes with the ai chat engine mid-turn and ends with the full answer', async () => {
    const chatId = `chat-${randomUUID()}`;
    const controller = new AbortController();
    await readSomeThenDisconnect(await post({ id: chatId, messages: [userMessage(`msg-${randomUUID()}`, 'Long story [[tps=40]]')] }, controller.signal), controller, 3);
    const result = await runAiClient({ apiUrl: stack.apiUrl, apiKey: stack.apiKey, chatId, headers: { 'x-ai-sdk-version': '7' }, steps: [{ action: 'resume' }] });
    expect(result.error).toBeNull();
    expect(assistantText(result.messages.at(-1))).toBe(longAnswer);
  });
});

describe('stop', () => {
  it('cancels the turn, aborts the model request and keeps the partial answer', async () => {
    const chatId = `chat-${randomUUID()}`;
    const stopped = await sendThenStop(stack, chatId, 'A long answer to stop [[tps=20]]', 40);
    expectStoppedPartialAnswer(stopped, 40, longAnswer);
    const { shown } = stopped;

    const stored = await storedAnswer(chatId);
    expect(stored.extra.finishReason).toBe('cancelled');
    expect(stored.text).toBe(shown);
    const request = await stack.llm.waitForRequest((recorded) => recorded.lastUserText.startsWith('A long answer to stop') && recorded.outcome !== 'in-progress', 10_000);
    expect(request.outcome).toBe('aborted');
    // The turn ended as stopped in Temporal too.
    const turnId = (await stack.pool.query("SELECT turn_id FROM chat_events WHERE conversation_id = $1 AND role = 'assistant'", [stack.conversationKey(chatId)])).rows[0].turn_id;
    const description = await stack.temporal.workflow.getHandle(turnId).describe();
    expect(description.typedSearchAttributes.get(TURN_STATUS)).toBe('cancelled');
  });
});

describe('a retried hop', () => {
  const prompt = (tag: string) => `Retry me ${tag} [[fault=cut:6 vary=1 tps=50]]`;

  it('reaches an ai 7 client as reset-step: the final message equals the persisted answer', async () => {
    const chatId = `chat-${randomUUID()}`;
    const tag = randomUUID();
    const result = await runAiClient({ apiUrl: stack.apiUrl, apiKey: stack.apiKey, chatId, headers: { 'x-ai-sdk-version': '7' }, steps: [{ action: 'send', text: prompt(tag) }] });
    expect(result.error).toBeNull();
    const stored = await storedAnswer(chatId);
    expect(stored.text).toBe(`(attempt 2) You said: Retry me ${tag}`);
    expect(assistantText(result.messages.at(-1))).toBe(stored.text);
    expect(JSON.stringify(result.messages)).not.toContain('(attempt 1)');
  });

  it.each([
    ['ai-v5', '5.0.216'],
    ['ai-v6', '6.0.230'],
  ])('reaches %s (strict chunk schemas of %s) as a data-hop-restart part without errors', async (aiModule) => {
    const chatId = `chat-${randomUUID()}`;
    const tag = randomUUID();
    const result = await runAiClient({ apiUrl: stack.apiUrl, apiKey: stack.apiKey, chatId, aiModule, steps: [{ action: 'send', text: prompt(tag) }] });
    expect(result.error).toBeNull();
    const parts = result.messages.at(-1)!.parts;
    expect(parts.some((part) => part.type === 'data-hop-restart')).toBe(true);
    const lastText = parts.filter((part) => part.type === 'text').at(-1);
    expect(lastText?.text).toBe((await storedAnswer(chatId)).text);
  });
});

describe('who may read what', () => {
  it('answers another workspace exactly as for a chat that never existed, on resume and stop, and rejects missing keys', async () => {
    const chatId = `chat-${randomUUID()}`;
    await readSse(await post({ id: chatId, messages: [userMessage(`msg-${randomUUID()}`, 'Private conversation here')] }));
    const other = await stack.addWorkspace();
    const unused = `chat-${randomUUID()}`;
    for (const id of [chatId, unused]) {
      const foreignResume = await fetch(`${stack.apiUrl}/api/chat/${id}/stream`, { headers: { authorization: `Bearer ${other.apiKey}` } });
      expect(foreignResume.status).toBe(204);
      const foreignStop = await fetch(`${stack.apiUrl}/api/chat/${id}/stop`, { method: 'POST', headers: { authorization: `Bearer ${other.apiKey}` } });
      expect(foreignStop.status).toBe(200);
      expect(await foreignStop.json()).toEqual({ stopped: false });
    }
    expect((await fetch(`${stack.apiUrl}/api/chat/${chatId}/stream`)).status).toBe(401);
    // The owner still resumes the finished turn's stream within the log's retention.
    expect(textOf(chunksOf(await readSse(await resume(chatId))))).toBe('You said: Private conversation here');
  });
});

describe('the AI SDK v4 data stream, on request', () => {
  beforeAll(() => ensureV4Client(), 180_000);

  it('serves ?protocol=data as the real ai 4 parser and useChat read it', async () => {
    const chatId = `chat-${randomUUID()}`;
    const requestId = `msg-${randomUUID()}`;
    // The body ai 4's useChat posts: messages with `content` (and no parts before 4.2).
    const response = await fetch(`${stack.apiUrl}/api/chat?protocol=data`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth() },
      body: JSON.stringify({ id: chatId, messages: [{ id: requestId, role: 'user', content: 'Something long, v4 style [[tps=200]]' }] }),
    });
    expect(response.headers.get('x-vercel-ai-data-stream')).toBe('v1');
    const body = await response.text();
    expect(body).not.toContain('data: ');
    const parsed = await parseV4(body);
    expect(parsed.text).toBe(longAnswer);
    expect(parsed.errors).toEqual([]);
    expect(parsed.finishMessage?.finishReason).toBe('stop');
    expect(parsed.chat.message?.content).toBe(longAnswer);
    expect(parsed.chat.message?.id).toBe(assistantMessageId(requestId));
    expect((await storedAnswer(chatId)).text).toBe(longAnswer);
  });
});

describe('shutdown', () => {
  it('ends open streams when an API process stops, and the client resumes on another one', async () => {
    const redis = new Redis(stack.configuration.redis.url);
    const subscriber = new Redis(stack.configuration.redis.url);
    const second = await startApi(
      { configuration: stack.configuration, pool: stack.pool, redis, subscriber, temporal: stack.temporal, logger: createLogger('silent') },
      0,
    );
    try {
      const chatId = `chat-${randomUUID()}`;
      const response = await fetch(`${second.url}/api/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth() },
        body: JSON.stringify({ id: chatId, messages: [userMessage(`msg-${randomUUID()}`, 'A long one before shutdown [[tps=30]]')] }),
      });
      let stopping: Promise<void> | undefined;
      const seen = await readSse(response, (event) => {
        if (!stopping && event.data.includes('"text-delta"')) stopping = second.stop();
      });
      await stopping;
      expect(seen.at(-1)?.data).not.toBe('[DONE]');
      expect(textOf(chunksOf(seen)).length).toBeLessThan(longAnswer.length);
      // Another API process picks the stream up from its log.
      expect(textOf(chunksOf(await readSse(await resume(chatId))))).toBe(longAnswer);
    } finally {
      redis.disconnect();
      subscriber.disconnect();
    }
  });
});

describe('keep-alive', () => {
  it('keeps a quiet stream open with SSE comments, which clients ignore', async () => {
    const chatId = `chat-${randomUUID()}`;
    const controller = new AbortController();
    const response = await post({ id: chatId, messages: [userMessage(`msg-${randomUUID()}`, 'Wait for me [[fault=stall:2]]')] }, controller.signal);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let raw = '';
    const deadline = Date.now() + stack.configuration.api.sseKeepAliveMs * 3;
    while (!raw.includes(': keep-alive') && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      raw += decoder.decode(value, { stream: true });
    }
    expect(raw).toContain(': keep-alive\n\n');
    await fetch(`${stack.apiUrl}/api/chat/${chatId}/stop`, { method: 'POST', headers: auth() });
    controller.abort();
    expect((await storedAnswer(chatId)).extra.finishReason).toBe('cancelled');
  });
});
