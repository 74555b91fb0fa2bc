/**
 * Usage reporting on the real stack: turns streamed through `/api/chat` leave priced `llm_usage`
 * rows, and `GET /api/usage` reports them per agent, model and day to the caller's workspace only.
 */
import { randomUUID } from 'node:crypto';
import { UsageRepository } from '../../src/db/usage-repository';
import { chunksOf, readSse, userMessage } from '../support/sse';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

/** The made-up list price of both scripted models, seeded by the model-pricing migration. */
const SCRIPTED_INPUT_USD_PER_MILLION = 0.1;
const SCRIPTED_OUTPUT_USD_PER_MILLION = 0.4;

function scriptedCost(inputTokens: number, outputTokens: number): number {
  return (inputTokens * SCRIPTED_INPUT_USD_PER_MILLION + outputTokens * SCRIPTED_OUTPUT_USD_PER_MILLION) / 1_000_000;
}

function getUsage(apiKey: string, query = '') {
  return fetch(`${stack.apiUrl}/api/usage${query}`, { headers: { authorization: `Bearer ${apiKey}` } });
}

async function createAgent(workspaceId: string, fields: { model: string; allowedTools: string[] }) {
  const id = `agent-${randomUUID().slice(0, 8)}`;
  await stack.pool.query('INSERT INTO agents (id, workspace_id, name, model, allowed_tools) VALUES ($1, $2, $3, $4, $5)', [
    id,
    workspaceId,
    id,
    fields.model,
    fields.allowedTools,
  ]);
  return id;
}

