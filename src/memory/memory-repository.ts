/**
 * Memories in Postgres: the workspace tier (facts users add through the API, shared by every
 * conversation of the workspace) and the session tier (what the turns of one conversation said).
 * Search is Postgres full-text search, so it works without an embeddings endpoint.
 *
 * Every query is scoped by workspace id: a memory of another workspace is invisible, never an error
 * that would reveal it exists.
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';

export type MemoryTier = 'workspace' | 'session';

export interface Memory {
  id: string;
  tier: MemoryTier;
  content: string;
  conversationId: string | null;
  createdAt: Date;
}

export interface MemoryMatch {
  id: string;
  tier: MemoryTier;
  content: string;
  /** Higher is better. A memory holding every word of the query ranks above one holding only some. */
  rank: number;
}

export interface ExchangeToRemember {
  workspaceId: string;
  conversationId: string;
  turnId: string;
  userText: string;
  assistantText: string;
}

/** Session memories hold the start of each side of an exchange; the prompt shows at most 500 characters anyway. */
const EXCHANGE_SIDE_LIMIT = 1000;

/** More words than this in a query add noise to the OR fallback and cost, not recall. */
const QUERY_WORD_LIMIT = 32;

/** Raised when a session memory names a conversation that is not in the workspace. */
export class ConversationNotInWorkspaceError extends Error {
  constructor(conversationId: string) {
    super(`Conversation ${conversationId} does not exist in this workspace`);
    this.name = 'ConversationNotInWorkspaceError';
  }
}

function newMemoryId(): string {
  return `mem_${randomUUID()}`;
}

function toMemory(row: Record<string, unknown>): Memory {
  return {
    id: row.id as string,
    tier: row.tier as MemoryTier,
    content: row.content as string,
    conversationId: row.conversation_id as string | null,
    createdAt: row.created_at as Date,
  };
}

function toMatch(row: Record<string, unknown>): MemoryMatch {
  return { id: row.id as string, tier: row.tier as MemoryTier, content: row.content as string, rank: row.rank as number };
}

/**
 * The query's words joined with `|` for `to_tsquery`, so a natural question ("what is our refund
 * policy?") still finds a memory holding only some of its words; `websearch_to_tsquery` alone would
 * require all of them. Only letters and digits reach `to_tsquery`, so no user text can form operator
 * syntax. Stop words are dropped by the `english` configuration.
 */
export function anyWordQuery(query: string): string {
  const words = query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words)].slice(0, QUERY_WORD_LIMIT).join(' | ');
}

/** The content of a session memory: the start of the user's message and of the answer. */
export function exchangeContent(userText: string, assistantText: string): string {
  const side = (text: string) => {
    const trimmed = text.trim();
    return trimmed.length > EXCHANGE_SIDE_LIMIT ? `${trimmed.slice(0, EXCHANGE_SIDE_LIMIT)}…` : trimmed;
  };
  const lines = [`User: ${side(userText)}`];
  if (assistantText.trim()) lines.push(`Assistant: ${side(assistantText)}`);
  return lines.join('\n');
}

/**
 * Matches memories with `websearch_to_tsquery` (all words, quoted phrases, `-exclusions`) or, failing
 * that, any word of the query; full matches first, then by `ts_rank`. `$1` is the query text, `$2`
 * the any-word query; the caller's filters follow.
 */
function searchSql(filter: string, limitParameter: string): string {
  return `SELECT id, tier, content,
            (ts_rank(search, any_word) + CASE WHEN search @@ all_words THEN 1 ELSE 0 END)::float8 AS rank
          FROM memories, websearch_to_tsquery('english', $1) AS all_words, to_tsquery('english', $2) AS any_word
          WHERE ${filter} AND (search @@ all_words OR search @@ any_word)
          ORDER BY rank DESC, created_at DESC, id
          LIMIT ${limitParameter}`;
}

export class MemoryRepository {
  constructor(private readonly pool: Pool) {}

  /** Stores a workspace memory: every conversation of the workspace (outside widget mode) may recall it. */
  async addWorkspaceMemory(workspaceId: string, content: string): Promise<Memory> {
    const result = await this.pool.query(
      `INSERT INTO memories (id, workspace_id, tier, content) VALUES ($1, $2, 'workspace', $3)
       RETURNING id, tier, content, conversation_id, created_at`,
      [newMemoryId(), workspaceId, content],
    );
    return toMemory(result.rows[0]);
  }

  /** The workspace's memories, newest first. */
  async listWorkspaceMemories(workspaceId: string, page: { limit: number; offset: number }): Promise<Memory[]> {
    const result = await this.pool.query(
      `SELECT id, tier, content, conversation_id, created_at FROM memories
       WHERE workspace_id = $1 AND tier = 'workspace'
       ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`,
      [workspaceId, page.limit, page.offset],
    );
    return result.rows.map(toMemory);
  }

  /** Deletes a workspace memory; false when the workspace has no such memory (whoever else may have it). */
  async deleteWorkspaceMemory(workspaceId: string, id: string): Promise<boolean> {
    const result = await this.pool.query(`DELETE FROM memories WHERE id = $1 AND workspace_id = $2 AND tier = 'workspace'`, [id, workspaceId]);
    return result.rowCount === 1;
  }

  /** The workspace memories that best match the query. */
  async searchWorkspace(workspaceId: string, query: string, limit: number): Promise<MemoryMatch[]> {
    const anyWord = anyWordQuery(query);
    if (!anyWord) return [];
    const result = await this.pool.query(searchSql(`workspace_id = $3 AND tier = 'workspace'`, '$4'), [query, anyWord, workspaceId, limit]);
    return result.rows.map(toMatch);
  }

  /** The session memories of one conversation that best match the query. */
  async searchSession(workspaceId: string, conversationId: string, query: string, limit: number): Promise<MemoryMatch[]> {
    const anyWord = anyWordQuery(query);
    if (!anyWord) return [];
    const result = await this.pool.query(searchSql(`workspace_id = $3 AND conversation_id = $4 AND tier = 'session'`, '$5'), [
      query,
      anyWord,
      workspaceId,
      conversationId,
      limit,
    ]);
    return result.rows.map(toMatch);
  }

  /**
   * Stores what a turn said as a session memory of its conversation. Idempotent on the turn id: a
   * retried activity gets the row the first attempt stored. The conversation must belong to the
   * workspace, so a session memory never crosses workspaces.
   */
  async rememberExchange(exchange: ExchangeToRemember): Promise<{ memory: Memory; created: boolean }> {
    const inserted = await this.pool.query(
      `INSERT INTO memories (id, workspace_id, conversation_id, tier, content, source_turn_id)
       SELECT $1, workspace_id, id, 'session', $4, $5 FROM conversations WHERE id = $3 AND workspace_id = $2
       ON CONFLICT (source_turn_id) WHERE source_turn_id IS NOT NULL DO NOTHING
       RETURNING id, tier, content, conversation_id, created_at`,
      [newMemoryId(), exchange.workspaceId, exchange.conversationId, exchangeContent(exchange.userText, exchange.assistantText), exchange.turnId],
    );
    if (inserted.rows[0]) return { memory: toMemory(inserted.rows[0]), created: true };
    const existing = await this.pool.query(
      `SELECT id, tier, content, conversation_id, created_at FROM memories
       WHERE source_turn_id = $1 AND workspace_id = $2 AND conversation_id = $3`,
      [exchange.turnId, exchange.workspaceId, exchange.conversationId],
    );
    if (existing.rows[0]) return { memory: toMemory(existing.rows[0]), created: false };
    throw new ConversationNotInWorkspaceError(exchange.conversationId);
  }
}
