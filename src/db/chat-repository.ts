/**
 * Conversations and their chat events. The repository assigns each event the conversation's next
 * sequence number under a row lock, and makes every write idempotent on its request id: a retried
 * activity that writes again gets the row it wrote the first time.
 */
import type { Pool } from 'pg';
import { conversationKey } from '../shared/ids';
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
  /** Tool results of the answers in `messages`, by tool call id: what the model was told, and the call's argument text. */
  toolResults: Map<string, { content: string; arguments?: string }>;
}

/** Whose view of the conversation to load for the model. */
export interface ContextScope {
  /**
   * The user message this turn answers: the context ends with it, and no earlier answer to it is
   * included (a regenerated answer must not see the one it replaces).
   */
  userMessageId?: string;
}

/** A conversation as the API resolves it from a workspace and the client's chat id. */
export interface ConversationRow {
  /** The internal key (`conversation_id` everywhere else). */
  id: string;
  chatId: string;
  workspaceId: string;
  userId: string;
}


export interface ClaimedConversation extends ConversationRow {
  /** This request created the conversation. */
  created: boolean;
  /** Its title is still the first message's (no generated or user-chosen one yet). */
  originalTitle: boolean;
}

/**
 * See {@link ChatRepository.appendEvent}. It starts with `WITH conversation AS (` (the chaos test
 * finds a backend waiting on the conversation's lock in `pg_stat_activity` by that beginning).
 */
const APPEND_EVENT = `WITH conversation AS (
    SELECT next_seq FROM conversations WHERE id = $1 FOR UPDATE
  ), existing AS (
    SELECT * FROM chat_events WHERE conversation_id = $1 AND request_id = $5
  ), inserted AS (
    INSERT INTO chat_events (conversation_id, seq, type, role, message_id, request_id, turn_id, content, extra)
    SELECT $1, next_seq, $2, $3, $4, $5, $6, $7, $8 FROM conversation WHERE NOT EXISTS (SELECT 1 FROM existing)
    ON CONFLICT (conversation_id, request_id) DO NOTHING
    RETURNING *
  ), bumped AS (
    UPDATE conversations SET next_seq = inserted.seq + 1, updated_at = now() FROM inserted WHERE conversations.id = $1
  )
  SELECT true AS created, inserted.* FROM inserted
  UNION ALL
  SELECT false AS created, existing.* FROM existing`;

/** The columns every conversation lookup reads (`title_source` for {@link ClaimedConversation.originalTitle}). */
const CONVERSATION_COLUMNS = 'id, chat_id, workspace_id, user_id, title_source';

function toClaimed(row: Record<string, unknown>, created: boolean): ClaimedConversation {
  return { ...toConversation(row), created, originalTitle: row.title_source === 'message' };
}

function toConversation(row: Record<string, unknown>): ConversationRow {
  return { id: row.id as string, chatId: row.chat_id as string, workspaceId: row.workspace_id as string, userId: row.user_id as string };
}

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

