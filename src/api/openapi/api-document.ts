/**
 * The API's OpenAPI 3.1 document, built from the same zod schemas that validate requests, so the
 * document and the behaviour cannot drift apart. Served at `/api/openapi.json` and browsable at
 * `/api/docs`.
 *
 * Two ways in:
 * - `defineRoute(router, document, spec, handler)` registers a route in Express and in the document
 *   at once: it checks the caller's role, parses params, query and body with the spec's schemas
 *   (a bad value is a 400 naming the field, before the handler runs), and sends what the handler
 *   returns. New routes should use it.
 * - `document.register(spec)` documents a route whose handler validates on its own (the chat and
 *   stream routes, which answer with SSE).
 *
 * Schemas become JSON Schema 2020-12 (zod 4's `z.toJSONSchema`), which OpenAPI 3.1 uses as is:
 * requests in zod's input view (defaults optional), responses in its output view.
 */
import type { NextFunction, Request, Response, Router } from 'express';
import { z } from 'zod';
import type { Principal, Role } from '../../db/workspace-repository';
import { ApiError } from '../errors';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Who may call a route: any API key (`member`, the default), admin keys only, or anyone (`public`). */
export type RouteAccess = Role | 'public';

export interface ResponseDocumentation {
  description: string;
  /** JSON body; absent for an empty answer. */
  schema?: z.ZodType;
  /** Another content type with a free-form body (`text/event-stream`). */
  contentType?: string;
  /** Response headers worth knowing. */
  headers?: Record<string, string>;
}

export interface RouteDocumentation {
  method: HttpMethod;
  /** Express path under `/api`, such as `/agents/:id`. */
  path: string;
  operationId?: string;
  summary: string;
  description?: string;
  tags: string[];
  access?: RouteAccess;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Request headers the route reads, by name. */
  requestHeaders?: Record<string, string>;
  responses: Record<number, ResponseDocumentation>;
}

/** The error body every 4xx/5xx carries (src/api/errors.ts). */
export const errorResponseSchema = z.object({
  error: z.looseObject({
    code: z.string().describe('Stable machine-readable code, such as `invalid_request` or `agent_not_found`.'),
    message: z.string(),
    field: z.string().optional().describe('The request field at fault, as a path (`fallbackModels.1`).'),
  }),
});

const API_BASE_PATH = '/api';

function toOpenApiPath(path: string): string {
  return `${API_BASE_PATH}${path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`;
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return rest;
}

function operationIdOf(route: RouteDocumentation): string {
  const words = route.path.split('/').filter(Boolean).map((segment) => (segment.startsWith(':') ? `by-${segment.slice(1)}` : segment));
  return [route.method, ...words]
    .join('-')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word, index) => (index === 0 ? word.toLowerCase() : word[0]!.toUpperCase() + word.slice(1)))
    .join('');
}

function parametersOf(schema: z.ZodObject | undefined, location: 'path' | 'query') {
  if (!schema) return [];
  return Object.entries(schema.shape).map(([name, property]) => {
    const propertySchema = property as z.ZodType;
    const converted = jsonSchema(propertySchema, 'input');
    const { description, ...rest } = converted;
    return {
      name,
      in: location,
      required: location === 'path' || !propertySchema.safeParse(undefined).success,
      ...(typeof description === 'string' ? { description } : propertySchema.description ? { description: propertySchema.description } : {}),
      schema: rest,
    };
  });
}

export class ApiDocument {
  private readonly routes = new Map<string, RouteDocumentation>();

  constructor(private readonly info: { title: string; version: string; description: string }) {}

  /** Adds a route; a second route with the same method and path is a programming error. */
  register(route: RouteDocumentation): void {
    const key = `${route.method} ${route.path}`;
    if (this.routes.has(key)) throw new Error(`Route ${key} is documented twice`);
    this.routes.set(key, route);
  }

  /** The routes documented so far, in registration order. */
  get documentedRoutes(): readonly RouteDocumentation[] {
    return [...this.routes.values()];
  }

