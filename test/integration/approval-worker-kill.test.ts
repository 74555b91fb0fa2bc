/**
 * The user's control over a turn across `kill -9` of real worker processes: a pending approval lives
 * in the workflow (and the turn's log), not in a worker. A worker killed while an approval is
 * pending, or right after it was given, loses nothing and duplicates nothing: the tool runs exactly
 * once. A queued turn whose worker dies goes on waiting elsewhere and keeps its place.
 */
import { randomUUID } from 'node:crypto';
import { conversationKey, turnWorkflowId } from '../../src/shared/ids';
import { chunksOf, readSse, userMessage } from '../support/sse';
import { startProcessWorkerStack, type ProcessWorkerStack } from '../support/process-worker-stack';

jest.setTimeout(600_000);

let stack: ProcessWorkerStack;
let agentId: string;

beforeAll(async () => {
  stack = await startProcessWorkerStack({ workers: 2 });
  agentId = `agent-${randomUUID().slice(0, 8)}`;
  await stack.pool.query(
    `INSERT INTO agents (id, workspace_id, name, system_prompt, allowed_tools, memory_enabled, tool_approval) VALUES ($1, $2, $1, 'Test agent.', $3, false, $4)`,
    [agentId, stack.workspaceId, ['test_*'], JSON.stringify({ tools: ['test_*'], timeoutSeconds: 600 })],
  );
}, 600_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

function conversationKeyOf(chatId: string) {
  return conversationKey(stack.workspaceId, chatId);
}

async function sideEffects(label: string): Promise<number> {
  const result = await stack.pool.query('SELECT count(*)::int AS count FROM tool_side_effects WHERE label LIKE $1', [`%${label}%`]);
  return result.rows[0].count as number;
}

/** The worker that ran the turn's latest workflow task (it holds the workflow in its cache). */
async function killStickyWorker(turnId: string) {
  const history = await stack.temporal.workflow.getHandle(turnId).fetchHistory();
  const identity = (history.events ?? []).map((event) => event.workflowTaskCompletedEventAttributes?.identity).filter(Boolean).at(-1);
  const worker = stack.workers().find((candidate) => candidate.identity === identity);
  if (!worker) throw new Error(`no live worker ${identity}`);
  worker.kill('SIGKILL');
  await worker.exited;
}

async function waitForStatus(turnId: string, status: string) {
  for (let attempt = 0; attempt < 600; attempt++) {
    const state = await stack.temporal.workflow
      .getHandle(turnId)
      .query<{ status: string }>('state')
      .catch(() => undefined);
    if (state?.status === status) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`turn ${turnId} never reached ${status}`);
}

async function pendingApprovalId(chatId: string): Promise<string> {
  const response = await fetch(`${stack.apiUrl}/api/chat/${chatId}/stream`, { headers: { authorization: `Bearer ${stack.apiKey}`, 'x-ai-sdk-version': '7' } });
  const request = chunksOf(await readSse(response)).find((chunk) => chunk.type === 'tool-approval-request');
  return request!.approvalId as string;
}

async function startTurn(label: string) {
  const chatId = `chat-${randomUUID()}`;
  const requestId = `msg-${randomUUID()}`;
  const turnId = turnWorkflowId(conversationKeyOf(chatId), requestId);
  // An ai 5 client: its stream stays open while the turn waits.
  const response = await fetch(`${stack.apiUrl}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.apiKey}` },
    body: JSON.stringify({ id: chatId, agentId, messages: [userMessage(requestId, `use test_record_side_effect for ${label}`)] }),
  });
  const reading = readSse(response).catch(() => []);
  await waitForStatus(turnId, 'awaiting-approval');
  return { chatId, turnId, reading };
}