export class ChatRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * The conversation with this chat id in the workspace, created for the user when it is new.
   * Chat ids are unique per workspace: another workspace using the same chat id has its own
   * conversation, and neither can see the other's.
   */
  async claimConversation(workspaceId: string, chatId: string, userId: string, title: string): Promise<ClaimedConversation> {
    const inserted = await this.pool.query(
      `INSERT INTO conversations (id, chat_id, workspace_id, user_id, title) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (workspace_id, chat_id) DO NOTHING RETURNING ${CONVERSATION_COLUMNS}`,
      [conversationKey(workspaceId, chatId), chatId, workspaceId, userId, title.slice(0, 200)],
    );
    if (inserted.rows[0]) return toClaimed(inserted.rows[0], true);
    const existing = await this.conversationRow(workspaceId, chatId);
    if (!existing) throw new Error(`Conversation ${chatId} vanished while it was claimed`);
    return toClaimed(existing, false);
  }

  private async conversationRow(workspaceId: string, chatId: string): Promise<Record<string, unknown> | undefined> {
    const result = await this.pool.query(`SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE workspace_id = $1 AND chat_id = $2`, [workspaceId, chatId]);
    return result.rows[0];
  }

  /**
   * Deletes a conversation that holds no event yet (claimed by a request whose turn could not
   * start). A conversation that meanwhile got an event stays.
   */
  async deleteUnusedConversation(id: string): Promise<void> {
    await this.pool.query('DELETE FROM conversations WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM chat_events WHERE conversation_id = $1)', [id]);
  }

  /** The workspace's conversation with this chat id, or undefined. */
  async findConversation(workspaceId: string, chatId: string): Promise<ConversationRow | undefined> {
    const row = await this.conversationRow(workspaceId, chatId);
    return row ? toConversation(row) : undefined;
  }

  /**
   * Appends an event with the conversation's next sequence number. Idempotent on
   * (conversation, request id): a second append returns the first row and `created: false`.
   *
   * One statement, one round trip (it was six: BEGIN, lock, look-up, insert, bump, COMMIT): the
   * conversation row is locked, and the event is inserted with its `next_seq` unless the request
   * already has one; the bump follows the insert. A concurrent append of the same request that
   * commits after this statement's snapshot makes the insert do nothing, and the row is read again.
   */
  async appendEvent(event: NewChatEvent): Promise<{ row: ChatEventRow; created: boolean }> {
    const result = await this.pool.query(APPEND_EVENT, [
      event.conversationId,
      event.type,
      event.role ?? null,
      event.messageId ?? null,
      event.requestId,
      event.turnId ?? null,
      JSON.stringify(event.content),
      JSON.stringify(event.extra ?? {}),
    ]);
    const appended = result.rows[0] as (Record<string, unknown> & { created: boolean }) | undefined;
    if (appended) return { row: toRow(appended), created: appended.created };
    const existing = await this.findEventByRequestId(event.conversationId, event.requestId);
    if (existing) return { row: existing, created: false };
    throw new Error(`Conversation ${event.conversationId} does not exist`);
  }

  /** Whether the turn stored its answer (every ending of a turn does: completed, stopped or failed). */
  async turnAnswered(conversationId: string, turnId: string): Promise<boolean> {
    const result = await this.pool.query(
      `SELECT 1 FROM chat_events WHERE conversation_id = $1 AND turn_id = $2 AND type = 'message' AND role = 'assistant' LIMIT 1`,
      [conversationId, turnId],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async findEventByRequestId(conversationId: string, requestId: string): Promise<ChatEventRow | undefined> {
    const result = await this.pool.query('SELECT * FROM chat_events WHERE conversation_id = $1 AND request_id = $2', [conversationId, requestId]);
    return result.rows[0] ? toRow(result.rows[0]) : undefined;
  }

  /**
   * What the model sees of the conversation: the messages after the last context reset (when a
   * condensed version of older messages exists, that text plus only the messages it does not cover),
   * each user message with its latest answer only, and the tool results of those answers.
   * With `scope.userMessageId`, the context ends with that message and leaves out its earlier answers.
   */
  async loadContext(conversationId: string, scope: ContextScope = {}): Promise<ConversationContext> {
    const result = await this.pool.query(
      `SELECT seq, type, role, message_id, content, extra FROM chat_events
       WHERE conversation_id = $1 AND type IN ('message', 'summary', 'tool-result')
         AND seq > COALESCE((SELECT max(seq) FROM chat_events WHERE conversation_id = $1 AND type = 'context-reset'), 0)
       ORDER BY seq`,
      [conversationId],
    );
    const rows = result.rows as Array<{ seq: number; type: string; role: string; message_id: string; content: Record<string, unknown>; extra: Record<string, unknown> }>;
    let condensed: { text: string; coversThroughSeq: number } | undefined;
    const toolResults = new Map<string, { content: string; arguments?: string }>();
    for (const row of rows) {
      if (row.type === 'summary') condensed = { text: String(row.content.text ?? ''), coversThroughSeq: Number(row.extra.coversThroughSeq ?? 0) };
      if (row.type === 'tool-result' && typeof row.content.toolCallId === 'string') {
        toolResults.set(row.content.toolCallId, {
          content: String(row.content.content ?? ''),
          ...(typeof row.content.arguments === 'string' ? { arguments: row.content.arguments } : {}),
        });
      }
    }
    const endSeq = scope.userMessageId === undefined ? undefined : rows.find((row) => row.type === 'message' && row.role === 'user' && row.message_id === scope.userMessageId)?.seq;
    const latestAnswer = new Map<string, number>();
    for (const row of rows) {
      const answers = row.extra.userMessageId;
      if (row.type === 'message' && row.role === 'assistant' && typeof answers === 'string') latestAnswer.set(answers, row.seq);
    }
    const messages = rows
      .filter((row) => row.type === 'message' && (!condensed || row.seq > condensed.coversThroughSeq) && (endSeq === undefined || row.seq <= endSeq))
      .filter((row) => {
        const answers = row.extra.userMessageId;
        if (row.role !== 'assistant' || typeof answers !== 'string') return true;
        return answers !== scope.userMessageId && latestAnswer.get(answers) === row.seq;
      })
      .map((row) => ({
        seq: row.seq,
        id: row.message_id,
        role: row.role as StoredMessage['role'],
        parts: ((row.content as { parts?: MessagePart[] }).parts ?? []) as MessagePart[],
      }));
    return { messages, toolResults, ...(condensed ? { condensed: condensed.text } : {}) };
  }

  /** The message id of the latest stored answer to a user message (for a regenerate), or undefined. */
  async latestAnswerMessageId(conversationId: string, userMessageId: string): Promise<string | undefined> {
    const result = await this.pool.query(
      `SELECT message_id FROM chat_events WHERE conversation_id = $1 AND type = 'message' AND role = 'assistant' AND extra->>'userMessageId' = $2
       ORDER BY seq DESC LIMIT 1`,
      [conversationId, userMessageId],
    );
    return result.rows[0]?.message_id ?? undefined;
  }

  /**
   * The latest complete answer another turn stored for the same user message (the cached answer
   * a turn falls back to when every model failed), or undefined.
   */
  async latestAnswerTo(conversationId: string, userMessageId: string, exceptTurnId: string): Promise<ChatEventRow | undefined> {
    const result = await this.pool.query(
      `SELECT * FROM chat_events WHERE conversation_id = $1 AND type = 'message' AND role = 'assistant'
         AND extra->>'userMessageId' = $2 AND turn_id IS DISTINCT FROM $3 AND extra->>'finishReason' = 'stop'
       ORDER BY seq DESC LIMIT 1`,
      [conversationId, userMessageId, exceptTurnId],
    );
    return result.rows[0] ? toRow(result.rows[0]) : undefined;
  }

  /** Compaction: removes a turn's batched delta events once its final message is stored. */
  async deleteDeltaEvents(conversationId: string, turnId: string): Promise<number> {
    const result = await this.pool.query("DELETE FROM chat_events WHERE conversation_id = $1 AND turn_id = $2 AND type = 'delta'", [conversationId, turnId]);
    return result.rowCount ?? 0;
  }
}
