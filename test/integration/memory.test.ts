/**
 * Memory on the real stack: the `/api/memories` routes behind API keys (list, add, read, edit, delete,
 * shared or private), the repository's search, and the memory activities (tiers, widget mode,
 * extraction applied once per turn, retrieval that fails without failing the turn, the embedding
 * backfill). No mocks: the failing case uses a pool whose database does not exist.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { Pool } from 'pg';
import { toStoredVector } from '../../src/activities/memory';
import { ChatRepository } from '../../src/db/chat-repository';
import { createLogger } from '../../src/logger';
import { MemoryRepository } from '../../src/memory/memory-repository';
import { addUser, api, eventually, memoryActivities, testEmbedder, TEST_STACK_ENVIRONMENT } from '../support/memory';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;
const logger = createLogger('silent', 'memory-test');

beforeAll(async () => {
  stack = await startTestStack({ environment: TEST_STACK_ENVIRONMENT });
});

afterAll(async () => {
  await stack?.stop();
});

async function newConversation(workspaceId: string, userId = `${workspaceId}-user`): Promise<string> {
  const conversation = await new ChatRepository(stack.pool).claimConversation(workspaceId, `chat-${randomUUID()}`, userId, 'memory test');
  return conversation.id;
}

const searchOptions = { limit: 5, candidates: 20, minimumSimilarity: 0.3 };

describe('the memories API', () => {
  it('adds, reads, lists, edits and deletes a memory with the API key', async () => {
    const { apiKey, workspaceId } = await stack.addWorkspace();
    const call = api(stack, apiKey);
    const created = await call('POST', '/memories', { content: '  Our fiscal year starts in April.  ' });
    expect(created.status).toBe(201);
    const { memory } = await created.json();
    expect(memory).toMatchObject({ tier: 'workspace', scope: 'user', shared: false, content: 'Our fiscal year starts in April.' });
    expect(memory.id).toMatch(/^mem_[0-9a-f-]{36}$/);
    expect(new Date(memory.createdAt).getTime()).not.toBeNaN();

    const second = await (await call('POST', '/memories', { content: 'The support inbox is help@example.com.', shared: true })).json();
    expect(second.memory).toMatchObject({ scope: 'shared', shared: true });
    const listed = await (await call('GET', '/memories')).json();
    expect(listed.memories.map((item: { id: string }) => item.id)).toEqual([second.memory.id, memory.id]);
    const paged = await (await call('GET', '/memories?limit=1&offset=1')).json();
    expect(paged.memories.map((item: { id: string }) => item.id)).toEqual([memory.id]);
    expect((await (await call('GET', `/memories/${memory.id}`)).json()).memory.content).toBe('Our fiscal year starts in April.');

    // The background embeds what the API stored.
    await eventually('the memory to be embedded', async () => ((await (await call('GET', `/memories/${memory.id}`)).json()).memory.embedded ? true : undefined));

    const edited = await call('PATCH', `/memories/${memory.id}`, { content: 'Our fiscal year starts in July.', shared: true });
    expect(edited.status).toBe(200);
    expect((await edited.json()).memory).toMatchObject({ content: 'Our fiscal year starts in July.', shared: true, scope: 'shared', embedded: false });
    const stored = await stack.pool.query('SELECT content, shared FROM memories WHERE id = $1 AND workspace_id = $2', [memory.id, workspaceId]);
    expect(stored.rows[0]).toEqual({ content: 'Our fiscal year starts in July.', shared: true });
    await eventually('the edited memory to be embedded again', async () => ((await (await call('GET', `/memories/${memory.id}`)).json()).memory.embedded ? true : undefined));

    const deleted = await call('DELETE', `/memories/${memory.id}`);
    expect(deleted.status).toBe(204);
    const after = await (await call('GET', '/memories')).json();
    expect(after.memories.map((item: { id: string }) => item.id)).toEqual([second.memory.id]);
    const again = await call('DELETE', `/memories/${memory.id}`);
    expect(again.status).toBe(404);
    expect((await again.json()).error.code).toBe('memory_not_found');
  });

  it("keeps a user's private memories from the other users of the workspace, and shares shared ones", async () => {
    const owner = await stack.addWorkspace();
    const colleague = await addUser(stack, owner.workspaceId);
    const asOwner = api(stack, owner.apiKey);
    const asColleague = api(stack, colleague.apiKey);
    const { memory: privateMemory } = await (await asOwner('POST', '/memories', { content: 'My salary expectation is 90k.' })).json();
    const { memory: sharedMemory } = await (await asOwner('POST', '/memories', { content: 'The team offsite is in Porto.', shared: true })).json();

    const seen = await (await asColleague('GET', '/memories')).json();
    expect(seen.memories.map((item: { id: string }) => item.id)).toEqual([sharedMemory.id]);
    expect((await asColleague('GET', `/memories/${privateMemory.id}`)).status).toBe(404);
    expect((await asColleague('PATCH', `/memories/${privateMemory.id}`, { content: 'Changed.' })).status).toBe(404);
    expect((await asColleague('DELETE', `/memories/${privateMemory.id}`)).status).toBe(404);
    expect((await (await asOwner('GET', `/memories/${privateMemory.id}`)).json()).memory.content).toBe('My salary expectation is 90k.');
  });

  it("hides a workspace's memories from another workspace", async () => {
    const owner = await stack.addWorkspace();
    const stranger = await stack.addWorkspace();
    const { memory } = await (await api(stack, owner.apiKey)('POST', '/memories', { content: 'The launch code word is pelican.', shared: true })).json();
    const asStranger = api(stack, stranger.apiKey);
    expect((await (await asStranger('GET', '/memories')).json()).memories).toEqual([]);
    const strangerDelete = await asStranger('DELETE', `/memories/${memory.id}`);
    expect(strangerDelete.status).toBe(404);
    expect((await strangerDelete.json()).error.code).toBe('memory_not_found');
  });

  it('answers 404 for an id that is not a memory id at all', async () => {
    const response = await api(stack, stack.apiKey)('DELETE', '/memories/not-a-memory');
    expect(response.status).toBe(404);
    expect((await response.json()).error.code).toBe('memory_not_found');
  });

  it.each([
    ['a missing content', {}],
    ['an empty content', { content: '   ' }],
    ['a content that is not text', { content: 42 }],
    ['a content over 4000 characters', { content: 'x'.repeat(4001) }],
  ])('rejects %s with a 400 naming the field', async (_case, body) => {
    const response = await api(stack, stack.apiKey)('POST', '/memories', body);
    expect(response.status).toBe(400);
    const { error } = await response.json();
    expect(error.code).toBe('invalid_request');
    expect(error.field).toBe('content');
    expect(error.message).toContain('content');
  });

  it('rejects a body that is not JSON, an empty edit and a bad page', async () => {
    const call = api(stack, stack.apiKey);
    const notJson = await fetch(`${stack.apiUrl}/api/memories`, { method: 'POST', headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' }, body: '{"content": ' });
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).error.code).toBe('invalid_json');
    const { memory } = await (await call('POST', '/memories', { content: 'Something to edit.' })).json();
    const emptyEdit = await call('PATCH', `/memories/${memory.id}`, {});
    expect(emptyEdit.status).toBe(400);
    expect((await emptyEdit.json()).error.field).toBe('content');
    const badPage = await call('GET', '/memories?limit=0');
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
    const userId = `${workspaceId}-user`;
    const memories = new MemoryRepository(stack.pool);
    const add = (content: string) => memories.addMemory({ tier: 'workspace', workspaceId, userId, shared: false, content });
    await add('The office wifi password is on the fridge.');
    const policy = await add('Our refund policy: customers get refunds within 30 days of purchase.');
    const partial = await add('Refunds above 500 euros need a manager.');

    const scope = { workspaceId, userId };
    const matches = await memories.searchWorkspace(scope, 'What is our refund policy?', searchOptions);
    // Holds only "refund" of the question, yet still found thanks to the any-word query.
    expect(matches.map((match) => match.id)).toEqual([policy.id, partial.id]);
    expect(matches[0]!.textRank).toBeGreaterThan(matches[1]!.textRank!);

    expect(await memories.searchWorkspace(scope, 'penguins', searchOptions)).toEqual([]);
    expect(await memories.searchWorkspace(scope, '?!', searchOptions)).toEqual([]);
    expect(await memories.searchWorkspace(scope, "what is it & | ! ( 'quoted", searchOptions)).toEqual([]);
  });

  it('keeps session memories within their conversation and after its last fresh start', async () => {
    const { workspaceId } = await stack.addWorkspace();
    const other = await stack.addWorkspace();
    const memories = new MemoryRepository(stack.pool);
    const chats = new ChatRepository(stack.pool);
    const first = await newConversation(workspaceId);
    const second = await newConversation(workspaceId);
    const session = (conversationId: string, content: string, sourceSeq: number) =>
      memories.addMemory({ tier: 'session', workspaceId, userId: `${workspaceId}-user`, conversationId, sourceSeq, content });
    await session(first, 'The favourite colour in this chat is teal.', 1);
    await session(second, 'The favourite colour in this chat is orange.', 1);

    const inFirst = await memories.searchSession({ workspaceId, conversationId: first }, 'what is my favourite colour', searchOptions);
    expect(inFirst.map((match) => match.content)).toEqual(['The favourite colour in this chat is teal.']);
    expect(await memories.searchSession({ workspaceId: other.workspaceId, conversationId: first }, 'favourite colour', searchOptions)).toEqual([]);
    // Session memories are not workspace memories.
    expect(await memories.searchWorkspace({ workspaceId, userId: `${workspaceId}-user` }, 'favourite colour', searchOptions)).toEqual([]);

    await chats.appendEvent({ conversationId: first, type: 'context-reset', role: 'system', requestId: `reset:${randomUUID()}`, content: {} });
    expect(await memories.searchSession({ workspaceId, conversationId: first }, 'favourite colour', searchOptions)).toEqual([]);
    const reset = await stack.pool.query("SELECT max(seq) AS seq FROM chat_events WHERE conversation_id = $1 AND type = 'context-reset'", [first]);
    await session(first, 'The favourite colour in this chat is now green.', Number(reset.rows[0].seq) + 1);
    const afterReset = await memories.searchSession({ workspaceId, conversationId: first }, 'favourite colour', searchOptions);
    expect(afterReset.map((match) => match.content)).toEqual(['The favourite colour in this chat is now green.']);
  });
});

describe('memory activities', () => {
  it('retrieves both tiers, and only the session tier in widget mode', async () => {
    const { workspaceId } = await stack.addWorkspace();
    const userId = `${workspaceId}-user`;
    const conversationId = await newConversation(workspaceId);
    const memories = new MemoryRepository(stack.pool);
    const workspaceMemory = await memories.addMemory({ tier: 'workspace', workspaceId, userId, shared: false, content: 'Deployments happen every Tuesday.' });
    await memories.addMemory({ tier: 'session', workspaceId, userId, conversationId, sourceSeq: 1, content: 'Thursday deployments need approval in this project.' });
    const { retrieveMemory } = memoryActivities(stack, logger);

    const query = 'When do deployments happen?';
    const full = await retrieveMemory({ turnId: 'turn-full', workspaceId, conversationId, userId, query, widgetMode: false });
    expect(full.skippedTiers).toEqual([]);
    expect(full.memories.map((memory) => memory.tier)).toEqual(['workspace', 'session']);
    expect(full.memories[0]).toEqual({ id: workspaceMemory.id, tier: 'workspace', text: 'Deployments happen every Tuesday.' });

    const widget = await retrieveMemory({ turnId: 'turn-widget', workspaceId, conversationId, userId, query, widgetMode: true });
    expect(widget.skippedTiers).toEqual(['workspace']);
    expect(widget.memories.map((memory) => memory.tier)).toEqual(['session']);

    // A turn recorded before memories had owners names no user: the conversation's owner is used.
    const legacy = await retrieveMemory({ turnId: 'turn-legacy', workspaceId, conversationId, query, widgetMode: false });
    expect(legacy.memories[0]!.id).toBe(workspaceMemory.id);
  });

  it('honours limitPerTier and cuts long memories to what the prompt shows', async () => {
    const { workspaceId } = await stack.addWorkspace();
    const userId = `${workspaceId}-user`;
    const conversationId = await newConversation(workspaceId);
    const memories = new MemoryRepository(stack.pool);
    for (let index = 0; index < 3; index++) await memories.addMemory({ tier: 'workspace', workspaceId, userId, shared: false, content: `Budget note ${index}: ${'spend '.repeat(200)}` });
    const result = await memoryActivities(stack, logger).retrieveMemory({ turnId: 'turn-limit', workspaceId, conversationId, userId, query: 'budget', widgetMode: false, limitPerTier: 2 });
    expect(result.memories).toHaveLength(2);
    for (const memory of result.memories) expect(memory.text.length).toBeLessThanOrEqual(500);
  });

  it('applies an extraction once, however often and however concurrently the activity runs, and never stores the raw exchange', async () => {
    const { workspaceId } = await stack.addWorkspace();
    const conversationId = await newConversation(workspaceId);
    const { extractMemories, rememberExchange } = memoryActivities(stack, logger);
    const input = { turnId: `chat:${conversationId}:msg-1`, workspaceId, conversationId, userText: 'Remember that I work at Initech and my favourite editor is vim.', assistantText: 'Got it.' };
    const extractionRequests = () => stack.llm.requests.filter((request) => request.rule === 'memory-extraction' && JSON.stringify(request.messages).includes('Initech')).length;
    const results = await Promise.all([extractMemories(input), extractMemories(input), extractMemories(input)]);
    expect(results.filter((result) => result.skipped === undefined)).toEqual([{ added: 2, updated: 0, deleted: 0 }]);
    expect(results.filter((result) => result.skipped === 'already-extracted')).toHaveLength(2);
    const modelCalls = extractionRequests();
    // Once the extraction is recorded, a retry answers from the record without asking the model, and
    // so does the activity older turn histories call.
    expect(await extractMemories(input)).toEqual({ skipped: 'already-extracted', added: 2, updated: 0, deleted: 0 });
    await rememberExchange(input);
    expect(extractionRequests()).toBe(modelCalls);
    const rows = await stack.pool.query('SELECT tier, user_id, content, embedding IS NOT NULL AS embedded FROM memories WHERE workspace_id = $1 ORDER BY content COLLATE "C"', [workspaceId]);
    expect(rows.rows).toEqual([
      { tier: 'workspace', user_id: `${workspaceId}-user`, content: 'The user works at Initech.', embedded: true },
      { tier: 'workspace', user_id: `${workspaceId}-user`, content: "The user's favourite editor is vim.", embedded: true },
    ]);
    const usage = await stack.pool.query('SELECT hop, model FROM llm_usage WHERE turn_id = $1', [input.turnId]);
    expect(usage.rows).toEqual([{ hop: -2, model: 'scripted-1' }]);
  });

  it('learns nothing from greetings and acknowledgements', async () => {
    const { workspaceId } = await stack.addWorkspace();
    const conversationId = await newConversation(workspaceId);
    const { extractMemories } = memoryActivities(stack, logger);
    expect(await extractMemories({ turnId: `turn-${randomUUID()}`, workspaceId, conversationId, userText: 'thanks!', assistantText: 'You are welcome.' })).toMatchObject({ skipped: 'trivial' });
    expect(await extractMemories({ turnId: `turn-${randomUUID()}`, workspaceId, conversationId, userText: 'hello there', assistantText: 'Hi!' })).toMatchObject({ skipped: 'trivial' });
    const rows = await stack.pool.query('SELECT 1 FROM memories WHERE workspace_id = $1', [workspaceId]);
    expect(rows.rowCount).toBe(0);
  });

  it("refuses, without retries, to learn into another workspace's conversation", async () => {
    const owner = await stack.addWorkspace();
    const stranger = await stack.addWorkspace();
    const conversationId = await newConversation(owner.workspaceId);
    const attempt = memoryActivities(stack, logger).extractMemories({
      turnId: `turn-${randomUUID()}`,
      workspaceId: stranger.workspaceId,
      conversationId,
      userText: 'My name is Mallory, store this somewhere it does not belong.',
      assistantText: 'No.',
    });
    await expect(attempt).rejects.toBeInstanceOf(ApplicationFailure);
    await expect(attempt).rejects.toMatchObject({ type: 'ConversationNotFound', nonRetryable: true });
    const rows = await stack.pool.query('SELECT 1 FROM memories WHERE workspace_id = ANY($1::text[])', [[owner.workspaceId, stranger.workspaceId]]);
    expect(rows.rowCount).toBe(0);
  });

  it('embeds the memories that have no vector, and only for the text they were computed from', async () => {
    const { workspaceId } = await stack.addWorkspace();
    const userId = `${workspaceId}-user`;
    const memories = new MemoryRepository(stack.pool);
    const pending = await memories.addMemory({ tier: 'workspace', workspaceId, userId, shared: false, content: 'The user commutes by bicycle.' });
    const { embedPendingMemories } = memoryActivities(stack, logger);
    expect(await embedPendingMemories({ workspaceId })).toEqual({ embedded: 1, remaining: false });
    expect(await embedPendingMemories({ workspaceId })).toEqual({ embedded: 0, remaining: false });
    const embedder = testEmbedder(stack.pool, stack.llm.url);
    const stale = toStoredVector(embedder, await embedder.embedOne('Something else entirely.'));
    expect(await memories.storeEmbedding(pending.id, 'An older text of the memory.', stale)).toBe(false);
    const stored = await stack.pool.query('SELECT embedding_model, length(signature::text) AS bits FROM memories WHERE id = $1', [pending.id]);
    expect(stored.rows[0]).toEqual({ embedding_model: 'text-embedding-3-small', bits: 256 });
  });

  it('returns no memory instead of failing when the database cannot be queried', async () => {
    const missing = new URL(stack.configuration.databaseUrl);
    missing.pathname = `/durable_chat_missing_${randomUUID().replace(/-/g, '')}`;
    const brokenPool = new Pool({ connectionString: missing.toString(), max: 1 });
    try {
      const { retrieveMemory } = memoryActivities(stack, logger, { pool: brokenPool });
      await expect(brokenPool.query('SELECT 1')).rejects.toThrow(/does not exist/);
      const result = await retrieveMemory({ turnId: 'turn-broken', workspaceId: stack.workspaceId, conversationId: 'chat-none', userId: 'nobody', query: 'What is our refund policy?', widgetMode: false });
      expect(result).toEqual({ memories: [], skippedTiers: ['workspace', 'session'] });
    } finally {
      await brokenPool.end();
    }
  });
});
