/**
 * `npm start` registers MCP servers from `MCP_SERVERS`: a JSON array of server definitions, each the
 * body `POST /api/mcp-servers` takes, such as
 * `[{"name":"everything","transport":"stdio","command":"node","args":["node_modules/@modelcontextprotocol/server-everything/dist/index.js","stdio"]}]`.
 *
 * The operator wrote them, so stdio commands need not be in `MCP_STDIO_COMMANDS`. A server of that
 * name that already exists is updated (its credentials replaced), so a restart with a changed
 * variable applies it. Also seeds the agent "App actions" (`demo-apps`), which may use every app action.
 */
import type { Pool } from 'pg';
import { z } from 'zod';
import { mcpServerDefinition } from '../api/routes/mcp-servers';
import type { McpServerRepository } from './mcp-server-repository';

export const DEMO_APPS_AGENT_ID = 'demo-apps';

/** Parses `MCP_SERVERS`; the error names the variable and the entry at fault, never a value. */
export function parseMcpServersVariable(text: string | undefined): Array<z.output<typeof mcpServerDefinition>> {
  if (!text || text.trim() === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('MCP_SERVERS must be a JSON array of MCP server definitions');
  }
  const parsed = z.array(mcpServerDefinition).safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`MCP_SERVERS: ${issue.path.map(String).join('.') || 'value'}: ${issue.message}`);
  }
  return parsed.data;
}

/** Registers (or updates) each server in the workspace; returns their ids. */
export async function registerEnvironmentServers(servers: McpServerRepository, workspaceId: string, definitions: ReadonlyArray<z.output<typeof mcpServerDefinition>>): Promise<Array<{ id: string; name: string }>> {
  const registered: Array<{ id: string; name: string }> = [];
  for (const definition of definitions) {
    const existing = (await servers.list(workspaceId, { limit: 100 })).data.find((server) => server.name === definition.name);
    if (existing && existing.transport === definition.transport) {
      const { transport: _transport, ...changes } = definition;
      await servers.update(workspaceId, existing.id, { headers: {}, env: {}, ...changes });
      registered.push({ id: existing.id, name: existing.name });
      continue;
    }
    if (existing) await servers.delete(workspaceId, existing.id);
    const created = await servers.create(workspaceId, definition);
    registered.push({ id: created.id, name: created.name });
  }
  return registered;
}

/** The agent that may use every app action of the workspace (idempotent). */
export async function seedAppsAgent(pool: Pool, workspaceId: string): Promise<string> {
  await pool.query(
    `INSERT INTO agents (id, workspace_id, name, description, system_prompt, allowed_tools, max_hops)
     VALUES ($1, $2, 'App actions', 'Uses the app actions of the MCP servers; seeded by npm start', $3, $4, 5)
     ON CONFLICT DO NOTHING`,
    [DEMO_APPS_AGENT_ID, workspaceId, 'You are the app actions agent of the durable-chat demo: use the app actions to answer.', ['APP_*', 'app_execute']],
  );
  return DEMO_APPS_AGENT_ID;
}
