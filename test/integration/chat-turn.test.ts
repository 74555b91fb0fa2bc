/**
 * One streamed chat turn end to end on the real stack: the API starts the workflow, the activity
 * streams from the scripted OpenAI-compatible server through the `openai` client, deltas travel
 * through Redis, and the SSE response carries them token by token; both messages land in Postgres.
 */
import { answerRequests } from '../support/chat';
import { randomUUID } from 'node:crypto';
import { longAnswer } from '../../src/scripted-llm/answers';
import { assistantMessageId } from '../../src/shared/ids';
import { CONVERSATION_ID, TURN_STATUS } from '../../src/shared/search-attributes';
import { assistantText, runAiClient } from '../support/ai-client';
import { chunksOf, readSse, textOf, userMessage } from '../support/sse';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

function post(body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${stack.apiUrl}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.apiKey}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const expectedLongAnswer = longAnswer;

describe('a chat turn', () => {
  it('streams the answer token by token as a UI message stream and persists both messages', async () => {
    const chatId = `chat-${randomUUID()}`;
    const requestId = `msg-${randomUUID()}`;
    const response = await post({ id: chatId, messages: [userMessage(requestId, 'Tell me something long [[tps=100]]')], trigger: 'submit-message' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');

    const events = await readSse(response);
    expect(events.at(-1)?.data).toBe('[DONE]');
    const chunks = chunksOf(events);
    expect(chunks[0]).toEqual({ type: 'start', messageId: assistantMessageId(requestId) });
    expect(chunks.map((chunk) => chunk.type)).toEqual(expect.arrayContaining(['start-step', 'text-start', 'text-delta', 'text-end', 'finish-step', 'finish']));
    expect(chunks.at(-1)).toMatchObject({ type: 'finish', messageMetadata: { finishReason: 'stop' } });

    const deltas = events.filter((event) => event.data.includes('"text-delta"'));
    expect(deltas.length).toBeGreaterThan(20);
    // Streamed over time at the scripted rate, not in one burst.
    expect(deltas.at(-1)!.receivedAt - deltas[0]!.receivedAt).toBeGreaterThan(100);
    expect(textOf(chunks)).toBe(expectedLongAnswer);
    // Every event after `start` carries its Redis Stream entry id for Last-Event-ID resumes.
    expect(events.filter((event) => event.id).length).toBeGreaterThan(deltas.length - 1);

    const rows = await stack.pool.query('SELECT seq, role, message_id, content, extra FROM chat_events WHERE conversation_id = $1 ORDER BY seq', [stack.conversationKey(chatId)]);
    expect(rows.rows.map((row) => [row.seq, row.role, row.message_id])).toEqual([
      [1, 'user', requestId],
      [2, 'assistant', assistantMessageId(requestId)],
    ]);
    expect(rows.rows[1].content.parts).toEqual([{ type: 'step-start' }, { type: 'text', text: expectedLongAnswer }]);
    expect(rows.rows[1].extra.finishReason).toBe('stop');

    // Hop −2, the memory extraction after the answer, may still be running: only the answer's hops.
    const usage = await stack.pool.query('SELECT hop, model, output_tokens, time_to_first_token_ms FROM llm_usage WHERE turn_id = $1 AND hop >= 0', [stack.turnId(chatId, requestId)]);
    expect(usage.rows).toHaveLength(1);
    expect(usage.rows[0].output_tokens).toBe(deltas.length);
  });

  it('is a workflow operators can find by conversation in Temporal', async () => {
    const chatId = `chat-${randomUUID()}`;
    const requestId = `msg-${randomUUID()}`;
    await readSse(await post({ id: chatId, messages: [userMessage(requestId, 'Hello there, durable world')] }));
    const handle = stack.temporal.workflow.getHandle(stack.turnId(chatId, requestId));
    const result = await handle.result();
    expect(result).toMatchObject({ text: 'You said: Hello there, durable world', finishReason: 'stop', hops: 1 });
    const description = await handle.describe();
    expect(description.status.name).toBe('COMPLETED');
    expect(description.typedSearchAttributes.get(CONVERSATION_ID)).toBe(chatId);
    expect(description.typedSearchAttributes.get(TURN_STATUS)).toBe('completed');
    // Visibility is eventually consistent: poll briefly.
    let listed: string[] = [];
    for (let attempt = 0; attempt < 50 && listed.length === 0; attempt++) {
      listed = [];
      for await (const execution of stack.temporal.workflow.list({ query: `ConversationId = "${chatId}"` })) listed.push(execution.workflowId);
      if (listed.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(listed).toEqual([stack.turnId(chatId, requestId)]);
  });

  it('works with the ai package chat engine that useChat runs', async () => {
    const chatId = `chat-${randomUUID()}`;
    const result = await runAiClient({ apiUrl: stack.apiUrl, apiKey: stack.apiKey, chatId, steps: [{ action: 'send', text: 'Echo this back please' }] });
    expect(result.error).toBeNull();
    expect(result.status).toBe('ready');
    expect(result.messages.map((message) => message.role)).toEqual(['user', 'assistant']);
    expect(assistantText(result.messages[1])).toBe('You said: Echo this back please');
    const stored = await stack.pool.query("SELECT message_id FROM chat_events WHERE conversation_id = $1 AND role = 'assistant'", [stack.conversationKey(chatId)]);
    expect(result.messages[1]!.id).toBe(stored.rows[0].message_id);
  });

  it('answers a duplicate request with the same answer without calling the model again', async () => {
    const chatId = `chat-${randomUUID()}`;
    const requestId = `msg-${randomUUID()}`;
    const body = { id: chatId, messages: [userMessage(requestId, `Only once ${requestId}`)] };
    const first = textOf(chunksOf(await readSse(await post(body))));
    const second = textOf(chunksOf(await readSse(await post(body))));
    expect(second).toBe(first);
    // The memory extraction and the title after the turn quote the message too: they are not a second answer.
    expect(answerRequests(stack.llm, requestId)).toHaveLength(1);
    const rows = await stack.pool.query('SELECT count(*)::int AS n FROM chat_events WHERE conversation_id = $1', [stack.conversationKey(chatId)]);
    expect(rows.rows[0].n).toBe(2);
  });
});

describe('bad requests', () => {
  async function expectRejected(response: Response, status: number, code: string) {
    expect(response.status).toBe(status);
    const body = await response.json();
    expect(body.error.code).toBe(code);
    expect(typeof body.error.message).toBe('string');
  }

  async function conversationExists(chatId: string) {
    const rows = await stack.pool.query('SELECT 1 FROM conversations WHERE chat_id = $1', [chatId]);
    return rows.rowCount === 1;
  }

  it('rejects a body that is not JSON', async () => {
    await expectRejected(await post('{"id": "x", "messages": ['), 400, 'invalid_json');
  });

  it('rejects missing messages and starts nothing', async () => {
    const chatId = `chat-${randomUUID()}`;
    await expectRejected(await post({ id: chatId }), 400, 'invalid_request');
    expect(await conversationExists(chatId)).toBe(false);
  });

  it('rejects a last message that is not from the user', async () => {
    const chatId = `chat-${randomUUID()}`;
    const response = await post({ id: chatId, messages: [{ id: 'a1', role: 'assistant', parts: [{ type: 'text', text: 'hi' }] }] });
    await expectRejected(response, 400, 'invalid_request');
    expect(await conversationExists(chatId)).toBe(false);
  });

  it('rejects an oversize body', async () => {
    const chatId = `chat-${randomUUID()}`;
    const huge = 'x'.repeat(stack.configuration.api.maxRequestBytes + 10);
    await expectRejected(await post({ id: chatId, messages: [userMessage('m1', huge)] }), 413, 'body_too_large');
    expect(await conversationExists(chatId)).toBe(false);
  });

  it('rejects a request without a valid API key', async () => {
    await expectRejected(await post({ id: 'c', messages: [userMessage('m', 'hi')] }, { authorization: '' }), 401, 'unauthorized');
    await expectRejected(await post({ id: 'c', messages: [userMessage('m', 'hi')] }, { authorization: 'Bearer nope' }), 401, 'unauthorized');
  });

  it("gives another workspace using the same chat id a conversation of its own, which never sees the first one's messages", async () => {
    const chatId = `chat-${randomUUID()}`;
    await readSse(await post({ id: chatId, messages: [userMessage(`m-${randomUUID()}`, 'Mine, not yours')] }));
    const other = await stack.addWorkspace();
    const response = await post({ id: chatId, messages: [userMessage(`m-${randomUUID()}`, 'Let me in')] }, { authorization: `Bearer ${other.apiKey}` });
    expect(response.status).toBe(200);
    expect(textOf(chunksOf(await readSse(response)))).toBe('You said: Let me in');
    const theirs = await stack.pool.query('SELECT content FROM chat_events WHERE conversation_id = $1 ORDER BY seq', [stack.conversationKey(chatId, other.workspaceId)]);
    expect(JSON.stringify(theirs.rows)).not.toContain('Mine, not yours');
    const mine = await stack.pool.query('SELECT content FROM chat_events WHERE conversation_id = $1 ORDER BY seq', [stack.conversationKey(chatId)]);
    expect(JSON.stringify(mine.rows)).not.toContain('Let me in');
  });
});
