/**
 * `platform_*` tools: what the model may know about its own workspace. Read-only and scoped to the
 * turn's workspace, so a retry or a repeated call changes nothing.
 */
import { z } from 'zod';
import { defineTool, type ToolDefinition } from './tool-definition';
import { ToolError } from './tool-errors';

export const platformListAgents = defineTool({
  name: 'platform_list_agents',
  description: 'List the agents of this workspace with their id, name and model (null: the deployment default model).',
  schema: z.object({}),
  async run(_arguments, context) {
    const result = await context.database.query(
      'SELECT id, name, model FROM agents WHERE workspace_id = $1 ORDER BY is_default DESC, created_at, id',
      [context.workspaceId],
    );
    return {
      agents: result.rows.map((row) => ({ id: row.id as string, name: row.name as string, model: (row.model as string | null) ?? null })),
    };
  },
});

export const platformWorkspaceInfo = defineTool({
  name: 'platform_workspace_info',
  description: 'Describe this workspace: its id, name, and how many agents and conversations it has.',
  schema: z.object({}),
  async run(_arguments, context) {
    const result = await context.database.query(
      `SELECT w.id, w.name,
              (SELECT count(*) FROM agents a WHERE a.workspace_id = w.id) AS agent_count,
              (SELECT count(*) FROM conversations c WHERE c.workspace_id = w.id) AS conversation_count
       FROM workspaces w WHERE w.id = $1`,
      [context.workspaceId],
    );
    const row = result.rows[0];
    if (!row) throw new ToolError(`Workspace ${context.workspaceId} does not exist`);
    return {
      id: row.id as string,
      name: row.name as string,
      agentCount: Number(row.agent_count),
      conversationCount: Number(row.conversation_count),
    };
  },
});

export const PLATFORM_TOOLS: readonly ToolDefinition[] = [platformListAgents, platformWorkspaceInfo];