  /** The OpenAPI 3.1 document. */
  toOpenApi(): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    const tags = new Set<string>();
    for (const route of this.routes.values()) {
      route.tags.forEach((tag) => tags.add(tag));
      const access = route.access ?? 'member';
      const responses: Record<string, unknown> = {};
      const errorContent = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };
      const standard: Record<number, string> = {};
      if (route.params || route.query || route.body) standard[400] = 'Malformed or out-of-range input; `error.field` names the field. Nothing was changed.';
      if (access !== 'public') standard[401] = 'Missing, unknown or revoked API key.';
      if (access === 'admin') standard[403] = 'The key is a member key; this route needs an admin key.';
      const statuses = new Set([...Object.keys(route.responses).map(Number), ...Object.keys(standard).map(Number)]);
      for (const status of [...statuses].sort((left, right) => left - right)) {
        const documented = route.responses[status];
        if (!documented) {
          responses[status] = { description: standard[status], content: errorContent };
          continue;
        }
        const content = documented.schema
          ? { 'application/json': { schema: jsonSchema(documented.schema, 'output') } }
          : documented.contentType
            ? { [documented.contentType]: { schema: { type: 'string' } } }
            : status >= 400
              ? errorContent
              : undefined;
        responses[status] = {
          description: documented.description,
          ...(content ? { content } : {}),
          ...(documented.headers
            ? { headers: Object.fromEntries(Object.entries(documented.headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }])) }
            : {}),
        };
      }
      const headerParameters = Object.entries(route.requestHeaders ?? {}).map(([name, description]) => ({ name, in: 'header', required: false, description, schema: { type: 'string' } }));
      const parameters = [...parametersOf(route.params, 'path'), ...parametersOf(route.query, 'query'), ...headerParameters];
      const path = (paths[toOpenApiPath(route.path)] ??= {});
      path[route.method] = {
        operationId: route.operationId ?? operationIdOf(route),
        summary: route.summary,
        ...(route.description ? { description: route.description } : {}),
        tags: route.tags,
        ...(access === 'public' ? { security: [] } : {}),
        ...(access === 'admin' ? { 'x-required-role': 'admin' } : {}),
        ...(parameters.length > 0 ? { parameters } : {}),
        ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } } } : {}),
        responses,
      };
    }
    return {
      openapi: '3.1.0',
      info: this.info,
      tags: [...tags].sort().map((name) => ({ name })),
      security: [{ apiKey: [] }],
      components: {
        securitySchemes: {
          apiKey: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API key (`dc_…`) as `Authorization: Bearer <key>`. Admin keys manage the workspace; member keys chat and see their own conversations.',
          },
        },
        schemas: { Error: jsonSchema(errorResponseSchema, 'output') },
      },
      paths,
    };
  }
}

/** What a handler answers: a status and a JSON body (none for 204). */
export interface Reply {
  status: number;
  body?: unknown;
}

export interface RouteContext<Params, Query, Body> {
  request: Request;
  response: Response;
  /** Undefined only on public routes. */
  principal: Principal;
  params: Params;
  query: Query;
  body: Body;
}

type Parsed<Schema> = Schema extends z.ZodType ? z.output<Schema> : undefined;

/** The first issue of a failed parse as a 400 naming the field (`fallbackModels.1`). */
export function invalidRequest(error: z.ZodError, fallbackField: string): ApiError {
  const issue = error.issues[0]!;
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] ?? ''] : issue.path;
  const field = path.map(String).join('.') || fallbackField;
  return new ApiError(400, 'invalid_request', `${field}: ${issue.message}`, field);
}

/**
 * Registers a route in Express and in the document; see the module comment. The handler runs only
 * for a caller with the route's role and input that parses; it returns the reply or throws an
 * {@link ApiError}.
 */
export function defineRoute<
  ParamsSchema extends z.ZodObject | undefined = undefined,
  QuerySchema extends z.ZodObject | undefined = undefined,
  BodySchema extends z.ZodType | undefined = undefined,
>(
  router: Router,
  document: ApiDocument,
  route: RouteDocumentation & { params?: ParamsSchema; query?: QuerySchema; body?: BodySchema },
  handler: (context: RouteContext<Parsed<ParamsSchema>, Parsed<QuerySchema>, Parsed<BodySchema>>) => Promise<Reply>,
): void {
  document.register(route);
  const access = route.access ?? 'member';
  router[route.method](route.path, async (request: Request, response: Response, next: NextFunction) => {
    try {
      const principal = request.principal;
      if (access !== 'public' && !principal) throw new ApiError(401, 'unauthorized', 'Send the API key as `Authorization: Bearer <key>`.');
      if (access === 'admin' && principal?.role !== 'admin') throw new ApiError(403, 'forbidden', 'This route needs an admin key.');
      const parse = (schema: z.ZodType | undefined, value: unknown, fallbackField: string): unknown => {
        if (!schema) return undefined;
        const parsed = schema.safeParse(value);
        if (!parsed.success) throw invalidRequest(parsed.error, fallbackField);
        return parsed.data;
      };
      const params = parse(route.params, request.params, 'path') as Parsed<ParamsSchema>;
      const query = parse(route.query, request.query, 'query') as Parsed<QuerySchema>;
      const body = parse(route.body, request.body ?? {}, 'body') as Parsed<BodySchema>;
      const reply = await handler({ request, response, principal: principal!, params, query, body });
      if (reply.body === undefined) response.status(reply.status).end();
      else response.status(reply.status).json(reply.body);
    } catch (error) {
      next(error);
    }
  });
}
