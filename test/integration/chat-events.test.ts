/**
 * `ChatRepository.appendEvent` on the real Postgres of the test stack: every event of a conversation
 * gets the next sequence number, with no gap and no duplicate, however many writers append at once;
 * the same request appended again (a retried activity, or two attempts racing) yields one row.
 */
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { ChatRepository } from '../../src/db/chat-repository';

let pool: Pool;
let chats: ChatRepository;
let workspaceId: string;
let userId: string;

beforeAll(async () => {
  pool = new Pool({ connectionString: process.env.TEST_DATABASE_URL, max: 12 });
  chats = new ChatRepository(pool);
  workspaceId = `ws-events-${randomUUID()}`;
  userId = `user-events-${randomUUID()}`;
  await pool.query('INSERT INTO workspaces (id, name) VALUES ($1, $2)', [workspaceId, 'chat events test']);
  await pool.query('INSERT INTO users (id, workspace_id, name) VALUES ($1, $2, $3)', [userId, workspaceId, 'tester']);
});

afterAll(async () => {
  await pool.query('DELETE FROM workspaces WHERE id = $1', [workspaceId]);
  await pool.end();
});

async function newConversation(): Promise<string> {
  const conversation = await chats.claimConversation(workspaceId, `chat-${randomUUID()}`, userId, 'events');
  return conversation.id;
}

const message = (conversationId: string, requestId: string) => ({ conversationId, type: 'message' as const, role: 'user' as const, requestId, messageId: requestId, content: { parts: [{ type: 'text', text: requestId }] } });

it('appends written at once get consecutive sequence numbers, each stored once', async () => {
  const conversationId = await newConversation();
  const results = await Promise.all(Array.from({ length: 24 }, (_, index) => chats.appendEvent(message(conversationId, `request-${index}`))));
  expect(results.every((result) => result.created)).toBe(true);
  expect(results.map((result) => result.row.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 24 }, (_, index) => index + 1));
  const stored = await pool.query('SELECT seq, request_id FROM chat_events WHERE conversation_id = $1 ORDER BY seq', [conversationId]);
  expect(stored.rows).toHaveLength(24);
  for (const result of results) expect(stored.rows[result.row.seq - 1].request_id).toBe(result.row.requestId);
  const next = await chats.appendEvent(message(conversationId, 'after'));
  expect(next.row.seq).toBe(25);
});

it('the same request appended again, or by racing attempts, is one row that every caller gets back', async () => {
  const conversationId = await newConversation();
  const first = await chats.appendEvent(message(conversationId, 'first'));
  const again = await chats.appendEvent({ ...message(conversationId, 'first'), content: { parts: [{ type: 'text', text: 'a retry with other content' }] } });
  expect(again).toEqual({ row: first.row, created: false });

  const racing = await Promise.all(Array.from({ length: 12 }, () => chats.appendEvent(message(conversationId, 'racing'))));
  expect(racing.filter((result) => result.created)).toHaveLength(1);
  expect(new Set(racing.map((result) => result.row.seq))).toEqual(new Set([2]));
  const stored = await pool.query('SELECT seq, request_id FROM chat_events WHERE conversation_id = $1 ORDER BY seq', [conversationId]);
  expect(stored.rows).toEqual([
    { seq: 1, request_id: 'first' },
    { seq: 2, request_id: 'racing' },
  ]);
  expect((await chats.appendEvent(message(conversationId, 'third'))).row.seq).toBe(3);
});

it('an append to a conversation that does not exist fails and stores nothing', async () => {
  const missing = `conversation-${randomUUID()}`;
  await expect(chats.appendEvent(message(missing, 'orphan'))).rejects.toThrow(`Conversation ${missing} does not exist`);
  const stored = await pool.query('SELECT 1 FROM chat_events WHERE conversation_id = $1', [missing]);
  expect(stored.rowCount).toBe(0);
});
