/**
 * The whole stack on a real three-master Redis Cluster (`REDIS_CLUSTER_NODES`): a turn's log, fence
 * and channels live on one shard, live fan-out runs over sharded pub/sub with one subscriber
 * connection per shard in the API process, a client resumes with `Last-Event-ID`, stop reaches the
 * hop over the turn's shard channel, and when every connection of the stack to the shard owning a
 * turn is killed mid-answer, the text the client saw still equals the stored answer.
 */
import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { longAnswer } from '../../src/scripted-llm/answers';
import { latestTurnKey, turnStreamKeys } from '../../src/stream/keys';
import { expectStoppedPartialAnswer, sendThenStop } from '../support/ai-client';
import { runTurn, storedAnswerText } from '../support/chat';
import { startRedisCluster, type ClusterNode, type RedisCluster } from '../support/redis-cluster';
import { chunksOf, readSse, textOf, userMessage, type SseEvent } from '../support/sse';
import { startTestStack, type TestStack } from '../support/stack';

let cluster: RedisCluster;
let stack: TestStack;
/** The test's own cluster connection, for assertions. */
let redis: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  stack = await startTestStack({ heartbeatTimeoutMs: 2000, environment: { REDIS_CLUSTER_NODES: cluster.addresses.join(',') } });
  redis = new Cluster(cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port })));
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  redis?.disconnect();
  await cluster?.stop();
});

const prefix = () => stack.configuration.redis.keyPrefix;
const auth = () => ({ authorization: `Bearer ${stack.apiKey}` });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ClientInfo {
  id: string;
  name: string;
}

