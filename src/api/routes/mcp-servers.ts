/**
 * MCP servers of a workspace (admin keys only): `GET/POST /api/mcp-servers`,
 * `GET/PATCH/DELETE /api/mcp-servers/:id`, `POST /api/mcp-servers/:id/refresh` and
 * `GET /api/mcp-servers/:id/actions`.
 *
 * A server is reached over streamable HTTP (`url`, with optional `headers` such as a bearer token) or
 * started as a stdio child process on the workers (`command`, `args`, `env`). The deployment lists
 * the commands workspaces may run (`MCP_STDIO_COMMANDS`): a workspace never runs arbitrary programs
 * on the workers. Header and environment values are write-only: sealed at rest, never returned.
 *
 * Registering or changing a server lists its tools at once (on a worker, through the
 * `refreshMcpCatalogueNow` workflow); a server that cannot be listed is still registered, with the
 * failure in `catalogue.error`, and the scheduled refresh tries again.
 */
import type { Client } from '@temporalio/client';
import { Router } from 'express';
import { z } from 'zod';
import type { McpLimits } from '../../config';
import { MAX_SERVER_NAME_LENGTH, SERVER_NAME_PATTERN, serverToolPrefix } from '../../mcp/action-names';
import { refreshCatalogueNow } from '../../mcp/catalogue-workflows';
import { DuplicateMcpServerNameError, McpSecretsNotConfiguredError, type McpServerRecord, type McpServerRepository } from '../../mcp/mcp-server-repository';
import { ApiError } from '../errors';
import { idParams, pageOf, pageQuery, timestamp } from '../management/schemas';
import { defineRoute, type ApiDocument } from '../openapi/api-document';

export interface McpServerRouterDependencies {
  servers: McpServerRepository;
  temporal: Client;
  taskQueue: string;
  limits: McpLimits;
}

/** How long a request waits for the listing of a server before answering without it. */
const REFRESH_WAIT_MS = 20_000;

const RESERVED_HEADERS = new Set(['host', 'content-length', 'content-type', 'transfer-encoding', 'connection', 'accept', 'accept-encoding', 'mcp-session-id', 'mcp-protocol-version']);

const serverName = z
  .string()
  .max(MAX_SERVER_NAME_LENGTH, `must be at most ${MAX_SERVER_NAME_LENGTH} characters`)
  .regex(SERVER_NAME_PATTERN, 'must be lower snake case (letters, digits, single underscores; a letter first), such as github or crm_eu')
  .describe('Lower snake case; its actions are named APP_<NAME>_<ACTION>.');

const url = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .max(2000)
  .refine((text) => {
    const parsed = new URL(text);
    return !parsed.username && !parsed.password;
  }, 'must not contain credentials: give them as headers')
  .describe('The streamable HTTP endpoint, such as https://mcp.example.com/mcp.');

const headers = z
  .record(
    z
      .string()
      .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/, 'must be an HTTP header name')
      .refine((name) => !RESERVED_HEADERS.has(name.toLowerCase()), 'is set by the MCP client and cannot be overridden'),
    z.string().max(4096).regex(/^[^\r\n]*$/, 'must be one line'),
  )
  .refine((value) => Object.keys(value).length <= 20, 'may hold at most 20 headers')
  .describe('Headers sent with every request (write-only, kept secret).');

const env = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be an environment variable name'), z.string().max(4096))
  .refine((value) => Object.keys(value).length <= 50, 'may hold at most 50 variables')
  .describe('Environment of the child process, on top of a minimal safe one (write-only, kept secret).');

const args = z.array(z.string().max(1000)).max(50).describe('Arguments of the command.');
const timeoutMs = z.number().int().min(100).max(300_000).describe("Timeout of one call to this server (default: the deployment's MCP_CALL_TIMEOUT_MS).");

/** A server definition: the body of `POST /api/mcp-servers`, and each entry of `MCP_SERVERS`. */
export const mcpServerDefinition = z.discriminatedUnion('transport', [
  z.strictObject({ transport: z.literal('http'), name: serverName, url, headers: headers.optional(), timeoutMs: timeoutMs.optional() }),
  z.strictObject({ transport: z.literal('stdio'), name: serverName, command: z.string().min(1).max(500).describe('One of MCP_STDIO_COMMANDS.'), args: args.optional(), env: env.optional(), timeoutMs: timeoutMs.optional() }),
]);

const updateBody = z
  .strictObject({ name: serverName, url, headers, command: z.string().min(1).max(500), args, env, timeoutMs })
  .partial()
  .refine((body) => Object.keys(body).length > 0, 'must change at least one field');

