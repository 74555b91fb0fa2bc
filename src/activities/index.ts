/**
 * All activities of the worker, built from dependencies created once in the entry point (the OpenAI
 * client, ioredis, the pg pool). Workflow code imports this module as a type only.
 */
import type OpenAI from 'openai';
import type { Pool } from 'pg';
import type { RedisClient } from '../clients';
import { createOpenAiClient } from '../clients';
import { ChatRepository } from '../db/chat-repository';
import { PricingRepository } from '../db/pricing-repository';
import { ConversationRepository } from '../db/conversation-repository';
import { UsageRepository } from '../db/usage-repository';
import { WorkspaceRepository } from '../db/workspace-repository';
import type { SpendCapDefaults } from '../shared/spend-caps';
import { createAgentActivator } from '../agents/agent-activation';
import { AgentRepository } from '../agents/agent-repository';
import { ConnectionRepository } from '../connections/connection-repository';
import { LlmClients } from '../llm/connection-clients';
import type { EncryptionKey } from '../secrets/key-ring';
import { SecretBox } from '../secrets/secret-box';
import { SkillRepository } from '../skills/skill-repository';
import { builtInToolCatalog, combineToolCatalogs, type ToolCatalog } from '../tools/tool-catalog';
import type { Logger } from '../logger';
import type { Configuration } from '../config';
import { EventLog, eventLogOptionsFrom, type EventLogOptions } from '../stream/event-log';
import type { DeltaPersistenceOptions } from '../llm/delta-persistence';
import { createMediaStorage, type MediaStorage } from '../storage/create-object-store';
import type { StopSignals } from '../stream/stop-signals';
import { createLlmActivities } from './llm';
import { createMemoryActivities } from './memory';
import { createToolActivities } from './tools';
import { createStoreActivities } from './store';
import { createDocumentActivities } from './documents';
import { deploymentEmbedder, Embedder, type EmbedderProvider } from '../embeddings/embedder';
import { EmbeddingCache } from '../embeddings/embedding-cache';
import { createTitleActivities } from './title';
import { createAfterAnswerActivities } from './after-answer';
import { createBeginTurnActivities } from './begin-turn';
import { createRecordedToolCallActivities } from './recorded-tool-call';
import { createMcpActivities } from './mcp';
import { createRecipeActivities } from './recipes';
import type { McpLimits } from '../config';
import { McpServerRepository } from '../mcp/mcp-server-repository';
import { AppActionCatalog } from '../mcp/app-action-catalog';
import { AppActionExecutor } from '../mcp/app-action-executor';
import { isToolAllowed } from '../tools/registry';

export interface ActivityDependencies {
  pool: Pool;
  redis: RedisClient;
  openai: OpenAI;
  logger: Logger;
  eventLogOptions: EventLogOptions;
  defaultModel: string;
  /** Who serves the deployment's model (`LLM_PROVIDER`, or derived from its base URL). */
  provider: string;
  /** Stop messages over Redis (one pattern subscription per worker process, or per-turn shard channels on a cluster). */
  stopSignals?: StopSignals;
  /** Keys of the secrets in Postgres (`SECRETS_ENCRYPTION_KEYS`): needed to use workspace connections. */
  secretKeys?: EncryptionKey[];
  /** The deployment's cap on tools offered per turn (`TOOL_SELECTION_MAX_TOOLS`). */
  maxToolsPerTurn?: number;
  /** Tools beyond the built-in ones (app actions), for tool selection. */
  toolCatalog?: ToolCatalog;
  deltaPersistence?: DeltaPersistenceOptions;
  /** Root of the per-workspace directories the `workspace_*` tools may touch. */
  workspaceFilesRoot: string;
  /** Generated images and attachments; absent, answers keep inline images and attached files are not read. */
  media?: MediaStorage & { visionModels: readonly string[]; inlineTextChars: number };
  /** Origins answer links and images may point at. */
  answerOrigins?: { linkOrigins: readonly string[]; imageOrigins: readonly string[] };
  /** The deployment's default spend caps and warning ratio (absent: only agents' and workspaces' own caps, warning at 80%). */
  spendCaps?: { defaults: SpendCapDefaults; warningRatio: number };
  /** Which embedding model serves a workspace (default: the LLM client with EMBEDDINGS_MODEL's default). */
  embedders?: EmbedderProvider;
  /** Hybrid retrieval: vector matches below this cosine similarity are not matches (default 0.3). */
  minimumSimilarity?: number;
  /** Limits of the MCP client (app actions); defaults when absent. */
  mcp?: McpLimits;
}

/** The MCP limits when the deployment sets none (the defaults of the `MCP_*` variables). */
export const DEFAULT_MCP_LIMITS: McpLimits = { stdioCommands: [], callTimeoutMs: 30_000, connectTimeoutMs: 10_000, maxResultBytes: 256_000, refreshIntervalMs: 15 * 60 * 1000 };

const DEFAULT_MINIMUM_SIMILARITY = 0.3;

