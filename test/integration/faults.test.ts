/**
 * Faults of the parts under a turn, injected for real while turns stream: every Redis connection of
 * the API and the worker killed again and again, every Postgres connection of the API and the worker
 * terminated again and again. Each turn completes, the processes live on, and the text each client
 * saw equals the stored answer. (The Temporal server's restart is test/integration/server-restart.test.ts.)
 *
 * Only this stack's connections are hit: they carry the stack's key prefix in their names.
 */
import { randomUUID } from 'node:crypto';
import { longAnswer } from '../../src/scripted-llm/answers';
import { assistantText, runAiClient } from '../support/ai-client';
import { createAgent, storedAnswerText } from '../support/chat';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ heartbeatTimeoutMs: 2000 });
});

afterAll(async () => {
  await stack?.stop();
});

/** Runs `fault` every `everyMs` until `until` settles; returns how many times it ran. */
async function repeatedly(fault: () => Promise<number>, everyMs: number, until: Promise<unknown>): Promise<{ rounds: number; hits: number }> {
  let done = false;
  void until.finally(() => (done = true)).catch(() => undefined);
  let rounds = 0;
  let hits = 0;
  while (!done) {
    hits += await fault();
    rounds += 1;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return { rounds, hits };
}

/** Kills every Redis connection of this stack's API and worker (named `…@<prefix>`). */
async function killRedisConnections(): Promise<number> {
  const suffix = `@${stack.configuration.redis.keyPrefix}`;
  const clients = String(await stack.redis.client('LIST'))
    .split('\n')
    .map((line) => Object.fromEntries(line.split(' ').map((field) => field.split('=') as [string, string])))
    .filter((client) => client.name?.endsWith(suffix));
  for (const client of clients) await stack.redis.client('KILL', 'ID', client.id!).catch(() => undefined);
  return clients.length;
}

/** Terminates every Postgres connection of this stack's API and worker (their application name). */
async function terminatePostgresConnections(): Promise<number> {
  const result = await stack.pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE $1 AND pid <> pg_backend_pid()', [
    `%@${stack.configuration.redis.keyPrefix}`,
  ]);
  return result.rowCount ?? 0;
}

function client(chatId: string, text: string, body: Record<string, unknown> = {}) {
  return runAiClient({ apiUrl: stack.apiUrl, apiKey: stack.apiKey, chatId, headers: { 'x-ai-sdk-version': '7' }, body, steps: [{ action: 'send', text }] });
}

it('Redis connections killed again and again mid-turn: every client shows the whole stored answer', async () => {
  const chats = Array.from({ length: 3 }, () => `chat-${randomUUID()}`);
  const clients = Promise.all(chats.map((chatId, index) => client(chatId, `Something long ${index} [[tps=60]]`)));
  const { hits } = await repeatedly(killRedisConnections, 300, clients);
  expect(hits).toBeGreaterThan(0);
  const results = await clients;
  for (const [index, result] of results.entries()) {
    expect(result.error).toBeNull();
    const shown = assistantText(result.messages.at(-1));
    expect(shown).toBe(longAnswer);
    expect(await storedAnswerText(stack, chats[index]!)).toBe(shown);
  }
}, 120_000);

it('Postgres connections terminated again and again mid-turn: the turns complete and nothing is lost', async () => {
  const agentId = await createAgent(stack, { allowedTools: ['test_*'] });
  const chats = [`chat-${randomUUID()}`, `chat-${randomUUID()}`];
  const clients = Promise.all([
    client(chats[0]!, 'Something long please [[tps=60]]'),
    client(chats[1]!, `use test_record_side_effect for ${randomUUID()} [[hops=2 tps=30]]`, { agentId }),
  ]);
  const { hits } = await repeatedly(terminatePostgresConnections, 400, clients);
  expect(hits).toBeGreaterThan(0);
  const results = await clients;
  for (const [index, result] of results.entries()) {
    expect(result.error).toBeNull();
    const shown = assistantText(result.messages.at(-1));
    expect(shown.length).toBeGreaterThan(0);
    expect(await storedAnswerText(stack, chats[index]!)).toBe(shown);
  }
  // The API lives on.
  expect((await fetch(`${stack.apiUrl}/healthz`)).status).toBe(200);
}, 120_000);
