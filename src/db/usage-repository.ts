/**
 * LLM usage rows: one per attempt of every model call (completed, failed, stopped, or lost with a
 * dead worker), so spend is never under-reported. Tokens the provider did not report (a stopped or
 * broken stream) are counted with the tokenizer and marked `estimated`. The context guard's
 * condensation call is recorded as hop -1.
 */
import type { Pool } from 'pg';
import { effectivePriceSql } from './pricing-repository';

export interface AttemptUsage {
  turnId: string;
  hop: number;
  /** The stream attempt (unique per hop across fallback models). */
  attempt: number;
  conversationId: string;
  workspaceId: string;
  agentId?: string;
  model: string;
  provider: string;
  /** True when the call ran on a workspace's own connection (its key, its bill). */
  byok: boolean;
  /** The workspace connection that served the call; absent for the deployment's endpoint. */
  connectionId?: string;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  timeToFirstTokenMs?: number;
  estimated: boolean;
  outcome: 'completed' | 'failed' | 'cancelled' | 'lost';
}

/** The dimensions usage can be grouped by; `day` is the UTC calendar day the hop was recorded. */
export const USAGE_GROUP_BY = ['agent', 'model', 'provider', 'day'] as const;
export type UsageGroupBy = (typeof USAGE_GROUP_BY)[number];

export interface UsageQuery {
  /** Inclusive lower bound on when the hop was recorded. */
  from?: Date;
  /** Exclusive upper bound on when the hop was recorded. */
  to?: Date;
  /** Grouping dimensions, in the order rows are sorted by; empty gives one row of totals. */
  groupBy: readonly UsageGroupBy[];
}

/** One group's totals. The dimension fields are present exactly when grouped by them. */
export interface UsageAggregateRow {
  /** Null for hops run without an agent, or whose agent was deleted. */
  agentId?: string | null;
  model?: string;
  provider?: string;
  /** `YYYY-MM-DD`, UTC. */
  day?: string;
  turns: number;
  /** Model calls recorded: every attempt (failed, stopped and retried ones too) and the context guard's condensation calls. */
  hops: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  avgLatencyMs: number;
  /** Null when no hop of the group streamed a token (tool-call-only hops, condensation calls). */
  avgTimeToFirstTokenMs: number | null;
  byokHops: number;
}

/** SQL of each dimension: the expression grouped and sorted by, and the row field it fills. */
const dimensions: Record<UsageGroupBy, { expression: string; field: 'agentId' | 'model' | 'provider' | 'day' }> = {
  agent: { expression: 'agent_id', field: 'agentId' },
  model: { expression: 'model', field: 'model' },
  provider: { expression: 'provider', field: 'provider' },
  day: { expression: `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`, field: 'day' },
};

export class UsageRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Records one attempt's usage; idempotent on (turn, hop, attempt): a retried write changes nothing.
   * The cost is computed in the same statement from the model's current price for the workspace (its
   * own price in `workspace_model_pricing`, else the `model_pricing` list price, else 0), so a row
   * keeps the price it was recorded at.
   */
  async recordAttempt(usage: AttemptUsage): Promise<void> {
    await this.pool.query(
      `INSERT INTO llm_usage (turn_id, hop, attempt, conversation_id, workspace_id, agent_id, model, input_tokens, output_tokens,
                              latency_ms, time_to_first_token_ms, byok, provider, estimated, outcome, connection_id, cost_usd)
       VALUES ($1, $2, $3, $4, $5::text, $6, $7::text, $8::integer, $9::integer, $10, $11, $12, $13, $14, $15, $16,
               COALESCE((SELECT ($8::integer * input_usd_per_million + $9::integer * output_usd_per_million) / 1000000
                         FROM ${effectivePriceSql('$5::text', '$7::text')} AS price), 0))
       ON CONFLICT (turn_id, hop, attempt) DO NOTHING`,
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
        usage.provider,
        usage.estimated,
        usage.outcome,
        usage.connectionId ?? null,
      ],
    );
  }

  async listForTurn(turnId: string) {
    const result = await this.pool.query('SELECT * FROM llm_usage WHERE turn_id = $1 ORDER BY hop, attempt', [turnId]);
    return result.rows;
  }

  /**
   * The workspace's usage totals per group, sorted by the grouping dimensions in the order given.
   * A workspace without usage in the range gets no rows (not a row of zeros).
   */
  async aggregate(workspaceId: string, query: UsageQuery): Promise<UsageAggregateRow[]> {
    const groupBy = [...new Set(query.groupBy)];
    const parameters: unknown[] = [workspaceId];
    const conditions = ['workspace_id = $1'];
    if (query.from) {
      parameters.push(query.from);
      conditions.push(`created_at >= $${parameters.length}`);
    }
    if (query.to) {
      parameters.push(query.to);
      conditions.push(`created_at < $${parameters.length}`);
    }
    const keys = groupBy.map((dimension, index) => ({ ...dimensions[dimension], column: `group_${index}` }));
    const selectedKeys = keys.map((key) => `${key.expression} AS ${key.column}, `).join('');
    const grouping = keys.length > 0 ? `GROUP BY ${keys.map((key) => key.expression).join(', ')}` : 'HAVING count(*) > 0';
    const ordering = keys.length > 0 ? `ORDER BY ${keys.map((key) => `${key.column} NULLS FIRST`).join(', ')}` : '';
    const result = await this.pool.query(
      `SELECT ${selectedKeys}
              count(DISTINCT turn_id)::integer AS turns,
              count(*)::integer AS hops,
              sum(input_tokens)::bigint AS input_tokens,
              sum(output_tokens)::bigint AS output_tokens,
              sum(cost_usd) AS cost_usd,
              round(avg(latency_ms), 1) AS avg_latency_ms,
              round(avg(time_to_first_token_ms), 1) AS avg_time_to_first_token_ms,
              count(*) FILTER (WHERE byok)::integer AS byok_hops
       FROM llm_usage
       WHERE ${conditions.join(' AND ')}
       ${grouping}
       ${ordering}`,
      parameters,
    );
    return result.rows.map((row) => {
      const aggregate: UsageAggregateRow = {
        turns: row.turns,
        hops: row.hops,
        inputTokens: Number(row.input_tokens),
        outputTokens: Number(row.output_tokens),
        costUsd: Number(row.cost_usd),
        avgLatencyMs: Number(row.avg_latency_ms),
        avgTimeToFirstTokenMs: row.avg_time_to_first_token_ms === null ? null : Number(row.avg_time_to_first_token_ms),
        byokHops: row.byok_hops,
      };
      return Object.assign(Object.fromEntries(keys.map((key) => [key.field, row[key.column]])), aggregate);
    });
  }
}
