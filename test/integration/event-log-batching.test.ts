/**
 * The event log's adaptive batching on real Redis: deltas that arrive while a write is in flight go
 * out together (fewer Redis calls and live messages than events), yet every event keeps its own
 * entry id for Last-Event-ID, arrives live in order exactly once, and a stale attempt is still fenced.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { StreamEvent } from '../../src/shared/stream-events';
import { decodeLiveMessages, EventLog, SupersededAttemptError } from '../../src/stream/event-log';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
let redis: Redis;
let subscriber: Redis;
let log: EventLog;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
  subscriber = new Redis(REDIS_URL);
  log = new EventLog(redis, { keyPrefix: `dc-batch-${randomUUID().slice(0, 8)}:`, retentionSeconds: 60, maxEvents: 10_000 });
});

afterAll(() => {
  redis.disconnect();
  subscriber.disconnect();
});

const delta = (index: number): StreamEvent => ({ kind: 'text-delta', hop: 0, attempt: 1, delta: `word${index} ` });

it('sends a burst of deltas in fewer writes, each event with its own id, live in order exactly once', async () => {
  const turnId = `turn-${randomUUID()}`;
  const messages: string[] = [];
  subscriber.on('message', (_channel: string, message: string) => messages.push(message));
  await subscriber.subscribe(log.keys(turnId).channel);

  const publish = log.publisher(turnId, { name: 'hop:0', attempt: 1 });
  // A model faster than Redis: 500 deltas queued without waiting, then the hop's end awaited.
  for (let index = 0; index < 500; index++) await publish.enqueue(delta(index));
  const endId = await publish({ kind: 'hop-end', hop: 0, attempt: 1, finishReason: 'stop' });
  await publish.flush();
  await new Promise((resolve) => setTimeout(resolve, 200));

  const logged = await log.readAfter(turnId);
  expect(logged.map((entry) => entry.event)).toEqual([...Array.from({ length: 500 }, (_, index) => delta(index)), { kind: 'hop-end', hop: 0, attempt: 1, finishReason: 'stop' }]);
  expect(new Set(logged.map((entry) => entry.id)).size).toBe(501);
  expect(logged.at(-1)!.id).toBe(endId);

  const live = messages.flatMap(decodeLiveMessages);
  expect(live).toEqual(logged);
  // Batched: far fewer live messages (one per Redis call) than events.
  expect(messages.length).toBeLessThan(100);

  // Resuming after any event's id gives exactly the rest.
  const middle = logged[250]!.id;
  expect((await log.readAfter(turnId, middle)).map((entry) => entry.event)).toEqual(logged.slice(251).map((entry) => entry.event));
});

it('fences an older attempt off, for queued events too, and never writes a sequence twice', async () => {
  const turnId = `turn-${randomUUID()}`;
  const older = log.publisher(turnId, { name: 'hop:0', attempt: 1 });
  await older(delta(0));
  const newer = log.publisher(turnId, { name: 'hop:0', attempt: 2 });
  await newer({ kind: 'hop-restart', hop: 0, attempt: 2 });
  await older.enqueue(delta(1));
  await expect(older.flush()).rejects.toBeInstanceOf(SupersededAttemptError);
  await expect(older(delta(2))).rejects.toBeInstanceOf(SupersededAttemptError);

  // The same attempt's events written again (a retried activity on another worker) append nothing.
  const again = log.publisher(turnId, { name: 'hop:0', attempt: 2 });
  expect(await again({ kind: 'hop-restart', hop: 0, attempt: 2 })).toBeUndefined();
  expect((await log.readAfter(turnId)).map((entry) => entry.event)).toEqual([delta(0), { kind: 'hop-restart', hop: 0, attempt: 2 }]);
});
