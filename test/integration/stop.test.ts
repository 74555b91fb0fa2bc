/**
 * Stop, as the user feels it. The hop's heartbeat timeout here is a minute, so Temporal's own
 * cancellation would reach the hop only after tens of seconds (the heartbeat throttle is 80% of the
 * timeout): a stop that ends the model call and the stream at once can only have come over Redis.
 */
import { randomUUID } from 'node:crypto';
import { longAnswer } from '../../src/scripted-llm/answers';
import { INTERRUPTED_TOOL_CALL_TEXT } from '../../src/shared/answer';
import { sendThenStop } from '../support/ai-client';
import { createAgent, postChat, storedEvents } from '../support/chat';
import { chunksOf, readSse, userMessage } from '../support/sse';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ heartbeatTimeoutMs: 60_000 });
});

afterAll(async () => {
  await stack?.stop();
});

function stop(chatId: string) {
  return fetch(`${stack.apiUrl}/api/chat/${chatId}/stop`, { method: 'POST', headers: { authorization: `Bearer ${stack.apiKey}` } });
}

const words = (text: string) => text.split(/\s+/).filter(Boolean).length;

it('ends the model call and the stream at once, and keeps what the user saw', async () => {
  const chatId = `chat-${randomUUID()}`;
  const { result, shown } = await sendThenStop(stack, chatId, 'A long answer to stop [[tps=10]]', 30);
  expect(result.stopAnswers[0]).toMatchObject({ status: 200, body: { stopped: true } });
  expect(shown.length).toBeLessThan(longAnswer.length);
  // At 10 words a second, a stop carried by the heartbeat would let tens of words through.
  expect(words(shown) - words(shown.slice(0, result.stopAnswers[0]!.shownWhenStopped))).toBeLessThanOrEqual(3);
  expect(result.messages.at(-1)?.metadata).toMatchObject({ finishReason: 'cancelled' });
  const request = stack.llm.requests.find((recorded) => recorded.lastUserText.startsWith('A long answer to stop'))!;
  expect(request.outcome).toBe('aborted');
  const answer = (await storedEvents(stack, chatId)).find((event) => event.role === 'assistant')!;
  expect(answer.extra.finishReason).toBe('cancelled');
  expect((answer.content.parts ?? []).filter((part) => part.type === 'text').map((part) => part.text).join('')).toBe(shown);
});

it('ends a tool call whose input was streaming in the stream the way it is stored', async () => {
  const agentId = await createAgent(stack, { allowedTools: ['test_*'] });
  const chatId = `chat-${randomUUID()}`;
  const label = `a label long enough to stream in several slow pieces ${randomUUID()}`;
  const response = await postChat(stack, { id: chatId, agentId, messages: [userMessage(`msg-${randomUUID()}`, `use test_record_side_effect for ${label} [[tps=2]]`)] }, { headers: { 'x-ai-sdk-version': '7' } });
  let stopped: Promise<Response> | undefined;
  const events = await readSse(response, (event) => {
    if (!stopped && event.data.includes('"tool-input-delta"')) stopped = stop(chatId);
  });
  expect((await (await stopped!).json()).stopped).toBe(true);
  const chunks = chunksOf(events);
  const ended = chunks.find((chunk) => chunk.type === 'tool-input-error') as { toolCallId: string; errorText: string } | undefined;
  expect(ended?.errorText).toBe(INTERRUPTED_TOOL_CALL_TEXT);
  expect(chunks.some((chunk) => chunk.type === 'tool-input-available')).toBe(false);
  const answer = (await storedEvents(stack, chatId)).find((event) => event.role === 'assistant')!;
  expect(answer.content.parts).toContainEqual(expect.objectContaining({ type: 'tool-test_record_side_effect', toolCallId: ended!.toolCallId, state: 'output-error', errorText: INTERRUPTED_TOOL_CALL_TEXT }));
  // The call never ran.
  expect((await stack.pool.query('SELECT 1 FROM tool_side_effects WHERE label LIKE $1', [`%${label}%`])).rowCount).toBe(0);
});
