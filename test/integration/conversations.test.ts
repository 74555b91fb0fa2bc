/**
 * The conversations API on the real stack: real turns through `POST /api/chat` (worker, Temporal,
 * Redis, Postgres, the scripted model), then the list, read, rename and delete routes a chat app
 * uses, the title the agent's model writes after the first answer, CORS for other origins, and the
 * app itself served at `/`.
 */
import { eventually } from '../support/eventually';
import { randomUUID } from 'node:crypto';
import { generateApiKey, WorkspaceRepository } from '../../src/db/workspace-repository';
import { chunksOf, readSse, textOf, userMessage } from '../support/sse';
import { startTestStack, type TestStack } from '../support/stack';

const ALLOWED_ORIGIN = 'http://chat.example.test';
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ environment: { CORS_ORIGINS: `${ALLOWED_ORIGIN},http://127.0.0.1:5173` } });
});

afterAll(async () => {
  await stack?.stop();
});

function call(method: string, path: string, apiKey: string, body?: unknown, headers: Record<string, string> = {}) {
  return fetch(`${stack.apiUrl}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** One turn over real HTTP, read to the end of its stream; returns the streamed chunks. */
async function chat(apiKey: string, chatId: string, text: string) {
  const response = await call('POST', '/chat', apiKey, { id: chatId, messages: [userMessage(`msg-${randomUUID()}`, text)] }, { 'x-ai-sdk-version': '7' });
  expect(response.status).toBe(200);
  return chunksOf(await readSse(response));
}

/** Starts a turn and returns once its first text arrived, leaving the stream open in the background. */
async function chatUntilFirstText(apiKey: string, chatId: string, text: string) {
  const response = await call('POST', '/chat', apiKey, { id: chatId, messages: [userMessage(`msg-${randomUUID()}`, text)] }, { 'x-ai-sdk-version': '7' });
  let firstText!: () => void;
  const sawText = new Promise<void>((resolve) => (firstText = resolve));
  const finished = readSse(response, (event) => {
    if (event.data.includes('"text-delta"')) firstText();
  });
  await sawText;
  // Wrapped: an async function returning the promise itself would wait for the whole stream.
  return { finished };
}

/** Waits until every turn of the chat has closed: the title step runs after the answer was streamed. */
async function turnsClosed(workspaceId: string, chatId: string): Promise<void> {
  const key = stack.conversationKey(chatId, workspaceId);
  const turns = (await stack.pool.query("SELECT DISTINCT turn_id FROM chat_events WHERE conversation_id = $1 AND role = 'user'", [key])).rows as Array<{ turn_id: string }>;
  for (const { turn_id: turnId } of turns) await stack.temporal.workflow.getHandle(turnId).result();
}

/** The title requests the scripted model received for a chat whose first message contains `fragment`. */
function titleRequests(fragment: string) {
  return stack.llm.requests.filter((request) => request.rule === 'title' && JSON.stringify(request.messages).includes(fragment));
}

describe('the conversation list', () => {
  it("lists the caller's conversations by last activity, pages with a cursor, and shows no one else's", async () => {
    const { workspaceId, apiKey } = await stack.addWorkspace();
    const ids = [1, 2, 3].map((index) => `list-${index}-${randomUUID()}`);
    for (const id of ids) await chat(apiKey, id, `hello from ${id}`);

    const first = await (await call('GET', '/conversations?limit=2', apiKey)).json();
    expect(first.conversations.map((conversation: { id: string }) => conversation.id)).toEqual([ids[2], ids[1]]);
    expect(typeof first.nextCursor).toBe('string');
    const second = await (await call('GET', `/conversations?limit=2&cursor=${encodeURIComponent(first.nextCursor)}`, apiKey)).json();
    expect(second.conversations.map((conversation: { id: string }) => conversation.id)).toEqual([ids[0]]);
    expect(second.nextCursor).toBeNull();
    expect(second.conversations[0]).toMatchObject({ id: ids[0], agentId: null });
    expect(Date.parse(second.conversations[0].lastActivityAt)).toBeGreaterThanOrEqual(Date.parse(second.conversations[0].createdAt));

    // A new message moves the oldest conversation to the top.
    await chat(apiKey, ids[0]!, 'one more message');
    const after = await (await call('GET', '/conversations', apiKey)).json();
    expect(after.conversations.map((conversation: { id: string }) => conversation.id)).toEqual([ids[0], ids[2], ids[1]]);

    // Another user of the same workspace, and another workspace, see none of them.
    const colleagueKey = generateApiKey();
    await new WorkspaceRepository(stack.pool).seedWorkspace({ workspaceId, workspaceName: workspaceId, userId: `${workspaceId}-colleague`, userName: 'Colleague', apiKey: colleagueKey });
    const other = await stack.addWorkspace();
    for (const key of [colleagueKey, other.apiKey]) {
      expect((await (await call('GET', '/conversations', key)).json()).conversations).toEqual([]);
      const read = await call('GET', `/conversations/${ids[0]}`, key);
      expect(read.status).toBe(404);
      expect((await read.json()).error.code).toBe('conversation_not_found');
      expect((await call('PATCH', `/conversations/${ids[0]}`, key, { title: 'mine now' })).status).toBe(404);
      expect((await call('DELETE', `/conversations/${ids[0]}`, key)).status).toBe(404);
    }
    expect((await call('GET', `/conversations/${ids[0]}`, apiKey)).status).toBe(200);
  });

  it('answers bad input with a 4xx naming the field, and starts nothing', async () => {
    const { apiKey } = await stack.addWorkspace();
    const badLimit = await call('GET', '/conversations?limit=0', apiKey);
    expect(badLimit.status).toBe(400);
    expect((await badLimit.json()).error).toMatchObject({ code: 'invalid_request', field: 'limit' });
    const badCursor = await call('GET', '/conversations?cursor=not-a-cursor', apiKey);
    expect(badCursor.status).toBe(400);
    expect((await badCursor.json()).error).toMatchObject({ code: 'invalid_request', field: 'cursor' });
    const id = `bad-input-${randomUUID()}`;
    await chat(apiKey, id, 'hello');
    const emptyTitle = await call('PATCH', `/conversations/${id}`, apiKey, { title: '   ' });
    expect(emptyTitle.status).toBe(400);
    expect((await emptyTitle.json()).error).toMatchObject({ code: 'invalid_request', field: 'title' });
    expect((await call('GET', '/conversations/no such chat!', apiKey)).status).toBe(404);
    expect((await call('GET', '/conversations', 'dc_not-a-key')).status).toBe(401);
  });
});

describe('one conversation', () => {
  it('reads back its messages as UIMessages, with the answer finish reason, usage, cost and agent', async () => {
    const { workspaceId, apiKey } = await stack.addWorkspace();
    const id = `read-${randomUUID()}`;
    const chunks = await chat(apiKey, id, 'Please tell me something long');
    const streamed = textOf(chunks);
    const start = chunks.find((chunk) => chunk.type === 'start')!;

    const answer = await (await call('GET', `/conversations/${id}`, apiKey)).json();
    expect(answer.running).toBe(false);
    expect(answer.conversation).toMatchObject({ id, title: 'Please tell me something long', titleSource: expect.stringMatching(/^(message|generated)$/) });
    const [question, reply] = answer.messages;
    expect(answer.messages).toHaveLength(2);
    expect(question).toMatchObject({ role: 'user', parts: [{ type: 'text', text: 'Please tell me something long' }] });
    expect(reply.id).toBe(start.messageId);
    expect(reply.role).toBe('assistant');
    const replyText = reply.parts.filter((part: { type: string }) => part.type === 'text').map((part: { text: string }) => part.text).join('');
    expect(replyText).toBe(streamed);
    const usageRows = await stack.pool.query('SELECT sum(input_tokens)::int AS input, sum(output_tokens)::int AS output, sum(cost_usd) AS cost FROM llm_usage WHERE conversation_id = $1', [
      stack.conversationKey(id, workspaceId),
    ]);
    const usage = usageRows.rows[0];
    expect(reply.metadata).toMatchObject({ finishReason: 'stop', model: 'scripted-1', usage: { inputTokens: usage.input, outputTokens: usage.output }, agentId: `${workspaceId}-assistant` });
    expect(reply.metadata.costUsd).toBeCloseTo(Number(usage.cost), 10);
    expect(reply.metadata.costUsd).toBeGreaterThan(0);
  });

  it('says a turn is still running, so the app resumes its stream', async () => {
    const { apiKey } = await stack.addWorkspace();
    const id = `running-${randomUUID()}`;
    const { finished } = await chatUntilFirstText(apiKey, id, 'something long [[tps=40]]');
    const during = await (await call('GET', `/conversations/${id}`, apiKey)).json();
    expect(during.running).toBe(true);
    expect(during.messages.map((message: { role: string }) => message.role)).toEqual(['user']);
    await finished;
    const after = await (await call('GET', `/conversations/${id}`, apiKey)).json();
    expect(after.running).toBe(false);
    expect(after.messages.map((message: { role: string }) => message.role)).toEqual(['user', 'assistant']);
  });
});

describe('titles', () => {
  it("are written by the agent's model after the first answer, a step of the turn that runs after the stream ended", async () => {
    const { workspaceId, apiKey } = await stack.addWorkspace();
    const id = `title-${randomUUID()}`;
    await chat(apiKey, id, 'plan a weekend trip to Lisbon with my family, please');
    await turnsClosed(workspaceId, id);
    const { conversation } = await (await call('GET', `/conversations/${id}`, apiKey)).json();
    expect(conversation).toMatchObject({ title: 'Plan a weekend trip to Lisbon', titleSource: 'generated' });
    expect(titleRequests('weekend trip to Lisbon').map((request) => request.model)).toEqual(['scripted-1']);

    // The next turn does not ask again: the conversation has its title.
    await chat(apiKey, id, 'and what about the weather?');
    await turnsClosed(workspaceId, id);
    expect(titleRequests('weekend trip to Lisbon')).toHaveLength(1);
  });

  it('never replace a name the user chose, even one chosen while the first answer streams', async () => {
    const { workspaceId, apiKey } = await stack.addWorkspace();
    const id = `rename-${randomUUID()}`;
    const { finished } = await chatUntilFirstText(apiKey, id, 'something long about renaming [[tps=40]]');
    const renamed = await call('PATCH', `/conversations/${id}`, apiKey, { title: '  My own name  ' });
    expect(renamed.status).toBe(200);
    expect((await renamed.json()).conversation).toMatchObject({ id, title: 'My own name', titleSource: 'user' });
    await finished;
    await turnsClosed(workspaceId, id);
    // The title step found the user's name and asked the model nothing.
    expect(titleRequests('something long about renaming')).toHaveLength(0);
    const { conversation } = await (await call('GET', `/conversations/${id}`, apiKey)).json();
    expect(conversation).toMatchObject({ title: 'My own name', titleSource: 'user' });
  });
});

describe('deleting a conversation', () => {
  it('removes its events and session memories, stopping a turn that still runs', async () => {
    const { workspaceId, apiKey } = await stack.addWorkspace();
    const id = `delete-${randomUUID()}`;
    const key = stack.conversationKey(id, workspaceId);
    await chat(apiKey, id, 'we are planning the launch for Friday');
    await eventually('the session memory', async () => ((await stack.pool.query('SELECT 1 FROM memories WHERE conversation_id = $1', [key])).rowCount ? true : undefined), 20_000);
    const { finished } = await chatUntilFirstText(apiKey, id, 'now something long [[tps=20]]');
    const turnId = (await stack.pool.query("SELECT turn_id FROM chat_events WHERE conversation_id = $1 AND role = 'user' ORDER BY seq DESC LIMIT 1", [key])).rows[0].turn_id as string;

    const deleted = await call('DELETE', `/conversations/${id}`, apiKey);
    expect(deleted.status).toBe(204);
    await finished;
    expect((await stack.temporal.workflow.getHandle(turnId).describe()).status.name).toBe('CANCELLED');
    for (const table of ['conversations', 'chat_events', 'memories']) {
      const column = table === 'conversations' ? 'id' : 'conversation_id';
      expect((await stack.pool.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${column} = $1`, [key])).rows[0].n).toBe(0);
    }
    expect((await call('GET', `/conversations/${id}`, apiKey)).status).toBe(404);
    expect((await call('DELETE', `/conversations/${id}`, apiKey)).status).toBe(404);
    expect((await (await call('GET', '/conversations', apiKey)).json()).conversations).toEqual([]);
  });
});

