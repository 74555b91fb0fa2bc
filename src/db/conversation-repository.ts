/**
 * Conversations as the chat app sees them: a user's list (newest activity first, paged by keyset),
 * one conversation's messages, rename, delete, and the title the title workflow generates.
 *
 * The API speaks chat ids; a conversation is found by its owner (workspace and user) and chat id, and
 * everything else (chat events, usage, the turn log, the title workflow) is keyed by its internal key
 * `conversations.id` (`<workspace>/<chat>`). A conversation of another workspace, or of another user of
 * the same workspace, is reported as missing, never as forbidden, so nothing about it leaks. Writes
 * of the chat turn itself stay in {@link ChatRepository}.
 */
import type { Pool } from 'pg';
import { messageText, type MessagePart } from '../shared/messages';

export interface ConversationOwner {
  workspaceId: string;
  userId: string;
}

/** Where a title came from; a generated title never replaces one the user chose. */
export type TitleSource = 'message' | 'generated' | 'user';

export interface ConversationSummary {
  /** The chat id the client speaks. */
  id: string;
  /** The internal key: `conversation_id` of its events, usage rows and turn log. */
  key: string;
  title: string;
  titleSource: TitleSource;
  agentId: string | null;
  createdAt: Date;
  /** Last activity: the time the last event (message, tool result) was appended. */
  updatedAt: Date;
}

/** A stored message in the AI SDK `UIMessage` shape (`useChat` takes these as initial messages). */
export interface ConversationMessage {
  id: string;
  role: 'user' | 'assistant' | 'system';
  parts: MessagePart[];
  metadata: Record<string, unknown>;
}

export interface ConversationPage {
  conversations: ConversationSummary[];
  /** Pass as `cursor` to get the next (older) page; null on the last page. */
  nextCursor: string | null;
}

/** What the title workflow reads: the first question and the first answer of a conversation. */
export interface FirstExchange {
  userText: string;
  assistantText: string;
}

/** `activity_us`: the exact `updated_at` in microseconds since the epoch (a JavaScript Date keeps only milliseconds). */
const SUMMARY_COLUMNS = `id, chat_id, title, title_source, agent_id, created_at, updated_at,
  (extract(epoch FROM updated_at) * 1000000)::bigint::text AS activity_us`;

function toSummary(row: Record<string, unknown>): ConversationSummary {
  return {
    id: row.chat_id as string,
    key: row.id as string,
    title: row.title as string,
    titleSource: row.title_source as TitleSource,
    agentId: (row.agent_id as string | null) ?? null,
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
  };
}

/** Where a page ends: the last row's exact last activity (microseconds since the epoch) and key. */
export interface ConversationCursor {
  activityMicroseconds: string;
  key: string;
}

/** The cursor is the last row's {@link ConversationCursor} as base64url JSON; opaque to clients. */
function encodeCursor(row: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify([row.activity_us, row.id])).toString('base64url');
}

/** The decoded cursor, or undefined when it is not one this repository made. */
export function decodeCursor(cursor: string): ConversationCursor | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2) return undefined;
    const [activityMicroseconds, key] = value;
    if (typeof activityMicroseconds !== 'string' || !/^\d{1,16}$/.test(activityMicroseconds) || typeof key !== 'string') return undefined;
    return { activityMicroseconds, key };
  } catch {
    return undefined;
  }
}

/** Longest title kept; longer ones are cut (titles are labels in a list, not content). */
export const TITLE_MAX_CHARACTERS = 200;

export class ConversationRepository {
  constructor(private readonly pool: Pool) {}

  /** One page of the owner's conversations, the most recently active first. */
  async list(owner: ConversationOwner, page: { limit: number; cursor?: ConversationCursor }): Promise<ConversationPage> {
    const parameters: unknown[] = [owner.workspaceId, owner.userId, page.limit + 1];
    let after = '';
    if (page.cursor) {
      parameters.push(page.cursor.activityMicroseconds, page.cursor.key);
      // Exact: the product of an interval and an integer below 2^53 loses no microsecond.
      after = "AND (updated_at, id) < (timestamptz 'epoch' + $4::bigint * interval '1 microsecond', $5)";
    }
    const result = await this.pool.query(
      `SELECT ${SUMMARY_COLUMNS} FROM conversations
       WHERE workspace_id = $1 AND user_id = $2 ${after}
       ORDER BY updated_at DESC, id DESC
       LIMIT $3`,
      parameters,
    );
    const rows = result.rows.slice(0, page.limit);
    const hasMore = result.rows.length > page.limit;
    return { conversations: rows.map(toSummary), nextCursor: hasMore && rows.length > 0 ? encodeCursor(rows.at(-1)!) : null };
  }

