/**
 * Memory on the real stack: the `/api/memories` routes behind API keys, full-text search in Postgres,
 * and the memory activities (tiers, widget mode, idempotent session memory, retrieval that fails
 * without failing the turn). No mocks: the failing case uses a pool whose database does not exist.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { Pool } from 'pg';
import { createMemoryActivities } from '../../src/activities/memory';
import { ChatRepository } from '../../src/db/chat-repository';
import { createLogger } from '../../src/logger';
import { MemoryRepository } from '../../src/memory/memory-repository';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;
const logger = createLogger('silent', 'memory-test');

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

function call(method: string, path: string, apiKey: string, body?: unknown) {
  return fetch(`${stack.apiUrl}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}

async function newConversation(workspaceId: string): Promise<string> {
  const conversation = await new ChatRepository(stack.pool).claimConversation(workspaceId, `chat-${randomUUID()}`, `${workspaceId}-user`, 'memory test');
  return conversation.id;
}

describe('the memories API', () => {
  it('adds, lists and deletes a workspace memory with the API key', async () => {
    const { apiKey } = await stack.addWorkspace();
    const created = await call('POST', '/memories', apiKey, { content: '  Our fiscal year starts in April.  ' });
    expect(created.status).toBe(201);
    const { memory } = await created.json();
    expect(memory).toMatchObject({ tier: 'workspace', content: 'Our fiscal year starts in April.' });
    expect(memory.id).toMatch(/^mem_[0-9a-f-]{36}$/);
    expect(new Date(memory.createdAt).getTime()).not.toBeNaN();

    const second = await (await call('POST', '/memories', apiKey, { content: 'The support inbox is help@example.com.' })).json();
    const listed = await (await call('GET', '/memories', apiKey)).json();
    expect(listed.memories.map((item: { id: string }) => item.id)).toEqual([second.memory.id, memory.id]);
    const paged = await (await call('GET', '/memories?limit=1&offset=1', apiKey)).json();
    expect(paged.memories.map((item: { id: string }) => item.id)).toEqual([memory.id]);

    const deleted = await call('DELETE', `/memories/${memory.id}`, apiKey);
    expect(deleted.status).toBe(204);
    const after = await (await call('GET', '/memories', apiKey)).json();
    expect(after.memories.map((item: { id: string }) => item.id)).toEqual([second.memory.id]);
    const again = await call('DELETE', `/memories/${memory.id}`, apiKey);
    expect(again.status).toBe(404);
    expect((await again.json()).error.code).toBe('memory_not_found');
  });

  it("hides a workspace's memories from another workspace", async () => {
    const owner = await stack.addWorkspace();
    const stranger = await stack.addWorkspace();
    const { memory } = await (await call('POST', '/memories', owner.apiKey, { content: 'The launch code word is pelican.' })).json();

    const strangerList = await (await call('GET', '/memories', stranger.apiKey)).json();
    expect(strangerList.memories).toEqual([]);
    const strangerDelete = await call('DELETE', `/memories/${memory.id}`, stranger.apiKey);
    expect(strangerDelete.status).toBe(404);
    expect((await strangerDelete.json()).error.code).toBe('memory_not_found');

    const ownerList = await (await call('GET', '/memories', owner.apiKey)).json();
    expect(ownerList.memories.map((item: { id: string }) => item.id)).toEqual([memory.id]);
  });

  it('answers 404 for an id that is not a memory id at all', async () => {
    const response = await call('DELETE', '/memories/not-a-memory', stack.apiKey);
    expect(response.status).toBe(404);
    expect((await response.json()).error.code).toBe('memory_not_found');
  });

  it.each([
    ['a missing content', {}],
    ['an empty content', { content: '   ' }],
    ['a content that is not text', { content: 42 }],
    ['a content over 4000 characters', { content: 'x'.repeat(4001) }],
  ])('rejects %s with a 400 naming the field', async (_case, body) => {
    const response = await call('POST', '/memories', stack.apiKey, body);
    expect(response.status).toBe(400);
    const { error } = await response.json();
    expect(error.code).toBe('invalid_request');
    expect(error.field).toBe('content');
    expect(error.message).toContain('content');
  });

  it('rejects a body that is not JSON and a bad page', async () => {
    const notJson = await call('POST', '/memories', stack.apiKey, '{"content": ');
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).error.code).toBe('invalid_json');
    const badPage = await call('GET', '/memories?limit=0', stack.apiKey);
    expect(badPage.status).toBe(400);
    expect((await badPage.json()).error.field).toBe('limit');
  });

  it('requires the API key', async () => {
    const response = await fetch(`${stack.apiUrl}/api/memories`);
    expect(response.status).toBe(401);
  });
});

describe('memory search', () => {
  it('ranks the memory that matches the question best first, and matches natural questions', async () => {
    const { workspaceId } = await stack.addWorkspace();
    const memories = new MemoryRepository(stack.pool);
    await memories.addWorkspaceMemory(workspaceId, 'The office wifi password is on the fridge.');
    const policy = await memories.addWorkspaceMemory(workspaceId, 'Our refund policy: customers get refunds within 30 days of purchase.');
    const partial = await memories.addWorkspaceMemory(workspaceId, 'Refunds above 500 euros need a manager.');

    const matches = await memories.searchWorkspace(workspaceId, 'What is our refund policy?', 5);
    expect(matches[0]).toMatchObject({ id: policy.id, tier: 'workspace' });
    // Holds only "refund" of the question, yet still found thanks to the any-word fallback.
    expect(matches.map((match) => match.id)).toEqual([policy.id, partial.id]);
    expect(matches[0]!.rank).toBeGreaterThan(matches[1]!.rank);

    expect(await memories.searchWorkspace(workspaceId, 'penguins', 5)).toEqual([]);
    expect(await memories.searchWorkspace(workspaceId, '?!', 5)).toEqual([]);
    expect(await memories.searchWorkspace(workspaceId, "what is it & | ! ( 'quoted", 5)).toEqual([]);
  });

  it('keeps session memories within their conversation and workspace', async () => {
    const { workspaceId } = await stack.addWorkspace();
    const other = await stack.addWorkspace();
    const memories = new MemoryRepository(stack.pool);
    const first = await newConversation(workspaceId);
    const second = await newConversation(workspaceId);
    await memories.rememberExchange({ workspaceId, conversationId: first, turnId: `turn-${randomUUID()}`, userText: 'My favourite colour is teal.', assistantText: 'Noted: teal.' });
    await memories.rememberExchange({ workspaceId, conversationId: second, turnId: `turn-${randomUUID()}`, userText: 'My favourite colour is orange.', assistantText: 'Orange it is.' });

    const inFirst = await memories.searchSession(workspaceId, first, 'what is my favourite colour', 5);
    expect(inFirst).toHaveLength(1);
    expect(inFirst[0]).toMatchObject({ tier: 'session', content: 'User: My favourite colour is teal.\nAssistant: Noted: teal.' });
    expect(await memories.searchSession(other.workspaceId, first, 'favourite colour', 5)).toEqual([]);
    // Session memories are not workspace memories: neither searched nor listed as such.
    expect(await memories.searchWorkspace(workspaceId, 'favourite colour', 5)).toEqual([]);
    expect(await memories.listWorkspaceMemories(workspaceId, { limit: 10, offset: 0 })).toEqual([]);
  });
});

describe('memory activities', () => {
  const activities = () => createMemoryActivities({ pool: stack.pool, logger });

  it('retrieves both tiers, and only the session tier in widget mode', async () => {
    const { workspaceId } = await stack.addWorkspace();
    const conversationId = await newConversation(workspaceId);
    const { retrieveMemory, rememberExchange } = activities();
    const workspaceMemory = await new MemoryRepository(stack.pool).addWorkspaceMemory(workspaceId, 'Deployments happen every Tuesday.');
    await rememberExchange({ turnId: `turn-${randomUUID()}`, workspaceId, conversationId, userText: 'Can we move the deployment to Thursday?', assistantText: 'Thursday deployments need approval.' });

    const query = 'When do deployments happen?';
    const full = await retrieveMemory({ turnId: 'turn-full', workspaceId, conversationId, query, widgetMode: false });
    expect(full.skippedTiers).toEqual([]);
    expect(full.memories.map((memory) => memory.tier)).toEqual(['workspace', 'session']);
    expect(full.memories[0]).toEqual({ id: workspaceMemory.id, tier: 'workspace', text: 'Deployments happen every Tuesday.' });

    const widget = await retrieveMemory({ turnId: 'turn-widget', workspaceId, conversationId, query, widgetMode: true });
    expect(widget.skippedTiers).toEqual(['workspace']);
    expect(widget.memories.map((memory) => memory.tier)).toEqual(['session']);
  });

  it('honours limitPerTier and cuts long memories to what the prompt shows', async () => {
    const { workspaceId } = await stack.addWorkspace();
    const conversationId = await newConversation(workspaceId);
    const memories = new MemoryRepository(stack.pool);
    for (let index = 0; index < 3; index++) await memories.addWorkspaceMemory(workspaceId, `Budget note ${index}: ${'spend '.repeat(200)}`);
    const result = await activities().retrieveMemory({ turnId: 'turn-limit', workspaceId, conversationId, query: 'budget', widgetMode: false, limitPerTier: 2 });
    expect(result.memories).toHaveLength(2);
    for (const memory of result.memories) expect(memory.text.length).toBeLessThanOrEqual(500);
  });

  it('remembers an exchange once, however often the activity runs', async () => {
    const { workspaceId } = await stack.addWorkspace();
    const conversationId = await newConversation(workspaceId);
    const { rememberExchange } = activities();
    const input = { turnId: `chat:${conversationId}:msg-1`, workspaceId, conversationId, userText: 'Remember that the invoice number is 4711.', assistantText: 'Got it: 4711.' };
    await rememberExchange(input);
    await rememberExchange(input);
    await Promise.all([rememberExchange(input), rememberExchange(input)]);
    const rows = await stack.pool.query('SELECT tier, content, source_turn_id FROM memories WHERE conversation_id = $1', [conversationId]);
    expect(rows.rows).toEqual([{ tier: 'session', content: 'User: Remember that the invoice number is 4711.\nAssistant: Got it: 4711.', source_turn_id: input.turnId }]);
  });

  it('does not remember greetings and acknowledgements', async () => {
    const { workspaceId } = await stack.addWorkspace();
    const conversationId = await newConversation(workspaceId);
    const { rememberExchange } = activities();
    await rememberExchange({ turnId: `turn-${randomUUID()}`, workspaceId, conversationId, userText: 'thanks!', assistantText: 'You are welcome.' });
    await rememberExchange({ turnId: `turn-${randomUUID()}`, workspaceId, conversationId, userText: 'hello there', assistantText: 'Hi!' });
    const rows = await stack.pool.query('SELECT 1 FROM memories WHERE conversation_id = $1', [conversationId]);
    expect(rows.rowCount).toBe(0);
  });

  it("refuses, without retries, to remember into another workspace's conversation", async () => {
    const owner = await stack.addWorkspace();
    const stranger = await stack.addWorkspace();
    const conversationId = await newConversation(owner.workspaceId);
    const attempt = activities().rememberExchange({
      turnId: `turn-${randomUUID()}`,
      workspaceId: stranger.workspaceId,
      conversationId,
      userText: 'Store this somewhere it does not belong.',
      assistantText: 'No.',
    });
    await expect(attempt).rejects.toBeInstanceOf(ApplicationFailure);
    await expect(attempt).rejects.toMatchObject({ type: 'ConversationNotFound', nonRetryable: true });
    const rows = await stack.pool.query('SELECT 1 FROM memories WHERE conversation_id = $1', [conversationId]);
    expect(rows.rowCount).toBe(0);
  });

  it('returns no memory instead of failing when the database cannot be queried', async () => {
    const missing = new URL(stack.configuration.databaseUrl);
    missing.pathname = `/durable_chat_missing_${randomUUID().replace(/-/g, '')}`;
    const brokenPool = new Pool({ connectionString: missing.toString(), max: 1 });
    try {
      const { retrieveMemory } = createMemoryActivities({ pool: brokenPool, logger });
      await expect(brokenPool.query('SELECT 1')).rejects.toThrow(/does not exist/);
      const result = await retrieveMemory({ turnId: 'turn-broken', workspaceId: stack.workspaceId, conversationId: 'chat-none', query: 'What is our refund policy?', widgetMode: false });
      expect(result).toEqual({ memories: [], skippedTiers: ['workspace', 'session'] });
    } finally {
      await brokenPool.end();
    }
  });
});
