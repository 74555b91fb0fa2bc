/** Per-hop LLM usage rows: tokens, latency, time to first token, BYOK. One row per (turn, hop). */
import type { Pool } from 'pg';

export interface HopUsage {
  turnId: string;
  hop: number;
  attempt: number;
  conversationId: string;
  workspaceId: string;
  agentId?: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  timeToFirstTokenMs?: number;
  byok: boolean;
}

export class UsageRepository {
  constructor(private readonly pool: Pool) {}

  /** Records a hop's usage; the last attempt of a hop replaces an earlier one. */
  async recordHop(usage: HopUsage): Promise<void> {
    await this.pool.query(
      `INSERT INTO llm_usage (turn_id, hop, attempt, conversation_id, workspace_id, agent_id, model, input_tokens, output_tokens,
                              latency_ms, time_to_first_token_ms, byok)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT (turn_id, hop) DO UPDATE SET attempt = EXCLUDED.attempt, input_tokens = EXCLUDED.input_tokens,
         output_tokens = EXCLUDED.output_tokens, latency_ms = EXCLUDED.latency_ms,
         time_to_first_token_ms = EXCLUDED.time_to_first_token_ms, created_at = now()`,
      [
        usage.turnId,
        usage.hop,
        usage.attempt,
        usage.conversationId,
        usage.workspaceId,
        usage.agentId ?? null,
        usage.model,
        usage.inputTokens,
        usage.outputTokens,
        usage.latencyMs,
        usage.timeToFirstTokenMs ?? null,
        usage.byok,
      ],
    );
  }

  async listForTurn(turnId: string) {
    const result = await this.pool.query('SELECT * FROM llm_usage WHERE turn_id = $1 ORDER BY hop', [turnId]);
    return result.rows;
  }
}
