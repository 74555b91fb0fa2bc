/**
 * MCP servers of a workspace and their cached catalogues (the seed's `ComposioActionCache`).
 *
 * The HTTP headers (an `Authorization` token, say) and the stdio environment are the server's
 * credentials: sealed together with {@link SecretBox} (AES-256-GCM), bound to
 * `mcp-server:<workspace>:<server>`, and opened only by {@link McpServerRepository.loadForUse}, which
 * the worker calls right before it connects. Lists and reads show their names only, and nothing here
 * travels through workflow history: activities take the server id.
 *
 * A catalogue listing replaces the server's actions in one transaction; a listing that fails records
 * the error and leaves the cached actions in service.
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { inTransaction } from '../db/transaction';
import { decodeCursor, isUniqueViolation, toPage, type Page, type PageRequest } from '../db/pagination';
import { SecretsError, type SecretBox } from '../secrets/secret-box';
import { toolNamesFor } from './action-names';

export type McpTransport = 'http' | 'stdio';

export interface McpServerSecret {
  headers: Record<string, string>;
  env: Record<string, string>;
}

/** What the API shows of a server: never its header or environment values. */
export interface McpServerRecord {
  id: string;
  workspaceId: string;
  name: string;
  transport: McpTransport;
  url: string | null;
  command: string | null;
  args: string[];
  headerNames: string[];
  envNames: string[];
  timeoutMs: number | null;
  catalogue: { status: 'pending' | 'ok' | 'failed'; error: string | null; listedAt: Date | null; attemptedAt: Date | null; actions: number };
  createdAt: Date;
  updatedAt: Date;
}

/** A server with its credentials opened: only for connecting to it. */
export interface McpServerForUse extends McpServerRecord {
  secret: McpServerSecret;
}

export interface NewMcpServer {
  name: string;
  transport: McpTransport;
  url?: string;
  command?: string;
  args?: string[];
  headers?: Record<string, string>;
  env?: Record<string, string>;
  timeoutMs?: number;
}

export type McpServerChanges = Partial<Omit<NewMcpServer, 'transport'>>;

/** One action of the cached catalogue. */
export interface McpActionRecord {
  serverId: string;
  serverName: string;
  action: string;
  toolName: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

/** What a listing found: the server's tools as it describes them. */
/** A row of `mcp_actions` joined with its server's name. */
function toActionRecord(row: Record<string, unknown>): McpActionRecord {
  return {
    serverId: row.server_id as string,
    serverName: row.server_name as string,
    action: row.action as string,
    toolName: row.tool_name as string,
    description: row.description as string,
    inputSchema: row.input_schema as Record<string, unknown>,
  };
}

export interface ListedAction {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

export class DuplicateMcpServerNameError extends Error {}

export class McpSecretsNotConfiguredError extends Error {
  constructor() {
    super('SECRETS_ENCRYPTION_KEYS is not configured: MCP server credentials cannot be stored or opened');
  }
}

function owner(workspaceId: string, id: string): string {
  return `mcp-server:${workspaceId}:${id}`;
}

const SELECT_SERVER = `SELECT s.*, (SELECT count(*)::int FROM mcp_actions a WHERE a.server_id = s.id) AS action_count FROM mcp_servers s`;

function toRecord(row: Record<string, unknown>): McpServerRecord {
  return {
    id: row.id as string,
    workspaceId: row.workspace_id as string,
    name: row.name as string,
    transport: row.transport as McpTransport,
    url: (row.url as string | null) ?? null,
    command: (row.command as string | null) ?? null,
    args: row.args as string[],
    headerNames: row.header_names as string[],
    envNames: row.env_names as string[],
    timeoutMs: (row.timeout_ms as number | null) ?? null,
    catalogue: {
      status: row.catalogue_status as 'pending' | 'ok' | 'failed',
      error: (row.catalogue_error as string | null) ?? null,
      listedAt: (row.catalogue_listed_at as Date | null) ?? null,
      attemptedAt: (row.catalogue_attempted_at as Date | null) ?? null,
      actions: (row.action_count as number | undefined) ?? 0,
    },
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
  };
}

export class McpServerRepository {
  constructor(
    private readonly pool: Pool,
    private readonly secrets: SecretBox | undefined,
  ) {}

  get secretsConfigured(): boolean {
    return this.secrets !== undefined;
  }

  private seal(workspaceId: string, id: string, secret: McpServerSecret): string | null {
    if (Object.keys(secret.headers).length === 0 && Object.keys(secret.env).length === 0) return null;
    if (!this.secrets) throw new McpSecretsNotConfiguredError();
    return this.secrets.seal(secret, owner(workspaceId, id));
  }

  private open(workspaceId: string, id: string, sealed: string | null): McpServerSecret {
    if (sealed === null) return { headers: {}, env: {} };
    if (!this.secrets) throw new McpSecretsNotConfiguredError();
    return this.secrets.open<McpServerSecret>(sealed, owner(workspaceId, id));
  }

