/**
 * A Temporal dev server with a persistent SQLite file restarts mid-turn: once it is back on the same
 * port with the same file, the turn completes with the full answer, the answer is persisted, and the
 * stream replays it. The stream open during the restart may be cut or may continue.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { chatTurn } from '../../src/workflows';
import { createLogger } from '../../src/logger';
import { longAnswer } from '../../src/scripted-llm/answers';
import { freePort, startDevServer, type TemporalServer } from '../../src/stack/temporal-server';
import { chunksOf, readSse, textOf, userMessage, type SseEvent } from '../support/sse';
import { startTestStack, type TestStack } from '../support/stack';

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'warn', 'server-restart-test');
let directory: string;
let databaseFile: string;
let port: number;
let server: TemporalServer | undefined;
let stack: TestStack | undefined;

const startServer = () => startDevServer({ databaseFile, port, headless: true, logger });

beforeAll(async () => {
  directory = mkdtempSync(path.join(os.tmpdir(), 'durable-chat-restart-'));
  databaseFile = path.join(directory, 'temporal.sqlite');
  port = await freePort();
  server = await startServer();
  stack = await startTestStack({ environment: { TEMPORAL_ADDRESS: server.address } });
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  await server?.stop();
  if (directory) rmSync(directory, { recursive: true, force: true });
}, 30_000);

async function storedAnswer(chatId: string) {
  for (let attempt = 0; attempt < 100; attempt++) {
    const rows = await stack!.pool.query("SELECT content FROM chat_events WHERE conversation_id = $1 AND role = 'assistant'", [stack!.conversationKey(chatId)]);
    if (rows.rows[0]) return (rows.rows[0].content.parts as Array<{ text: string }>).map((part) => part.text).join('');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no assistant message stored for ${chatId}`);
}

it('completes a turn whose Temporal server restarted mid-answer', async () => {
  const running = stack!;
  expect(running.configuration.temporal.address).toBe(`127.0.0.1:${port}`);
  const auth = { authorization: `Bearer ${running.apiKey}` };
  const chatId = `chat-${randomUUID()}`;
  const requestId = `msg-${randomUUID()}`;
  const response = await fetch(`${running.apiUrl}/api/chat`, {
    method: 'POST',
    // An ai 7 client: a hop retried while the server was away is reset, not shown twice.
    headers: { 'content-type': 'application/json', 'x-ai-sdk-version': '7', ...auth },
    body: JSON.stringify({ id: chatId, messages: [userMessage(requestId, 'Something long please [[tps=20]]')] }),
  });
  expect(response.status).toBe(200);

  let deltas = 0;
  let reachedDeltas!: () => void;
  const fewDeltas = new Promise<void>((resolve) => (reachedDeltas = resolve));
  const streamed: SseEvent[] = [];
  const reading = readSse(response, (event) => {
    streamed.push(event);
    if (event.data.includes('"text-delta"') && ++deltas === 5) reachedDeltas();
  }).then(
    () => 'ended' as const,
    (error: Error) => `cut: ${error.message}`,
  );
  await fewDeltas;

  await server!.stop();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const restartedAt = performance.now();
  server = await startServer();
  const serverBackMs = performance.now() - restartedAt;

  const result = await running.temporal.workflow.getHandle<typeof chatTurn>(running.turnId(chatId, requestId)).result();
  const completedMs = performance.now() - restartedAt;
  logger.info({ serverBackMs: Math.round(serverBackMs), restartToCompletionMs: Math.round(completedMs), stream: await reading, lastEvent: streamed.at(-1)?.data, chunkTypes: [...new Set(chunksOf(streamed.filter((e) => e.data !== '[DONE]')).map((c) => c.type))] }, 'turn after restart');

  expect(result.text).toBe(longAnswer);
  expect(result.finishReason).toBe('stop');
  expect(await storedAnswer(chatId)).toBe(longAnswer);
  const stream = await reading;
  if (stream === 'ended' && streamed.at(-1)?.data === '[DONE]') expect(textOf(chunksOf(streamed))).toBe(longAnswer);

  const replay = await fetch(`${running.apiUrl}/api/chat/${chatId}/stream`, { headers: { ...auth, 'x-ai-sdk-version': '7' } });
  expect(replay.status).toBe(200);
  expect(textOf(chunksOf(await readSse(replay)))).toBe(longAnswer);
}, 90_000);

it('answers 503 with Retry-After while Temporal is away, leaves nothing behind, and takes the same request once it is back', async () => {
  const running = stack!;
  const auth = { authorization: `Bearer ${running.apiKey}`, 'content-type': 'application/json' };
  const chatId = `outage-${randomUUID()}`;
  const requestId = `msg-${randomUUID()}`;
  const body = JSON.stringify({ id: chatId, messages: [userMessage(requestId, 'Are you there?')] });
  // A chat whose latest turn is known, to stop while the server is away.
  const earlier = `outage-earlier-${randomUUID()}`;
  const first = await fetch(`${running.apiUrl}/api/chat`, { method: 'POST', headers: auth, body: JSON.stringify({ id: earlier, messages: [userMessage(`msg-${randomUUID()}`, 'hello')] }) });
  await readSse(first);

  await server!.stop();
  try {
    const timings: Record<string, number> = {};
    const timed = async <T>(name: string, call: () => Promise<T>) => {
      const started = performance.now();
      const result = await call();
      timings[name] = Math.round(performance.now() - started);
      return result;
    };
    const refused = await timed('post', () => fetch(`${running.apiUrl}/api/chat`, { method: 'POST', headers: auth, body }));
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await refused.json()).error.code).toBe('temporal_unavailable');
    const rows = await running.pool.query('SELECT count(*)::int AS n FROM conversations WHERE id = $1', [running.conversationKey(chatId)]);
    expect(rows.rows[0].n).toBe(0);

    const stop = await timed('stop', () => fetch(`${running.apiUrl}/api/chat/${earlier}/stop`, { method: 'POST', headers: auth }));
    expect(stop.status).toBe(503);
    expect(stop.headers.get('retry-after')).not.toBeNull();
    const ready = await timed('readyz', () => fetch(`${running.apiUrl}/readyz`));
    expect(ready.status).toBe(503);
    const checks = await ready.json();
    expect(checks).toMatchObject({ status: 'not-ready', redis: 'ok', postgres: 'ok' });
    expect(checks.temporal).not.toBe('ok');
    logger.info({ timingsMs: timings }, 'answers while Temporal is away');
  } finally {
    server = await startServer();
  }

  // The client retries the very same request: it runs once, as if the outage never happened.
  const retried = await fetch(`${running.apiUrl}/api/chat`, { method: 'POST', headers: auth, body });
  expect(retried.status).toBe(200);
  const result = await running.temporal.workflow.getHandle<typeof chatTurn>(running.turnId(chatId, requestId)).result();
  expect(textOf(chunksOf(await readSse(retried)))).toBe(result.text);
  expect(await storedAnswer(chatId)).toBe(result.text);
}, 120_000);
