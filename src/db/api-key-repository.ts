/**
 * API keys of a workspace, for the management API: create (the secret is returned once and only its
 * SHA-256 hash is stored), list, revoke. Each key belongs to a user: a member key sees that user's
 * conversations only. A revocation is immediate because authentication reads the table on every
 * request (src/db/workspace-repository.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { inTransaction } from './transaction';
import { decodeCursor, toPage, type Page, type PageRequest } from './pagination';
import { generateApiKey, hashApiKey, type Role } from './workspace-repository';

export interface ApiKeyRecord {
  id: string;
  label: string;
  role: Role;
  userId: string;
  userName: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** Raised when a key is created for a user the workspace does not have. */
export class UnknownUserError extends Error {}

/** Raised when a revocation would leave the workspace without an active admin key. */
export class LastAdminKeyError extends Error {}

function toRecord(row: Record<string, unknown>): ApiKeyRecord {
  return {
    id: String(row.id),
    label: row.label as string,
    role: row.role as Role,
    userId: row.user_id as string,
    userName: row.user_name as string,
    createdAt: row.created_at as Date,
    revokedAt: (row.revoked_at as Date | null) ?? null,
  };
}

const SELECT_KEY = `SELECT k.id, k.label, k.role, k.user_id, u.name AS user_name, k.created_at, k.revoked_at
  FROM api_keys k JOIN users u ON u.id = k.user_id`;

export class ApiKeyRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Creates a key for an existing user of the workspace (`userId`), or for a new user named
   * `userName`. Returns the record and the secret, which is never available again.
   */
  async create(workspaceId: string, input: { label: string; role: Role; userId?: string; userName?: string }): Promise<{ record: ApiKeyRecord; secret: string }> {
    const secret = generateApiKey();
    const id = await inTransaction(this.pool, async (client) => {
      let userId = input.userId;
      if (userId !== undefined) {
        const user = await client.query('SELECT 1 FROM users WHERE id = $1 AND workspace_id = $2', [userId, workspaceId]);
        if (user.rowCount === 0) throw new UnknownUserError(userId);
      } else {
        userId = `user_${randomUUID()}`;
        await client.query('INSERT INTO users (id, workspace_id, name) VALUES ($1, $2, $3)', [userId, workspaceId, input.userName ?? input.label]);
      }
      const inserted = await client.query('INSERT INTO api_keys (key_hash, workspace_id, user_id, label, role) VALUES ($1, $2, $3, $4, $5) RETURNING id', [
        hashApiKey(secret),
        workspaceId,
        userId,
        input.label,
        input.role,
      ]);
      return String(inserted.rows[0].id);
    });
    return { record: (await this.get(workspaceId, id))!, secret };
  }

  async get(workspaceId: string, id: string): Promise<ApiKeyRecord | undefined> {
    if (!/^\d{1,18}$/.test(id)) return undefined;
    const result = await this.pool.query(`${SELECT_KEY} WHERE k.workspace_id = $1 AND k.id = $2`, [workspaceId, id]);
    return result.rows[0] ? toRecord(result.rows[0]) : undefined;
  }

  /** The workspace's keys, oldest first; revoked ones only when asked for. */
  async list(workspaceId: string, page: PageRequest & { includeRevoked: boolean }): Promise<Page<ApiKeyRecord>> {
    const after = page.cursor ? decodeCursor(page.cursor, 1) : undefined;
    const result = await this.pool.query(
      `${SELECT_KEY} WHERE k.workspace_id = $1 AND ($2 OR k.revoked_at IS NULL) AND ($3::bigint IS NULL OR k.id > $3::bigint) ORDER BY k.id LIMIT $4`,
      [workspaceId, page.includeRevoked, after?.[0] ?? null, page.limit + 1],
    );
    return toPage(result.rows.map(toRecord), page.limit, (record) => [record.id]);
  }

  /**
   * Revokes the key (idempotent: revoking a revoked key keeps its first revocation time). Refuses to
   * revoke the workspace's last active admin key, which would lock the workspace out.
   */
  async revoke(workspaceId: string, id: string): Promise<ApiKeyRecord | undefined> {
    const existing = await this.get(workspaceId, id);
    if (!existing) return undefined;
    if (existing.revokedAt) return existing;
    await inTransaction(this.pool, async (client) => {
      // Serialises revocations within the workspace, so two admins cannot revoke each other's last keys.
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 1))', [`api-keys:${workspaceId}`]);
      if (existing.role === 'admin') {
        const admins = await client.query("SELECT count(*)::integer AS count FROM api_keys WHERE workspace_id = $1 AND role = 'admin' AND revoked_at IS NULL AND id <> $2", [
          workspaceId,
          id,
        ]);
        if (admins.rows[0].count === 0) throw new LastAdminKeyError(id);
      }
      await client.query('UPDATE api_keys SET revoked_at = now() WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL', [workspaceId, id]);
    });
    return this.get(workspaceId, id);
  }
}
