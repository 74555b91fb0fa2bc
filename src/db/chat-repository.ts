/**
 * Conversations and their chat events. The repository assigns each event the conversation's next
 * sequence number under a row lock, and makes every write idempotent on its request id: a retried
 * activity that writes again gets the row it wrote the first time.
 */
import type { Pool, PoolClient } from 'pg';
import type { MessagePart, StoredMessage } from '../shared/messages';

export type ChatEventType = 'message' | 'tool-result' | 'context-reset' | 'summary' | 'delta';

export interface NewChatEvent {
  conversationId: string;
  type: ChatEventType;
  role?: 'user' | 'assistant' | 'system' | 'tool';
  requestId: string;
  messageId?: string;
  turnId?: string;
  content: Record<string, unknown>;
  extra?: Record<string, unknown>;
}

export interface ChatEventRow {
  seq: number;
  type: ChatEventType;
  role: string | null;
  messageId: string | null;
  requestId: string;
  turnId: string | null;
  content: Record<string, unknown>;
  extra: Record<string, unknown>;
  createdAt: Date;
}

export interface ConversationContext {
  messages: Array<StoredMessage & { seq: number }>;
  /** The condensed text of older messages, when the context guard made one. */
  condensed?: string;
}

export type ConversationAccess = 'created' | 'owned' | 'foreign';

function toRow(row: Record<string, unknown>): ChatEventRow {
  return {
    seq: row.seq as number,
    type: row.type as ChatEventType,
    role: row.role as string | null,
    messageId: row.message_id as string | null,
    requestId: row.request_id as string,
    turnId: row.turn_id as string | null,
    content: row.content as Record<string, unknown>,
    extra: row.extra as Record<string, unknown>,
    createdAt: row.created_at as Date,
  };
}

async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

export class ChatRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Creates the conversation for this workspace and user when it is new. A conversation id that
   * belongs to another workspace reports `foreign`, so the API can answer 404 and reveal nothing.
   */
  async claimConversation(conversationId: string, workspaceId: string, userId: string, title: string): Promise<ConversationAccess> {
    const inserted = await this.pool.query(
      `INSERT INTO conversations (id, workspace_id, user_id, title) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      [conversationId, workspaceId, userId, title.slice(0, 200)],
    );
    if (inserted.rowCount === 1) return 'created';
    const existing = await this.pool.query('SELECT workspace_id FROM conversations WHERE id = $1', [conversationId]);
    return existing.rows[0]?.workspace_id === workspaceId ? 'owned' : 'foreign';
  }

  /** The workspace and user a conversation belongs to, or undefined when it does not exist. */
  async conversationOwner(conversationId: string): Promise<{ workspaceId: string; userId: string } | undefined> {
    const result = await this.pool.query('SELECT workspace_id, user_id FROM conversations WHERE id = $1', [conversationId]);
    const row = result.rows[0];
    return row ? { workspaceId: row.workspace_id as string, userId: row.user_id as string } : undefined;
  }

  /** Whether the conversation is missing, the workspace's own, or another workspace's. */
  async conversationAccess(conversationId: string, workspaceId: string): Promise<'missing' | 'owned' | 'foreign'> {
    const result = await this.pool.query('SELECT workspace_id FROM conversations WHERE id = $1', [conversationId]);
    if (result.rowCount === 0) return 'missing';
    return result.rows[0].workspace_id === workspaceId ? 'owned' : 'foreign';
  }

  /**
   * Appends an event with the conversation's next sequence number. Idempotent on
   * (conversation, request id): a second append returns the first row and `created: false`.
   */
  async appendEvent(event: NewChatEvent): Promise<{ row: ChatEventRow; created: boolean }> {
    return inTransaction(this.pool, async (client) => {
      const lock = await client.query('SELECT next_seq FROM conversations WHERE id = $1 FOR UPDATE', [event.conversationId]);
      if (lock.rowCount !== 1) throw new Error(`Conversation ${event.conversationId} does not exist`);
      const existing = await client.query('SELECT * FROM chat_events WHERE conversation_id = $1 AND request_id = $2', [
        event.conversationId,
        event.requestId,
      ]);
      if (existing.rows[0]) return { row: toRow(existing.rows[0]), created: false };
      const seq = lock.rows[0].next_seq as number;
      const inserted = await client.query(
        `INSERT INTO chat_events (conversation_id, seq, type, role, message_id, request_id, turn_id, content, extra)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
        [
          event.conversationId,
          seq,
          event.type,
          event.role ?? null,
          event.messageId ?? null,
          event.requestId,
          event.turnId ?? null,
          JSON.stringify(event.content),
          JSON.stringify(event.extra ?? {}),
        ],
      );
      await client.query('UPDATE conversations SET next_seq = $2, updated_at = now() WHERE id = $1', [event.conversationId, seq + 1]);
      return { row: toRow(inserted.rows[0]), created: true };
    });
  }

  async findEventByRequestId(conversationId: string, requestId: string): Promise<ChatEventRow | undefined> {
    const result = await this.pool.query('SELECT * FROM chat_events WHERE conversation_id = $1 AND request_id = $2', [conversationId, requestId]);
    return result.rows[0] ? toRow(result.rows[0]) : undefined;
  }

  /**
   * What the model sees of the conversation: the messages after the last context reset and, when a
   * condensed version of older messages exists, that text plus only the messages it does not cover.
   */
  async loadContext(conversationId: string): Promise<ConversationContext> {
    const result = await this.pool.query(
      `SELECT seq, type, role, message_id, content, extra FROM chat_events
       WHERE conversation_id = $1 AND type IN ('message', 'context-reset', 'summary')
         AND seq > COALESCE((SELECT max(seq) FROM chat_events WHERE conversation_id = $1 AND type = 'context-reset'), 0)
       ORDER BY seq`,
      [conversationId],
    );
    let condensed: { text: string; coversThroughSeq: number } | undefined;
    for (const row of result.rows) {
      if (row.type === 'summary') condensed = { text: String(row.content.text ?? ''), coversThroughSeq: Number(row.extra.coversThroughSeq ?? 0) };
    }
    const messages = result.rows
      .filter((row) => row.type === 'message' && (!condensed || row.seq > condensed.coversThroughSeq))
      .map((row) => ({
        seq: row.seq as number,
        id: row.message_id as string,
        role: row.role as StoredMessage['role'],
        parts: ((row.content as { parts?: MessagePart[] }).parts ?? []) as MessagePart[],
      }));
    return { messages, ...(condensed ? { condensed: condensed.text } : {}) };
  }

  /** Compaction: removes a turn's batched delta events once its final message is stored. */
  async deleteDeltaEvents(conversationId: string, turnId: string): Promise<number> {
    const result = await this.pool.query("DELETE FROM chat_events WHERE conversation_id = $1 AND turn_id = $2 AND type = 'delta'", [conversationId, turnId]);
    return result.rowCount ?? 0;
  }
}
