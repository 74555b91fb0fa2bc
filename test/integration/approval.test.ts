/**
 * Tool approval with the real `ai` chat engines (ai 7 and ai 6): a tool that needs approval streams
 * `tool-approval-request` and the turn waits in its workflow. Approved, the tool runs once; denied
 * (by the user or the timeout), it does not run, the stream shows `tool-output-denied` and the model
 * reads why. A refresh shows the pending request again; answers arrive as a validated update, so a
 * wrong id, a second answer or another workspace's answer is refused and never enters history.
 */
import { randomUUID } from 'node:crypto';
import { apiClient } from '../support/api-client';
import { validateOpenApi } from '../support/openapi-validator';
import { assistantText, runAiClient, type AiClientScenario } from '../support/ai-client';
import { answerRequests, createAgent, postChat, storedEvents } from '../support/chat';
import { chunksOf, readSse, userMessage } from '../support/sse';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

async function approvalAgent(timeoutSeconds = 120): Promise<string> {
  const agentId = await createAgent(stack, { allowedTools: ['test_*'], memoryEnabled: false });
  await stack.pool.query('UPDATE agents SET tool_approval = $2 WHERE id = $1', [agentId, JSON.stringify({ tools: ['test_record_side_effect'], timeoutSeconds })]);
  return agentId;
}

async function sideEffects(label: string): Promise<number> {
  const result = await stack.pool.query('SELECT count(*)::int AS count FROM tool_side_effects WHERE label LIKE $1', [`%${label}%`]);
  return result.rows[0].count as number;
}

function client(chatId: string, agentId: string, steps: AiClientScenario['steps'], version: 6 | 7 = 7): Promise<Awaited<ReturnType<typeof runAiClient>>> {
  return runAiClient({
    apiUrl: stack.apiUrl,
    apiKey: stack.apiKey,
    chatId,
    ...(version === 6 ? { aiModule: 'ai-v6' } : {}),
    headers: { 'x-ai-sdk-version': String(version) },
    body: { agentId },
    autoSendApprovals: true,
    steps,
  });
}

type Part = { type: string; [key: string]: unknown };
const toolParts = (parts: Part[] | undefined) => (parts ?? []).filter((part) => part.type === 'tool-test_record_side_effect');

async function updatesAccepted(turnId: string): Promise<number> {
  const history = await stack.temporal.workflow.getHandle(turnId).fetchHistory();
  return (history.events ?? []).filter((event) => event.workflowExecutionUpdateAcceptedEventAttributes).length;
}

async function waitForStatus(turnId: string, status: string) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const state = await stack.temporal.workflow.getHandle(turnId).query<{ status: string }>('state');
    if (state.status === status) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`turn ${turnId} never reached ${status}`);
}

