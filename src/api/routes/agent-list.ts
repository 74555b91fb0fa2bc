/**
 * `GET /api/agents`: the caller's workspace's agents, read-only, for the chat app's agent picker.
 *
 * Minimal on purpose: the agents management API (issue 11) owns agents; when it serves its own
 * `GET /api/agents`, this file goes and the app reads theirs (it needs `id`, `name` and which agent
 * is the default).
 */
import { Router, type Request, type Response } from 'express';
import type { Pool } from 'pg';
import { principalOf } from '../auth';

export function createAgentListRouter(dependencies: { pool: Pool }): Router {
  const router = Router();

  /** The workspace's agents, the default first, then by name. Read-only; no secret is listed. */
  router.get('/agents', async (request: Request, response: Response) => {
    const { workspaceId } = principalOf(request);
    const result = await dependencies.pool.query(
      'SELECT id, name, model, is_default FROM agents WHERE workspace_id = $1 ORDER BY is_default DESC, name, id',
      [workspaceId],
    );
    response.json({ agents: result.rows.map((row) => ({ id: row.id, name: row.name, model: row.model, isDefault: row.is_default })) });
  });

  return router;
}