function approve(chatId: string, approvalId: string) {
  return fetch(`${stack.apiUrl}/api/chat/${chatId}/approvals/${approvalId}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ approved: true }),
  });
}

async function storedAnswer(chatId: string) {
  for (let attempt = 0; attempt < 600; attempt++) {
    const rows = await stack.pool.query(`SELECT content, extra FROM chat_events WHERE conversation_id = $1 AND role = 'assistant' AND type = 'message'`, [conversationKeyOf(chatId)]);
    if (rows.rows[0]) return rows.rows[0] as { content: { parts: Array<{ type: string; [key: string]: unknown }> }; extra: Record<string, unknown> };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no answer stored for ${chatId}`);
}

it('a worker killed while the approval is pending loses nothing: the next worker applies the answer, the tool runs once', async () => {
  const label = randomUUID();
  const { chatId, turnId } = await startTurn(label);
  const approvalId = await pendingApprovalId(chatId);
  await killStickyWorker(turnId);
  const replacement = stack.spawnWorker();
  // The surviving worker takes the turn over when the update arrives.
  const answer = await approve(chatId, approvalId);
  expect(answer.status).toBe(200);
  const stored = await storedAnswer(chatId);
  expect(stored.extra.finishReason).toBe('stop');
  expect(stored.content.parts.find((part) => part.type === 'tool-test_record_side_effect')).toMatchObject({ state: 'output-available', approval: { id: approvalId, approved: true } });
  expect(await sideEffects(label)).toBe(1);
  await replacement;
});

it('a worker killed right after the approval was given: the tool still runs exactly once', async () => {
  const label = randomUUID();
  const { chatId, turnId } = await startTurn(label);
  const approvalId = await pendingApprovalId(chatId);
  const answer = await approve(chatId, approvalId);
  expect(answer.status).toBe(200);
  await killStickyWorker(turnId);
  const stored = await storedAnswer(chatId);
  expect(stored.extra.finishReason).toBe('stop');
  expect(await sideEffects(label)).toBe(1);
  // A second answer after the turn ended is refused: nothing waits for it any more. (The answer is
  // stored before the steps after it, title and memory, end the workflow: wait for its end.)
  await stack.temporal.workflow.getHandle(turnId).result();
  const again = await approve(chatId, approvalId);
  expect(again.status).toBe(404);
  expect((await again.json()).error.code).toBe('approval_not_found');
});

it('queued turns survive kill -9 of their worker and keep their order', async () => {
  const replacement = stack.spawnWorker();
  const chatId = `chat-${randomUUID()}`;
  const post = (requestId: string, text: string) =>
    fetch(`${stack.apiUrl}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.apiKey}`, 'x-ai-sdk-version': '7' },
      body: JSON.stringify({ id: chatId, agentId, messages: [userMessage(requestId, text)] }),
    }).then((response) => readSse(response).catch(() => []));
  const firstId = `msg-${randomUUID()}`;
  const secondId = `msg-${randomUUID()}`;
  const firstTurn = turnWorkflowId(conversationKeyOf(chatId), firstId);
  const secondTurn = turnWorkflowId(conversationKeyOf(chatId), secondId);
  const first = post(firstId, 'Something long please [[tps=40]]');
  await waitForStatus(firstTurn, 'streaming');
  const second = post(secondId, 'And then this');
  await waitForStatus(secondTurn, 'queued');
  await replacement;
  await killStickyWorker(secondTurn);
  await Promise.all([first, second]);
  for (let attempt = 0; attempt < 300; attempt++) {
    const rows = await stack.pool.query(`SELECT role, message_id, extra FROM chat_events WHERE conversation_id = $1 AND type = 'message' ORDER BY seq`, [conversationKeyOf(chatId)]);
    if (rows.rows.length === 4) {
      expect(rows.rows.map((row) => `${row.role}:${row.role === 'user' ? row.message_id : row.extra.userMessageId}`)).toEqual([`user:${firstId}`, `assistant:${firstId}`, `user:${secondId}`, `assistant:${secondId}`]);
      expect(rows.rows.map((row) => row.extra.finishReason ?? null)).toEqual([null, 'stop', null, 'stop']);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the queued turns did not both answer');
});