/** The activity dependencies of a deployment: its configuration plus the clients built once. */
export function activityDependenciesFrom(
  configuration: Configuration,
  clients: Pick<ActivityDependencies, 'pool' | 'redis' | 'openai' | 'logger' | 'stopSignals'>,
): ActivityDependencies {
  const { embeddings } = configuration;
  // Embeddings come from the LLM's endpoint unless EMBEDDINGS_BASE_URL names another one.
  const embeddingClient = embeddings.baseUrl ? createOpenAiClient(embeddings.baseUrl, embeddings.apiKey ?? configuration.llm.apiKey ?? 'unset') : clients.openai;
  const embedder = new Embedder(
    { client: embeddingClient, model: embeddings.model, ...(embeddings.dimensions ? { dimensions: embeddings.dimensions } : {}) },
    new EmbeddingCache(clients.pool, clients.logger),
    { batchSize: embeddings.batchSize, timeoutMs: embeddings.timeoutMs },
  );
  return {
    ...clients,
    embedders: deploymentEmbedder(embedder),
    minimumSimilarity: configuration.memory.minimumSimilarity,
    defaultModel: configuration.llm.defaultModel,
    provider: configuration.llm.provider,
    ...(configuration.secrets.keys ? { secretKeys: configuration.secrets.keys } : {}),
    maxToolsPerTurn: configuration.toolSelection.maxTools,
    mcp: configuration.mcp,
    spendCaps: configuration.spendCaps,
    answerOrigins: configuration.answerOrigins,
    workspaceFilesRoot: configuration.workspaceFilesRoot,
    deltaPersistence: configuration.llm.deltaPersistence,
    eventLogOptions: eventLogOptionsFrom(configuration),
    media: {
      ...createMediaStorage(configuration),
      visionModels: configuration.attachments.visionModels,
      inlineTextChars: configuration.attachments.inlineTextChars,
    },
  };
}

/** The cap on tools per turn when the deployment sets none (the default of `TOOL_SELECTION_MAX_TOOLS`). */
const DEFAULT_MAX_TOOLS_PER_TURN = 8;

export function createActivities(dependencies: ActivityDependencies) {
  const embedders =
    dependencies.embedders ??
    deploymentEmbedder(new Embedder({ client: dependencies.openai, model: 'text-embedding-3-small' }, new EmbeddingCache(dependencies.pool, dependencies.logger), { batchSize: 64, timeoutMs: 5000 }));
  const minimumSimilarity = dependencies.minimumSimilarity ?? DEFAULT_MINIMUM_SIMILARITY;
  const chats = new ChatRepository(dependencies.pool);
  const usage = new UsageRepository(dependencies.pool);
  const eventLog = new EventLog(dependencies.redis, dependencies.eventLogOptions);
  const secretBox = dependencies.secretKeys ? new SecretBox(dependencies.secretKeys) : undefined;
  const connections = new ConnectionRepository(dependencies.pool, secretBox);
  const mcpServers = new McpServerRepository(dependencies.pool, secretBox);
  const mcpLimits = dependencies.mcp ?? DEFAULT_MCP_LIMITS;
  const appActionCatalog = new AppActionCatalog(mcpServers);
  const agents = createAgentActivator({
    agents: new AgentRepository(dependencies.pool),
    skills: new SkillRepository(dependencies.pool),
    connections,
    tools: combineToolCatalogs(dependencies.toolCatalog ?? builtInToolCatalog, appActionCatalog),
    defaultModel: dependencies.defaultModel,
    systemProvider: dependencies.provider,
    maxTools: dependencies.maxToolsPerTurn ?? DEFAULT_MAX_TOOLS_PER_TURN,
    budget: {
      usage,
      pricing: new PricingRepository(dependencies.pool),
      workspaces: new WorkspaceRepository(dependencies.pool),
      defaults: dependencies.spendCaps?.defaults ?? {},
      warningRatio: dependencies.spendCaps?.warningRatio ?? 0.8,
    },
  });
  const llmClients = new LlmClients({ system: dependencies.openai, connections });
  const memoryActivities = createMemoryActivities({
    pool: dependencies.pool,
    logger: dependencies.logger,
    embedders,
    openai: dependencies.openai,
    clients: llmClients,
    usage,
    defaultModel: dependencies.defaultModel,
    provider: dependencies.provider,
    minimumSimilarity,
  });
  const titleActivities = createTitleActivities({ conversations: new ConversationRepository(dependencies.pool), clients: llmClients, logger: dependencies.logger });
  const storeActivities = createStoreActivities({ chats, agents, usage, eventLog, logger: dependencies.logger, provider: dependencies.provider });
  const toolActivities = createToolActivities({
    pool: dependencies.pool,
    logger: dependencies.logger,
    workspaceFilesRoot: dependencies.workspaceFilesRoot,
    ...(dependencies.media ? { generatedImages: dependencies.media.generatedImages } : {}),
    embedders,
    minimumSimilarity,
    appActions: new AppActionExecutor({ pool: dependencies.pool, servers: mcpServers, limits: mcpLimits, logger: dependencies.logger, isAllowed: isToolAllowed }),
  });
  const llmActivities = createLlmActivities({
    appActions: appActionCatalog,
    clients: llmClients,
    provider: dependencies.provider,
    chats,
    usage,
    eventLog,
    logger: dependencies.logger,
    deltaPersistence: dependencies.deltaPersistence,
    stopSignals: dependencies.stopSignals,
    ...(dependencies.answerOrigins ? { answerOrigins: dependencies.answerOrigins } : {}),
    ...(dependencies.media ? { media: dependencies.media } : {}),
  });
  return {
    ...storeActivities,
    ...memoryActivities,
    ...createDocumentActivities({ pool: dependencies.pool, logger: dependencies.logger, embedders }),
    ...toolActivities,
    // Replaces `executeTool` above with the version that can also record the call's result.
    ...createRecordedToolCallActivities({ executeTool: toolActivities.executeTool, recordToolResults: storeActivities.recordToolResults }),
    ...createMcpActivities({ servers: mcpServers, limits: mcpLimits, logger: dependencies.logger }),
    ...createRecipeActivities({ eventLog, clients: llmClients, usage, provider: dependencies.provider, logger: dependencies.logger }),
    ...titleActivities,
    ...createAfterAnswerActivities({ generateConversationTitle: titleActivities.generateConversationTitle, extractMemories: memoryActivities.extractMemories }),
    ...llmActivities,
    ...createBeginTurnActivities({ ...storeActivities, ...memoryActivities, ...llmActivities }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