const catalogueSchema = z.object({
  status: z.enum(['pending', 'ok', 'failed']).describe('How the last listing went; `failed` keeps the cached actions in service.'),
  error: z.string().nullable(),
  listedAt: timestamp.nullable(),
  attemptedAt: timestamp.nullable(),
  actions: z.number().int().describe('Actions in the cached catalogue.'),
});

const serverSchema = z.object({
  id: z.string(),
  name: z.string(),
  toolPrefix: z.string().describe('`APP_<NAME>_`: allow the server with `APP_<NAME>_*`.'),
  transport: z.enum(['http', 'stdio']),
  url: z.string().nullable(),
  command: z.string().nullable(),
  args: z.array(z.string()),
  headerNames: z.array(z.string()).describe('Names of the headers; their values are never returned.'),
  envNames: z.array(z.string()).describe('Names of the environment variables; their values are never returned.'),
  timeoutMs: z.number().int().nullable(),
  catalogue: catalogueSchema,
  createdAt: timestamp,
  updatedAt: timestamp,
});

const refreshSchema = z.object({
  status: z.enum(['ok', 'failed', 'missing', 'pending']).describe('`pending`: still listing after the wait; see the server later.'),
  actions: z.number().int().optional(),
  skipped: z.array(z.string()).optional(),
  error: z.string().optional(),
  durationMs: z.number().optional(),
});

const actionSchema = z.object({
  toolName: z.string().describe('What the model calls: APP_<SERVER>_<ACTION>.'),
  action: z.string().describe("The tool's name on the server."),
  description: z.string(),
  inputSchema: z.record(z.string(), z.unknown()),
});

function toWire(server: McpServerRecord) {
  return {
    id: server.id,
    name: server.name,
    toolPrefix: serverToolPrefix(server.name),
    transport: server.transport,
    url: server.url,
    command: server.command,
    args: server.args,
    headerNames: server.headerNames,
    envNames: server.envNames,
    timeoutMs: server.timeoutMs,
    catalogue: {
      status: server.catalogue.status,
      error: server.catalogue.error,
      listedAt: server.catalogue.listedAt?.toISOString() ?? null,
      attemptedAt: server.catalogue.attemptedAt?.toISOString() ?? null,
      actions: server.catalogue.actions,
    },
    createdAt: server.createdAt.toISOString(),
    updatedAt: server.updatedAt.toISOString(),
  };
}

function notFound(id: string): ApiError {
  return new ApiError(404, 'mcp_server_not_found', `id: no MCP server "${id}" in this workspace`, 'id');
}

