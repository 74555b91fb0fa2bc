/**
 * LLM connections of a workspace: OpenAI-compatible endpoints registered with the workspace's own key.
 *
 * Every change to what a request looks like (provider, base URL, key, default headers) adds an
 * immutable version; `current_version` names the one new turns use. A turn that was activated on
 * version n loads version n for each hop, so an update applies to the next turn and never to a
 * running one. Old versions are pruned once they are a day old and no longer current or previous.
 *
 * The API key and the default headers are sealed together with {@link SecretBox} (AES-256-GCM), bound
 * to `llm-connection:<workspace>:<connection>:<version>`. Only header names are stored in clear. This
 * repository is the one place that opens a secret, and only {@link ConnectionRepository.loadVersion}
 * returns it: lists and reads never do.
 */
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { SecretsError, type SecretBox } from '../secrets/secret-box';
import { inTransaction } from '../db/transaction';
import { decodeCursor, isForeignKeyViolation, isUniqueViolation, toPage, type Page, type PageRequest } from '../db/pagination';

export interface ConnectionSecret {
  apiKey: string;
  headers: Record<string, string>;
}

/** What the API shows of a connection: never its key or header values. */
export interface ConnectionRecord {
  id: string;
  workspaceId: string;
  name: string;
  version: number;
  provider: string;
  baseUrl: string;
  headerNames: string[];
  createdAt: Date;
  updatedAt: Date;
}

/** One version with its secret opened: only for building a client. */
export interface ConnectionVersion extends Pick<ConnectionRecord, 'id' | 'workspaceId' | 'name' | 'version' | 'provider' | 'baseUrl'> {
  secret: ConnectionSecret;
}

export interface NewConnection {
  name: string;
  provider: string;
  baseUrl: string;
  apiKey: string;
  headers: Record<string, string>;
}

export type ConnectionChanges = Partial<NewConnection>;

/** Raised when no `SECRETS_ENCRYPTION_KEYS` are configured: connection keys cannot be stored or read. */
export class SecretsNotConfiguredError extends Error {
  constructor() {
    super('SECRETS_ENCRYPTION_KEYS is not configured: connection keys cannot be stored or opened');
    this.name = 'SecretsNotConfiguredError';
  }
}

/** Raised when the workspace already has a connection of that name. */
export class DuplicateConnectionNameError extends Error {}

/** A connection version keeps its predecessor for running turns; older ones go after this long. */
const VERSION_RETENTION = '1 day';

function associatedData(workspaceId: string, id: string, version: number): string {
  return `llm-connection:${workspaceId}:${id}:${version}`;
}

function toRecord(row: Record<string, unknown>): ConnectionRecord {
  return {
    id: row.id as string,
    workspaceId: row.workspace_id as string,
    name: row.name as string,
    version: row.version as number,
    provider: row.provider as string,
    baseUrl: row.base_url as string,
    headerNames: row.header_names as string[],
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
  };
}

const SELECT_CURRENT = `SELECT c.id, c.workspace_id, c.name, c.created_at, c.updated_at, v.version, v.provider, v.base_url, v.header_names
  FROM llm_connections c JOIN llm_connection_versions v ON v.connection_id = c.id AND v.version = c.current_version`;

export class ConnectionRepository {
  constructor(
    private readonly pool: Pool,
    private readonly secrets: SecretBox | undefined,
  ) {}

  /** Whether keys can be stored and opened (SECRETS_ENCRYPTION_KEYS is set). */
  get secretsConfigured(): boolean {
    return this.secrets !== undefined;
  }

  private box(): SecretBox {
    if (!this.secrets) throw new SecretsNotConfiguredError();
    return this.secrets;
  }

  private seal(workspaceId: string, id: string, version: number, secret: ConnectionSecret): string {
    return this.box().seal(secret, associatedData(workspaceId, id, version));
  }

  private open(workspaceId: string, id: string, version: number, sealed: string): ConnectionSecret {
    return this.box().open<ConnectionSecret>(sealed, associatedData(workspaceId, id, version));
  }

