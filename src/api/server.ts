/**
 * The Express app: `/api` routes behind API-key auth, health, readiness and metrics. `startApi`
 * listens; `stop` ends open SSE streams (clients resume elsewhere) and closes the listener.
 */
import http from 'node:http';
import express from 'express';
import type { Client } from '@temporalio/client';
import type { RedisClient } from '../clients';
import type { Pool } from 'pg';
import type { Configuration } from '../config';
import { ChatRepository } from '../db/chat-repository';
import { ConversationRepository } from '../db/conversation-repository';
import { WorkspaceRepository } from '../db/workspace-repository';
import type { Logger } from '../logger';
import { EventLog, eventLogOptionsFrom } from '../stream/event-log';
import { SubscriberHub } from '../stream/subscriber-hub';
import { requireApiKey, requireRole } from './auth';
import { corsForApi } from './cors';
import { createErrorHandler, requestIdMiddleware, sendError } from './errors';
import { rejectUnsafeJson } from './json-safety';
import { createAddressRateLimit, createPrincipalRateLimits } from './rate-limits';
import { createApiMetrics } from './metrics';
import { createChatRouter } from './routes/chat';
import { withinTemporalDeadline } from './temporal-availability';
import { createCodecRouter } from './routes/codec';
import { AesGcmPayloadCodec } from '../codec/encryption-codec';
import { createDocumentRouter } from './routes/documents';
import { createMemoryRouter } from './routes/memories';
import { createUsageRouter } from './routes/usage';
import { createConversationRouter, documentConversationRoutes } from './routes/conversations';
import { createWebAppRouter } from './web-app';
import swaggerUi from 'swagger-ui-express';
import { createManagementRouter } from './management/router';
import { ApiDocument } from './openapi/api-document';
import { registerCoreRoutes } from './openapi/core-routes';
import { builtInToolCatalog, combineToolCatalogs, type ToolCatalog } from '../tools/tool-catalog';
import { McpServerRepository } from '../mcp/mcp-server-repository';
import { AppActionCatalog } from '../mcp/app-action-catalog';
import { SecretBox } from '../secrets/secret-box';
import { createMcpServerRouter } from './routes/mcp-servers';
import { createRecipeRouter } from './routes/recipes';
import { RecipeRepository } from '../recipes/recipe-repository';
import { AgentRepository } from '../agents/agent-repository';
import type { StreamEvent } from '../shared/stream-events';

/** The OpenAPI document with the core routes; the management routes add themselves as they are built. */
export function createApiDocument(): ApiDocument {
  const document = new ApiDocument({
    title: 'durable-chat API',
    version: '1.0.0',
    description:
      'Chat turns as Temporal workflows, streamed with the Vercel AI SDK protocols; agents, skills, LLM connections, API keys and pricing of a workspace. Every route takes `Authorization: Bearer <api key>`.',
  });
  registerCoreRoutes(document);
  documentConversationRoutes(document);
  return document;
}
import { createFileRouter } from './routes/files';
import { createMediaStorage } from '../storage/create-object-store';

export interface ApiDependencies {
  configuration: Configuration;
  pool: Pool;
  redis: RedisClient;
  /** The live fan-out's subscriber: one connection, or one per shard on a Redis Cluster. */
  subscriber: RedisClient;
  temporal: Client;
  logger: Logger;
  /** Tools beyond the built-in ones (app actions), for request hints and the management API's checks. */
  toolCatalog?: ToolCatalog;
}

/**
 * Whether a turn's workflow still runs, asked of Temporal at most once per `maxAgeMs` per turn and
 * shared by every stream of that turn (the keep-alive watchdog of each SSE connection asks it).
 */
export function createTurnLivenessCache(temporal: Client, maxAgeMs: number, timeoutMs: number) {
  const answers = new Map<string, { at: number; running: Promise<boolean> }>();
  return {
    isRunning(turnId: string): Promise<boolean> {
      const now = Date.now();
      const cached = answers.get(turnId);
      if (cached && now - cached.at < maxAgeMs) return cached.running;
      if (answers.size > 10_000) for (const [key, value] of answers) if (now - value.at >= maxAgeMs) answers.delete(key);
      // Within the Temporal request deadline: while Temporal is unreachable, a keep-alive's check
      // gives up (the stream stays open) instead of retrying for many seconds in the background.
      const running = withinTemporalDeadline(temporal, timeoutMs, () => temporal.workflow.getHandle(turnId).describe()).then(
        (description) => description.status.name === 'RUNNING',
      );
      running.catch(() => answers.delete(turnId));
      answers.set(turnId, { at: now, running });
      return running;
    },
  };
}

/** 'ok' when `check` succeeds within `timeoutMs`, else what went wrong. */
function withinDeadline(check: Promise<unknown>, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs)));
  return Promise.race([check.then(() => 'ok', (error: Error) => error.message), timeout]).finally(() => clearTimeout(timer));
}