describe.each([7, 6] as const)('the ai %i chat engine', (version) => {
  it('approved with addToolApprovalResponse: the tool runs once and the answer continues the same message', async () => {
    const agentId = await approvalAgent();
    const chatId = `chat-${randomUUID()}`;
    const label = randomUUID();
    const result = await client(
      chatId,
      agentId,
      [
        { action: 'send', text: `use test_record_side_effect for ${label}` },
        { action: 'answer-approval', approved: true },
      ],
      version,
    );
    expect(result.error).toBeNull();
    expect(result.messages.map((message) => message.role)).toEqual(['user', 'assistant']);
    const [tool] = toolParts(result.messages[1]!.parts);
    expect(tool).toMatchObject({ state: 'output-available', approval: { approved: true }, output: { recorded: true } });
    expect(assistantText(result.messages[1])).toContain('Tool results:');
    expect(await sideEffects(label)).toBe(1);

    const stored = (await storedEvents(stack, chatId)).filter((event) => event.role === 'assistant').at(-1)!;
    expect(toolParts(stored.content.parts)[0]).toMatchObject({ state: 'output-available', approval: { approved: true } });
    expect(stored.extra.finishReason).toBe('stop');
  });

  it('denied with a reason: the tool does not run, the stream says tool-output-denied and the model is told', async () => {
    const agentId = await approvalAgent();
    const chatId = `chat-${randomUUID()}`;
    const label = randomUUID();
    const result = await client(
      chatId,
      agentId,
      [
        { action: 'send', text: `use test_record_side_effect for ${label}` },
        { action: 'answer-approval', approved: false, reason: 'not on production' },
      ],
      version,
    );
    expect(result.error).toBeNull();
    const [tool] = toolParts(result.messages[1]!.parts);
    expect(tool).toMatchObject({ state: 'output-denied', approval: { approved: false, reason: 'not on production' } });
    expect(await sideEffects(label)).toBe(0);
    const told = answerRequests(stack.llm, label).at(-1)!;
    expect(JSON.stringify(told.messages)).toContain('the user denied this tool call (reason: not on production)');
    expect(assistantText(result.messages[1])).toContain('denied');

    const stored = (await storedEvents(stack, chatId)).filter((event) => event.role === 'assistant').at(-1)!;
    expect(toolParts(stored.content.parts)[0]).toMatchObject({ state: 'output-denied', approval: { approved: false, reason: 'not on production' } });
  });

  it('nobody answers: the timeout denies the call, and the reloaded page shows it denied', async () => {
    const agentId = await approvalAgent(5);
    const chatId = `chat-${randomUUID()}`;
    const label = randomUUID();
    const first = await client(chatId, agentId, [{ action: 'send', text: `use test_record_side_effect for ${label}` }], version);
    expect(toolParts(first.messages[1]!.parts)[0]).toMatchObject({ state: 'approval-requested' });
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const reloaded = await client(chatId, agentId, [{ action: 'resume' }], version);
    expect(toolParts(reloaded.messages.at(-1)!.parts)[0]).toMatchObject({ state: 'output-denied' });
    expect(assistantText(reloaded.messages.at(-1))).toContain('no answer within 5 seconds');
    expect(await sideEffects(label)).toBe(0);
  });

  it('a refresh between request and answer shows the pending request again; the new page approves it', async () => {
    const agentId = await approvalAgent();
    const chatId = `chat-${randomUUID()}`;
    const label = randomUUID();
    const first = await client(chatId, agentId, [{ action: 'send', text: `use test_record_side_effect for ${label}` }], version);
    expect(toolParts(first.messages[1]!.parts)[0]).toMatchObject({ state: 'approval-requested' });
    const approvalId = (toolParts(first.messages[1]!.parts)[0]!.approval as { id: string }).id;

    // The reloaded page: a fresh chat engine that resumes the chat's stream.
    const reloaded = await client(chatId, agentId, [{ action: 'resume' }, { action: 'answer-approval', approved: true }], version);
    expect(reloaded.approvalAnswers).toEqual([{ approvalId, via: 'addToolApprovalResponse' }]);
    const [tool] = toolParts(reloaded.messages.at(-1)!.parts);
    expect(tool).toMatchObject({ state: 'output-available', approval: { id: approvalId, approved: true } });
    expect(assistantText(reloaded.messages.at(-1))).toContain('Tool results:');
    expect(await sideEffects(label)).toBe(1);
  });
});

it('denies the call when nobody answers in time; an ai 5 stream stays open and shows the request and the denial as data', async () => {
  const agentId = await approvalAgent(5);
  const chatId = `chat-${randomUUID()}`;
  const label = randomUUID();
  const started = Date.now();
  const response = await postChat(stack, { id: chatId, agentId, messages: [userMessage(`msg-${randomUUID()}`, `use test_record_side_effect for ${label}`)] });
  expect(response.status).toBe(200);
  const chunks = chunksOf(await readSse(response));
  expect(Date.now() - started).toBeGreaterThanOrEqual(5000);
  const types = chunks.map((chunk) => chunk.type);
  expect(types).toEqual(expect.arrayContaining(['data-tool-approval-request', 'data-awaiting-approval', 'data-tool-approval-response', 'tool-output-error', 'finish']));
  expect(chunks.find((chunk) => chunk.type === 'data-tool-approval-response')).toMatchObject({ data: { approved: false, reason: 'no answer within 5 seconds' } });
  expect(types).not.toContain('tool-approval-request');
  expect(await sideEffects(label)).toBe(0);
  const told = answerRequests(stack.llm, label).at(-1)!;
  expect(JSON.stringify(told.messages)).toContain('no answer within 5 seconds');
});

