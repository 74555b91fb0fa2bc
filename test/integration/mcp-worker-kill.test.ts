/**
 * A worker killed after an app action completed, but before its tool result was stored, does not run
 * the action again: the retried activity, on another worker process, is answered from the per-turn
 * action cache. Workers are real child processes killed with SIGKILL; the MCP server is the project's
 * test server over streamable HTTP, counting the calls it serves.
 *
 * The kill point is made deterministic with a Postgres lock: the test holds `tool_executions` in
 * EXCLUSIVE mode (reads go on, inserts wait), so the tool activity blocks on its insert right after
 * the server answered. The worker running it is killed (and its waiting Postgres session with it),
 * then the lock is released.
 *
 * A recipe run survives a kill too: the worker streaming its prompt stage dies, the stage's activity
 * is retried on the other worker (the client gets `reset-step`), and the run completes.
 */
import { eventually } from '../support/eventually';
import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import { apiClient } from '../support/api-client';
import { chunksOf, readSse, userMessage } from '../support/sse';
import { startMcpTestServer, type RunningMcpTestServer } from '../support/mcp-test-server';
import { startProcessWorkerStack, type ProcessWorkerStack } from '../support/process-worker-stack';
import { turnWorkflowId, conversationKey } from '../../src/shared/ids';
import { recipeRunWorkflowId } from '../../src/api/routes/recipes';
import { connectionName } from '../../src/clients';

jest.setTimeout(600_000);

let stack: ProcessWorkerStack;
let server: RunningMcpTestServer;

beforeAll(async () => {
  server = await startMcpTestServer();
  stack = await startProcessWorkerStack({ workers: 2 });
});

afterAll(async () => {
  await stack?.stop();
  await server?.close();
});

test('a completed action is not run again when its worker dies before the result is stored', async () => {
  const admin = apiClient(stack.apiUrl, stack.apiKey);
  const registered = await admin.post('/mcp-servers', { name: 'killtest', transport: 'http', url: server.url });
  expect(registered.status).toBe(201);
  expect(registered.body.refresh).toMatchObject({ status: 'ok' });
  const agentId = `agent-${randomUUID().slice(0, 8)}`;
  await stack.pool.query(
    `INSERT INTO agents (id, workspace_id, name, system_prompt, allowed_tools, max_hops, memory_enabled) VALUES ($1, $2, $1, 'You are a test agent.', $3, 3, false)`,
    [agentId, stack.workspaceId, ['APP_KILLTEST_*']],
  );

  const chatId = `kill-${randomUUID().slice(0, 8)}`;
  const messageId = `msg-${randomUUID()}`;
  const turnId = turnWorkflowId(conversationKey(stack.workspaceId, chatId), messageId);
  const before = server.counters.calls.echo ?? 0;

  const lock: PoolClient = await stack.pool.connect();
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await lock.query('ROLLBACK');
    lock.release();
  };
  try {
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE tool_executions IN EXCLUSIVE MODE');
    const response = await fetch(`${stack.apiUrl}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.apiKey}`, 'x-ai-sdk-version': '7' },
      body: JSON.stringify({ id: chatId, agentId, messages: [userMessage(messageId, 'use APP_KILLTEST_ECHO only once please')] }),
    });
    expect(response.status).toBe(200);
    const reading = readSse(response);

    // The server answered and the per-turn cache holds the result; the activity now waits on its insert.
    await eventually('the action to complete', async () => ((server.counters.calls.echo ?? 0) > before ? true : undefined), 60_000);
    await eventually('the cached result', async () => {
      const cached = await stack.pool.query('SELECT 1 FROM mcp_action_results WHERE scope_id = $1', [turnId]);
      return cached.rowCount ? true : undefined;
    }, 60_000);
    const killed = await eventually('the worker running the action', () => stack.killWorkerRunning(turnId), 60_000);
    expect(killed.pid).toBeGreaterThan(0);
    // The dead worker's statement still waits in Postgres; a machine that died would take its
    // connection with it, so its backend goes too before the lock is released.
    const terminated = await stack.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO tool_executions%' AND application_name = $1`,
      [connectionName('durable-chat-worker', stack.configuration)],
    );
    expect(terminated.rowCount).toBe(1);
    await release();
    void stack.spawnWorker();

    const chunks = chunksOf(await reading);
    expect(chunks).toContainEqual({ type: 'tool-output-available', toolCallId: expect.any(String), output: { cached: true, content: [{ type: 'text', text: 'echo over http: only once please' }] } });
    expect(chunks.at(-1)).toMatchObject({ type: 'finish' });
    expect((server.counters.calls.echo ?? 0) - before).toBe(1);
    const stored = await stack.pool.query('SELECT count(*)::int AS count FROM tool_executions WHERE turn_id = $1', [turnId]);
    expect(stored.rows[0].count).toBe(1);
  } finally {
    await release();
  }
});

test('a recipe run survives the kill of the worker streaming its prompt stage', async () => {
  const admin = apiClient(stack.apiUrl, stack.apiKey);
  const created = await admin.post('/recipes', {
    name: `kill-${randomUUID().slice(0, 6)}`,
    stages: [
      { name: 'greet', kind: 'action', action: 'APP_KILLTEST_ECHO', arguments: { text: 'hi {{input.who}}' } },
      { name: 'essay', kind: 'prompt', prompt: 'Write a long essay about {{stages.greet}} [[tps=30]]' },
      { name: 'close', kind: 'action', action: 'APP_KILLTEST_ECHO', arguments: { text: 'closing' } },
    ],
  });
  expect(created.status).toBe(201);
  const echoesBefore = server.counters.calls.echo ?? 0;
  const response = await fetch(`${stack.apiUrl}/api/recipes/${created.body.recipe.id}/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.apiKey}`, 'x-ai-sdk-version': '7' },
    body: JSON.stringify({ input: { who: 'Grace' } }),
  });
  const runId = response.headers.get('x-recipe-run-id')!;
  const runWorkflowId = recipeRunWorkflowId(stack.workspaceId, runId);
  let deltas = 0;
  let killing: Promise<unknown> | undefined;
  const events = await readSse(response, (event) => {
    if (event.data.includes('"text-delta"') && ++deltas === 5) {
      killing = eventually('the worker streaming the prompt', () => stack.killWorkerRunning(runWorkflowId), 60_000).then(() => stack.spawnWorker());
    }
  });
  await killing;
  const chunks = chunksOf(events);
  expect(chunks.some((chunk) => chunk.type === 'reset-step')).toBe(true);
  const stages = chunks.filter((chunk) => chunk.type === 'data-stage').map((chunk) => chunk.data as { name: string; status: string });
  expect(stages.map((stage) => `${stage.name}:${stage.status}`)).toEqual(['greet:running', 'greet:completed', 'essay:running', 'essay:completed', 'close:running', 'close:completed']);
  expect(chunks.at(-1)).toMatchObject({ type: 'finish' });
  expect((server.counters.calls.echo ?? 0) - echoesBefore).toBe(2);
});