  async create(workspaceId: string, connection: NewConnection): Promise<ConnectionRecord> {
    const id = `conn_${randomUUID()}`;
    const sealed = this.seal(workspaceId, id, 1, { apiKey: connection.apiKey, headers: connection.headers });
    try {
      await inTransaction(this.pool, async (client) => {
        await client.query('INSERT INTO llm_connections (id, workspace_id, name, current_version) VALUES ($1, $2, $3, 1)', [id, workspaceId, connection.name]);
        await client.query(
          'INSERT INTO llm_connection_versions (connection_id, version, provider, base_url, secret, header_names) VALUES ($1, 1, $2, $3, $4, $5)',
          [id, connection.provider, connection.baseUrl, sealed, Object.keys(connection.headers)],
        );
      });
    } catch (error) {
      if (isUniqueViolation(error, 'llm_connections_workspace_name')) throw new DuplicateConnectionNameError(connection.name);
      throw error;
    }
    return (await this.get(workspaceId, id))!;
  }

  async get(workspaceId: string, id: string): Promise<ConnectionRecord | undefined> {
    const result = await this.pool.query(`${SELECT_CURRENT} WHERE c.workspace_id = $1 AND c.id = $2`, [workspaceId, id]);
    return result.rows[0] ? toRecord(result.rows[0]) : undefined;
  }

  /** The workspace's connections by name; `cursor` comes from the previous page. */
  async list(workspaceId: string, page: PageRequest): Promise<Page<ConnectionRecord>> {
    const after = page.cursor ? decodeCursor(page.cursor, 2) : undefined;
    const result = await this.pool.query(
      `${SELECT_CURRENT} WHERE c.workspace_id = $1 AND ($2::text IS NULL OR (c.name, c.id) > ($2::text, $3::text))
       ORDER BY c.name, c.id LIMIT $4`,
      [workspaceId, after?.[0] ?? null, after?.[1] ?? null, page.limit + 1],
    );
    return toPage(result.rows.map(toRecord), page.limit, (record) => [record.name, record.id]);
  }

  /**
   * Applies changes. A new name alone updates the row; anything that shapes requests adds a version
   * (fields not given are carried over, the secret resealed for the new version). Undefined when the
   * workspace has no such connection.
   */
  async update(workspaceId: string, id: string, changes: ConnectionChanges): Promise<ConnectionRecord | undefined> {
    let found: boolean;
    try {
      found = await inTransaction(this.pool, async (client) => {
        const locked = await client.query(
          `SELECT c.current_version, v.provider, v.base_url, v.secret FROM llm_connections c
           JOIN llm_connection_versions v ON v.connection_id = c.id AND v.version = c.current_version
           WHERE c.workspace_id = $1 AND c.id = $2 FOR UPDATE OF c`,
          [workspaceId, id],
        );
        const current = locked.rows[0];
        if (!current) return false;
        if (changes.name !== undefined) await client.query('UPDATE llm_connections SET name = $2, updated_at = now() WHERE id = $1', [id, changes.name]);
        const reshapes = changes.provider !== undefined || changes.baseUrl !== undefined || changes.apiKey !== undefined || changes.headers !== undefined;
        if (reshapes) await this.addVersion(client, workspaceId, id, current, changes);
        return true;
      });
    } catch (error) {
      if (isUniqueViolation(error, 'llm_connections_workspace_name')) throw new DuplicateConnectionNameError(changes.name ?? '');
      throw error;
    }
    return found ? this.get(workspaceId, id) : undefined;
  }

