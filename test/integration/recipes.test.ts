/**
 * Recipes (issue 13, point 5) on the real stack: a three-stage recipe (an app action on the MCP test
 * server, a prompt to an agent, an action that reads the prompt's answer) streams its stage parts
 * through the chat bridge; the real `ai` package reads the stream into one message; a client that
 * disconnects mid-run resumes from the start or after `Last-Event-ID`; stop ends the run cancelled;
 * invalid stage definitions get a 400 naming the stage; the run's action results are cached per run.
 */
import { readWithRealClient } from '../support/ui-message-reader';
import { randomUUID } from 'node:crypto';
import { apiClient, type ApiClient } from '../support/api-client';
import { chunksOf, readSse, type SseEvent } from '../support/sse';
import { startMcpTestServer, type RunningMcpTestServer } from '../support/mcp-test-server';
import { startTestStack, type TestStack } from '../support/stack';

jest.setTimeout(120_000);

let stack: TestStack;
let admin: ApiClient;
let server: RunningMcpTestServer;

beforeAll(async () => {
  stack = await startTestStack();
  admin = apiClient(stack.apiUrl, stack.apiKey);
  server = await startMcpTestServer();
  const registered = await admin.post('/mcp-servers', { name: 'rtest', transport: 'http', url: server.url });
  expect(registered.body.refresh).toMatchObject({ status: 'ok' });
});

afterAll(async () => {
  await server?.close();
  await stack?.stop();
});

type Chunk = { type: string; [key: string]: unknown };


const stageParts = (chunks: Chunk[]) => chunks.filter((chunk) => chunk.type === 'data-stage').map((chunk) => chunk.data as Record<string, unknown>);

function startRun(recipeId: string, input: Record<string, string>, signal?: AbortSignal) {
  return fetch(`${stack.apiUrl}/api/recipes/${recipeId}/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.apiKey}`, 'x-ai-sdk-version': '7' },
    body: JSON.stringify({ input }),
    ...(signal ? { signal } : {}),
  });
}