export function createApp(dependencies: ApiDependencies) {
  const { configuration, pool, redis, subscriber, temporal, logger } = dependencies;
  const mcpServers = new McpServerRepository(pool, configuration.secrets.keys ? new SecretBox(configuration.secrets.keys) : undefined);
  // App actions (the cached catalogues of the workspace's MCP servers) are tools like the built-in ones.
  const tools = combineToolCatalogs(dependencies.toolCatalog ?? builtInToolCatalog, new AppActionCatalog(mcpServers));
  const document = createApiDocument();
  const chats = new ChatRepository(pool);
  const conversations = new ConversationRepository(pool);
  const workspaces = new WorkspaceRepository(pool);
  const eventLog = new EventLog(redis, eventLogOptionsFrom(configuration));
  const hub = new SubscriberHub(subscriber);
  const metrics = createApiMetrics();
  const media = createMediaStorage(configuration);
  const openStreams = new Set<http.ServerResponse>();
  // Thousands of idle streams on one turn ask one describe() per keep-alive interval, not one each.
  const turnLiveness = createTurnLivenessCache(temporal, configuration.api.sseKeepAliveMs, configuration.temporal.requestTimeoutMs);

  const streamDependencies = {
    hub,
    eventLog,
    logger,
    keepAliveMs: configuration.api.sseKeepAliveMs,
    maxBufferedBytes: 4 * 1024 * 1024,
    isTurnRunning: turnLiveness.isRunning,
    onEventDelivered: (event: StreamEvent) => metrics.eventsDelivered.inc({ kind: event.kind }),
  };

  const app = express();
  app.disable('x-powered-by');
  app.use(requestIdMiddleware);
  app.get('/healthz', (_request, response) => response.json({ status: 'ok' }));
  app.get('/readyz', async (_request, response) => {
    // Each check answers within the Temporal request deadline: a part that hangs is reported, not waited for.
    // Temporal's check carries that deadline itself and is awaited, not raced: the client retries an
    // unreachable server until its deadline, and a check left retrying could outlive the connection.
    const timeoutMs = configuration.temporal.requestTimeoutMs;
    const checks = await Promise.all([
      temporal.withDeadline(Date.now() + timeoutMs, () => temporal.connection.workflowService.getSystemInfo({})).then(
        () => 'ok',
        (error: Error) => error.message,
      ),
      withinDeadline(redis.ping(), timeoutMs),
      withinDeadline(pool.query('SELECT 1'), timeoutMs),
    ]);
    const [temporalCheck, redisCheck, postgresCheck] = checks;
    const ready = checks.every((check) => check === 'ok');
    response.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not-ready', temporal: temporalCheck, redis: redisCheck, postgres: postgresCheck });
  });
  app.get('/metrics', async (_request, response) => {
    response.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  if (configuration.encryption.keys?.length && configuration.encryption.codecAuthToken) {
    app.use(
      '/codec',
      createCodecRouter({
        codec: new AesGcmPayloadCodec(configuration.encryption.keys),
        authToken: configuration.encryption.codecAuthToken,
        corsOrigins: configuration.encryption.codecCorsOrigins,
      }),
    );
  }

  // The API's description is public: it holds no workspace data.
  app.get('/api/openapi.json', (_request, response) => response.json(document.toOpenApi()));
  app.use('/api/docs', swaggerUi.serve, swaggerUi.setup(undefined, { swaggerOptions: { url: '/api/openapi.json', persistAuthorization: true }, customSiteTitle: 'durable-chat API' }));

  const api = express.Router();
  api.use(corsForApi(configuration.api.corsOrigins));
  // Bad keys are counted per address before any body is read or key looked up.
  // Failed authentications are counted per address; over the limit they get 429 instead of 401.
  const addressLimit = createAddressRateLimit(configuration.api.rateLimits, redis, configuration.redis.keyPrefix, logger);
  api.use(requireApiKey(workspaces, (request, response, refuse) => void addressLimit(request, response, refuse)));
  api.use(...createPrincipalRateLimits(configuration.api.rateLimits, redis, configuration.redis.keyPrefix, logger));
  api.use(express.json({ limit: configuration.api.maxRequestBytes }));
  api.use(rejectUnsafeJson);
  api.use((request, response, next) => {
    if (request.method === 'GET' && request.path.endsWith('/stream') || request.method === 'POST' && request.path === '/chat') {
      openStreams.add(response);
      metrics.sseConnections.inc();
      response.on('close', () => {
        openStreams.delete(response);
        metrics.sseConnections.dec();
      });
    }
    next();
  });
  api.use(
    createChatRouter({
      configuration,
      temporal,
      redis,
      chats,
      workspaces,
      eventLog,
      logger,
      tools,
      attachments: media.attachments,
      onTurnStarted: () => metrics.turnsStarted.inc(),
      stream: streamDependencies,
    }),
  );
  api.use(createFileRouter(media));
  api.use(createMemoryRouter({ pool, logger, temporal, taskQueue: configuration.temporal.taskQueue }));
  api.use(createDocumentRouter({ pool, logger, temporal, taskQueue: configuration.temporal.taskQueue, maxBytes: configuration.documents.maxBytes }));
  api.use('/usage', requireRole('admin'));
  api.use(createUsageRouter({ pool }));
  api.use(createConversationRouter({ conversations, eventLog, temporal, logger }));
  api.use(createManagementRouter({ pool, configuration, document, tools }));
  api.use(
    createRecipeRouter(
      { recipes: new RecipeRepository(pool), servers: mcpServers, agents: new AgentRepository(pool), temporal, taskQueue: configuration.temporal.taskQueue, stream: streamDependencies },
      document,
    ),
  );
  api.use(createMcpServerRouter({ servers: mcpServers, temporal, taskQueue: configuration.temporal.taskQueue, limits: configuration.mcp }, document));
  app.use('/api', api);
  app.use(createWebAppRouter());
  app.use((_request, response) => sendError(response, 404, 'not_found', 'No such route.'));
  app.use(createErrorHandler(logger));
  return { app, openStreams, hub, eventLog, metrics, document };
}

export interface RunningApi {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Listens on the configured host and port (0 picks a free port). */
export async function startApi(dependencies: ApiDependencies, port = dependencies.configuration.api.port): Promise<RunningApi> {
  const { app, openStreams } = createApp(dependencies);
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, dependencies.configuration.api.host, resolve);
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://${dependencies.configuration.api.host}:${actualPort}`,
    port: actualPort,
    async stop() {
      for (const response of openStreams) response.end();
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
