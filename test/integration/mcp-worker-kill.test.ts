/**
 * A worker killed after an app action completed, but before its tool result was stored, does not run
 * the action again: the retried activity, on another worker process, is answered from the per-turn
 * action cache. Workers are real child processes killed with SIGKILL; the MCP server is the project's
 * test server over streamable HTTP, counting the calls it serves.
 *
 * The kill point is made deterministic with a Postgres lock: the test holds `tool_executions` in
 * EXCLUSIVE mode (reads go on, inserts wait), so the tool activity blocks on its insert right after
 * the server answered. The worker running it is killed, then the lock is released.
 */
import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import { apiClient } from '../support/api-client';
import { chunksOf, readSse, userMessage } from '../support/sse';
import { startMcpTestServer, type RunningMcpTestServer } from '../support/mcp-test-server';
import { startProcessWorkerStack, type ProcessWorkerStack } from '../support/process-worker-stack';
import { turnWorkflowId, conversationKey } from '../../src/shared/ids';

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

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

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
    await waitFor('the action to complete', async () => ((server.counters.calls.echo ?? 0) > before ? true : undefined));
    await waitFor('the cached result', async () => {
      const cached = await stack.pool.query('SELECT 1 FROM mcp_action_results WHERE scope_id = $1', [turnId]);
      return cached.rowCount ? true : undefined;
    });
    const killed = await waitFor('the worker running the action', () => stack.killWorkerRunning(turnId));
    expect(killed.pid).toBeGreaterThan(0);
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
