/**
 * Uploaded documents and their chunks. A document row keeps the uploaded bytes until ingestion has
 * extracted the text, and its status: `pending` (uploaded, waiting), `processing` (text extracted and
 * chunked, vectors being computed), `ready`, or `failed` (with the reason). Chunks are searchable by
 * full text as soon as they exist and by meaning once embedded.
 *
 * Documents belong to the workspace: every user of the workspace may search and cite them. Every
 * query is scoped by workspace id.
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { inTransaction } from '../db/transaction';
import { fuseRankings } from '../memory/hybrid-ranking';
import { rankedLists, SqlParameters, type SearchOptions, type StoredVector } from '../memory/memory-repository';
import type { TextChunk } from './chunking';
import type { DocumentMediaType } from './text-extraction';

export const DOCUMENT_STATUSES = ['pending', 'processing', 'ready', 'failed'] as const;
export type DocumentStatus = (typeof DOCUMENT_STATUSES)[number];

export interface KnowledgeDocument {
  id: string;
  workspaceId: string;
  title: string;
  filename: string | null;
  mediaType: string;
  byteSize: number;
  status: DocumentStatus;
  error: string | null;
  chunkCount: number;
  embeddedChunks: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface ChunkMatch {
  documentId: string;
  chunkIndex: number;
  title: string;
  filename: string | null;
  mediaType: string;
  content: string;
  score: number;
  similarity?: number;
  textRank?: number;
}

export function newDocumentId(): string {
  return `doc_${randomUUID()}`;
}

const DOCUMENT_COLUMNS = `d.id, d.workspace_id, d.title, d.filename, d.media_type, d.byte_size, d.status, d.error, d.chunk_count,
  (SELECT count(*)::int FROM document_chunks c WHERE c.document_id = d.id AND c.embedding IS NOT NULL) AS embedded_chunks,
  d.created_at, d.updated_at`;

function toDocument(row: Record<string, unknown>): KnowledgeDocument {
  return {
    id: row.id as string,
    workspaceId: row.workspace_id as string,
    title: row.title as string,
    filename: row.filename as string | null,
    mediaType: row.media_type as string,
    byteSize: row.byte_size as number,
    status: row.status as DocumentStatus,
    error: row.error as string | null,
    chunkCount: row.chunk_count as number,
    embeddedChunks: row.embedded_chunks as number,
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
  };
}

export class DocumentRepository {
  constructor(private readonly pool: Pool) {}

  /** Stores an upload as a `pending` document; ingestion takes it from there. */
  async createDocument(input: { workspaceId: string; userId: string; title: string; filename?: string; mediaType: DocumentMediaType; source: Buffer }): Promise<KnowledgeDocument> {
    const id = newDocumentId();
    await this.pool.query(
      `INSERT INTO documents (id, workspace_id, user_id, title, filename, media_type, byte_size, source, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending')`,
      [id, input.workspaceId, input.userId, input.title, input.filename ?? null, input.mediaType, input.source.length, input.source],
    );
    return (await this.findDocument(input.workspaceId, id))!;
  }

  async findDocument(workspaceId: string, id: string): Promise<KnowledgeDocument | undefined> {
    const result = await this.pool.query(`SELECT ${DOCUMENT_COLUMNS} FROM documents d WHERE d.id = $1 AND d.workspace_id = $2`, [id, workspaceId]);
    return result.rows[0] ? toDocument(result.rows[0]) : undefined;
  }

  async listDocuments(workspaceId: string, page: { limit: number; offset: number }): Promise<KnowledgeDocument[]> {
    const result = await this.pool.query(
      `SELECT ${DOCUMENT_COLUMNS} FROM documents d WHERE d.workspace_id = $1 ORDER BY d.created_at DESC, d.id DESC LIMIT $2 OFFSET $3`,
      [workspaceId, page.limit, page.offset],
    );
    return result.rows.map(toDocument);
  }

  async deleteDocument(workspaceId: string, id: string): Promise<boolean> {
    const result = await this.pool.query('DELETE FROM documents WHERE id = $1 AND workspace_id = $2', [id, workspaceId]);
    return result.rowCount === 1;
  }

  /** The uploaded bytes, while ingestion still needs them. */
  async loadSource(workspaceId: string, id: string): Promise<{ mediaType: string; source: Buffer | null } | undefined> {
    const result = await this.pool.query('SELECT media_type, source FROM documents WHERE id = $1 AND workspace_id = $2', [id, workspaceId]);
    return result.rows[0] ? { mediaType: result.rows[0].media_type as string, source: result.rows[0].source as Buffer | null } : undefined;
  }

  /**
   * Replaces the document's chunks and text in one transaction and marks it `processing`: running
   * it again (a retried activity) gives the same rows. The uploaded bytes are kept until `ready`.
   */
  async replaceChunks(workspaceId: string, id: string, text: string, chunks: readonly TextChunk[]): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      const updated = await client.query(
        `UPDATE documents SET body = $3, chunk_count = $4, status = 'processing', error = NULL, updated_at = now()
         WHERE id = $1 AND workspace_id = $2`,
        [id, workspaceId, text, chunks.length],
      );
      if (updated.rowCount !== 1) return false;
      await client.query('DELETE FROM document_chunks WHERE document_id = $1', [id]);
      if (chunks.length > 0) {
        await client.query(
          `INSERT INTO document_chunks (document_id, chunk_index, workspace_id, content, char_start, char_end)
           SELECT $1, chunk_index, $2, content, char_start, char_end
           FROM unnest($3::int[], $4::text[], $5::int[], $6::int[]) AS input (chunk_index, content, char_start, char_end)`,
          [id, workspaceId, chunks.map((chunk) => chunk.index), chunks.map((chunk) => chunk.content), chunks.map((chunk) => chunk.start), chunks.map((chunk) => chunk.end)],
        );
      }
      return true;
    });
  }

  /** Chunks of the document without a vector of this space, in order. */
  async pendingChunks(id: string, space: string, limit: number): Promise<Array<{ chunkIndex: number; content: string }>> {
    const result = await this.pool.query(
      `SELECT chunk_index, content FROM document_chunks WHERE document_id = $1 AND (embedding IS NULL OR embedding_model IS DISTINCT FROM $2)
       ORDER BY chunk_index LIMIT $3`,
      [id, space, limit],
    );
    return result.rows.map((row) => ({ chunkIndex: row.chunk_index as number, content: row.content as string }));
  }

  async storeChunkEmbedding(id: string, chunkIndex: number, content: string, vector: StoredVector): Promise<boolean> {
    const result = await this.pool.query(
      `UPDATE document_chunks SET embedding = $4::real[], signature = $5::bit(256), embedding_model = $6
       WHERE document_id = $1 AND chunk_index = $2 AND content = $3`,
      [id, chunkIndex, content, vector.embedding, vector.signature, vector.space],
    );
    return result.rowCount === 1;
  }

  /** Ends ingestion: `ready` drops the uploaded bytes (the text and chunks are kept), `failed` keeps the reason. */
  async finishIngestion(workspaceId: string, id: string, outcome: { status: 'ready' } | { status: 'failed'; error: string }): Promise<void> {
    await this.pool.query(
      `UPDATE documents SET status = $3, error = $4, updated_at = now(), source = CASE WHEN $3 = 'ready' THEN NULL ELSE source END
       WHERE id = $1 AND workspace_id = $2`,
      [id, workspaceId, outcome.status, outcome.status === 'failed' ? outcome.error.slice(0, 1000) : null],
    );
  }

  /** One chunk, for a citation. */
  async findChunk(workspaceId: string, id: string, chunkIndex: number): Promise<{ content: string; start: number; end: number } | undefined> {
    const result = await this.pool.query(
      'SELECT content, char_start, char_end FROM document_chunks WHERE document_id = $1 AND chunk_index = $2 AND workspace_id = $3',
      [id, chunkIndex, workspaceId],
    );
    const row = result.rows[0];
    return row ? { content: row.content as string, start: row.char_start as number, end: row.char_end as number } : undefined;
  }

  /** The chunks of the workspace's documents that best match the query (hybrid, or full text without a vector). */
  searchChunks(workspaceId: string, query: string, options: ChunkSearchOptions): Promise<ChunkMatch[]> {
    return searchDocumentChunks(this.pool, workspaceId, query, options);
  }
}