/** This stack's connections (named `…@<prefix>`) to one node. */
async function stackConnections(node: ClusterNode): Promise<ClientInfo[]> {
  return String(await node.admin.client('LIST'))
    .split('\n')
    .filter(Boolean)
    .map((line) => Object.fromEntries(line.split(' ').map((field) => [field.slice(0, field.indexOf('=')), field.slice(field.indexOf('=') + 1)])) as unknown as ClientInfo)
    .filter((client) => client.name?.endsWith(`@${prefix()}`));
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

function post(body: unknown, signal?: AbortSignal) {
  return fetch(`${stack.apiUrl}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-ai-sdk-version': '7', ...auth() }, body: JSON.stringify(body), signal });
}

it("keeps a turn's keys and channels on one shard, streams the stored answer, and holds at most one subscriber connection per shard", async () => {
  const runs = await Promise.all(Array.from({ length: 6 }, (_, index) => runTurn(stack, `chat-${randomUUID()}`, `Hello cluster ${index} [[tps=100]]`)));
  for (const run of runs) {
    expect(run.chunks.filter((chunk) => chunk.type === 'text-delta').length).toBeGreaterThan(1);
    expect(run.text.length).toBeGreaterThan(0);
    expect(await storedAnswerText(stack, run.chatId)).toBe(run.text);

    const turnId = stack.turnId(run.chatId, run.requestId);
    const keys = turnStreamKeys(prefix(), turnId);
    const conversationKeys = turnStreamKeys(prefix(), `conversation:${stack.conversationKey(run.chatId)}`);
    for (const group of [Object.values(keys), Object.values(conversationKeys)]) {
      const slots = await Promise.all(group.map((key) => cluster.nodes[0]!.admin.call('CLUSTER', 'KEYSLOT', key)));
      expect(new Set(slots).size).toBe(1);
    }
    // The log is on the shard its hash tag names (read from that node directly, no redirection).
    expect(await (await cluster.nodeOf(keys.log)).admin.exists(keys.log)).toBe(1);
    expect(await (await cluster.nodeOf(conversationKeys.log)).admin.exists(conversationKeys.log)).toBe(1);
    expect(await redis.get(latestTurnKey(prefix(), stack.conversationKey(run.chatId)))).toBe(turnId);
  }
  // Six turns spread over the shards, and each shard holds at most one live-fan-out connection of
  // the API process (not one per stream).
  const perNode = await Promise.all(cluster.nodes.map(async (node) => (await stackConnections(node)).filter((client) => client.name.startsWith('ioredis-cluster(ssubscriber):durable-chat-api-subscriber')).length));
  expect(Math.max(...perNode)).toBe(1);
  expect(perNode.filter((count) => count === 1).length).toBeGreaterThanOrEqual(2);
  // The rate-limit counters live on the cluster too (their script loaded on every master).
  const counters = await Promise.all(cluster.nodes.map(async (node) => (await node.admin.keys(`${prefix()}ratelimit:*`)).length));
  expect(counters.reduce((sum, count) => sum + count, 0)).toBeGreaterThan(0);
});

it('continues exactly after Last-Event-ID: none twice, none missing', async () => {
  const chatId = `chat-${randomUUID()}`;
  const controller = new AbortController();
  const first: SseEvent[] = [];
  let deltas = 0;
  await readSse(await post({ id: chatId, messages: [userMessage(`msg-${randomUUID()}`, 'Long one [[tps=40]]')] }, controller.signal), (event) => {
    first.push(event);
    if (event.data.includes('"text-delta"') && ++deltas >= 8) controller.abort();
  }).catch((error: Error) => {
    if (error.name !== 'AbortError') throw error;
  });
  const lastId = first.filter((event) => event.id).at(-1)!.id!;
  const rest = await readSse(await fetch(`${stack.apiUrl}/api/chat/${chatId}/stream`, { headers: { ...auth(), 'x-ai-sdk-version': '7', 'last-event-id': lastId } }));
  const ids = [...first, ...rest].filter((event) => event.id).map((event) => event.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(chunksOf(rest)[0]?.type).not.toBe('start');
  expect(textOf(chunksOf(first)) + textOf(chunksOf(rest))).toBe(longAnswer);
  expect(await storedAnswerText(stack, chatId)).toBe(longAnswer);
});

it("the shard owning a turn drops every connection of the stack mid-answer: the client's text equals the stored answer", async () => {
  const chatId = `chat-${randomUUID()}`;
  const requestId = `msg-${randomUUID()}`;
  const turnId = stack.turnId(chatId, requestId);
  const keys = turnStreamKeys(prefix(), turnId);
  const owner = await cluster.nodeOf(keys.log);
  const arrivals: number[] = [];
  const running = (async () => {
    const response = await post({ id: chatId, messages: [userMessage(requestId, 'Something long please [[tps=30]]')] });
    const events = await readSse(response, (event) => arrivals.push(event.receivedAt));
    return textOf(chunksOf(events));
  })();

  await waitUntil('the turn streams', async () => (await redis.xlen(keys.log)) >= 8);
  // While the hop streams, the API follows the turn's shard channel and the worker its stop channel.
  expect(await owner.admin.call('PUBSUB', 'SHARDNUMSUB', keys.channel, keys.stop)).toEqual([keys.channel, 1, keys.stop, 1]);
  const killed: string[] = [];
  for (let round = 0; round < 3; round++) {
    for (const client of await stackConnections(owner)) {
      await owner.admin.client('KILL', 'ID', client.id).catch(() => undefined);
      killed.push(client.name);
    }
    await sleep(600);
  }
  const shown = await running;
  // The API's shard subscriber and command connection, and the worker's, were all cut at least once.
  expect(killed.some((name) => name.includes('ssubscriber):durable-chat-api-subscriber'))).toBe(true);
  expect(killed.some((name) => name.startsWith('durable-chat-worker@'))).toBe(true);
  expect(shown).toBe(longAnswer);
  expect(await storedAnswerText(stack, chatId)).toBe(shown);
  // Live delivery resumed after each cut (a stream left without its subscriber would wait for the
  // turn's end): no gap between two events came near the keep-alive watchdog's 2 s.
  const gaps = arrivals.slice(1).map((at, index) => at - arrivals[index]!);
  expect(Math.max(...gaps)).toBeLessThan(1500);
}, 60_000);

it("stops the hop over the turn's shard channel: the partial answer is kept, the model request aborted", async () => {
  const chatId = `chat-${randomUUID()}`;
  const stopped = await sendThenStop(stack, chatId, 'A long answer to stop [[tps=20]]', 40);
  expectStoppedPartialAnswer(stopped, 40, longAnswer);
  const { shown } = stopped;
  expect(await storedAnswerText(stack, chatId)).toBe(shown);
  const request = await stack.llm.waitForRequest((recorded) => recorded.lastUserText.startsWith('A long answer to stop') && recorded.outcome !== 'in-progress', 10_000);
  expect(request.outcome).toBe('aborted');
});
