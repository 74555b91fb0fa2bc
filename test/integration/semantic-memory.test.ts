/**
 * Semantic memory seen from the outside, on the real stack with the real `ai` chat client: hybrid
 * retrieval finds a paraphrase full text cannot, memories are scoped to their user, a fresh start
 * hides the conversation's earlier session memories, extraction updates a fact that changed, and a
 * dead embeddings endpoint leaves the turn on full-text memory, said in the log.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import pino from 'pino';
import { toStoredVector } from '../../src/activities/memory';
import { createLogger } from '../../src/logger';
import { MemoryRepository } from '../../src/memory/memory-repository';
import { runAiClient, assistantText, type AiClientResult } from '../support/ai-client';
import { addUser, api, eventually, memoryActivities, testEmbedder, turnsCompleted, TEST_STACK_ENVIRONMENT } from '../support/memory';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ environment: TEST_STACK_ENVIRONMENT });
});

afterAll(async () => {
  await stack?.stop();
});

const silent = createLogger('silent', 'semantic-memory-test');

async function send(target: TestStack, apiKey: string, chatId: string, text: string): Promise<AiClientResult> {
  return runAiClient({ apiUrl: target.apiUrl, apiKey, chatId, headers: { 'x-ai-sdk-version': '7' }, steps: [{ action: 'send', text }] });
}

/** The memories the client was told the answer used (its `data-memory` part). */
function memoriesUsed(result: AiClientResult): string[] {
  const part = result.messages.at(-1)?.parts.find((candidate) => candidate.type === 'data-memory') as { data: { memories: Array<{ text: string }> } } | undefined;
  return part?.data.memories.map((memory) => memory.text) ?? [];
}

async function addMemory(target: TestStack, apiKey: string, content: string, shared = false): Promise<string> {
  const call = api(target, apiKey);
  const { memory } = await (await call('POST', '/memories', { content, shared })).json();
  return memory.id as string;
}

async function embedded(apiKey: string, id: string): Promise<void> {
  const call = api(stack, apiKey);
  await eventually(`memory ${id} to be embedded`, async () => ((await (await call('GET', `/memories/${id}`)).json()).memory.embedded ? true : undefined));
}

describe('hybrid retrieval', () => {
  it('finds a paraphrase that shares no word with the memory, which full text alone misses', async () => {
    const { workspaceId, apiKey } = await stack.addWorkspace();
    const userId = `${workspaceId}-user`;
    const target = await addMemory(stack, apiKey, 'The user drives a red car to the office every morning.');
    await addMemory(stack, apiKey, 'The quarterly marketing budget is 40,000 euros.');
    await embedded(apiKey, target);

    const question = 'Which automobile do I commute with?';
    const embedder = testEmbedder(stack.pool, stack.llm.url);
    const vector = toStoredVector(embedder, await embedder.embedOne(question));
    const memories = new MemoryRepository(stack.pool);
    const options = { limit: 5, candidates: 20, minimumSimilarity: 0.3 };
    expect(await memories.searchWorkspace({ workspaceId, userId }, question, options)).toEqual([]);
    const hybrid = await memories.searchWorkspace({ workspaceId, userId }, question, { ...options, vector });
    expect(hybrid.map((match) => match.id)).toEqual([target]);
    expect(hybrid[0]!.similarity).toBeGreaterThan(0.3);

    const answer = await send(stack, apiKey, `chat-${randomUUID()}`, question);
    expect(answer.status).toBe('ready');
    expect(memoriesUsed(answer)).toEqual(['The user drives a red car to the office every morning.']);
  });
});

describe('memory scope', () => {
  it("never shows a user's private memory to another user of the workspace; a shared one reaches both", async () => {
    const owner = await stack.addWorkspace();
    const colleague = await addUser(stack, owner.workspaceId);
    const privateId = await addMemory(stack, owner.apiKey, 'The user is allergic to peanuts.');
    const sharedId = await addMemory(stack, owner.apiKey, 'Peanuts and other nuts are banned in the office kitchen.', true);
    await embedded(owner.apiKey, privateId);
    await embedded(owner.apiKey, sharedId);

    const question = 'Which nuts am I intolerant to?';
    const ownerAnswer = await send(stack, owner.apiKey, `chat-${randomUUID()}`, question);
    expect(memoriesUsed(ownerAnswer)).toContain('The user is allergic to peanuts.');
    const colleagueAnswer = await send(stack, colleague.apiKey, `chat-${randomUUID()}`, question);
    expect(colleagueAnswer.status).toBe('ready');
    expect(memoriesUsed(colleagueAnswer)).toEqual(['Peanuts and other nuts are banned in the office kitchen.']);

    // Retrieval for the colleague's own turns applies the same rule.
    const { retrieveMemory } = memoryActivities(stack, silent);
    const seen = await retrieveMemory({ turnId: 'turn-scope', workspaceId: owner.workspaceId, conversationId: `none-${randomUUID()}`, userId: colleague.userId, query: question, widgetMode: false });
    expect(seen.memories.map((memory) => memory.id)).toEqual([sharedId]);
  });
});