/** Runs one turn through `POST /api/chat` and returns its id and the usage of its `finish` chunk. */
async function turn(workspace: { workspaceId: string; apiKey: string }, text: string, extra: Record<string, unknown> = {}) {
  const apiKey = workspace.apiKey;
  const chatId = `chat-${randomUUID()}`;
  const requestId = `msg-${randomUUID()}`;
  const response = await fetch(`${stack.apiUrl}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ id: chatId, messages: [userMessage(requestId, text)], ...extra }),
  });
  expect(response.status).toBe(200);
  const finish = chunksOf(await readSse(response)).at(-1);
  expect(finish).toMatchObject({ type: 'finish', messageMetadata: { finishReason: 'stop' } });
  const { usage } = finish!.messageMetadata as { usage: { inputTokens: number; outputTokens: number } };
  const turnId = stack.turnId(chatId, requestId, workspace.workspaceId);
  // The memory extraction (usage hop −2) runs after the stream has ended: wait for the whole turn.
  await stack.temporal.workflow.getHandle(turnId).result();
  return { turnId, usage };
}

interface UsageRowOfTurn {
  hop: number;
  model: string;
  agent_id: string;
  input_tokens: number;
  output_tokens: number;
  cost_usd: string;
  latency_ms: number;
  time_to_first_token_ms: number | null;
  byok: boolean;
  provider: string;
  estimated: boolean;
  outcome: string;
}

async function usageRowsOf(turnId: string): Promise<UsageRowOfTurn[]> {
  return new UsageRepository(stack.pool).listForTurn(turnId);
}

function sum(rows: UsageRowOfTurn[], pick: (row: UsageRowOfTurn) => number) {
  return rows.reduce((total, row) => total + pick(row), 0);
}

describe('usage of streamed turns', () => {
  let workspace: { workspaceId: string; apiKey: string };
  let toolAgentId: string;
  let echoTurn: { turnId: string; usage: { inputTokens: number; outputTokens: number } };
  let toolTurn: typeof echoTurn;

  beforeAll(async () => {
    workspace = await stack.addWorkspace();
    toolAgentId = await createAgent(workspace.workspaceId, { model: 'scripted-mini', allowedTools: ['test_*'] });
    echoTurn = await turn(workspace, 'Please repeat this sentence about quarterly usage reports');
    toolTurn = await turn(workspace, `use test_record_side_effect for ${randomUUID()} [[hops=2]]`, { agentId: toolAgentId });
  });

  it('records a priced row per hop whose totals match the usage of the finish chunk', async () => {
    // Hop −2 is the memory extraction after the answer, by the agent's model.
    const echoRows = await usageRowsOf(echoTurn.turnId);
    expect(echoRows.map((row) => [row.hop, row.model, row.agent_id])).toEqual([
      [-2, 'scripted-1', `${workspace.workspaceId}-assistant`],
      [0, 'scripted-1', `${workspace.workspaceId}-assistant`],
    ]);
    const toolRows = await usageRowsOf(toolTurn.turnId);
    expect(toolRows.map((row) => [row.hop, row.model, row.agent_id])).toEqual([
      [-2, 'scripted-mini', toolAgentId],
      [0, 'scripted-mini', toolAgentId],
      [1, 'scripted-mini', toolAgentId],
      [2, 'scripted-mini', toolAgentId],
    ]);

    for (const [finished, rows] of [[echoTurn, echoRows], [toolTurn, toolRows]] as const) {
      // The finish chunk reports the answer's hops; the extraction comes after it.
      const answerRows = rows.filter((row) => row.hop >= 0);
      expect(finished.usage).toEqual({ inputTokens: sum(answerRows, (row) => row.input_tokens), outputTokens: sum(answerRows, (row) => row.output_tokens) });
      for (const row of rows) {
        expect(row.input_tokens).toBeGreaterThan(0);
        expect(row.output_tokens).toBeGreaterThan(0);
        expect(Number(row.cost_usd)).toBeGreaterThan(0);
        expect(Number(row.cost_usd)).toBeCloseTo(scriptedCost(row.input_tokens, row.output_tokens), 12);
        expect(row.byok).toBe(false);
        expect(row).toMatchObject({ provider: 'scripted', estimated: false, outcome: 'completed' });
      }
    }
  });

  it('reports tokens and cost per agent and model to the workspace, by default', async () => {
    const response = await getUsage(workspace.apiKey);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ workspaceId: workspace.workspaceId, from: null, to: null, groupBy: ['agent', 'model'] });

    const echoRows = await usageRowsOf(echoTurn.turnId);
    const toolRows = await usageRowsOf(toolTurn.turnId);
    const expected = [
      { agentId: `${workspace.workspaceId}-assistant`, model: 'scripted-1', turns: 1, rows: echoRows },
      { agentId: toolAgentId, model: 'scripted-mini', turns: 1, rows: toolRows },
    ].sort((left, right) => left.agentId.localeCompare(right.agentId));
    expect(body.rows).toHaveLength(2);
    for (const [index, group] of expected.entries()) {
      const row = body.rows[index];
      const inputTokens = sum(group.rows, (usageRow) => usageRow.input_tokens);
      const outputTokens = sum(group.rows, (usageRow) => usageRow.output_tokens);
      expect(row).toMatchObject({ agentId: group.agentId, model: group.model, turns: 1, hops: group.rows.length, inputTokens, outputTokens, byokHops: 0 });
      expect(row).not.toHaveProperty('day');
      expect(row.costUsd).toBeGreaterThan(0);
      expect(row.costUsd).toBeCloseTo(scriptedCost(inputTokens, outputTokens), 12);
      // Rounded to 0.1 ms by Postgres (half away from zero): within half a step of the exact mean.
      expect(Math.abs(row.avgLatencyMs - sum(group.rows, (usageRow) => usageRow.latency_ms) / group.rows.length)).toBeLessThanOrEqual(0.05 + 1e-9);
      expect(typeof row.avgTimeToFirstTokenMs).toBe('number');
    }
  });

  it('groups by day and model, and bounds the range with from and to', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const byDay = await (await getUsage(workspace.apiKey, '?groupBy=day,model')).json();
    expect(byDay.groupBy).toEqual(['day', 'model']);
    expect(byDay.rows.map((row: { day: string; model: string; turns: number; hops: number }) => [row.day, row.model, row.turns, row.hops])).toEqual([
      [today, 'scripted-1', 1, 2],
      [today, 'scripted-mini', 1, 4],
    ]);
    expect(byDay.rows[0]).not.toHaveProperty('agentId');

    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const hourAhead = new Date(Date.now() + 3_600_000).toISOString();
    const inRange = await (await getUsage(workspace.apiKey, `?groupBy=model&from=${hourAgo}&to=${hourAhead}`)).json();
    expect(inRange).toMatchObject({ from: hourAgo, to: hourAhead, groupBy: ['model'] });
    expect(inRange.rows.map((row: { model: string }) => row.model)).toEqual(['scripted-1', 'scripted-mini']);
    const later = await (await getUsage(workspace.apiKey, `?from=${hourAhead}`)).json();
    expect(later.rows).toEqual([]);
    const earlier = await (await getUsage(workspace.apiKey, `?to=${hourAgo.slice(0, 10)}`)).json();
    expect(earlier.rows).toEqual([]);
  });

  it("never shows a workspace's usage to another workspace", async () => {
    const stranger = await stack.addWorkspace();
    const response = await getUsage(stranger.apiKey, '?groupBy=agent,model,day');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ workspaceId: stranger.workspaceId, rows: [] });
  });
});

describe('hop pricing', () => {
  it('prices an unknown model at 0, prices every attempt of a retried hop, and records an attempt once', async () => {
    const { workspaceId } = await stack.addWorkspace();
    const usage = new UsageRepository(stack.pool);
    const hop = { conversationId: `chat-${randomUUID()}`, workspaceId, latencyMs: 10, byok: true, provider: 'openai', estimated: false, outcome: 'completed' as const };
    const unpricedTurn = `turn-${randomUUID()}`;
    await usage.recordAttempt({ ...hop, turnId: unpricedTurn, hop: 0, attempt: 1, model: 'no-such-model', inputTokens: 1000, outputTokens: 1000 });
    expect(Number((await usage.listForTurn(unpricedTurn))[0].cost_usd)).toBe(0);

    const pricedTurn = `turn-${randomUUID()}`;
    await usage.recordAttempt({ ...hop, turnId: pricedTurn, hop: 0, attempt: 1, model: 'gpt-4o', inputTokens: 1000, outputTokens: 10, outcome: 'failed', estimated: true });
    await usage.recordAttempt({ ...hop, turnId: pricedTurn, hop: 0, attempt: 2, model: 'gpt-4o', inputTokens: 2000, outputTokens: 500 });
    // A repeated write of the same attempt (an activity retry) changes nothing.
    await usage.recordAttempt({ ...hop, turnId: pricedTurn, hop: 0, attempt: 2, model: 'gpt-4o', inputTokens: 9999, outputTokens: 9999 });
    const [failed, retried] = await usage.listForTurn(pricedTurn);
    // gpt-4o: $2.50 per million input tokens, $10.00 per million output tokens.
    expect(failed).toMatchObject({ attempt: 1, input_tokens: 1000, output_tokens: 10, cost_usd: '0.00260000', outcome: 'failed', estimated: true });
    expect(retried).toMatchObject({ attempt: 2, input_tokens: 2000, output_tokens: 500, cost_usd: '0.01000000', outcome: 'completed' });

    const totals = await usage.aggregate(workspaceId, { groupBy: [] });
    expect(totals).toEqual([
      { turns: 2, hops: 3, inputTokens: 4000, outputTokens: 1510, costUsd: 0.0126, avgLatencyMs: 10, avgTimeToFirstTokenMs: null, byokHops: 3 },
    ]);
  });
});

describe('bad usage queries', () => {
  it.each([
    ['an unknown groupBy', '?groupBy=bogus', 'groupBy'],
    ['a groupBy with one unknown dimension', '?groupBy=agent,bogus', 'groupBy'],
    ['an empty groupBy', '?groupBy=', 'groupBy'],
    ['a from that is not a date', '?from=yesterday', 'from'],
    ['a to without offset', '?to=2025-11-20T10:00:00', 'to'],
    ['a to before from', '?from=2025-11-20&to=2025-11-19', 'to'],
  ])('rejects %s with a 400 naming the field', async (_case, query, field) => {
    const response = await getUsage(stack.apiKey, query);
    expect(response.status).toBe(400);
    const { error } = await response.json();
    expect(error).toMatchObject({ code: 'invalid_request', field });
    expect(error.message).toContain(field);
  });

  it('requires the API key', async () => {
    expect((await fetch(`${stack.apiUrl}/api/usage`)).status).toBe(401);
  });
});