  /** The owner's conversation with this chat id. */
  async find(owner: ConversationOwner, chatId: string): Promise<ConversationSummary | undefined> {
    const result = await this.pool.query(`SELECT ${SUMMARY_COLUMNS} FROM conversations WHERE workspace_id = $1 AND chat_id = $2 AND user_id = $3`, [
      owner.workspaceId,
      chatId,
      owner.userId,
    ]);
    return result.rows[0] ? toSummary(result.rows[0]) : undefined;
  }

  /**
   * The conversation's user and assistant messages in order, including those before a fresh start
   * (the user still sees them; only the model stops seeing them). An assistant message carries its
   * finish reason, token usage, model, cost (the sum of its turn's `llm_usage` rows) and the agent
   * that answered as metadata.
   */
  async messages(conversation: Pick<ConversationSummary, 'key'>): Promise<ConversationMessage[]> {
    const result = await this.pool.query(
      `SELECT e.role, e.message_id, e.content, e.extra, e.created_at,
              usage.cost_usd, usage.agent_id
       FROM chat_events e
       LEFT JOIN LATERAL (
         SELECT sum(u.cost_usd) AS cost_usd, max(u.agent_id) AS agent_id FROM llm_usage u WHERE u.turn_id = e.turn_id AND e.role = 'assistant'
       ) usage ON true
       WHERE e.conversation_id = $1 AND e.type = 'message' AND e.role IN ('user', 'assistant')
       ORDER BY e.seq`,
      [conversation.key],
    );
    return result.rows.map((row) => {
      const extra = (row.extra ?? {}) as Record<string, unknown>;
      const metadata: Record<string, unknown> = { createdAt: (row.created_at as Date).toISOString() };
      if (row.role === 'assistant') {
        for (const key of ['finishReason', 'usage', 'model', 'error', 'cached'] as const) if (extra[key] !== undefined) metadata[key] = extra[key];
        if (row.cost_usd !== null) metadata.costUsd = Number(row.cost_usd);
        if (row.agent_id !== null) metadata.agentId = row.agent_id;
      }
      return {
        id: row.message_id as string,
        role: row.role as ConversationMessage['role'],
        parts: (((row.content as { parts?: MessagePart[] }).parts ?? []) as MessagePart[]),
        metadata,
      };
    });
  }

  /** Sets a title the user chose; a generated title never replaces it afterwards. */
  async rename(owner: ConversationOwner, chatId: string, title: string): Promise<ConversationSummary | undefined> {
    const result = await this.pool.query(
      `UPDATE conversations SET title = $4, title_source = 'user'
       WHERE workspace_id = $1 AND chat_id = $2 AND user_id = $3
       RETURNING ${SUMMARY_COLUMNS}`,
      [owner.workspaceId, chatId, owner.userId, title.slice(0, TITLE_MAX_CHARACTERS)],
    );
    return result.rows[0] ? toSummary(result.rows[0]) : undefined;
  }

  /**
   * Deletes the conversation. Its chat events and session memories go with it (foreign keys with
   * `ON DELETE CASCADE`); usage rows stay, because they are the workspace's billing record.
   */
  async delete(owner: ConversationOwner, chatId: string): Promise<boolean> {
    const result = await this.pool.query('DELETE FROM conversations WHERE workspace_id = $1 AND chat_id = $2 AND user_id = $3', [
      owner.workspaceId,
      chatId,
      owner.userId,
    ]);
    return result.rowCount === 1;
  }

  /**
   * Whether the conversation still has the title it was created with (its first message): no
   * generated title yet and no name chosen by the user. Takes the internal key, which callers have
   * resolved in the owner's workspace already.
   */
  async hasOriginalTitle(conversationKey: string): Promise<boolean> {
    const result = await this.pool.query("SELECT 1 FROM conversations WHERE id = $1 AND title_source = 'message'", [conversationKey]);
    return result.rowCount === 1;
  }

  /** The first user message and the first assistant answer after it, or undefined before the first answer. */
  async firstExchange(conversationKey: string): Promise<FirstExchange | undefined> {
    const result = await this.pool.query(
      `SELECT role, content FROM chat_events
       WHERE conversation_id = $1 AND type = 'message' AND role IN ('user', 'assistant')
       ORDER BY seq LIMIT 2`,
      [conversationKey],
    );
    const [question, answer] = result.rows;
    if (question?.role !== 'user' || answer?.role !== 'assistant') return undefined;
    return { userText: messageText(question.content.parts ?? []), assistantText: messageText(answer.content.parts ?? []) };
  }

  /**
   * Stores a generated title unless the conversation already has a generated or user-chosen one
   * (or no longer exists). Idempotent: a retried activity writes the same title or nothing.
   */
  async setGeneratedTitle(conversationKey: string, title: string): Promise<boolean> {
    const result = await this.pool.query(
      `UPDATE conversations SET title = $2, title_source = 'generated' WHERE id = $1 AND title_source = 'message'`,
      [conversationKey, title.slice(0, TITLE_MAX_CHARACTERS)],
    );
    return result.rowCount === 1;
  }
}
