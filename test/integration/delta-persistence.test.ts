/**
 * Optional batched delta persistence: with PERSIST_DELTAS on, the answer in progress is readable in
 * Postgres while it streams, and the batches are compacted into the final message at the end.
 */
import { randomUUID } from 'node:crypto';
import { longAnswer } from '../../src/scripted-llm/answers';
import { chunksOf, readSse, textOf, userMessage } from '../support/sse';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ environment: { PERSIST_DELTAS: 'true', PERSIST_DELTAS_INTERVAL_MS: '200', PERSIST_DELTAS_MIN_CHARS: '1024' } });
});

afterAll(async () => {
  await stack?.stop();
});

it('writes batches while streaming and compacts them into the final message', async () => {
  const chatId = `chat-${randomUUID()}`;
  const response = await fetch(`${stack.apiUrl}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.apiKey}` },
    body: JSON.stringify({ id: chatId, messages: [userMessage(`msg-${randomUUID()}`, 'Something long [[tps=60]]')] }),
  });
  let batchesSeenWhileStreaming = 0;
  let partialTextInDatabase = '';
  const events = await readSse(response, (event) => {
    if (!event.data.includes('"text-delta"') || batchesSeenWhileStreaming > 0) return;
    void stack.pool
      .query("SELECT content FROM chat_events WHERE conversation_id = $1 AND type = 'delta' ORDER BY seq", [stack.conversationKey(chatId)])
      .then((result) => {
        if (result.rows.length > batchesSeenWhileStreaming) {
          batchesSeenWhileStreaming = result.rows.length;
          partialTextInDatabase = result.rows.map((row) => row.content.text).join('');
        }
      });
  });
  expect(textOf(chunksOf(events))).toBe(longAnswer);
  expect(batchesSeenWhileStreaming).toBeGreaterThan(0);
  expect(longAnswer.startsWith(partialTextInDatabase)).toBe(true);

  const remaining = await stack.pool.query("SELECT count(*)::int AS n FROM chat_events WHERE conversation_id = $1 AND type = 'delta'", [stack.conversationKey(chatId)]);
  expect(remaining.rows[0].n).toBe(0);
  const answer = await stack.pool.query("SELECT content FROM chat_events WHERE conversation_id = $1 AND role = 'assistant' AND type = 'message'", [stack.conversationKey(chatId)]);
  expect(JSON.stringify(answer.rows[0].content)).toContain('Durable execution means');
});
