/**
 * App actions on real MCP servers (issue 13): the project's test server over streamable HTTP and over
 * stdio, and `@modelcontextprotocol/server-everything` from npm as a stdio child process. Servers are
 * registered through the management API, their catalogues cached in Postgres, and the scripted model
 * calls `APP_<SERVER>_<ACTION>` tools through real chat turns. Each resolution tier is shown, and each
 * fault (refused, timeout, crash, malformed, a tool that throws, an oversized result) ends as a tool
 * error the model reads while the turn completes.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { temporal } from '@temporalio/proto';
import { createAgent, runTurn, type TurnRun } from '../support/chat';
import { apiClient, type ApiClient } from '../support/api-client';
import { mcpTestServerCommand, startMcpTestServer, type RunningMcpTestServer } from '../support/mcp-test-server';
import { startTestStack, type TestStack } from '../support/stack';
import { validateOpenApi } from '../support/openapi-validator';
import { AppActionExecutor } from '../../src/mcp/app-action-executor';
import { McpServerRepository } from '../../src/mcp/mcp-server-repository';
import { SecretBox } from '../../src/secrets/secret-box';
import { isToolAllowed } from '../../src/tools/registry';
import type { TurnState } from '../../src/shared/turn';

jest.setTimeout(120_000);

const EVERYTHING_SERVER = path.resolve(__dirname, '../../node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const bearerToken = `mcp-token-${randomUUID()}`;
const logLines: string[] = [];

let stack: TestStack;
let admin: ApiClient;
let httpServer: RunningMcpTestServer;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  stack = await startTestStack({
    logger: pino({ level: 'info' }, sink),
    environment: {
      MCP_STDIO_COMMANDS: process.execPath,
      MCP_CALL_TIMEOUT_MS: '2000',
      MCP_CONNECT_TIMEOUT_MS: '5000',
      MCP_MAX_RESULT_BYTES: '50000',
      MCP_REFRESH_INTERVAL_MS: '3000',
    },
  });
  admin = apiClient(stack.apiUrl, stack.apiKey);
  httpServer = await startMcpTestServer({ bearerToken });
});

afterAll(async () => {
  await httpServer?.close();
  await stack?.stop();
});

async function register(body: Record<string, unknown>) {
  const answer = await admin.post('/mcp-servers', body);
  expect(answer.status).toBe(201);
  return answer.body as { server: { id: string; name: string; catalogue: { status: string; actions: number; error: string | null } }; refresh: { status: string; actions?: number; error?: string } };
}

async function agentAllowing(allowedTools: string[], maxTools?: number): Promise<string> {
  const agentId = await createAgent(stack, { allowedTools, maxHops: 3, memoryEnabled: false });
  if (maxTools !== undefined) await stack.pool.query('UPDATE agents SET max_tools = $2 WHERE id = $1', [agentId, maxTools]);
  return agentId;
}

async function turn(agentId: string, text: string, extra: Record<string, unknown> = {}): Promise<TurnRun & { state: TurnState; turnId: string }> {
  const chatId = `mcp-${randomUUID().slice(0, 8)}`;
  const run = await runTurn(stack, chatId, text, { extra: { agentId, ...extra } });
  const turnId = stack.turnId(chatId, run.requestId);
  const state = await stack.temporal.workflow.getHandle(turnId).query<TurnState>('state');
  return { ...run, state, turnId };
}

function offeredTools(fragment: string): string[] {
  const request = stack.llm.requests.find((entry) => JSON.stringify(entry.messages).includes(fragment) && entry.rule !== 'memory-extraction' && entry.rule !== 'title');
  return (request?.tools ?? []).flatMap((tool) => (tool.function ? [tool.function.name] : []));
}

function toolOutputs(run: TurnRun) {
  return {
    ok: run.chunks.filter((chunk) => chunk.type === 'tool-output-available').map((chunk) => chunk.output),
    errors: run.chunks.filter((chunk) => chunk.type === 'tool-output-error').map((chunk) => String(chunk.errorText)),
  };
}

const args = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('registration and the catalogue', () => {
  test('an HTTP server is registered with a sealed bearer token and its tools are cached with their schemas', async () => {
    const { server, refresh } = await register({ name: 'testkit', transport: 'http', url: httpServer.url, headers: { Authorization: `Bearer ${bearerToken}` } });
    expect(refresh).toMatchObject({ status: 'ok', actions: 6 });
    expect(server.catalogue).toMatchObject({ status: 'ok', actions: 6, error: null });

    const read = await admin.get(`/mcp-servers/${server.id}`);
    expect(read.body.server).toMatchObject({ name: 'testkit', toolPrefix: 'APP_TESTKIT_', headerNames: ['Authorization'] });
    expect(read.text).not.toContain(bearerToken);
    const stored = await stack.pool.query('SELECT secret FROM mcp_servers WHERE id = $1', [server.id]);
    expect(stored.rows[0].secret).not.toContain(bearerToken);

    const actions = await admin.get(`/mcp-servers/${server.id}/actions`);
    expect(actions.body.data.map((action: { toolName: string }) => action.toolName)).toEqual([
      'APP_TESTKIT_ECHO',
      'APP_TESTKIT_LOOKUP_WEATHER',
      'APP_TESTKIT_SLOW',
      'APP_TESTKIT_FAIL',
      'APP_TESTKIT_BIG',
      'APP_TESTKIT_CRASH',
    ]);
    expect(actions.body.data[0]).toMatchObject({ action: 'echo', inputSchema: { type: 'object', required: ['text'] } });
    expect(logLines.join('')).not.toContain(bearerToken);
  });

  test('bad input gets a 4xx naming the field, and stdio runs only commands the deployment lists', async () => {
    const cases: Array<[Record<string, unknown>, number, string, string]> = [
      [{ name: 'Bad-Name', transport: 'http', url: httpServer.url }, 400, 'invalid_request', 'name'],
      [{ name: 'no_url', transport: 'http' }, 400, 'invalid_request', 'url'],
      [{ name: 'bad_url', transport: 'http', url: 'ftp://example.com' }, 400, 'invalid_request', 'url'],
      [{ name: 'rm', transport: 'stdio', command: '/bin/rm', args: ['-rf', '/'] }, 400, 'stdio_command_not_allowed', 'command'],
      [{ name: 'mixed', transport: 'http', url: httpServer.url, command: 'node' }, 400, 'invalid_request', 'command'],
      [{ name: 'testkit', transport: 'http', url: httpServer.url }, 409, 'duplicate_name', 'name'],
    ];
    for (const [body, status, code, field] of cases) {
      const answer = await admin.post('/mcp-servers', body);
      expect({ body, status: answer.status, code: answer.body.error.code, field: answer.body.error.field }).toEqual({ body, status, code, field });
    }
    const member = await admin.post('/keys', { label: 'member', role: 'member' });
    const memberClient = apiClient(stack.apiUrl, member.body.secret);
    expect((await memberClient.get('/mcp-servers')).status).toBe(403);
  });

  test('a server is changed and deleted through the API, and agents allow its actions by pattern', async () => {
    const spare = await startMcpTestServer({ bearerToken: 'first-token' });
    try {
      const { server } = await register({ name: 'spare', transport: 'http', url: spare.url, headers: { Authorization: 'Bearer wrong-token' } });
      expect(server.catalogue).toMatchObject({ status: 'failed', actions: 0 });
      const fixed = await admin.patch(`/mcp-servers/${server.id}`, { headers: { Authorization: 'Bearer first-token' }, timeoutMs: 5000 });
      expect(fixed.status).toBe(200);
      expect(fixed.body).toMatchObject({ refresh: { status: 'ok', actions: 6 }, server: { headerNames: ['Authorization'], timeoutMs: 5000 } });
      expect(fixed.text).not.toContain('first-token');
      const wrongField = await admin.patch(`/mcp-servers/${server.id}`, { command: 'node' });
      expect(wrongField.body.error).toMatchObject({ code: 'invalid_request', field: 'command' });

      const allowed = await admin.post('/agents', { name: `spare-${randomUUID().slice(0, 6)}`, systemPrompt: 'x', allowedTools: ['APP_SPARE_*', 'app_execute'] });
      expect(allowed.status).toBe(201);
      const unknown = await admin.post('/agents', { name: `nope-${randomUUID().slice(0, 6)}`, systemPrompt: 'x', allowedTools: ['APP_NOPE_*'] });
      expect(unknown.body.error).toMatchObject({ code: 'unknown_tool', field: 'allowedTools.0' });

      expect((await admin.delete(`/mcp-servers/${server.id}`)).status).toBe(204);
      expect((await admin.get(`/mcp-servers/${server.id}`)).status).toBe(404);
      expect((await stack.pool.query('SELECT count(*)::int AS count FROM mcp_actions WHERE server_id = $1', [server.id])).rows[0].count).toBe(0);
    } finally {
      await spare.close();
    }
  });

  test('the OpenAPI document describes the MCP and recipe routes and stays valid', async () => {
    const document = (await admin.get('/openapi.json')).body;
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/api/mcp-servers', '/api/mcp-servers/{id}', '/api/mcp-servers/{id}/refresh', '/api/mcp-servers/{id}/actions', '/api/recipes', '/api/recipes/{id}/runs', '/api/recipes/runs/{runId}/stream', '/api/recipes/runs/{runId}/stop']));
    expect((await validateOpenApi(document)).valid).toBe(true);
  });

  test('a server that is down keeps its cached catalogue in service, and the scheduled refresh lists it once it is up', async () => {
    const flaky = await startMcpTestServer();
    const port = Number(new URL(flaky.url).port);
    const { server } = await register({ name: 'flaky', transport: 'http', url: flaky.url });
    expect(server.catalogue.actions).toBe(6);
    await flaky.close();

    const refresh = await admin.post(`/mcp-servers/${server.id}/refresh`, {});
    expect(refresh.body.refresh).toMatchObject({ status: 'failed', error: expect.stringContaining('cannot be reached') });
    expect(refresh.body.server.catalogue).toMatchObject({ status: 'failed', actions: 6 });
    expect(logLines.some((line) => line.includes('MCP catalogue listing failed') && line.includes('"server":"flaky"'))).toBe(true);

    // Down from the start: nothing cached yet; the timer workflow lists it once it answers.
    const late = await register({ name: 'late', transport: 'http', url: `http://127.0.0.1:${port}/mcp` });
    expect(late.server.catalogue).toMatchObject({ status: 'failed', actions: 0 });
    const revived = await startMcpTestServer({ port });
    try {
      let catalogue = late.server.catalogue;
      for (let attempt = 0; attempt < 40 && catalogue.status !== 'ok'; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        catalogue = (await admin.get(`/mcp-servers/${late.server.id}`)).body.server.catalogue;
      }
      expect(catalogue).toMatchObject({ status: 'ok', actions: 6 });
    } finally {
      await revived.close();
      await admin.delete(`/mcp-servers/${late.server.id}`);
      await admin.delete(`/mcp-servers/${server.id}`);
    }
  });
});

describe('resolution tiers', () => {
  test('hint: the request names the action exactly, and the model calls it over streamable HTTP', async () => {
    const agentId = await agentAllowing(['APP_TESTKIT_*']);
    const run = await turn(agentId, 'use APP_TESTKIT_ECHO hello over the wire', { toolHints: ['APP_TESTKIT_ECHO'] });
    expect(run.state.activation?.appActions).toEqual({ tier: 'hint', actions: ['APP_TESTKIT_ECHO'] });
    expect(run.chunks).toContainEqual({ type: 'data-app-actions', data: { tier: 'hint', actions: ['APP_TESTKIT_ECHO'] } });
    expect(toolOutputs(run).ok).toEqual([{ content: [{ type: 'text', text: 'echo over http: hello over the wire' }] }]);
    expect(run.text).toContain('echo over http: hello over the wire');
    // The server's bearer token never reaches the turn's history (nor the logs, nor API answers: above).
    const history = await stack.temporal.workflow.getHandle(run.turnId).fetchHistory();
    const raw = Buffer.from(temporal.api.history.v1.History.encode(history).finish()).toString('utf8');
    expect(raw).toContain('APP_TESTKIT_ECHO');
    expect(raw).not.toContain(bearerToken);
  });

  test('search: the message finds the action in the cached catalogue by its description', async () => {
    const agentId = await agentAllowing(['APP_TESTKIT_*']);
    const marker = randomUUID().slice(0, 8);
    const run = await turn(agentId, `What is the weather forecast in Lisbon today? ${marker}`);
    expect(run.state.activation?.appActions).toEqual({ tier: 'search', actions: ['APP_TESTKIT_LOOKUP_WEATHER'] });
    expect(offeredTools(marker)).toContain('APP_TESTKIT_LOOKUP_WEATHER');
    expect(offeredTools(marker)).not.toContain('APP_TESTKIT_ECHO');
  });

  test('catalogue: nothing matches and the allowed catalogue fits the cap, so all of it is offered', async () => {
    const agentId = await agentAllowing(['APP_TESTKIT_ECHO', 'APP_TESTKIT_FAIL'], 4);
    const marker = randomUUID().slice(0, 8);
    const run = await turn(agentId, `Tell me something nice about otters ${marker}`);
    expect(run.state.activation?.appActions).toEqual({ tier: 'catalogue', actions: ['APP_TESTKIT_ECHO', 'APP_TESTKIT_FAIL'] });
    expect(offeredTools(marker)).toEqual(expect.arrayContaining(['APP_TESTKIT_ECHO', 'APP_TESTKIT_FAIL']));
  });

  test('mega: nothing matches and the catalogue is larger than the cap, so app_execute runs the action by name', async () => {
    const agentId = await agentAllowing(['APP_TESTKIT_*'], 2);
    const marker = randomUUID().slice(0, 8);
    const run = await turn(agentId, `use app_execute for me ${marker} [[args=${args({ action: 'APP_TESTKIT_ECHO', arguments: { text: 'through the mega-tool' } })}]]`);
    expect(run.state.activation?.appActions).toMatchObject({ tier: 'mega', actions: [], megaTool: { hints: expect.arrayContaining(['APP_TESTKIT_ECHO']) } });
    expect(run.chunks).toContainEqual({ type: 'data-app-actions', data: expect.objectContaining({ tier: 'mega', megaToolHints: expect.arrayContaining(['APP_TESTKIT_ECHO']) }) });
    const request = stack.llm.requests.find((entry) => JSON.stringify(entry.messages).includes(marker));
    const mega = request?.tools?.find((tool) => tool.function?.name === 'app_execute');
    expect((mega?.function as { description?: string } | undefined)?.description).toContain('APP_TESTKIT_ECHO');
    expect(toolOutputs(run).ok).toEqual([{ content: [{ type: 'text', text: 'echo over http: through the mega-tool' }] }]);
  });
});

describe('stdio servers', () => {
  test("the project's test server runs as a child process, and a crash mid-call is a tool error", async () => {
    const { server, refresh } = await register({ name: 'testkit_stdio', transport: 'stdio', ...mcpTestServerCommand() });
    expect(refresh).toMatchObject({ status: 'ok', actions: 6 });
    const agentId = await agentAllowing(['APP_TESTKIT_STDIO_*']);
    const run = await turn(agentId, 'use APP_TESTKIT_STDIO_ECHO hello from a pipe');
    expect(toolOutputs(run).ok).toEqual([{ content: [{ type: 'text', text: 'echo over stdio: hello from a pipe' }] }]);

    const crashed = await turn(agentId, 'use APP_TESTKIT_STDIO_CRASH right now');
    expect(toolOutputs(crashed).errors).toEqual([expect.stringContaining('MCP server "testkit_stdio" closed the connection')]);
    expect(crashed.chunks.at(-1)).toMatchObject({ type: 'finish' });
    await admin.delete(`/mcp-servers/${server.id}`);
  });

  test('@modelcontextprotocol/server-everything from npm answers an agent over stdio', async () => {
    const { refresh } = await register({ name: 'everything', transport: 'stdio', command: process.execPath, args: [EVERYTHING_SERVER, 'stdio'] });
    expect(refresh.status).toBe('ok');
    expect(refresh.actions).toBeGreaterThan(5);
    const agentId = await agentAllowing(['APP_EVERYTHING_*']);
    const run = await turn(agentId, 'use APP_EVERYTHING_ECHO durable chat says hi');
    expect(run.state.activation?.appActions?.actions[0]).toBe('APP_EVERYTHING_ECHO');
    expect(toolOutputs(run).ok).toEqual([{ content: [{ type: 'text', text: 'Echo: durable chat says hi' }] }]);
  });
});

describe('faults become tool errors, never a stuck turn', () => {
  test('a tool that throws, a result over the limit and a timeout each give the model an error, and the operator a log line', async () => {
    const agentId = await agentAllowing(['APP_TESTKIT_*']);
    const cases: Array<[string, string, string]> = [
      ['use APP_TESTKIT_FAIL because', 'the fail tool failed on purpose: because', 'tool-error'],
      ['use APP_TESTKIT_BIG 200000', 'over the limit of 50000 bytes', 'too-large'],
      ['use APP_TESTKIT_SLOW 30000', 'did not answer within 2000 ms', 'timeout'],
    ];
    for (const [text, error, fault] of cases) {
      const started = Date.now();
      const run = await turn(agentId, text);
      expect(toolOutputs(run).errors).toEqual([expect.stringContaining(error)]);
      expect(run.chunks.at(-1)).toMatchObject({ type: 'finish' });
      expect(run.text).toContain(error);
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(logLines.some((line) => line.includes('app action failed') && line.includes(`"fault":"${fault}"`))).toBe(true);
    }
  });

  test('a refused connection and malformed JSON-RPC are tool errors too', async () => {
    const broken = await startMcpTestServer();
    const { server } = await register({ name: 'broken', transport: 'http', url: broken.url });
    const agentId = await agentAllowing(['APP_BROKEN_*']);

    broken.setMode('garbage');
    const malformed = await turn(agentId, 'use APP_BROKEN_ECHO are you there');
    expect(toolOutputs(malformed).errors).toEqual([expect.stringContaining('MCP server "broken" sent a malformed message')]);

    await broken.close();
    const refused = await turn(agentId, 'use APP_BROKEN_ECHO anyone home');
    expect(toolOutputs(refused).errors).toEqual([expect.stringContaining('MCP server "broken" cannot be reached')]);
    expect(logLines.some((line) => line.includes('"fault":"unreachable"') && line.includes('"server":"broken"'))).toBe(true);
    await admin.delete(`/mcp-servers/${server.id}`);
  });
});

describe('per-turn result cache', () => {
  test('the same action with the same arguments runs once per turn, whether called directly or through app_execute', async () => {
    const servers = new McpServerRepository(stack.pool, new SecretBox(stack.configuration.secrets.keys!));
    const executor = new AppActionExecutor({
      pool: stack.pool,
      servers,
      limits: { connectTimeoutMs: 5000, callTimeoutMs: 2000, maxResultBytes: 50_000 },
      logger: pino({ level: 'silent' }),
      isAllowed: isToolAllowed,
    });
    const scopeId = `turn-${randomUUID()}`;
    const before = httpServer.counters.calls.echo ?? 0;
    const call = { scopeId, workspaceId: stack.workspaceId, allowedTools: ['APP_TESTKIT_*'], logContext: {} };
    const first = await executor.execute({ ...call, name: 'APP_TESTKIT_ECHO', arguments: { text: 'once' } });
    const second = await executor.execute({ ...call, name: 'app_execute', arguments: { arguments: { text: 'once' }, action: 'APP_TESTKIT_ECHO' } });
    const otherTurn = await executor.execute({ ...call, scopeId: `${scopeId}-b`, name: 'APP_TESTKIT_ECHO', arguments: { text: 'once' } });
    expect(first).toMatchObject({ ok: true, cached: false, text: 'echo over http: once' });
    expect(second).toMatchObject({ ok: true, cached: true, text: 'echo over http: once' });
    expect(otherTurn).toMatchObject({ ok: true, cached: false });
    expect((httpServer.counters.calls.echo ?? 0) - before).toBe(2);

    const refused = await executor.execute({ ...call, name: 'APP_TESTKIT_ECHO', allowedTools: ['APP_OTHER_*'], arguments: { text: 'x' } });
    expect(refused).toEqual({ ok: false, error: 'App action "APP_TESTKIT_ECHO" is not allowed for this agent' });
    expect(await executor.execute({ ...call, name: 'app_execute', arguments: { action: 'rm -rf' } })).toMatchObject({ ok: false, error: expect.stringContaining('needs "action"') });
  });
});
