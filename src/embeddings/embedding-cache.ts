/**
 * Embeddings already computed, keyed by embedding space and the SHA-256 of the text: a memory
 * re-saved unchanged, a document uploaded twice or a question asked again costs no request to the
 * embeddings endpoint. Two levels: a bounded in-process map, then the `embedding_cache` table shared
 * by every process. The cache is an optimisation only: a failing cache read or write is logged and
 * the embedding is computed (or simply not kept).
 */
import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import type { Logger } from '../logger';

export function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export interface EmbeddingCacheOptions {
  /** Entries kept in process memory (least recently used dropped first). */
  memoryEntries?: number;
}

export class EmbeddingCache {
  private readonly recent = new Map<string, number[]>();
  private readonly memoryEntries: number;

  constructor(
    private readonly pool: Pool | undefined,
    private readonly logger?: Logger,
    options: EmbeddingCacheOptions = {},
  ) {
    this.memoryEntries = options.memoryEntries ?? 5000;
  }

  /** The cached embeddings among `hashes`, by hash. */
  async get(space: string, hashes: readonly string[]): Promise<Map<string, number[]>> {
    const found = new Map<string, number[]>();
    const missing: string[] = [];
    for (const hash of hashes) {
      const key = `${space}\n${hash}`;
      const vector = this.recent.get(key);
      if (vector) {
        this.recent.delete(key);
        this.recent.set(key, vector);
        found.set(hash, vector);
      } else missing.push(hash);
    }
    if (missing.length === 0 || !this.pool) return found;
    try {
      const result = await this.pool.query('SELECT content_hash, embedding FROM embedding_cache WHERE embedding_model = $1 AND content_hash = ANY($2::text[])', [space, missing]);
      for (const row of result.rows) {
        const vector = row.embedding as number[];
        found.set(row.content_hash as string, vector);
        this.remember(space, row.content_hash as string, vector);
      }
    } catch (error) {
      this.logger?.warn({ error: error instanceof Error ? error.message : String(error) }, 'embedding cache read failed; embedding anew');
    }
    return found;
  }

  /** Remembers the vectors in this process at once, then stores them; never rejects (a failed write is logged). */
  async put(space: string, entries: ReadonlyArray<{ hash: string; embedding: number[] }>): Promise<void> {
    for (const entry of entries) this.remember(space, entry.hash, entry.embedding);
    if (entries.length === 0 || !this.pool) return;
    try {
      await this.pool.query(
        `INSERT INTO embedding_cache (embedding_model, content_hash, embedding)
         SELECT $1, hash, vector::real[] FROM unnest($2::text[], $3::text[]) AS input (hash, vector)
         ON CONFLICT DO NOTHING`,
        [space, entries.map((entry) => entry.hash), entries.map((entry) => `{${entry.embedding.join(',')}}`)],
      );
    } catch (error) {
      this.logger?.warn({ error: error instanceof Error ? error.message : String(error) }, 'embedding cache write failed');
    }
  }

  private remember(space: string, hash: string, vector: number[]) {
    const key = `${space}\n${hash}`;
    this.recent.delete(key);
    this.recent.set(key, vector);
    if (this.recent.size > this.memoryEntries) this.recent.delete(this.recent.keys().next().value!);
  }
}