function resume(runId: string, lastEventId?: string) {
  return fetch(`${stack.apiUrl}/api/recipes/runs/${runId}/stream`, {
    headers: { authorization: `Bearer ${stack.apiKey}`, 'x-ai-sdk-version': '7', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
  });
}

const threeStages = [
  { name: 'greet', kind: 'action', action: 'APP_RTEST_ECHO', arguments: { text: 'hello {{input.who}}' } },
  { name: 'summary', kind: 'prompt', prompt: 'Write a long note about {{stages.greet}} [[tps=60]]' },
  { name: 'final', kind: 'action', action: 'APP_RTEST_ECHO', arguments: { text: 'done: {{stages.greet}}' } },
];

test('invalid stage definitions get a 400 naming the stage', async () => {
  const cases: Array<[unknown[], string, string]> = [
    [[{ name: 'a', kind: 'prompt', prompt: 'use {{stages.b}}' }, { name: 'b', kind: 'prompt', prompt: 'x' }], 'invalid_stage', 'stages.0.prompt'],
    [[{ name: 'a', kind: 'prompt', prompt: 'x' }, { name: 'a', kind: 'prompt', prompt: 'y' }], 'invalid_stage', 'stages.1.name'],
    [[{ name: 'a', kind: 'action', action: 'APP_RTEST_NOPE', arguments: {} }], 'invalid_stage', 'stages.0.action'],
    [[{ name: 'a', kind: 'prompt', prompt: 'x', agentId: 'no-such-agent' }], 'invalid_stage', 'stages.0.agentId'],
    [[{ name: 'a', kind: 'action', action: 'rm -rf', arguments: {} }], 'invalid_request', 'stages.0.action'],
    [[{ name: 'a', kind: 'teleport' }], 'invalid_request', 'stages.0.kind'],
  ];
  for (const [stages, code, field] of cases) {
    const answer = await admin.post('/recipes', { name: `bad-${randomUUID().slice(0, 6)}`, stages });
    expect({ status: answer.status, code: answer.body.error?.code, field: answer.body.error?.field }).toEqual({ status: 400, code, field });
  }
});

test('a three-stage recipe streams its stage parts to the real ai client, and resumes after a reconnect', async () => {
  const created = await admin.post('/recipes', { name: `three-${randomUUID().slice(0, 6)}`, stages: threeStages });
  expect(created.status).toBe(201);
  const recipeId = created.body.recipe.id as string;
  const echoesBefore = server.counters.calls.echo ?? 0;

  // The first client leaves while the prompt stage streams.
  const controller = new AbortController();
  const response = await startRun(recipeId, { who: 'Ada' }, controller.signal);
  expect(response.status).toBe(200);
  const runId = response.headers.get('x-recipe-run-id')!;
  const seen: SseEvent[] = [];
  await readSse(response, (event) => {
    seen.push(event);
    if (event.data.includes('"text-delta"') && seen.filter((item) => item.data.includes('"text-delta"')).length === 3) controller.abort();
  }).catch(() => undefined);
  expect(stageParts(chunksOf(seen.filter((event) => event.data !== '[DONE]')))).toEqual([
    { index: 0, name: 'greet', kind: 'action', status: 'running' },
    { index: 0, name: 'greet', kind: 'action', status: 'completed', durationMs: expect.any(Number) },
    { index: 1, name: 'summary', kind: 'prompt', status: 'running' },
  ]);

  // After Last-Event-ID: exactly the rest, live.
  const lastId = seen.filter((event) => event.id).at(-1)!.id!;
  const rest = await readSse(await resume(runId, lastId));
  const restChunks = chunksOf(rest);
  expect(stageParts(restChunks).map((stage) => `${stage.name}:${stage.status}`)).toEqual(['summary:completed', 'final:running', 'final:completed']);
  expect(restChunks.at(-1)).toMatchObject({ type: 'finish' });

  // From the start: the whole run, read by the real `ai` package into one message.
  const whole = chunksOf(await readSse(await resume(runId)));
  expect(whole.map((chunk) => chunk.type).filter((type) => type === 'start-step')).toHaveLength(3);
  const { message, errors } = await readWithRealClient(whole);
  expect(errors).toEqual([]);
  const stages = message.parts.filter((part) => part.type === 'data-stage').map((part) => part.data as Record<string, unknown>);
  expect(stages.map((stage) => `${stage.index}:${stage.name}:${stage.status}`)).toEqual([
    '0:greet:running',
    '0:greet:completed',
    '1:summary:running',
    '1:summary:completed',
    '2:final:running',
    '2:final:completed',
  ]);
  const text = message.parts.filter((part) => part.type === 'text').map((part) => part.text as string).join('');
  // The prompt stage's template read the first stage's output; the scripted model answered it at length.
  expect(stack.llm.requests.some((request) => JSON.stringify(request.messages).includes('Write a long note about echo over http: hello Ada'))).toBe(true);
  expect(text).toContain('Durable execution');
  const tools = message.parts.filter((part) => part.type === 'tool-APP_RTEST_ECHO');
  expect(tools.map((part) => part.output)).toEqual([
    { content: [{ type: 'text', text: 'echo over http: hello Ada' }] },
    { content: [{ type: 'text', text: 'echo over http: done: echo over http: hello Ada' }] },
  ]);
  expect((server.counters.calls.echo ?? 0) - echoesBefore).toBe(2);

  // The prompt stage's model call is billed like a chat hop; another member cannot resume the run.
  const usage = await stack.pool.query('SELECT hop, model, outcome, output_tokens FROM llm_usage WHERE turn_id = $1', [`recipe:${stack.workspaceId}/${runId}`]);
  expect(usage.rows).toEqual([expect.objectContaining({ hop: 1, model: 'scripted-1', outcome: 'completed' })]);
  expect(usage.rows[0].output_tokens).toBeGreaterThan(50);
  const member = await admin.post('/keys', { label: 'member', role: 'member' });
  const other = await fetch(`${stack.apiUrl}/api/recipes/runs/${runId}/stream`, { headers: { authorization: `Bearer ${member.body.secret}` } });
  expect(other.status).toBe(204);
});

test("a run's action results are cached per run, and stop ends a run cancelled", async () => {
  const created = await admin.post('/recipes', {
    name: `cached-${randomUUID().slice(0, 6)}`,
    stages: [
      { name: 'first', kind: 'action', action: 'APP_RTEST_ECHO', arguments: { text: 'same {{input.x}}' } },
      { name: 'again', kind: 'action', action: 'APP_RTEST_ECHO', arguments: { text: 'same {{input.x}}' } },
      { name: 'wait', kind: 'action', action: 'APP_RTEST_SLOW', arguments: { ms: '1500' } },
      { name: 'never', kind: 'prompt', prompt: 'not reached' },
    ],
  });
  expect(created.status).toBe(201);
  const echoesBefore = server.counters.calls.echo ?? 0;
  const response = await startRun(created.body.recipe.id, { x: '1' });
  const runId = response.headers.get('x-recipe-run-id')!;
  let stopped: Promise<Response> | undefined;
  const chunks = chunksOf(
    await readSse(response, (event) => {
      if (!stopped && event.data.includes('"name":"wait"')) stopped = fetch(`${stack.apiUrl}/api/recipes/runs/${runId}/stop`, { method: 'POST', headers: { authorization: `Bearer ${stack.apiKey}` } });
    }),
  );
  expect(await (await stopped!).json()).toEqual({ stopped: true });
  expect((server.counters.calls.echo ?? 0) - echoesBefore).toBe(1);
  const outputs = chunks.filter((chunk) => chunk.type === 'tool-output-available').map((chunk) => chunk.output);
  expect(outputs[1]).toMatchObject({ cached: true });
  expect(stageParts(chunks).map((stage) => `${stage.name}:${stage.status}`)).toEqual(['first:running', 'first:completed', 'again:running', 'again:completed', 'wait:running', 'wait:cancelled']);
  expect(chunks.at(-1)).toMatchObject({ type: 'finish' });
});
