/**
 * Model prices, in US dollars per million tokens: the deployment's list prices (`model_pricing`) and
 * each workspace's own prices (`workspace_model_pricing`), which win for that workspace. Usage rows
 * take the price in force when they are recorded (src/db/usage-repository.ts), so a change applies to
 * later hops only.
 */
import type { Pool } from 'pg';

export interface ModelPrice {
  model: string;
  inputUsdPerMillion: number;
  outputUsdPerMillion: number;
  /** `workspace`: set by the workspace; `deployment`: the list price every workspace starts with. */
  source: 'workspace' | 'deployment';
  updatedAt: Date | null;
}

function toPrice(row: Record<string, unknown>): ModelPrice {
  return {
    model: row.model as string,
    inputUsdPerMillion: Number(row.input_usd_per_million),
    outputUsdPerMillion: Number(row.output_usd_per_million),
    source: row.source as ModelPrice['source'],
    updatedAt: (row.updated_at as Date | null) ?? null,
  };
}

/**
 * The price of `$<model>` for workspace `$<workspace>`, as a SQL expression yielding one row of
 * (input, output) per million: the workspace's price, else the deployment's.
 */
export function effectivePriceSql(workspaceParameter: string, modelParameter: string): string {
  return `(SELECT input_usd_per_million, output_usd_per_million FROM (
      SELECT input_usd_per_million, output_usd_per_million, 0 AS priority FROM workspace_model_pricing WHERE workspace_id = ${workspaceParameter} AND model = ${modelParameter}
      UNION ALL
      SELECT input_usd_per_million, output_usd_per_million, 1 AS priority FROM model_pricing WHERE model = ${modelParameter}
    ) AS prices ORDER BY priority LIMIT 1)`;
}

export class PricingRepository {
  constructor(private readonly pool: Pool) {}

  /** Every model priced for the workspace, by model name: its own prices over the deployment's. */
  async list(workspaceId: string): Promise<ModelPrice[]> {
    const result = await this.pool.query(
      `SELECT DISTINCT ON (model) model, input_usd_per_million, output_usd_per_million, source, updated_at FROM (
         SELECT model, input_usd_per_million, output_usd_per_million, 'workspace' AS source, updated_at, 0 AS priority
           FROM workspace_model_pricing WHERE workspace_id = $1
         UNION ALL
         SELECT model, input_usd_per_million, output_usd_per_million, 'deployment' AS source, updated_at, 1 AS priority FROM model_pricing
       ) AS prices ORDER BY model, priority`,
      [workspaceId],
    );
    return result.rows.map(toPrice);
  }

  /** Sets the workspace's price of a model (insert or replace). */
  async set(workspaceId: string, price: { model: string; inputUsdPerMillion: number; outputUsdPerMillion: number }): Promise<ModelPrice> {
    const result = await this.pool.query(
      `INSERT INTO workspace_model_pricing (workspace_id, model, input_usd_per_million, output_usd_per_million) VALUES ($1, $2, $3, $4)
       ON CONFLICT (workspace_id, model) DO UPDATE SET input_usd_per_million = EXCLUDED.input_usd_per_million,
         output_usd_per_million = EXCLUDED.output_usd_per_million, updated_at = now()
       RETURNING model, input_usd_per_million, output_usd_per_million, 'workspace' AS source, updated_at`,
      [workspaceId, price.model, price.inputUsdPerMillion, price.outputUsdPerMillion],
    );
    return toPrice(result.rows[0]);
  }

  /** Removes the workspace's own price (the deployment's applies again); false when there was none. */
  async remove(workspaceId: string, model: string): Promise<boolean> {
    const result = await this.pool.query('DELETE FROM workspace_model_pricing WHERE workspace_id = $1 AND model = $2', [workspaceId, model]);
    return result.rowCount === 1;
  }
}