  async create(workspaceId: string, server: NewMcpServer): Promise<McpServerRecord> {
    const id = `mcp_${randomUUID()}`;
    const secret = { headers: server.headers ?? {}, env: server.env ?? {} };
    try {
      await this.pool.query(
        `INSERT INTO mcp_servers (id, workspace_id, name, transport, url, command, args, secret, header_names, env_names, timeout_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          id,
          workspaceId,
          server.name,
          server.transport,
          server.url ?? null,
          server.command ?? null,
          server.args ?? [],
          this.seal(workspaceId, id, secret),
          Object.keys(secret.headers),
          Object.keys(secret.env),
          server.timeoutMs ?? null,
        ],
      );
    } catch (error) {
      if (isUniqueViolation(error, 'mcp_servers_workspace_name')) throw new DuplicateMcpServerNameError(server.name);
      throw error;
    }
    return (await this.get(workspaceId, id))!;
  }

  async get(workspaceId: string, id: string): Promise<McpServerRecord | undefined> {
    const result = await this.pool.query(`${SELECT_SERVER} WHERE s.workspace_id = $1 AND s.id = $2`, [workspaceId, id]);
    return result.rows[0] ? toRecord(result.rows[0]) : undefined;
  }

  async list(workspaceId: string, page: PageRequest): Promise<Page<McpServerRecord>> {
    const after = page.cursor ? decodeCursor(page.cursor, 2) : undefined;
    const result = await this.pool.query(
      `${SELECT_SERVER} WHERE s.workspace_id = $1 AND ($2::text IS NULL OR (s.name, s.id) > ($2::text, $3::text)) ORDER BY s.name, s.id LIMIT $4`,
      [workspaceId, after?.[0] ?? null, after?.[1] ?? null, page.limit + 1],
    );
    return toPage(result.rows.map(toRecord), page.limit, (record) => [record.name, record.id]);
  }

  /** Every server of every workspace: the ids the scheduled refresh walks. */
  async allIds(): Promise<Array<{ workspaceId: string; id: string }>> {
    const result = await this.pool.query('SELECT workspace_id, id FROM mcp_servers ORDER BY workspace_id, name');
    return result.rows.map((row) => ({ workspaceId: row.workspace_id as string, id: row.id as string }));
  }

  /** Applies changes; headers or env given replace the stored ones (the other is kept). */
  async update(workspaceId: string, id: string, changes: McpServerChanges): Promise<McpServerRecord | undefined> {
    try {
      const found = await inTransaction(this.pool, async (client) => {
        const locked = await client.query('SELECT secret FROM mcp_servers WHERE workspace_id = $1 AND id = $2 FOR UPDATE', [workspaceId, id]);
        const row = locked.rows[0];
        if (!row) return false;
        let sealed: string | null | undefined;
        let secret: McpServerSecret | undefined;
        if (changes.headers !== undefined || changes.env !== undefined) {
          const previous = this.open(workspaceId, id, (row.secret as string | null) ?? null);
          secret = { headers: changes.headers ?? previous.headers, env: changes.env ?? previous.env };
          sealed = this.seal(workspaceId, id, secret);
        }
        await client.query(
          `UPDATE mcp_servers SET name = coalesce($3, name), url = coalesce($4, url), command = coalesce($5, command), args = coalesce($6, args),
             timeout_ms = coalesce($7, timeout_ms),
             secret = CASE WHEN $8 THEN $9 ELSE secret END,
             header_names = coalesce($10, header_names), env_names = coalesce($11, env_names), updated_at = now()
           WHERE id = $1 AND workspace_id = $2`,
          [
            id,
            workspaceId,
            changes.name ?? null,
            changes.url ?? null,
            changes.command ?? null,
            changes.args ?? null,
            changes.timeoutMs ?? null,
            secret !== undefined,
            sealed ?? null,
            secret ? Object.keys(secret.headers) : null,
            secret ? Object.keys(secret.env) : null,
          ],
        );
        return true;
      });
      return found ? this.get(workspaceId, id) : undefined;
    } catch (error) {
      if (isUniqueViolation(error, 'mcp_servers_workspace_name')) throw new DuplicateMcpServerNameError(changes.name ?? '');
      throw error;
    }
  }

  async delete(workspaceId: string, id: string): Promise<boolean> {
    const result = await this.pool.query('DELETE FROM mcp_servers WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
    return result.rowCount === 1;
  }

  /** The server with its credentials opened, for the worker that connects to it. */
  async loadForUse(workspaceId: string, id: string): Promise<McpServerForUse | undefined> {
    const result = await this.pool.query(`${SELECT_SERVER} WHERE s.workspace_id = $1 AND s.id = $2`, [workspaceId, id]);
    const row = result.rows[0];
    if (!row) return undefined;
    return { ...toRecord(row), secret: this.open(workspaceId, id, (row.secret as string | null) ?? null) };
  }

  /**
   * Replaces the server's cached catalogue with a fresh listing. An action whose tool name another
   * server of the workspace already uses is left out (reported in `skipped`).
   */
  async replaceCatalogue(workspaceId: string, id: string, actions: readonly ListedAction[]): Promise<{ stored: number; skipped: string[] }> {
    return inTransaction(this.pool, async (client) => {
      const server = await client.query('SELECT name FROM mcp_servers WHERE workspace_id = $1 AND id = $2 FOR UPDATE', [workspaceId, id]);
      if (!server.rows[0]) return { stored: 0, skipped: [] };
      const names = toolNamesFor(server.rows[0].name as string, actions.map((action) => action.name));
      const taken = await client.query('SELECT tool_name FROM mcp_actions WHERE workspace_id = $1 AND server_id <> $2', [workspaceId, id]);
      const takenNames = new Set(taken.rows.map((row) => row.tool_name as string));
      await client.query('DELETE FROM mcp_actions WHERE server_id = $1', [id]);
      const skipped: string[] = [];
      let stored = 0;
      for (const [position, action] of actions.entries()) {
        const toolName = names[position]!;
        if (takenNames.has(toolName)) {
          skipped.push(action.name);
          continue;
        }
        await client.query(
          'INSERT INTO mcp_actions (server_id, workspace_id, action, tool_name, description, input_schema, position) VALUES ($1, $2, $3, $4, $5, $6, $7)',
          [id, workspaceId, action.name, toolName, action.description, JSON.stringify(action.inputSchema), position],
        );
        stored += 1;
      }
      await client.query(
        `UPDATE mcp_servers SET catalogue_status = 'ok', catalogue_error = NULL, catalogue_listed_at = now(), catalogue_attempted_at = now() WHERE id = $1`,
        [id],
      );
      return { stored, skipped };
    });
  }

  /** Records a failed listing; the cached actions stay in service. */
  async recordCatalogueFailure(workspaceId: string, id: string, error: string): Promise<void> {
    await this.pool.query(
      `UPDATE mcp_servers SET catalogue_status = 'failed', catalogue_error = $3, catalogue_attempted_at = now() WHERE workspace_id = $1 AND id = $2`,
      [workspaceId, id, error.slice(0, 1000)],
    );
  }

  /** The workspace's cached catalogue, server by server (by name), each in listing order. */
  async actions(workspaceId: string, serverId?: string): Promise<McpActionRecord[]> {
    const result = await this.pool.query(
      `SELECT a.server_id, s.name AS server_name, a.action, a.tool_name, a.description, a.input_schema FROM mcp_actions a
       JOIN mcp_servers s ON s.id = a.server_id
       WHERE a.workspace_id = $1 AND ($2::text IS NULL OR a.server_id = $2) ORDER BY s.name, a.position`,
      [workspaceId, serverId ?? null],
    );
    return result.rows.map(toActionRecord);
  }

  /**
   * Re-encrypts every stored server secret that is not under the current key (the rotation job), row
   * by row, each update guarded by its old value; a row under a key this ring lacks is counted as
   * `unreadable` and left as it is.
   */
  async resealAll(): Promise<{ resealed: number; current: number; unreadable: number }> {
    if (!this.secrets) throw new McpSecretsNotConfiguredError();
    const result = await this.pool.query('SELECT id, workspace_id, secret FROM mcp_servers WHERE secret IS NOT NULL');
    const report = { resealed: 0, current: 0, unreadable: 0 };
    for (const row of result.rows) {
      const sealed = row.secret as string;
      if (!this.secrets.needsResealing(sealed)) {
        report.current += 1;
        continue;
      }
      let next: string;
      try {
        next = this.secrets.reseal(sealed, owner(row.workspace_id as string, row.id as string));
      } catch (error) {
        if (!(error instanceof SecretsError)) throw error;
        report.unreadable += 1;
        continue;
      }
      const updated = await this.pool.query('UPDATE mcp_servers SET secret = $2 WHERE id = $1 AND secret = $3', [row.id, next, sealed]);
      report.resealed += updated.rowCount ?? 0;
    }
    return report;
  }

  /** Deletes cached action results older than `age` (a Postgres interval such as `1 day`). */
  async pruneActionResults(age: string): Promise<number> {
    const result = await this.pool.query('DELETE FROM mcp_action_results WHERE created_at < now() - $1::interval', [age]);
    return result.rowCount ?? 0;
  }

  /** One action of the workspace by the tool name the model calls. */
  async actionByToolName(workspaceId: string, toolName: string): Promise<McpActionRecord | undefined> {
    const result = await this.pool.query(
      `SELECT a.server_id, s.name AS server_name, a.action, a.tool_name, a.description, a.input_schema FROM mcp_actions a
       JOIN mcp_servers s ON s.id = a.server_id WHERE a.workspace_id = $1 AND a.tool_name = $2`,
      [workspaceId, toolName],
    );
    const row = result.rows[0];
    return row ? toActionRecord(row) : undefined;
  }
}