describe('CORS for /api', () => {
  it('answers preflights from allowed origins before auth, and refuses others', async () => {
    const preflight = await fetch(`${stack.apiUrl}/api/chat`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, x-ai-sdk-version' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-ai-sdk-version');

    const refused = await fetch(`${stack.apiUrl}/api/chat`, { method: 'OPTIONS', headers: { origin: 'http://evil.example.test', 'access-control-request-method': 'POST' } });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();

    const read = await call('GET', '/conversations', stack.apiKey, undefined, { origin: ALLOWED_ORIGIN });
    expect(read.status).toBe(200);
    expect(read.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    const unauthenticated = await fetch(`${stack.apiUrl}/api/conversations`, { headers: { origin: ALLOWED_ORIGIN } });
    expect(unauthenticated.status).toBe(401);
    // A browser can read the 401 and show it: the CORS headers are on error answers too.
    expect(unauthenticated.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
  });
});

describe('the chat app', () => {
  it('is served at / and at a chat path, with its assets', async () => {
    for (const path of ['/', '/c/some-chat']) {
      const page = await fetch(`${stack.apiUrl}${path}`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toContain('text/html');
      const html = await page.text();
      expect(html).toContain('<div id="root"></div>');
      const script = /<script[^>]+src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(script).toBeDefined();
      const asset = await fetch(`${stack.apiUrl}${script}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('cache-control')).toContain('immutable');
    }
    expect((await fetch(`${stack.apiUrl}/assets/missing.js`)).status).toBe(404);
  });
});
