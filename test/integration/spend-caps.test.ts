/**
 * Spend caps on the real stack: enforced by the workflow at hop boundaries from recorded usage, with
 * the reason streamed and stored; a warning part when a cap gets close. (This stack warns from the
 * first token spent, so the warning shows on any turn with a cap.)
 */
import { randomUUID } from 'node:crypto';
import { apiClient } from '../support/api-client';
import { createAgent, runTurn, storedEvents } from '../support/chat';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ environment: { SPEND_CAP_WARNING_RATIO: '0.000001' } });
});

afterAll(async () => {
  await stack?.stop();
});

async function setAgentCaps(agentId: string, spendCaps: Record<string, number>) {
  await stack.pool.query('UPDATE agents SET spend_caps = $2 WHERE id = $1', [agentId, JSON.stringify(spendCaps)]);
}

it("stops a tool turn at the agent's per-turn token cap: the round's tools never run, the reason is streamed and stored", async () => {
  const agentId = await createAgent(stack, { allowedTools: ['test_*'] });
  await setAgentCaps(agentId, { turnTokens: 1 });
  const chatId = `chat-${randomUUID()}`;
  const tag = randomUUID().slice(0, 8);
  const turn = await runTurn(stack, chatId, `use test_record_side_effect for ${tag} [[hops=3]]`, { extra: { agentId } });
  expect(turn.text).toContain("I stopped here: this turn's spend cap of 1 tokens is reached.");
  expect(turn.chunks.at(-1)).toMatchObject({ type: 'finish', messageMetadata: { finishReason: 'spend-cap-reached' } });
  expect((await stack.pool.query('SELECT 1 FROM tool_side_effects WHERE label LIKE $1', [`%${tag}%`])).rowCount).toBe(0);
  const answer = (await storedEvents(stack, chatId)).find((event) => event.role === 'assistant')!;
  expect(answer.extra.finishReason).toBe('spend-cap-reached');
  expect(JSON.stringify(answer.content.parts)).toContain('spend cap of 1 tokens');
});

it('warns once when a cap gets close, and the turn goes on', async () => {
  const agentId = await createAgent(stack, { allowedTools: ['test_*'] });
  await setAgentCaps(agentId, { turnTokens: 1_000_000 });
  const chatId = `chat-${randomUUID()}`;
  const turn = await runTurn(stack, chatId, `use test_record_side_effect for ${randomUUID()} [[hops=2]]`, { extra: { agentId } });
  const warnings = turn.chunks.filter((chunk) => chunk.type === 'data-warning');
  expect(warnings).toHaveLength(1);
  expect(JSON.stringify(warnings[0])).toContain("Heads-up: this turn's spend is at 0% of its cap of 1000000 tokens.");
  expect(turn.chunks.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  const answer = (await storedEvents(stack, chatId)).find((event) => event.role === 'assistant')!;
  expect(answer.content.parts).toContainEqual({ type: 'data-warning', data: { hop: 0, text: expect.stringContaining('Heads-up') } });
});

it("stops a workspace's turns once its daily dollar cap is spent, without calling the model", async () => {
  const workspace = await stack.addWorkspace();
  const api = apiClient(stack.apiUrl, workspace.apiKey);
  const set = await api.patch('/workspace', { spendCaps: { dailyUsd: 0.000001 } });
  expect(set.status).toBe(200);
  expect(set.body.workspace).toMatchObject({ spendCaps: { dailyUsd: 0.000001 }, spentToday: { usd: 0, tokens: 0 } });

  const first = await runTurn(stack, `chat-${randomUUID()}`, 'A first question that costs a little', { apiKey: workspace.apiKey });
  expect(first.chunks.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  const spent = (await api.get('/workspace')).body.workspace.spentToday;
  expect(spent.usd).toBeGreaterThan(0.000001);

  const marker = randomUUID();
  const second = await runTurn(stack, `chat-${randomUUID()}`, `A second question ${marker}`, { apiKey: workspace.apiKey });
  expect(second.text).toContain("this workspace's daily spend cap");
  expect(second.chunks.at(-1)).toMatchObject({ type: 'finish', messageMetadata: { finishReason: 'spend-cap-reached' } });
  expect(stack.llm.requests.filter((request) => JSON.stringify(request.messages).includes(marker))).toHaveLength(0);
});

it('lets only admins set caps and names a bad field', async () => {
  const api = apiClient(stack.apiUrl, stack.apiKey);
  const bad = await api.patch('/workspace', { spendCaps: { dailyUsd: -1 } });
  expect(bad.status).toBe(400);
  expect(bad.body.error.field).toContain('spendCaps');
  const unknown = await api.patch('/workspace', { spendCaps: { hourlyUsd: 1 } });
  expect(unknown.status).toBe(400);
});
