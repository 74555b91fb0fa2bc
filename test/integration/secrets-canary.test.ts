/**
 * A connection key is a canary: it is used (the provider receives it), yet it never appears in
 * workflow history, activity arguments, logs (ours and the Temporal runtime's), API answers,
 * `/metrics`, the turn logs in Redis, or any Postgres row in clear, not even when the provider echoes
 * a rejected key in its error text. Payload encryption is off here, so history is plain JSON and a
 * canary in it would be found.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import pino from 'pino';
import { startScriptedLlm, type ScriptedLlm } from '../../src/scripted-llm/server';
import { apiClient, type ApiAnswer, type ApiClient } from '../support/api-client';
import { readSse, userMessage } from '../support/sse';
import { startTestStack, type TestStack } from '../support/stack';

const canaryKey = `sk-canary-${randomUUID()}`;
const canaryHeader = `hv-canary-${randomUUID()}`;
const rotatedCanary = `sk-canary-rotated-${randomUUID()}`;
const rejectedCanary = `sk-canary-rejected-${randomUUID()}`;
const canaries = [canaryKey, canaryHeader, rotatedCanary, rejectedCanary];

const logLines: string[] = [];
let stack: TestStack;
let provider: ScriptedLlm;
let strictProvider: ScriptedLlm;
let admin: ApiClient;
let workspaceKey: string;
let workspaceId: string;
const answers: ApiAnswer[] = [];
const turnIds: string[] = [];

function expectNoCanary(where: string, text: string) {
  for (const canary of canaries) expect([where, text.includes(canary)]).toEqual([where, false]);
}

async function record(answer: Promise<ApiAnswer>): Promise<ApiAnswer> {
  const result = await answer;
  answers.push(result);
  return result;
}

/** One turn through `POST /api/chat`; `body` is the whole stream as the client got it. */
async function turn(text: string, agentId: string) {
  const chatId = `chat-${randomUUID()}`;
  const requestId = `msg-${randomUUID()}`;
  const response = await fetch(`${stack.apiUrl}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${workspaceKey}` },
    body: JSON.stringify({ id: chatId, messages: [userMessage(requestId, text)], agentId }),
  });
  const body = (await readSse(response)).map((event) => event.data).join('\n');
  const turnId = stack.turnId(chatId, requestId, workspaceId);
  turnIds.push(turnId);
  return { turnId, body };
}

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('DEBUG', (entry) => logLines.push(`${entry.message} ${inspect(entry.meta, { depth: 6 })}`)) });
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  stack = await startTestStack({ logger: pino({ level: 'trace', name: 'canary' }, sink) });
  provider = await startScriptedLlm({ apiKey: canaryKey, models: ['canary-model'] });
  strictProvider = await startScriptedLlm({ apiKey: `sk-the-right-one-${randomUUID()}`, models: ['strict-model'] });
  const workspace = await stack.addWorkspace();
  workspaceKey = workspace.apiKey;
  workspaceId = workspace.workspaceId;
  admin = apiClient(stack.apiUrl, workspace.apiKey);
});

afterAll(async () => {
  await provider?.close();
  await strictProvider?.close();
  await stack?.stop();
});

it('uses the key but never shows it in history, logs, answers, metrics, Redis or Postgres', async () => {
  const connection = (await record(admin.post('/connections', { name: 'Canary', provider: 'canary', baseUrl: provider.url, apiKey: canaryKey, headers: { 'x-canary': canaryHeader } }))).body.connection;
  const agent = (await record(admin.post('/agents', { name: 'Canary agent', connectionId: connection.id, model: 'canary-model', allowedTools: ['platform_*'] }))).body.agent;
  await record(admin.get(`/connections/${connection.id}`));
  await record(admin.get('/connections'));
  await record(admin.get(`/connections/${connection.id}/models`));
  await record(admin.get(`/agents/${agent.id}`));

  const plainMarker = randomUUID();
  const plain = await turn(`Hello canary ${plainMarker}`, agent.id);
  const withTools = await turn(`use platform_workspace_info for ${randomUUID()}`, agent.id);
  expect(plain.body).toContain(plainMarker);
  expect(withTools.body).toContain('tool-output-available');

  // The key was really used, with the header, on every hop.
  const received = provider.requests.filter((request) => request.statusCode === 200);
  expect(received.length).toBeGreaterThanOrEqual(3);
  for (const request of received) expect(request.headers).toMatchObject({ authorization: `Bearer ${canaryKey}`, 'x-canary': canaryHeader });

  // A key change reaches the next turn, and its new value is just as secret.
  await record(admin.patch(`/connections/${connection.id}`, { apiKey: rotatedCanary }));
  const providerRotated = await startScriptedLlm({ apiKey: rotatedCanary, models: ['canary-model'] });
  try {
    await record(admin.patch(`/connections/${connection.id}`, { baseUrl: providerRotated.url }));
    await turn(`After rotation ${randomUUID()}`, agent.id);
    expect(providerRotated.requests.at(-1)?.headers.authorization).toBe(`Bearer ${rotatedCanary}`);
  } finally {
    await providerRotated.close();
  }

  // A provider that echoes the rejected key in its 401: the failed turn's error text is redacted.
  const rejected = (await record(admin.post('/connections', { name: 'Rejected', provider: 'strict', baseUrl: strictProvider.url, apiKey: rejectedCanary }))).body.connection;
  const rejectedAgent = (await record(admin.post('/agents', { name: 'Rejected agent', connectionId: rejected.id, model: 'strict-model' }))).body.agent;
  const failed = await turn(`This will be refused ${randomUUID()}`, rejectedAgent.id);
  const refusal = strictProvider.requests.at(-1)!;
  expect(refusal.statusCode).toBe(401);
  expect(failed.body).toContain('[redacted]');
  expect(failed.body).toContain('LLM answered 401');

  await record(admin.get(`/usage?groupBy=provider`));
  await record(admin.get('/connections?limit=100'));
  await record(admin.get('/agents?limit=100'));
  for (const answer of answers) expectNoCanary('an API answer', answer.text);
  expectNoCanary('/api/openapi.json', await (await fetch(`${stack.apiUrl}/api/openapi.json`)).text());
  expectNoCanary('/metrics', await (await fetch(`${stack.apiUrl}/metrics`)).text());

  const plainClient = new Client({ connection: await Connection.connect({ address: stack.configuration.temporal.address! }) });
  try {
    for (const turnId of turnIds) {
      const history = await plainClient.workflow.getHandle(turnId).fetchHistory();
      const raw = Buffer.from(temporal.api.history.v1.History.encode(history).finish()).toString('utf8');
      expect(raw).toContain('begin turn');
      expectNoCanary(`history of ${turnId}`, raw);
    }
  } finally {
    await plainClient.connection.close();
  }

  for (const turnId of turnIds) {
    const log = await stack.redis.xrange(`${stack.configuration.redis.keyPrefix}turn:{${turnId}}:log`, '-', '+');
    expect(log.length).toBeGreaterThan(0);
    expectNoCanary(`the Redis log of ${turnId}`, JSON.stringify(log));
  }

  for (const table of ['llm_connections', 'llm_connection_versions', 'agents', 'chat_events', 'llm_usage', 'tool_executions']) {
    const rows = await stack.pool.query(`SELECT row_to_json(t)::text AS row FROM ${table} t`);
    expectNoCanary(`Postgres table ${table}`, rows.rows.map((row) => row.row).join('\n'));
  }

  expect(logLines.join('').length).toBeGreaterThan(0);
  expect(logLines.some((line) => line.includes('LLM answered 401'))).toBe(true);
  expectNoCanary('the logs', logLines.join('\n'));
});
