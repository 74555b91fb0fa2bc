/**
 * Memories in Postgres, in two tiers:
 * - workspace: long-lived facts and preferences. Each belongs to a user and is visible to that user
 *   only, unless it is `shared`, when every user of the workspace sees it;
 * - session: facts about one conversation. Visible in that conversation only, and only those learnt
 *   after its last fresh start (`context-reset` event), so "start over" really starts over.
 *
 * Search is hybrid: vector similarity (see migrations/1764820000000_semantic-memory.js for how
 * vectors are searched without pgvector) and Postgres full-text rank, fused by reciprocal rank
 * (./hybrid-ranking.ts). Without a query vector (the embeddings endpoint is down) it is full text
 * alone, which always works.
 *
 * Every query is scoped by workspace (and user or conversation): a memory outside the scope is
 * invisible, never an error that would reveal it exists.
 */
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { fuseRankings, type TextHit, type VectorHit } from './hybrid-ranking';

export type MemoryTier = 'workspace' | 'session';

export interface Memory {
  id: string;
  tier: MemoryTier;
  content: string;
  /** The user the memory is about (workspace tier) or whose conversation it came from (session tier). */
  userId: string | null;
  /** Workspace tier: every user of the workspace sees it. */
  shared: boolean;
  conversationId: string | null;
  /** The chat id the API speaks, for a session memory. */
  chatId: string | null;
  /** Whether a vector is stored for the current content (false until the embedding is computed). */
  embedded: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface MemoryMatch {
  id: string;
  tier: MemoryTier;
  content: string;
  /** Fused score: higher is better; only comparable within one search. */
  score: number;
  similarity?: number;
  textRank?: number;
}

/** A stored vector: unit embedding, its 256-bit signature, and the embedding space it lives in. */
export interface StoredVector {
  space: string;
  embedding: number[];
  signature: string;
}

export interface SearchOptions {
  /** Matches returned. */
  limit: number;
  /** Length of each ranked list before fusion. */
  candidates: number;
  /** Vector matches below this cosine similarity are dropped before fusion. */
  minimumSimilarity: number;
  /** The query's vector; without it the search is full text only. */
  vector?: StoredVector;
}

export interface UserScope {
  workspaceId: string;
  userId: string;
}

export type NewMemory =
  | { tier: 'workspace'; workspaceId: string; userId: string | null; shared: boolean; content: string; sourceTurnId?: string; vector?: StoredVector }
  | {
      tier: 'session';
      workspaceId: string;
      userId: string | null;
      conversationId: string;
      /** The conversation event seq the fact was learnt at: a later fresh start hides it. */
      sourceSeq: number;
      content: string;
      sourceTurnId?: string;
      vector?: StoredVector;
    };

/** More words than this in a query add noise to the any-word query and cost, not recall. */
const QUERY_WORD_LIMIT = 32;

/** Full-text matches ranked per list (all words, any word): bounds the cost of very common words. */
export const TEXT_MATCH_CAP = 500;

type Queryable = Pick<Pool | PoolClient, 'query'>;

export function newMemoryId(): string {
  return `mem_${randomUUID()}`;
}

const MEMORY_COLUMNS = `id, tier, content, user_id, shared, conversation_id,
  (SELECT chat_id FROM conversations WHERE conversations.id = memories.conversation_id) AS chat_id,
  embedding IS NOT NULL AS embedded, created_at, updated_at`;

function toMemory(row: Record<string, unknown>): Memory {
  return {
    id: row.id as string,
    tier: row.tier as MemoryTier,
    content: row.content as string,
    userId: row.user_id as string | null,
    shared: row.shared as boolean,
    conversationId: row.conversation_id as string | null,
    chatId: (row.chat_id as string | null) ?? null,
    embedded: row.embedded as boolean,
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
  };
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

/** Collects positional parameters while SQL text is assembled. */
export class SqlParameters {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/**
 * The visibility rule of the memories API, as SQL over `memories`: the caller's own workspace
 * memories, the shared ones, and the session memories of the caller's conversations.
 */
function visibleTo(parameters: SqlParameters, scope: UserScope): string {
  const workspace = parameters.add(scope.workspaceId);
  const user = parameters.add(scope.userId);
  return `workspace_id = ${workspace} AND (
            (tier = 'workspace' AND (user_id = ${user} OR shared))
            OR (tier = 'session' AND conversation_id IN (SELECT id FROM conversations WHERE workspace_id = ${workspace} AND user_id = ${user})))`;
}

/** Session memories count only after the conversation's last fresh start. */
export function afterLastResetSql(conversationParameter: string): string {
  return `(SELECT COALESCE(max(seq), 0) FROM chat_events WHERE conversation_id = ${conversationParameter} AND type = 'context-reset')`;
}

/**
 * One round trip for both ranked lists of a hybrid search over a table with `search` (tsvector):
 * `vectorSource` selects `(id, similarity)` best first, `textFilter` scopes the full-text list.
 * Returns the lists best first.
 */
export async function rankedLists(
  database: Queryable,
  parameters: SqlParameters,
  sources: {
    table: string;
    /** The row's id as text, for a table alias (a composite key is concatenated). */
    idOf: (alias: string) => string;
    textFilter: string;
    vectorSource?: string;
    /** Columns returned with each hit, qualified with the alias `source`. */
    contentColumns: string;
    /** Newer rows first among equal text ranks: the row's creation time (default `created_at`). */
    createdAtOf?: (alias: string) => string;
    /** How a row of `alias` joins a hit id (default `idOf(alias) = id`; give one an index can serve). */
    joinOn?: (alias: string, hitId: string) => string;
  },
  query: string,
  options: Pick<SearchOptions, 'candidates' | 'minimumSimilarity'>,
): Promise<{ vector: Array<VectorHit & { row: Record<string, unknown> }>; text: Array<TextHit & { row: Record<string, unknown> }> }> {
  const anyWord = anyWordQuery(query);
  // Nothing to rank by: no query vector and no word (every parameter must be used, so no query at all).
  if (!anyWord && !sources.vectorSource) return { vector: [], text: [] };
  const joinOn = sources.joinOn ?? ((alias: string, hitId: string) => `${sources.idOf(alias)} = ${hitId}`);
  const createdAtOf = sources.createdAtOf ?? ((alias: string) => `${alias}.created_at`);
  const vectorHits = sources.vectorSource
    ? `SELECT id, similarity, row_number() OVER (ORDER BY similarity DESC, id) AS position
       FROM (${sources.vectorSource}) AS matches WHERE similarity >= ${parameters.add(options.minimumSimilarity)}`
    : 'SELECT NULL::text AS id, NULL::float8 AS similarity, NULL::bigint AS position WHERE false';
  // Full text: the rows holding every word, then the rows holding any word, each list capped before
  // ranking. A word most rows contain ("user" in "The user prefers…") would otherwise make every
  // search rank a large share of the table; with the cap the cost is bounded, and a good match the
  // cap left out is still found by the vector list.
  const allWords = `websearch_to_tsquery('english', ${anyWord ? parameters.add(query) : "''"})`;
  const anyWords = `to_tsquery('english', ${anyWord ? parameters.add(anyWord) : "''"})`;
  const textHits = anyWord
    ? `SELECT id, rank, row_number() OVER (ORDER BY rank DESC, created_at DESC, id) AS position FROM (
         SELECT matched.id, ${createdAtOf('candidate')} AS created_at,
                (ts_rank(candidate.search, ${anyWords}) + CASE WHEN candidate.search @@ ${allWords} THEN 1 ELSE 0 END)::float8 AS rank
         FROM ((SELECT ${sources.idOf('whole')} AS id FROM ${sources.table} AS whole WHERE ${sources.textFilter} AND whole.search @@ ${allWords} LIMIT ${TEXT_MATCH_CAP})
               UNION
               (SELECT ${sources.idOf('part')} AS id FROM ${sources.table} AS part WHERE ${sources.textFilter} AND part.search @@ ${anyWords} LIMIT ${TEXT_MATCH_CAP})) AS matched
         JOIN ${sources.table} AS candidate ON ${joinOn('candidate', 'matched.id')}
         ORDER BY rank DESC, 2 DESC, 1 LIMIT ${parameters.add(options.candidates)}) AS matches`
    : 'SELECT NULL::text AS id, NULL::float8 AS rank, NULL::bigint AS position WHERE false';
  const result = await database.query(
    `WITH vector_hits AS (${vectorHits}), text_hits AS (${textHits})
     SELECT 'vector' AS list, hits.id, hits.similarity AS value, hits.position, ${sources.contentColumns}
       FROM vector_hits AS hits JOIN ${sources.table} AS source ON ${joinOn('source', 'hits.id')}
     UNION ALL
     SELECT 'text' AS list, hits.id, hits.rank AS value, hits.position, ${sources.contentColumns}
       FROM text_hits AS hits JOIN ${sources.table} AS source ON ${joinOn('source', 'hits.id')}
     ORDER BY list, position`,
    parameters.values,
  );
  const vector: Array<VectorHit & { row: Record<string, unknown> }> = [];
  const text: Array<TextHit & { row: Record<string, unknown> }> = [];
  for (const row of result.rows) {
    if (row.list === 'vector') vector.push({ id: row.id as string, similarity: Number(row.value), row });
    else text.push({ id: row.id as string, rank: Number(row.value), row });
  }
  return { vector, text };
}

export class MemoryRepository {
  /** Any pg pool or client: the repository never holds a connection across statements. */
  constructor(private readonly pool: Queryable) {}

  /** Stores a memory (with its vector when one is given; otherwise it waits for the embedding backfill). */
  async addMemory(memory: NewMemory, database: Queryable = this.pool): Promise<Memory> {
    const result = await database.query(
      `INSERT INTO memories (id, workspace_id, tier, user_id, shared, conversation_id, source_seq, content, source_turn_id, embedding, signature, embedding_model)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::real[], $11::bit(256), $12)
       RETURNING ${MEMORY_COLUMNS}`,
      [
        newMemoryId(),
        memory.workspaceId,
        memory.tier,
        memory.userId,
        memory.tier === 'workspace' ? memory.shared : false,
        memory.tier === 'session' ? memory.conversationId : null,
        memory.tier === 'session' ? memory.sourceSeq : null,
        memory.content,
        memory.sourceTurnId ?? null,
        memory.vector?.embedding ?? null,
        memory.vector?.signature ?? null,
        memory.vector?.space ?? null,
      ],
    );
    return toMemory(result.rows[0]);
  }

  /**
   * The memories the user may see, newest first: their own and the shared workspace memories, and
   * the session memories of their conversations (of one conversation with `chatId`, the id the API speaks).
   */
  async listMemories(scope: UserScope, filter: { chatId?: string; tier?: MemoryTier }, page: { limit: number; offset: number }): Promise<Memory[]> {
    const parameters = new SqlParameters();
    const conditions = [visibleTo(parameters, scope)];
    if (filter.chatId !== undefined) {
      conditions.push(`conversation_id IN (SELECT id FROM conversations WHERE workspace_id = ${parameters.add(scope.workspaceId)} AND chat_id = ${parameters.add(filter.chatId)})`);
    }
    if (filter.tier !== undefined) conditions.push(`tier = ${parameters.add(filter.tier)}`);
    const result = await this.pool.query(
      `SELECT ${MEMORY_COLUMNS} FROM memories WHERE ${conditions.join(' AND ')}
       ORDER BY created_at DESC, id DESC LIMIT ${parameters.add(page.limit)} OFFSET ${parameters.add(page.offset)}`,
      parameters.values,
    );
    return result.rows.map(toMemory);
  }

  async findMemory(scope: UserScope, id: string): Promise<Memory | undefined> {
    const parameters = new SqlParameters();
    const result = await this.pool.query(`SELECT ${MEMORY_COLUMNS} FROM memories WHERE id = ${parameters.add(id)} AND ${visibleTo(parameters, scope)}`, parameters.values);
    return result.rows[0] ? toMemory(result.rows[0]) : undefined;
  }

  /**
   * Changes a memory the user may see. A new content drops the stored vector (the backfill embeds
   * the new text); `shared` applies to workspace memories only. Undefined when not visible.
   */
  async updateMemory(scope: UserScope, id: string, changes: { content?: string; shared?: boolean }): Promise<Memory | undefined> {
    const parameters = new SqlParameters();
    const sets = ['updated_at = now()'];
    if (changes.content !== undefined) {
      sets.push(`content = ${parameters.add(changes.content)}`, 'embedding = NULL', 'signature = NULL', 'embedding_model = NULL');
    }
    if (changes.shared !== undefined) sets.push(`shared = CASE WHEN tier = 'workspace' THEN ${parameters.add(changes.shared)}::boolean ELSE false END`);
    const result = await this.pool.query(
      `UPDATE memories SET ${sets.join(', ')} WHERE id = ${parameters.add(id)} AND ${visibleTo(parameters, scope)} RETURNING ${MEMORY_COLUMNS}`,
      parameters.values,
    );
    return result.rows[0] ? toMemory(result.rows[0]) : undefined;
  }

  /** Deletes a memory the user may see; false when there is none (whoever else may have it). */
  async deleteMemory(scope: UserScope, id: string): Promise<boolean> {
    const parameters = new SqlParameters();
    const result = await this.pool.query(`DELETE FROM memories WHERE id = ${parameters.add(id)} AND ${visibleTo(parameters, scope)}`, parameters.values);
    return result.rowCount === 1;
  }

  /** The workspace memories the user may recall (own and shared) that best match the query. */
  async searchWorkspace(scope: UserScope, query: string, options: SearchOptions): Promise<MemoryMatch[]> {
    const parameters = new SqlParameters();
    const workspace = parameters.add(scope.workspaceId);
    const user = parameters.add(scope.userId);
    const vectorSource = options.vector
      ? `SELECT memory_id AS id, similarity FROM workspace_memory_vector_matches(${workspace}, ${user}, ${parameters.add(options.vector.space)},
           ${parameters.add(options.vector.signature)}::bit(256), ${parameters.add(options.vector.embedding)}::real[], ${parameters.add(options.candidates)})`
      : undefined;
    return this.search(parameters, `workspace_id = ${workspace} AND tier = 'workspace' AND (user_id = ${user} OR shared)`, vectorSource, query, options);
  }

  /** The session memories of one conversation, learnt since its last fresh start, that best match the query. */
  async searchSession(scope: { workspaceId: string; conversationId: string }, query: string, options: SearchOptions): Promise<MemoryMatch[]> {
    const parameters = new SqlParameters();
    const workspace = parameters.add(scope.workspaceId);
    const conversation = parameters.add(scope.conversationId);
    const afterSeq = afterLastResetSql(conversation);
    const vectorSource = options.vector
      ? `SELECT memory_id AS id, similarity FROM session_memory_vector_matches(${workspace}, ${conversation}, ${afterSeq}, ${parameters.add(options.vector.space)},
           ${parameters.add(options.vector.signature)}::bit(256), ${parameters.add(options.vector.embedding)}::real[], ${parameters.add(options.candidates)})`
      : undefined;
    return this.search(
      parameters,
      `workspace_id = ${workspace} AND tier = 'session' AND conversation_id = ${conversation} AND COALESCE(source_seq, 1) > ${afterSeq}`,
      vectorSource,
      query,
      options,
    );
  }

  private async search(parameters: SqlParameters, textFilter: string, vectorSource: string | undefined, query: string, options: SearchOptions): Promise<MemoryMatch[]> {
    const lists = await rankedLists(
      this.pool,
      parameters,
      { table: 'memories', idOf: (alias) => `${alias}.id`, textFilter, ...(vectorSource ? { vectorSource } : {}), contentColumns: 'source.tier, source.content' },
      query,
      options,
    );
    const rows = new Map([...lists.vector, ...lists.text].map((hit) => [hit.id, hit.row]));
    return fuseRankings(lists.vector, lists.text, options.limit).map((hit) => {
      const row = rows.get(hit.id)!;
      return { ...hit, tier: row.tier as MemoryTier, content: row.content as string };
    });
  }

  /** Memories of the workspace without a vector of this space (new, edited, or from another model). */
  async pendingEmbeddings(workspaceId: string, space: string, limit: number): Promise<Array<{ id: string; content: string }>> {
    const result = await this.pool.query(
      `SELECT id, content FROM memories WHERE workspace_id = $1 AND (embedding IS NULL OR embedding_model IS DISTINCT FROM $2)
       ORDER BY created_at, id LIMIT $3`,
      [workspaceId, space, limit],
    );
    return result.rows.map((row) => ({ id: row.id as string, content: row.content as string }));
  }

  /** Stores a memory's vector, unless its content changed since it was read (the next backfill takes it). */
  async storeEmbedding(id: string, content: string, vector: StoredVector): Promise<boolean> {
    const result = await this.pool.query(
      `UPDATE memories SET embedding = $3::real[], signature = $4::bit(256), embedding_model = $5 WHERE id = $1 AND content = $2`,
      [id, content, vector.embedding, vector.signature, vector.space],
    );
    return result.rowCount === 1;
  }

  /** The user a conversation belongs to, when it is in the workspace. */
  async conversationOwner(workspaceId: string, conversationId: string): Promise<string | undefined> {
    const result = await this.pool.query('SELECT user_id FROM conversations WHERE id = $1 AND workspace_id = $2', [conversationId, workspaceId]);
    return result.rows[0]?.user_id as string | undefined;
  }
}
