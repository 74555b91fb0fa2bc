/**
 * LLM connections: `GET/POST /api/connections`, `GET/PATCH/DELETE /api/connections/:id`, and
 * `GET /api/connections/:id/models` (admin keys only).
 *
 * A connection is an OpenAI-compatible endpoint with the workspace's own key (bring your own key):
 * turns of agents on it are recorded as BYOK with its provider name. The key and the header values
 * are write-only: they are sealed at rest and no answer ever contains them (only `headerNames`).
 * An update applies from the next turn. A connection that agents use cannot be deleted; the refusal
 * lists them.
 */
import { Router } from 'express';
import { z } from 'zod';
import { DuplicateConnectionNameError, SecretsNotConfiguredError, type ConnectionRecord } from '../../connections/connection-repository';
import { ApiError } from '../errors';
import type { ManagementServices } from '../management/validation';
import { displayName, idParams, pageOf, pageQuery, timestamp, usedBySchema } from '../management/schemas';
import { defineRoute, type ApiDocument } from '../openapi/api-document';

/** Headers the HTTP client sets itself: a connection may not override them. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'content-type', 'transfer-encoding', 'connection', 'accept-encoding', 'keep-alive', 'upgrade', 'te', 'trailer']);

const baseUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .max(2000)
  .refine((text) => {
    const url = new URL(text);
    return !url.username && !url.password;
  }, 'must not contain credentials: give the key as apiKey')
  .refine((text) => {
    const url = new URL(text);
    return !url.search && !url.hash;
  }, 'must not have a query or fragment')
  .transform((text) => text.replace(/\/+$/, ''))
  .describe('The OpenAI-compatible base URL, usually ending in /v1 (`https://api.openai.com/v1`).');

const headers = z
  .record(
    z
      .string()
      .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/, 'must be an HTTP header name')
      .refine((name) => !RESERVED_HEADERS.has(name.toLowerCase()), 'is set by the HTTP client and cannot be overridden'),
    z.string().max(4096).regex(/^[^\r\n]*$/, 'must be one line'),
  )
  .refine((value) => Object.keys(value).length <= 20, 'may hold at most 20 headers')
  .describe('Default headers sent with every request (values are kept secret like the key).');

const connectionFields = {
  name: displayName,
  provider: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a short name: letters, digits, _ . - (such as openai, anthropic, vllm)')
    .describe('The provider name usage rows report.'),
  baseUrl,
  apiKey: z.string().min(1, 'must not be empty').max(4096).regex(/^[^\r\n]*$/, 'must be one line').describe('Write-only: never returned.'),
  headers,
};

const createConnectionBody = z.strictObject(connectionFields).partial().required({ name: true, provider: true, baseUrl: true, apiKey: true });
const updateConnectionBody = z
  .strictObject(connectionFields)
  .partial()
  .refine((body) => Object.keys(body).length > 0, 'must change at least one field');

const connectionSchema = z.object({
  id: z.string(),
  name: z.string(),
  provider: z.string(),
  baseUrl: z.string(),
  headerNames: z.array(z.string()).describe('Names of the default headers; their values are never returned.'),
  hasApiKey: z.literal(true).describe('The key is stored (and never returned).'),
  version: z.number().int().describe('Grows with every change of provider, URL, key or headers.'),
  createdAt: timestamp,
  updatedAt: timestamp,
});

function toWire(connection: ConnectionRecord) {
  return {
    id: connection.id,
    name: connection.name,
    provider: connection.provider,
    baseUrl: connection.baseUrl,
    headerNames: connection.headerNames,
    hasApiKey: true as const,
    version: connection.version,
    createdAt: connection.createdAt.toISOString(),
    updatedAt: connection.updatedAt.toISOString(),
  };
}

function connectionNotFound(id: string): ApiError {
  return new ApiError(404, 'connection_not_found', `id: no connection "${id}" in this workspace`, 'id');
}

export function createConnectionRouter(services: ManagementServices, document: ApiDocument): Router {
  const router = Router();
  const tags = ['Connections'];

  function requireSecrets(): void {
    if (!services.connections.secretsConfigured) {
      throw new ApiError(503, 'secrets_not_configured', 'This deployment has no SECRETS_ENCRYPTION_KEYS, so it cannot store connection keys.');
    }
  }

  function duplicateName(name: string): ApiError {
    return new ApiError(409, 'duplicate_name', `name: this workspace already has a connection named "${name}"`, 'name');
  }

  defineRoute(
    router,
    document,
    { method: 'get', path: '/connections', summary: 'List LLM connections', tags, access: 'admin', query: pageQuery(2), responses: { 200: { description: 'A page of connections (never their keys).', schema: pageOf(connectionSchema) } } },
    async ({ principal, query }) => {
      const page = await services.connections.list(principal.workspaceId, { limit: query.limit, ...(query.cursor ? { cursor: query.cursor } : {}) });
      return { status: 200, body: { data: page.data.map(toWire), nextCursor: page.nextCursor } };
    },
  );

  defineRoute(
    router,
    document,
    {
      method: 'get',
      path: '/connections/:id',
      summary: 'Read an LLM connection',
      tags,
      access: 'admin',
      params: idParams,
      responses: { 200: { description: 'The connection (never its key).', schema: z.object({ connection: connectionSchema }) }, 404: { description: 'No such connection in this workspace.' } },
    },
    async ({ principal, params }) => {
      const connection = await services.connections.get(principal.workspaceId, params.id);
      if (!connection) throw connectionNotFound(params.id);
      return { status: 200, body: { connection: toWire(connection) } };
    },
  );

  defineRoute(
    router,
    document,
    {
      method: 'get',
      path: '/connections/:id/models',
      summary: "List the models of a connection's endpoint",
      description: 'Asks the endpoint (`GET <baseUrl>/models`) with the connection\'s key; `listed: false` says why it could not.',
      tags,
      access: 'admin',
      params: idParams,
      responses: {
        200: {
          description: 'The listing.',
          schema: z.object({ listed: z.boolean(), models: z.array(z.string()).optional(), reason: z.string().optional() }),
        },
        404: { description: 'No such connection in this workspace.' },
      },
    },
    async ({ principal, params }) => {
      const connection = await services.connections.get(principal.workspaceId, params.id);
      if (!connection) throw connectionNotFound(params.id);
      requireSecrets();
      const client = await services.llmClients.clientFor(principal.workspaceId, { id: connection.id, version: connection.version, name: connection.name, provider: connection.provider, byok: true });
      return { status: 200, body: await services.models.modelsOf(`${connection.id}:${connection.version}`, client) };
    },
  );

  defineRoute(
    router,
    document,
    {
      method: 'post',
      path: '/connections',
      summary: 'Register an LLM connection',
      description: 'The key is sealed with AES-256-GCM (SECRETS_ENCRYPTION_KEYS) before it is stored, and never returned.',
      tags,
      access: 'admin',
      body: createConnectionBody,
      responses: {
        201: { description: 'The connection (without its key).', schema: z.object({ connection: connectionSchema }) },
        409: { description: 'The name is taken.' },
        503: { description: 'The deployment has no SECRETS_ENCRYPTION_KEYS.' },
      },
    },
    async ({ principal, body }) => {
      requireSecrets();
      try {
        const connection = await services.connections.create(principal.workspaceId, { ...body, headers: body.headers ?? {} });
        return { status: 201, body: { connection: toWire(connection) } };
      } catch (error) {
        if (error instanceof DuplicateConnectionNameError) throw duplicateName(body.name);
        if (error instanceof SecretsNotConfiguredError) requireSecrets();
        throw error;
      }
    },
  );

  defineRoute(
    router,
    document,
    {
      method: 'patch',
      path: '/connections/:id',
      summary: 'Change an LLM connection',
      description: 'A new provider, URL, key or headers makes a new version, used from the next turn; running turns finish on the version they started with. `headers` replaces all headers.',
      tags,
      access: 'admin',
      params: idParams,
      body: updateConnectionBody,
      responses: {
        200: { description: 'The connection.', schema: z.object({ connection: connectionSchema }) },
        404: { description: 'No such connection in this workspace.' },
        409: { description: 'The name is taken.' },
      },
    },
    async ({ principal, params, body }) => {
      requireSecrets();
      try {
        const connection = await services.connections.update(principal.workspaceId, params.id, body);
        if (!connection) throw connectionNotFound(params.id);
        return { status: 200, body: { connection: toWire(connection) } };
      } catch (error) {
        if (error instanceof DuplicateConnectionNameError) throw duplicateName(body.name ?? '');
        throw error;
      }
    },
  );

  defineRoute(
    router,
    document,
    {
      method: 'delete',
      path: '/connections/:id',
      summary: 'Delete an LLM connection',
      description: 'Refused while agents use it; the answer lists them (`error.agents`).',
      tags,
      access: 'admin',
      params: idParams,
      responses: {
        204: { description: 'Deleted.' },
        404: { description: 'No such connection in this workspace.' },
        409: { description: 'Agents use the connection.', schema: z.object({ error: z.looseObject({ code: z.string(), message: z.string(), agents: usedBySchema }) }) },
      },
    },
    async ({ principal, params }) => {
      const result = await services.connections.delete(principal.workspaceId, params.id);
      if (result.usedBy.length > 0) {
        throw new ApiError(409, 'connection_in_use', `id: the connection is used by ${result.usedBy.map((agent) => `agent "${agent.name}"`).join(', ')}`, 'id', { agents: result.usedBy });
      }
      if (!result.deleted) throw connectionNotFound(params.id);
      return { status: 204 };
    },
  );

  return router;
}
