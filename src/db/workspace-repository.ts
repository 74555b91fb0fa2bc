/**
 * Workspaces, users, API keys and agents. API keys are stored as SHA-256 hashes: a leaked table
 * does not leak usable keys.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import type { SpendCapSettings } from '../shared/spend-caps';

/** `admin` manages the workspace and sees all of it; `member` chats and sees only its own conversations. */
export type Role = 'admin' | 'member';

export interface Principal {
  workspaceId: string;
  userId: string;
  role: Role;
  /** The id of the API key the request came with (`GET /api/keys` lists it). */
  keyId: string;
}

export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex');
}

/** A fresh API key: `dc_` and 32 random bytes in base64url. */
export function generateApiKey(): string {
  return `dc_${randomBytes(32).toString('base64url')}`;
}

export interface AgentRow {
  id: string;
  workspaceId: string;
  name: string;
  model: string | null;
  fallbackModels: string[];
  systemPrompt: string;
  temperature: number | null;
  allowedTools: string[];
  maxHops: number;
  contextWindow: number;
  memoryEnabled: boolean;
  llmMaxAttempts: number;
  llmInitialRetryIntervalMs: number;
  /** What a message sent while a turn of the conversation runs does. */
  busyPolicy: 'queue' | 'interrupt' | 'reject';
}

export class WorkspaceRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Creates (or reuses) a workspace, its user and default agent, and registers the API key.
   * Idempotent: seeding twice with the same key changes nothing.
   */
  async seedWorkspace(input: { workspaceId: string; workspaceName: string; userId: string; userName: string; apiKey: string }): Promise<Omit<Principal, 'keyId' | 'role'>> {
    await this.pool.query('INSERT INTO workspaces (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [input.workspaceId, input.workspaceName]);
    await this.pool.query('INSERT INTO users (id, workspace_id, name) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [
      input.userId,
      input.workspaceId,
      input.userName,
    ]);
    await this.pool.query(
      `INSERT INTO api_keys (key_hash, workspace_id, user_id, label) VALUES ($1, $2, $3, 'seeded')
       ON CONFLICT (key_hash) DO NOTHING`,
      [hashApiKey(input.apiKey), input.workspaceId, input.userId],
    );
    await this.pool.query(
      `INSERT INTO agents (id, workspace_id, name, system_prompt, is_default) VALUES ($1, $2, 'Assistant', $3, true)
       ON CONFLICT DO NOTHING`,
      [`${input.workspaceId}-assistant`, input.workspaceId, 'You are a helpful assistant.'],
    );
    return { workspaceId: input.workspaceId, userId: input.userId };
  }

  /**
   * The workspace, user and role of a key, or undefined for an unknown or revoked key. Read on every
   * request, never cached: a revoked key is refused from the next request on.
   */
  async authenticate(apiKey: string): Promise<Principal | undefined> {
    const result = await this.pool.query('SELECT id, workspace_id, user_id, role FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL', [
      hashApiKey(apiKey),
    ]);
    const row = result.rows[0];
    return row ? { workspaceId: row.workspace_id, userId: row.user_id, role: row.role, keyId: String(row.id) } : undefined;
  }

  /** The agent by id within the workspace, or the workspace's default agent when no id is given. */
  async findAgent(workspaceId: string, agentId?: string): Promise<AgentRow | undefined> {
    const result = agentId
      ? await this.pool.query('SELECT * FROM agents WHERE workspace_id = $1 AND id = $2', [workspaceId, agentId])
      : await this.pool.query('SELECT * FROM agents WHERE workspace_id = $1 AND is_default', [workspaceId]);
    const row = result.rows[0];
    if (!row) return undefined;
    return {
      id: row.id,
      workspaceId: row.workspace_id,
      name: row.name,
      model: row.model,
      fallbackModels: row.fallback_models ?? [],
      systemPrompt: row.system_prompt,
      temperature: row.temperature,
      allowedTools: row.allowed_tools,
      maxHops: row.max_hops,
      contextWindow: row.context_window,
      memoryEnabled: row.memory_enabled,
      llmMaxAttempts: row.llm_max_attempts,
      llmInitialRetryIntervalMs: row.llm_initial_retry_interval_ms,
      busyPolicy: row.busy_policy ?? 'queue',
    };
  }

  /** The workspace's name and spend caps, or undefined for an unknown workspace. */
  async settings(workspaceId: string): Promise<{ id: string; name: string; spendCaps: SpendCapSettings } | undefined> {
    const result = await this.pool.query('SELECT id, name, spend_caps FROM workspaces WHERE id = $1', [workspaceId]);
    const row = result.rows[0];
    return row ? { id: row.id, name: row.name, spendCaps: (row.spend_caps ?? {}) as SpendCapSettings } : undefined;
  }

  /** Replaces the workspace's spend caps (its own; the deployment's defaults apply to missing keys). */
  async setSpendCaps(workspaceId: string, spendCaps: SpendCapSettings): Promise<void> {
    await this.pool.query('UPDATE workspaces SET spend_caps = $2 WHERE id = $1', [workspaceId, JSON.stringify(spendCaps)]);
  }
}