export interface ChunkSearchOptions extends SearchOptions {
  /** Rank by meaning only (no full-text list). */
  vectorOnly?: boolean;
}

/**
 * The chunks of the workspace's documents that best match the query: hybrid, or full text alone
 * without a query vector, or vectors alone with `vectorOnly`. Any pool or client (tools search inside
 * their transaction).
 */
export async function searchDocumentChunks(database: Pick<Pool, 'query'>, workspaceId: string, query: string, options: ChunkSearchOptions): Promise<ChunkMatch[]> {
  const parameters = new SqlParameters();
  const workspace = parameters.add(workspaceId);
  const vectorSource = options.vector
    ? `SELECT document_id || '#' || chunk_index AS id, similarity FROM document_chunk_vector_matches(${workspace}, ${parameters.add(options.vector.space)},
         ${parameters.add(options.vector.signature)}::bit(256), ${parameters.add(options.vector.embedding)}::real[], ${parameters.add(options.candidates)})`
    : undefined;
  const lists = await rankedLists(
    database,
    parameters,
    {
      table: 'document_chunks',
      idOf: (alias) => `${alias}.document_id || '#' || ${alias}.chunk_index`,
      textFilter: `workspace_id = ${workspace}`,
      ...(vectorSource ? { vectorSource } : {}),
      contentColumns: `source.document_id, source.chunk_index, source.content,
        (SELECT title FROM documents WHERE id = source.document_id) AS title,
        (SELECT filename FROM documents WHERE id = source.document_id) AS filename,
        (SELECT media_type FROM documents WHERE id = source.document_id) AS media_type`,
      createdAtOf: (alias) => `(SELECT created_at FROM documents WHERE id = ${alias}.document_id)`,
      joinOn: (alias, hitId) => `${alias}.document_id = split_part(${hitId}, '#', 1) AND ${alias}.chunk_index = split_part(${hitId}, '#', 2)::int`,
    },
    options.vectorOnly ? '' : query,
    options,
  );
  const rows = new Map([...lists.vector, ...lists.text].map((hit) => [hit.id, hit.row]));
  return fuseRankings(lists.vector, lists.text, options.limit).map((hit) => {
    const row = rows.get(hit.id)!;
    return {
      documentId: row.document_id as string,
      chunkIndex: row.chunk_index as number,
      title: row.title as string,
      filename: row.filename as string | null,
      mediaType: row.media_type as string,
      content: row.content as string,
      score: hit.score,
      ...(hit.similarity !== undefined ? { similarity: hit.similarity } : {}),
      ...(hit.textRank !== undefined ? { textRank: hit.textRank } : {}),
    };
  });
}