describe('session memories and fresh starts', () => {
  it('recalls what this conversation established, and forgets it after "start over"', async () => {
    const { apiKey, workspaceId } = await stack.addWorkspace();
    const chatId = `chat-${randomUUID()}`;
    await send(stack, apiKey, chatId, 'We are planning a company offsite in Porto.');
    await turnsCompleted(stack, stack.conversationKey(chatId, workspaceId));
    const sessionMemory = 'In this conversation the user is planning a company offsite in Porto.';
    const listed = await (await api(stack, apiKey)('GET', `/memories?chatId=${chatId}`)).json();
    expect(listed.memories.map((memory: { content: string; scope: string }) => [memory.scope, memory.content])).toEqual([['session', sessionMemory]]);

    const recalled = await send(stack, apiKey, chatId, 'Where will the company gathering take place?');
    expect(memoriesUsed(recalled)).toContain(sessionMemory);

    const afterReset = await send(stack, apiKey, chatId, "Let's start over. Where will the company gathering take place?");
    expect(afterReset.status).toBe('ready');
    expect(memoriesUsed(afterReset)).not.toContain(sessionMemory);
    // Hidden from retrieval, not deleted.
    const still = await (await api(stack, apiKey)('GET', `/memories?chatId=${chatId}`)).json();
    expect(still.memories.map((memory: { content: string }) => memory.content)).toContain(sessionMemory);
  });
});

describe('memory extraction', () => {
  it('learns a fact from a turn, updates it when it changes, and recalls it by meaning in another chat', async () => {
    const { apiKey, workspaceId } = await stack.addWorkspace();
    const call = api(stack, apiKey);
    const firstChat = `chat-${randomUUID()}`;
    await send(stack, apiKey, firstChat, 'By the way, I live in Lisbon.');
    await turnsCompleted(stack, stack.conversationKey(firstChat, workspaceId));
    const learnt = (await (await call('GET', '/memories')).json()).memories;
    expect(learnt.map((memory: { content: string; scope: string }) => [memory.scope, memory.content])).toEqual([['user', 'The user lives in Lisbon.']]);

    await send(stack, apiKey, firstChat, 'News: I moved to Porto.');
    await turnsCompleted(stack, stack.conversationKey(firstChat, workspaceId));
    const updated = (await (await call('GET', '/memories')).json()).memories;
    expect(updated.map((memory: { id: string; content: string }) => [memory.id, memory.content])).toEqual([[learnt[0].id, 'The user lives in Porto.']]);
    // The raw exchange is not a memory.
    expect(JSON.stringify(updated)).not.toContain('News:');

    const elsewhere = await send(stack, apiKey, `chat-${randomUUID()}`, 'Which city do I reside in these days?');
    expect(memoriesUsed(elsewhere)).toEqual(['The user lives in Porto.']);
    expect(assistantText(elsewhere.messages.at(-1))).toMatch(/^You said: /);
  });
});

describe('embeddings endpoint down', () => {
  let downStack: TestStack | undefined;
  const logLines: string[] = [];

  afterAll(async () => {
    await downStack?.stop();
  });

  it('goes on with full-text memory and says so in the log', async () => {
    // A port that was free a moment ago: connections to it are refused.
    const deadPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const capture = pino({ level: 'warn' }, { write: (line: string) => void logLines.push(line) });
    downStack = await startTestStack({ environment: { EMBEDDINGS_BASE_URL: `http://127.0.0.1:${deadPort}/v1` }, logger: capture });
    const { apiKey, workspaceId } = await downStack.addWorkspace();
    await addMemory(downStack, apiKey, 'Customers get a refund window of 30 days.');

    const chatId = `chat-${randomUUID()}`;
    const answer = await send(downStack, apiKey, chatId, 'What is the refund window for customers?');
    expect(answer.status).toBe('ready');
    expect(assistantText(answer.messages.at(-1))).toBe('You said: What is the refund window for customers?');
    expect(memoriesUsed(answer)).toEqual(['Customers get a refund window of 30 days.']);

    const turnId = (await downStack.pool.query("SELECT turn_id FROM chat_events WHERE conversation_id = $1 AND role = 'user'", [downStack.conversationKey(chatId, workspaceId)])).rows[0].turn_id as string;
    const warnings = logLines.map((line) => JSON.parse(line) as { msg: string; turnId?: string; error?: string });
    expect(warnings).toContainEqual(expect.objectContaining({ msg: 'embeddings unavailable: memory search uses full text only', turnId, error: expect.stringContaining('embeddings request failed') }));
  });
});
