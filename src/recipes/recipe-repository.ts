/** Recipes of a workspace and the runs started from them. */
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { isUniqueViolation } from '../db/pagination';
import type { RecipeStage } from '../shared/recipe';

export interface RecipeRecord {
  id: string;
  workspaceId: string;
  name: string;
  description: string;
  stages: RecipeStage[];
  createdAt: Date;
  updatedAt: Date;
}

export interface RecipeRunRecord {
  id: string;
  recipeId: string;
  workspaceId: string;
  userId: string;
  workflowId: string;
}

export class DuplicateRecipeNameError extends Error {}

function toRecord(row: Record<string, unknown>): RecipeRecord {
  return {
    id: row.id as string,
    workspaceId: row.workspace_id as string,
    name: row.name as string,
    description: row.description as string,
    stages: row.stages as RecipeStage[],
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
  };
}

export class RecipeRepository {
  constructor(private readonly pool: Pool) {}

  async create(workspaceId: string, recipe: { name: string; description?: string; stages: RecipeStage[] }): Promise<RecipeRecord> {
    const id = `recipe_${randomUUID()}`;
    try {
      const result = await this.pool.query('INSERT INTO recipes (id, workspace_id, name, description, stages) VALUES ($1, $2, $3, $4, $5) RETURNING *', [
        id,
        workspaceId,
        recipe.name,
        recipe.description ?? '',
        JSON.stringify(recipe.stages),
      ]);
      return toRecord(result.rows[0]);
    } catch (error) {
      if (isUniqueViolation(error, 'recipes_workspace_name')) throw new DuplicateRecipeNameError(recipe.name);
      throw error;
    }
  }

  async get(workspaceId: string, id: string): Promise<RecipeRecord | undefined> {
    const result = await this.pool.query('SELECT * FROM recipes WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
    return result.rows[0] ? toRecord(result.rows[0]) : undefined;
  }

  async list(workspaceId: string): Promise<RecipeRecord[]> {
    const result = await this.pool.query('SELECT * FROM recipes WHERE workspace_id = $1 ORDER BY name, id LIMIT 500', [workspaceId]);
    return result.rows.map(toRecord);
  }

  async delete(workspaceId: string, id: string): Promise<boolean> {
    const result = await this.pool.query('DELETE FROM recipes WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
    return result.rowCount === 1;
  }

  async addRun(run: RecipeRunRecord): Promise<void> {
    await this.pool.query('INSERT INTO recipe_runs (id, recipe_id, workspace_id, user_id, workflow_id) VALUES ($1, $2, $3, $4, $5)', [
      run.id,
      run.recipeId,
      run.workspaceId,
      run.userId,
      run.workflowId,
    ]);
  }

  async getRun(workspaceId: string, id: string): Promise<RecipeRunRecord | undefined> {
    const result = await this.pool.query('SELECT * FROM recipe_runs WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
    const row = result.rows[0];
    return row ? { id: row.id, recipeId: row.recipe_id, workspaceId: row.workspace_id, userId: row.user_id, workflowId: row.workflow_id } : undefined;
  }
}
