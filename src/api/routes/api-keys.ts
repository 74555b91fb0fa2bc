/**
 * API keys: `GET/POST /api/keys`, `DELETE /api/keys/:id` (admin keys only), and `GET /api/me` (any key).
 *
 * A key carries a role: `admin` manages the workspace and sees all of its conversations; `member`
 * chats and sees only its own. The secret is shown once, in the creation answer; the server keeps
 * only its hash. A revoked key is refused from the next request on.
 */
import { Router } from 'express';
import { z } from 'zod';
import { ApiKeyRepository, LastAdminKeyError, UnknownUserError, type ApiKeyRecord } from '../../db/api-key-repository';
import { ApiError } from '../errors';
import { pageOf, pageQuery, timestamp } from '../management/schemas';
import { defineRoute, type ApiDocument } from '../openapi/api-document';

const role = z.enum(['admin', 'member']);

const createKeyBody = z
  .strictObject({
    label: z.string().trim().min(1, 'must not be empty').max(100),
    role: role.describe('`admin` manages the workspace; `member` chats and sees only its own conversations.'),
    userId: z.string().min(1).max(200).optional().describe('An existing user of the workspace; omit to create a new user.'),
    userName: z.string().trim().min(1).max(100).optional().describe('Name of the new user (default: the label).'),
  })
  .refine((body) => !(body.userId && body.userName), { message: 'give userId or userName, not both', path: ['userName'] });

const apiKeySchema = z.object({
  id: z.string(),
  label: z.string(),
  role,
  userId: z.string(),
  userName: z.string(),
  createdAt: timestamp,
  revokedAt: timestamp.nullable(),
});

function toWire(key: ApiKeyRecord) {
  return {
    id: key.id,
    label: key.label,
    role: key.role,
    userId: key.userId,
    userName: key.userName,
    createdAt: key.createdAt.toISOString(),
    revokedAt: key.revokedAt?.toISOString() ?? null,
  };
}

export function createApiKeyRouter(keys: ApiKeyRepository, document: ApiDocument): Router {
  const router = Router();
  const tags = ['API keys'];

  defineRoute(
    router,
    document,
    {
      method: 'get',
      path: '/me',
      summary: 'Who am I',
      description: 'The workspace, user and role of the calling key.',
      tags,
      responses: { 200: { description: 'The caller.', schema: z.object({ workspaceId: z.string(), userId: z.string(), role, keyId: z.string() }) } },
    },
    async ({ principal }) => ({ status: 200, body: { workspaceId: principal.workspaceId, userId: principal.userId, role: principal.role, keyId: principal.keyId } }),
  );

  defineRoute(
    router,
    document,
    {
      method: 'get',
      path: '/keys',
      summary: 'List API keys',
      description: 'Active keys, oldest first (`includeRevoked=true` adds revoked ones). Secrets are never listed.',
      tags,
      access: 'admin',
      query: pageQuery(1).extend({ includeRevoked: z.enum(['true', 'false']).default('false').transform((value) => value === 'true') }),
      responses: { 200: { description: 'A page of keys.', schema: pageOf(apiKeySchema) } },
    },
    async ({ principal, query }) => {
      const page = await keys.list(principal.workspaceId, { limit: query.limit, includeRevoked: query.includeRevoked, ...(query.cursor ? { cursor: query.cursor } : {}) });
      return { status: 200, body: { data: page.data.map(toWire), nextCursor: page.nextCursor } };
    },
  );

  defineRoute(
    router,
    document,
    {
      method: 'post',
      path: '/keys',
      summary: 'Create an API key',
      description: 'The answer holds the secret (`dc_…`) once; store it now, it cannot be read again.',
      tags,
      access: 'admin',
      body: createKeyBody,
      responses: { 201: { description: 'The key and its secret.', schema: z.object({ key: apiKeySchema, secret: z.string() }) } },
    },
    async ({ principal, body }) => {
      try {
        const created = await keys.create(principal.workspaceId, body);
        return { status: 201, body: { key: toWire(created.record), secret: created.secret } };
      } catch (error) {
        if (error instanceof UnknownUserError) throw new ApiError(400, 'unknown_user', `userId: no user "${body.userId}" in this workspace`, 'userId');
        throw error;
      }
    },
  );

  defineRoute(
    router,
    document,
    {
      method: 'delete',
      path: '/keys/:id',
      summary: 'Revoke an API key',
      description: 'Takes effect at once: the next request with the key gets 401. The last active admin key cannot be revoked.',
      tags,
      access: 'admin',
      params: z.object({ id: z.string().regex(/^\d{1,18}$/, 'must be a key id') }),
      responses: {
        200: { description: 'The revoked key.', schema: z.object({ key: apiKeySchema }) },
        404: { description: 'No such key in this workspace.' },
        409: { description: 'It is the last active admin key of the workspace.' },
      },
    },
    async ({ principal, params }) => {
      try {
        const key = await keys.revoke(principal.workspaceId, params.id);
        if (!key) throw new ApiError(404, 'key_not_found', `id: no API key ${params.id} in this workspace`, 'id');
        return { status: 200, body: { key: toWire(key) } };
      } catch (error) {
        if (error instanceof LastAdminKeyError) throw new ApiError(409, 'last_admin_key', 'id: the workspace needs at least one active admin key; create another first', 'id');
        throw error;
      }
    },
  );

  return router;
}