export function createMcpServerRouter(dependencies: McpServerRouterDependencies, document: ApiDocument): Router {
  const { servers, temporal, taskQueue, limits } = dependencies;
  const router = Router();
  const tags = ['MCP servers'];

  function checkCommand(command: string | undefined): void {
    if (command === undefined) return;
    if (!limits.stdioCommands.includes(command)) {
      throw new ApiError(
        400,
        'stdio_command_not_allowed',
        limits.stdioCommands.length === 0
          ? 'command: this deployment runs no stdio MCP servers (MCP_STDIO_COMMANDS is empty); register a streamable HTTP server'
          : `command: "${command}" is not one of the commands this deployment allows (MCP_STDIO_COMMANDS)`,
        'command',
      );
    }
  }

  async function refresh(workspaceId: string, id: string) {
    const result = await refreshCatalogueNow(temporal, taskQueue, workspaceId, id, REFRESH_WAIT_MS);
    return result ?? { status: 'pending' as const };
  }

  function translate(error: unknown, name: string | undefined): never {
    if (error instanceof DuplicateMcpServerNameError) throw new ApiError(409, 'duplicate_name', `name: this workspace already has an MCP server named "${name ?? ''}"`, 'name');
    if (error instanceof McpSecretsNotConfiguredError) throw new ApiError(503, 'secrets_not_configured', 'This deployment has no SECRETS_ENCRYPTION_KEYS, so it cannot store MCP server credentials.');
    throw error;
  }

  defineRoute(
    router,
    document,
    { method: 'get', path: '/mcp-servers', summary: 'List MCP servers', tags, access: 'admin', query: pageQuery(2), responses: { 200: { description: 'A page of servers (never their credentials).', schema: pageOf(serverSchema) } } },
    async ({ principal, query }) => {
      const page = await servers.list(principal.workspaceId, { limit: query.limit, ...(query.cursor ? { cursor: query.cursor } : {}) });
      return { status: 200, body: { data: page.data.map(toWire), nextCursor: page.nextCursor } };
    },
  );

  defineRoute(
    router,
    document,
    {
      method: 'post',
      path: '/mcp-servers',
      summary: 'Register an MCP server',
      description: 'Registers the server and lists its tools at once (`refresh`); a server that cannot be listed is registered all the same, and the scheduled refresh tries again.',
      tags,
      access: 'admin',
      body: mcpServerDefinition,
      responses: {
        201: { description: 'The server and how its first listing went.', schema: z.object({ server: serverSchema, refresh: refreshSchema }) },
        400: { description: 'Invalid body, or a stdio command the deployment does not allow.' },
        409: { description: 'The name is taken.' },
      },
    },
    async ({ principal, body }) => {
      if (body.transport === 'stdio') checkCommand(body.command);
      let created: McpServerRecord;
      try {
        created = await servers.create(principal.workspaceId, body);
      } catch (error) {
        translate(error, body.name);
      }
      const result = await refresh(principal.workspaceId, created.id);
      const server = (await servers.get(principal.workspaceId, created.id)) ?? created;
      return { status: 201, body: { server: toWire(server), refresh: result } };
    },
  );

  defineRoute(
    router,
    document,
    { method: 'get', path: '/mcp-servers/:id', summary: 'Read an MCP server', tags, access: 'admin', params: idParams, responses: { 200: { description: 'The server.', schema: z.object({ server: serverSchema }) }, 404: { description: 'No such server.' } } },
    async ({ principal, params }) => {
      const server = await servers.get(principal.workspaceId, params.id);
      if (!server) throw notFound(params.id);
      return { status: 200, body: { server: toWire(server) } };
    },
  );

  defineRoute(
    router,
    document,
    {
      method: 'patch',
      path: '/mcp-servers/:id',
      summary: 'Change an MCP server',
      description: '`headers` and `env` replace the stored ones. The tools are listed again; a new name renames its actions.',
      tags,
      access: 'admin',
      params: idParams,
      body: updateBody,
      responses: {
        200: { description: 'The server and how the listing went.', schema: z.object({ server: serverSchema, refresh: refreshSchema }) },
        400: { description: 'Invalid body, or a field of the other transport.' },
        404: { description: 'No such server.' },
        409: { description: 'The name is taken.' },
      },
    },
    async ({ principal, params, body }) => {
      const existing = await servers.get(principal.workspaceId, params.id);
      if (!existing) throw notFound(params.id);
      const foreign = existing.transport === 'http' ? (['command', 'args', 'env'] as const) : (['url', 'headers'] as const);
      for (const field of foreign) {
        if (body[field] !== undefined) throw new ApiError(400, 'invalid_request', `${field}: not a field of a ${existing.transport} server`, field);
      }
      checkCommand(body.command);
      try {
        await servers.update(principal.workspaceId, params.id, body);
      } catch (error) {
        translate(error, body.name);
      }
      const result = await refresh(principal.workspaceId, params.id);
      return { status: 200, body: { server: toWire((await servers.get(principal.workspaceId, params.id))!), refresh: result } };
    },
  );

  defineRoute(
    router,
    document,
    { method: 'delete', path: '/mcp-servers/:id', summary: 'Delete an MCP server', description: 'Its cached actions go with it; agents that allowed them simply no longer see them.', tags, access: 'admin', params: idParams, responses: { 204: { description: 'Deleted.' }, 404: { description: 'No such server.' } } },
    async ({ principal, params }) => {
      if (!(await servers.delete(principal.workspaceId, params.id))) throw notFound(params.id);
      return { status: 204 };
    },
  );

  defineRoute(
    router,
    document,
    {
      method: 'post',
      path: '/mcp-servers/:id/refresh',
      summary: "List an MCP server's tools now",
      description: 'Runs on a worker. A server that is down answers `status: failed` with the reason; its cached catalogue stays in service.',
      tags,
      access: 'admin',
      params: idParams,
      responses: { 200: { description: 'How the listing went, and the server.', schema: z.object({ server: serverSchema, refresh: refreshSchema }) }, 404: { description: 'No such server.' } },
    },
    async ({ principal, params }) => {
      if (!(await servers.get(principal.workspaceId, params.id))) throw notFound(params.id);
      const result = await refresh(principal.workspaceId, params.id);
      return { status: 200, body: { server: toWire((await servers.get(principal.workspaceId, params.id))!), refresh: result } };
    },
  );

  defineRoute(
    router,
    document,
    {
      method: 'get',
      path: '/mcp-servers/:id/actions',
      summary: "An MCP server's cached actions",
      tags,
      access: 'admin',
      params: idParams,
      responses: { 200: { description: 'The cached catalogue, in listing order.', schema: z.object({ data: z.array(actionSchema) }) }, 404: { description: 'No such server.' } },
    },
    async ({ principal, params }) => {
      if (!(await servers.get(principal.workspaceId, params.id))) throw notFound(params.id);
      const actions = await servers.actions(principal.workspaceId, params.id);
      return { status: 200, body: { data: actions.map((action) => ({ toolName: action.toolName, action: action.action, description: action.description, inputSchema: action.inputSchema })) } };
    },
  );

  return router;
}
