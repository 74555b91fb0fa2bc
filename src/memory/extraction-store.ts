/**
 * Applies a turn's memory extraction exactly once. The operations and the record of the turn
 * (`memory_extractions`, keyed by turn id) commit in one transaction under an advisory lock on the
 * turn id: a retried activity, a replayed workflow or two concurrent attempts find the record and
 * change nothing. The record keeps what was applied, so a retry answers with the same result.
 */
import type { Pool } from 'pg';
import { inTransaction } from '../db/transaction';
import type { ExtractionOperation } from './memory-extraction';
import { MemoryRepository, type StoredVector } from './memory-repository';

export type AppliedOperation =
  | { op: 'add'; id: string; scope: 'user' | 'session'; text: string }
  | { op: 'update'; id: string; text: string }
  | { op: 'delete'; id: string };

export interface ExtractionToApply {
  turnId: string;
  workspaceId: string;
  userId: string;
  conversationId: string;
  /** Session memories are stamped with the turn's last event seq (a later fresh start hides them). */
  sourceSeq: number;
  operations: readonly ExtractionOperation[];
  /** Vectors of the new texts, by text; a text without one is embedded later by the backfill. */
  vectors: ReadonlyMap<string, StoredVector>;
}

export class ExtractionStore {
  private readonly memories: MemoryRepository;

  constructor(private readonly pool: Pool) {
    this.memories = new MemoryRepository(pool);
  }

  /** What an earlier attempt applied for this turn, or undefined when none committed. */
  async appliedFor(turnId: string): Promise<AppliedOperation[] | undefined> {
    const result = await this.pool.query('SELECT operations FROM memory_extractions WHERE turn_id = $1', [turnId]);
    return result.rows[0] ? (result.rows[0].operations as AppliedOperation[]) : undefined;
  }

  /** Applies the operations once per turn; `created` is false when an earlier attempt already did. */
  async apply(extraction: ExtractionToApply): Promise<{ applied: AppliedOperation[]; created: boolean }> {
    return inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 7))', [`memory-extraction:${extraction.turnId}`]);
      const earlier = await client.query('SELECT operations FROM memory_extractions WHERE turn_id = $1', [extraction.turnId]);
      if (earlier.rows[0]) return { applied: earlier.rows[0].operations as AppliedOperation[], created: false };
      const applied: AppliedOperation[] = [];
      // A memory this turn may change: the user's own workspace memories, this conversation's session memories.
      const mayChange = `workspace_id = $2 AND ((tier = 'workspace' AND user_id = $3) OR (tier = 'session' AND conversation_id = $4))`;
      for (const operation of extraction.operations) {
        if (operation.op === 'add') {
          const vector = extraction.vectors.get(operation.text);
          const memory = await this.memories.addMemory(
            operation.scope === 'user'
              ? { tier: 'workspace', workspaceId: extraction.workspaceId, userId: extraction.userId, shared: false, content: operation.text, sourceTurnId: extraction.turnId, ...(vector ? { vector } : {}) }
              : {
                  tier: 'session',
                  workspaceId: extraction.workspaceId,
                  userId: extraction.userId,
                  conversationId: extraction.conversationId,
                  sourceSeq: extraction.sourceSeq,
                  content: operation.text,
                  sourceTurnId: extraction.turnId,
                  ...(vector ? { vector } : {}),
                },
            client,
          );
          applied.push({ op: 'add', id: memory.id, scope: operation.scope, text: operation.text });
        } else if (operation.op === 'update') {
          const vector = extraction.vectors.get(operation.text);
          const updated = await client.query(
            `UPDATE memories SET content = $5, embedding = $6::real[], signature = $7::bit(256), embedding_model = $8, updated_at = now(),
                    source_turn_id = $9, source_seq = CASE WHEN tier = 'session' THEN $10 ELSE source_seq END
             WHERE id = $1 AND ${mayChange}`,
            [
              operation.id,
              extraction.workspaceId,
              extraction.userId,
              extraction.conversationId,
              operation.text,
              vector?.embedding ?? null,
              vector?.signature ?? null,
              vector?.space ?? null,
              extraction.turnId,
              extraction.sourceSeq,
            ],
          );
          if (updated.rowCount === 1) applied.push({ op: 'update', id: operation.id, text: operation.text });
        } else {
          const deleted = await client.query(`DELETE FROM memories WHERE id = $1 AND ${mayChange}`, [operation.id, extraction.workspaceId, extraction.userId, extraction.conversationId]);
          if (deleted.rowCount === 1) applied.push({ op: 'delete', id: operation.id });
        }
      }
      await client.query(
        'INSERT INTO memory_extractions (turn_id, workspace_id, conversation_id, operations) VALUES ($1, $2, $3, $4)',
        [extraction.turnId, extraction.workspaceId, extraction.conversationId, JSON.stringify(applied)],
      );
      return { applied, created: true };
    });
  }
}