it('answers over REST: validated before history (wrong id, second answer, other workspace, bad body), then applied once', async () => {
  const agentId = await approvalAgent();
  const chatId = `chat-${randomUUID()}`;
  const label = randomUUID();
  const requestId = `msg-${randomUUID()}`;
  const turnId = stack.turnId(chatId, requestId);
  // An ai 5 client: the stream stays open while the turn waits, and goes on after the REST answer.
  const response = await postChat(stack, { id: chatId, agentId, messages: [userMessage(requestId, `use test_record_side_effect for ${label}`)] });
  const reading = readSse(response);
  await waitForStatus(turnId, 'awaiting-approval');
  const answer = (path: string, body: unknown, apiKey = stack.apiKey) =>
    fetch(`${stack.apiUrl}/api/chat/${chatId}/approvals/${path}`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  const state = await stack.temporal.workflow.getHandle(turnId).query<{ status: string }>('state');
  expect(state.status).toBe('awaiting-approval');
  const wrong = await answer('apr_not-a-real-one', { approved: true });
  expect(wrong.status).toBe(404);
  expect((await wrong.json()).error).toMatchObject({ code: 'approval_not_found', field: 'approvalId' });
  const badBody = await answer('apr_x', { approved: 'yes' });
  expect(badBody.status).toBe(400);
  expect((await badBody.json()).error.field).toBe('approved');
  const other = await stack.addWorkspace();
  const foreign = await answer('apr_x', { approved: true }, other.apiKey);
  expect(foreign.status).toBe(404);
  expect(await updatesAccepted(turnId)).toBe(0);

  // The approval id, as the stream announced it.
  let approvalId: string | undefined;
  for (let attempt = 0; attempt < 50 && !approvalId; attempt++) {
    const status = await fetch(`${stack.apiUrl}/api/chat/${chatId}/stream`, { headers: { authorization: `Bearer ${stack.apiKey}`, 'x-ai-sdk-version': '7' } });
    const request = chunksOf(await readSse(status)).find((chunk) => chunk.type === 'tool-approval-request');
    approvalId = request?.approvalId as string | undefined;
  }
  expect(approvalId).toMatch(/^apr_/);
  const approved = await answer(approvalId!, { approved: true });
  expect(approved.status).toBe(200);
  expect(await approved.json()).toMatchObject({ approvalId, approved: true, turnId });
  const again = await answer(approvalId!, { approved: false });
  expect(again.status).toBe(409);
  expect((await again.json()).error).toMatchObject({ code: 'approval_already_answered', answer: { approved: true } });
  // The same answer again is a retry, not a second answer.
  const retried = await answer(approvalId!, { approved: true });
  expect(retried.status).toBe(200);
  expect(await retried.json()).toMatchObject({ approvalId, approved: true, repeated: true });

  const chunks = chunksOf(await reading);
  const types = chunks.map((chunk) => chunk.type);
  expect(types.indexOf('data-tool-approval-response')).toBeGreaterThan(types.indexOf('data-tool-approval-request'));
  expect(types).toContain('tool-output-available');
  expect(types.at(-1)).toBe('finish');
  expect(await sideEffects(label)).toBe(1);
  expect(await updatesAccepted(turnId)).toBe(1);
});

describe('the management API and the OpenAPI document', () => {
  it('stores toolApproval and busyPolicy on agents, and refuses bad values naming the field', async () => {
    const admin = apiClient(stack.apiUrl, stack.apiKey);
    const created = await admin.post('/agents', { name: `approver-${randomUUID().slice(0, 6)}`, allowedTools: ['test_*'], toolApproval: { tools: ['test_record_side_effect'] }, busyPolicy: 'reject' });
    expect(created.status).toBe(201);
    expect(created.body.agent).toMatchObject({ toolApproval: { tools: ['test_record_side_effect'], timeoutSeconds: 300 }, busyPolicy: 'reject' });
    const id = created.body.agent.id as string;
    const unknownTool = await admin.patch(`/agents/${id}`, { toolApproval: { tools: ['no_such_tool'], timeoutSeconds: 60 } });
    expect(unknownTool.status).toBe(400);
    expect(unknownTool.body.error.field).toMatch(/^toolApproval\.tools/);
    const badPolicy = await admin.patch(`/agents/${id}`, { busyPolicy: 'whenever' });
    expect(badPolicy.status).toBe(400);
    expect(badPolicy.body.error.field).toBe('busyPolicy');
    const cleared = await admin.patch(`/agents/${id}`, { toolApproval: null, busyPolicy: 'queue' });
    expect(cleared.body.agent).toMatchObject({ toolApproval: null, busyPolicy: 'queue' });
  });

  it('documents the approval and steering routes in a valid document', async () => {
    const document = await (await fetch(`${stack.apiUrl}/api/openapi.json`)).json();
    const validation = await validateOpenApi(document);
    expect(validation.errors).toEqual([]);
    expect(document.paths['/api/chat/{id}/approvals/{approvalId}'].post.responses).toHaveProperty('409');
    expect(document.paths['/api/chat/{id}/steer'].post.responses).toHaveProperty('202');
    expect(document.paths['/api/chat/{id}/events'].get.responses).toHaveProperty('200');
  });
});

it('a hop retried after the approval (the model cut off mid-answer) does not run the tool again', async () => {
  const agentId = await approvalAgent();
  const chatId = `chat-${randomUUID()}`;
  const label = randomUUID();
  const requestId = `msg-${randomUUID()}`;
  const turnId = stack.turnId(chatId, requestId);
  const response = await postChat(stack, { id: chatId, agentId, messages: [userMessage(requestId, `use test_record_side_effect for ${label}`)] });
  const reading = readSse(response);
  await waitForStatus(turnId, 'awaiting-approval');
  // The hop after the tool is cut off after two deltas: Temporal retries it.
  stack.llm.injectFault({ match: label, fault: 'cut:2', times: 1 });
  const resumed = await fetch(`${stack.apiUrl}/api/chat/${chatId}/stream`, { headers: { authorization: `Bearer ${stack.apiKey}`, 'x-ai-sdk-version': '7' } });
  const approvalId = chunksOf(await readSse(resumed)).find((chunk) => chunk.type === 'tool-approval-request')!.approvalId as string;
  const given = await fetch(`${stack.apiUrl}/api/chat/${chatId}/approvals/${approvalId}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ approved: true }),
  });
  expect(given.status).toBe(200);
  const chunks = chunksOf(await reading);
  expect(chunks.map((chunk) => chunk.type)).toContain('data-hop-restart');
  expect(chunks.at(-1)).toMatchObject({ type: 'finish', messageMetadata: { finishReason: 'stop' } });
  expect(await sideEffects(label)).toBe(1);
  const history = await stack.temporal.workflow.getHandle(turnId).fetchHistory();
  const scheduled = (history.events ?? []).flatMap((event) => (event.activityTaskScheduledEventAttributes ? [event.activityTaskScheduledEventAttributes.activityType?.name] : []));
  expect(scheduled.filter((name) => name === 'executeTool')).toHaveLength(1);
  const attempts = (history.events ?? []).flatMap((event) => (event.activityTaskStartedEventAttributes ? [event.activityTaskStartedEventAttributes.attempt ?? 1] : []));
  expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2);
});
