/**
 * Agents of a workspace, as the management API and the activation activity see them: model and
 * connection, fallback models, persona, tool permissions, skills and limits.
 *
 * Writes take complete values: the route merges a change into the stored agent and validates the
 * result as a whole before anything is written (src/agents/agent-validation.ts). One agent per
 * workspace is the default (used when a chat names none); making another one the default moves it.
 */
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { inTransaction } from '../db/transaction';
import { decodeCursor, isUniqueViolation, toPage, type Page, type PageRequest } from '../db/pagination';
import type { SkillReference } from '../skills/skill-resolution';
import type { SpendCapSettings } from '../shared/spend-caps';
import type { BusyPolicy, ToolApprovalSettings } from '../shared/turn-control';

/** Everything a client can set on an agent. */
export interface AgentValues {
  name: string;
  description: string;
  isDefault: boolean;
  /** Null: the deployment's own endpoint. */
  connectionId: string | null;
  /** Null: the deployment's `DEFAULT_MODEL` (only without a connection). */
  model: string | null;
  fallbackModels: string[];
  systemPrompt: string;
  temperature: number | null;
  allowedTools: string[];
  skills: SkillReference[];
  maxHops: number;
  /** Null: the deployment's `TOOL_SELECTION_MAX_TOOLS`. */
  maxTools: number | null;
  contextWindow: number;
  memoryEnabled: boolean;
  llmMaxAttempts: number;
  llmInitialRetryIntervalMs: number;
  /** Caps per turn and per UTC day (missing keys: the deployment's defaults). */
  spendCaps: SpendCapSettings;
  /** Tools whose calls wait for the user's approval; null: none. */
  toolApproval: ToolApprovalSettings | null;
  /** What a message sent while a turn runs does. */
  busyPolicy: BusyPolicy;
}

export interface AgentRecord extends AgentValues {
  id: string;
  workspaceId: string;
  createdAt: Date;
  updatedAt: Date;
}

/** The values of a new agent where the client gives none (the column defaults of the schema). */
export const AGENT_DEFAULTS: Omit<AgentValues, 'name'> = {
  description: '',
  isDefault: false,
  connectionId: null,
  model: null,
  fallbackModels: [],
  systemPrompt: '',
  temperature: null,
  allowedTools: [],
  skills: [],
  maxHops: 10,
  maxTools: null,
  contextWindow: 128_000,
  memoryEnabled: true,
  llmMaxAttempts: 6,
  llmInitialRetryIntervalMs: 1000,
  spendCaps: {},
  toolApproval: null,
  busyPolicy: 'queue',
};

export class DuplicateAgentNameError extends Error {}

function toRecord(row: Record<string, unknown>): AgentRecord {
  return {
    id: row.id as string,
    workspaceId: row.workspace_id as string,
    name: row.name as string,
    description: row.description as string,
    isDefault: row.is_default as boolean,
    connectionId: row.connection_id as string | null,
    model: row.model as string | null,
    fallbackModels: row.fallback_models as string[],
    systemPrompt: row.system_prompt as string,
    temperature: row.temperature as number | null,
    allowedTools: row.allowed_tools as string[],
    skills: row.skills as SkillReference[],
    maxHops: row.max_hops as number,
    maxTools: row.max_tools as number | null,
    contextWindow: row.context_window as number,
    memoryEnabled: row.memory_enabled as boolean,
    llmMaxAttempts: row.llm_max_attempts as number,
    llmInitialRetryIntervalMs: row.llm_initial_retry_interval_ms as number,
    spendCaps: (row.spend_caps ?? {}) as SpendCapSettings,
    toolApproval: (row.tool_approval ?? null) as ToolApprovalSettings | null,
    busyPolicy: (row.busy_policy ?? 'queue') as BusyPolicy,
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
  };
}