  private async addVersion(client: PoolClient, workspaceId: string, id: string, current: Record<string, unknown>, changes: ConnectionChanges): Promise<void> {
    const previousVersion = current.current_version as number;
    const version = previousVersion + 1;
    const previousSecret = changes.apiKey !== undefined && changes.headers !== undefined ? undefined : this.open(workspaceId, id, previousVersion, current.secret as string);
    const secret: ConnectionSecret = {
      apiKey: changes.apiKey ?? previousSecret!.apiKey,
      headers: changes.headers ?? previousSecret!.headers,
    };
    await client.query(
      'INSERT INTO llm_connection_versions (connection_id, version, provider, base_url, secret, header_names) VALUES ($1, $2, $3, $4, $5, $6)',
      [id, version, changes.provider ?? current.provider, changes.baseUrl ?? current.base_url, this.seal(workspaceId, id, version, secret), Object.keys(secret.headers)],
    );
    await client.query('UPDATE llm_connections SET current_version = $2, updated_at = now() WHERE id = $1', [id, version]);
    await client.query(`DELETE FROM llm_connection_versions WHERE connection_id = $1 AND version < $2 AND created_at < now() - interval '${VERSION_RETENTION}'`, [
      id,
      previousVersion,
    ]);
  }

  /** The agents (id, name) of the workspace that use the connection. */
  async agentsUsing(workspaceId: string, id: string): Promise<Array<{ id: string; name: string }>> {
    const result = await this.pool.query('SELECT id, name FROM agents WHERE workspace_id = $1 AND connection_id = $2 ORDER BY name, id', [workspaceId, id]);
    return result.rows.map((row) => ({ id: row.id as string, name: row.name as string }));
  }

  /**
   * Deletes the connection unless an agent uses it: `deleted` false when there was none, `usedBy`
   * listing the agents otherwise (the foreign key refuses too, should an agent appear meanwhile).
   */
  async delete(workspaceId: string, id: string): Promise<{ deleted: boolean; usedBy: Array<{ id: string; name: string }> }> {
    const usedBy = await this.agentsUsing(workspaceId, id);
    if (usedBy.length > 0) return { deleted: false, usedBy };
    try {
      const result = await this.pool.query('DELETE FROM llm_connections WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
      return { deleted: result.rowCount === 1, usedBy: [] };
    } catch (error) {
      if (isForeignKeyViolation(error)) return { deleted: false, usedBy: await this.agentsUsing(workspaceId, id) };
      throw error;
    }
  }

  /** One version with its secret opened, or undefined when it does not exist (any more). */
  async loadVersion(workspaceId: string, id: string, version: number): Promise<ConnectionVersion | undefined> {
    const result = await this.pool.query(
      `SELECT c.name, v.provider, v.base_url, v.secret FROM llm_connections c
       JOIN llm_connection_versions v ON v.connection_id = c.id AND v.version = $3
       WHERE c.workspace_id = $1 AND c.id = $2`,
      [workspaceId, id, version],
    );
    const row = result.rows[0];
    if (!row) return undefined;
    return {
      id,
      workspaceId,
      name: row.name as string,
      version,
      provider: row.provider as string,
      baseUrl: row.base_url as string,
      secret: this.open(workspaceId, id, version, row.secret as string),
    };
  }

  /**
   * Re-encrypts every stored connection secret that is not under the current key (the rotation job).
   * Each row is resealed in its own short statement, guarded by its old value, so it runs while the
   * API and workers serve: a process holding the old and the new key reads either. A row under a key
   * this ring does not hold is left as it is and counted as `unreadable`.
   */
  async resealAll(): Promise<{ resealed: number; current: number; unreadable: number }> {
    const box = this.box();
    const result = await this.pool.query(
      'SELECT v.connection_id, v.version, v.secret, c.workspace_id FROM llm_connection_versions v JOIN llm_connections c ON c.id = v.connection_id',
    );
    const report = { resealed: 0, current: 0, unreadable: 0 };
    for (const row of result.rows) {
      const sealed = row.secret as string;
      if (!box.needsResealing(sealed)) {
        report.current += 1;
        continue;
      }
      let next: string;
      try {
        next = box.reseal(sealed, associatedData(row.workspace_id, row.connection_id, row.version));
      } catch (error) {
        if (!(error instanceof SecretsError)) throw error;
        report.unreadable += 1;
        continue;
      }
      const updated = await this.pool.query('UPDATE llm_connection_versions SET secret = $3 WHERE connection_id = $1 AND version = $2 AND secret = $4', [
        row.connection_id,
        row.version,
        next,
        sealed,
      ]);
      report.resealed += updated.rowCount ?? 0;
    }
    return report;
  }
}