/** Column values in the order of {@link COLUMNS}. */
function columnValues(values: AgentValues): unknown[] {
  return [
    values.name,
    values.description,
    values.isDefault,
    values.connectionId,
    values.model,
    values.fallbackModels,
    values.systemPrompt,
    values.temperature,
    values.allowedTools,
    JSON.stringify(values.skills),
    values.maxHops,
    values.maxTools,
    values.contextWindow,
    values.memoryEnabled,
    values.llmMaxAttempts,
    values.llmInitialRetryIntervalMs,
    JSON.stringify(values.spendCaps),
    values.toolApproval === null ? null : JSON.stringify(values.toolApproval),
    values.busyPolicy,
  ];
}

const COLUMNS = [
  'name',
  'description',
  'is_default',
  'connection_id',
  'model',
  'fallback_models',
  'system_prompt',
  'temperature',
  'allowed_tools',
  'skills',
  'max_hops',
  'max_tools',
  'context_window',
  'memory_enabled',
  'llm_max_attempts',
  'llm_initial_retry_interval_ms',
  'spend_caps',
  'tool_approval',
  'busy_policy',
];

export class AgentRepository {
  constructor(private readonly pool: Pool) {}

  private async write<T>(work: (client: PoolClient) => Promise<T>, name: string): Promise<T> {
    try {
      return await inTransaction(this.pool, work);
    } catch (error) {
      if (isUniqueViolation(error, 'agents_workspace_name')) throw new DuplicateAgentNameError(name);
      throw error;
    }
  }

  async create(workspaceId: string, values: AgentValues): Promise<AgentRecord> {
    const id = `agent_${randomUUID()}`;
    await this.write(async (client) => {
      if (values.isDefault) await client.query('UPDATE agents SET is_default = false, updated_at = now() WHERE workspace_id = $1 AND is_default', [workspaceId]);
      const placeholders = COLUMNS.map((_column, index) => `$${index + 3}`).join(', ');
      await client.query(`INSERT INTO agents (id, workspace_id, ${COLUMNS.join(', ')}) VALUES ($1, $2, ${placeholders})`, [id, workspaceId, ...columnValues(values)]);
    }, values.name);
    return (await this.get(workspaceId, id))!;
  }

  async get(workspaceId: string, id: string): Promise<AgentRecord | undefined> {
    const result = await this.pool.query('SELECT * FROM agents WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
    return result.rows[0] ? toRecord(result.rows[0]) : undefined;
  }

  /** The agent by id, or the workspace's default agent when no id is given. */
  async find(workspaceId: string, id?: string): Promise<AgentRecord | undefined> {
    if (id !== undefined) return this.get(workspaceId, id);
    const result = await this.pool.query('SELECT * FROM agents WHERE workspace_id = $1 AND is_default', [workspaceId]);
    return result.rows[0] ? toRecord(result.rows[0]) : undefined;
  }

  async list(workspaceId: string, page: PageRequest): Promise<Page<AgentRecord>> {
    const after = page.cursor ? decodeCursor(page.cursor, 2) : undefined;
    const result = await this.pool.query(
      `SELECT * FROM agents WHERE workspace_id = $1 AND ($2::text IS NULL OR (name, id) > ($2::text, $3::text)) ORDER BY name, id LIMIT $4`,
      [workspaceId, after?.[0] ?? null, after?.[1] ?? null, page.limit + 1],
    );
    return toPage(result.rows.map(toRecord), page.limit, (record) => [record.name, record.id]);
  }

  /** Replaces the agent's values; undefined when the workspace has no such agent. */
  async update(workspaceId: string, id: string, values: AgentValues): Promise<AgentRecord | undefined> {
    const updated = await this.write(async (client) => {
      if (values.isDefault) await client.query('UPDATE agents SET is_default = false, updated_at = now() WHERE workspace_id = $1 AND is_default AND id <> $2', [workspaceId, id]);
      const assignments = COLUMNS.map((column, index) => `${column} = $${index + 3}`).join(', ');
      const result = await client.query(`UPDATE agents SET ${assignments}, updated_at = now() WHERE workspace_id = $1 AND id = $2`, [workspaceId, id, ...columnValues(values)]);
      return result.rowCount === 1;
    }, values.name);
    return updated ? this.get(workspaceId, id) : undefined;
  }

  async delete(workspaceId: string, id: string): Promise<boolean> {
    const result = await this.pool.query('DELETE FROM agents WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
    return result.rowCount === 1;
  }
}
