/**
 * The one configuration module: every setting is read from the environment here, validated at
 * start, and a bad value fails fast with a message that names the variable.
 */
import path from 'node:path';
import { z } from 'zod';
import { parseKeyRing, type EncryptionKey } from './secrets/key-ring';
import { providerOf } from './llm/provider';
import type { SpendCapDefaults } from './shared/spend-caps';

/** `*`, or an origin exactly as browsers send it: `scheme://host[:port]`, no path, no trailing slash. */
function isCorsOrigin(value: string): boolean {
  if (value === '*') return true;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

/** What users may attach by default: images a vision model reads, text it can be given, and PDFs (described by name). */
export const DEFAULT_ATTACHMENT_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'text/*', 'application/json', 'application/xml', 'application/x-yaml', 'application/pdf'];
/** Model name patterns (`*` wildcard) that accept image content parts. */
export const DEFAULT_VISION_MODELS = ['gpt-4o*', 'gpt-4.1*', 'gpt-5*', 'o1*', 'o3*', 'o4*', 'chatgpt-4o*', 'claude-*', 'gemini-*', '*vision*', '*-vl*', 'llava*', 'pixtral*', 'scripted-*'];

/** Limits of the MCP client (app actions); see the `MCP_*` variables. */
export interface McpLimits {
  /** Executables a workspace may run as stdio MCP servers (exact `command` values); empty: stdio is refused. */
  stdioCommands: string[];
  callTimeoutMs: number;
  connectTimeoutMs: number;
  /** A tool result larger than this (serialised) is refused as a tool error. */
  maxResultBytes: number;
  /** How often the catalogue of each server is listed again (a Temporal timer workflow). */
  refreshIntervalMs: number;
}

const list = (value: string) => value.split(',').map((item) => item.trim()).filter(Boolean);

const integer = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback);

const environmentSchema = z.object({
  NODE_ENV: z.string().default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PORT: integer(3000),
  HOST: z.string().default('127.0.0.1'),
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/durable_chat'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  REDIS_KEY_PREFIX: z.string().default('dc:'),
  /**
   * Redis Cluster: comma-separated `host:port` of some of its nodes (the client discovers the rest).
   * When set, REDIS_URL is not used and live fan-out uses sharded pub/sub (Redis ≥ 7).
   */
  REDIS_CLUSTER_NODES: z
    .string()
    .optional()
    .transform((value) => (value ?? '').split(',').map((node) => node.trim()).filter(Boolean))
    .refine((nodes) => nodes.every((node) => /^[^\s:/]+:\d{1,5}$/.test(node)), 'REDIS_CLUSTER_NODES must be comma-separated host:port pairs, e.g. 10.0.0.1:6379,10.0.0.2:6379'),
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('durable-chat'),
  /**
   * What a worker process polls: `all` (workflows and activities), `workflows` (workflow tasks and the
   * local steps they run) or `activities` (model hops, tools, embeddings): streaming then never delays a workflow task.
   */
  WORKER_ROLE: z.enum(['all', 'workflows', 'activities']).default('all'),
  TEMPORAL_API_KEY: z.string().optional(),
  TEMPORAL_TLS: z.enum(['true', 'false']).optional(),
  TEMPORAL_CLI_PATH: z.string().optional(),
  TEMPORAL_UI_PORT: integer(8233),
  /** How long an API request waits for Temporal before it answers 503 (the client alone retries for ~20 s). */
  TEMPORAL_REQUEST_TIMEOUT_MS: integer(2000),
  TEMPORAL_PORT: integer(7233),
  OPENAI_BASE_URL: z.string().url().optional(),
  OPENAI_API_KEY: z.string().optional(),
  DEFAULT_MODEL: z.string().default('scripted-1'),
  LLM_PROVIDER: z.string().min(1).optional(),
  DEMO_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  STREAM_RETENTION_SECONDS: integer(3600),
  STREAM_MAX_EVENTS: integer(20000),
  LLM_HEARTBEAT_TIMEOUT_MS: integer(5000),
  LLM_START_TO_CLOSE_TIMEOUT_MS: integer(10 * 60 * 1000),
  // Attachments arrive as data URLs inside the JSON body: raise it to use the attachment limits in full.
  MAX_REQUEST_BYTES: integer(1_000_000),
  /** Requests per API key, per workspace, and failed authentications per client address, per RATE_LIMIT_WINDOW_MS (0: off). */
  RATE_LIMIT_PER_KEY: integer(1200),
  RATE_LIMIT_PER_WORKSPACE: integer(6000),
  RATE_LIMIT_PER_ADDRESS: integer(300),
  RATE_LIMIT_WINDOW_MS: integer(60_000),
  SSE_KEEPALIVE_MS: integer(15000),
  WORKSPACE_FILES_ROOT: z.string().default('.data/workspace-files'),
  PAYLOAD_ENCRYPTION_KEYS: z.string().optional(),
  SECRETS_ENCRYPTION_KEYS: z.string().optional(),
  TOOL_SELECTION_MAX_TOOLS: z.coerce.number().int().min(1).max(128).default(8),
  // MCP servers (app actions): commands a workspace may run as stdio servers, call limits, refresh period.
  MCP_STDIO_COMMANDS: z.string().default(''),
  MCP_CALL_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  MCP_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  MCP_MAX_RESULT_BYTES: z.coerce.number().int().min(1024).default(256_000),
  MCP_REFRESH_INTERVAL_MS: z.coerce.number().int().min(1000).default(15 * 60 * 1000),
  SPEND_CAP_TURN_USD: z.coerce.number().positive().optional(),
  SPEND_CAP_TURN_TOKENS: z.coerce.number().int().positive().optional(),
  SPEND_CAP_AGENT_DAILY_USD: z.coerce.number().positive().optional(),
  SPEND_CAP_AGENT_DAILY_TOKENS: z.coerce.number().int().positive().optional(),
  SPEND_CAP_WORKSPACE_DAILY_USD: z.coerce.number().positive().optional(),
  SPEND_CAP_WORKSPACE_DAILY_TOKENS: z.coerce.number().int().positive().optional(),
  SPEND_CAP_WARNING_RATIO: z.coerce.number().gt(0).max(1).default(0.8),
  ANSWER_LINK_ORIGINS: z.string().default('*'),
  ANSWER_IMAGE_ORIGINS: z.string().default(''),
  CODEC_AUTH_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Default: the Temporal UI's own origins, on TEMPORAL_UI_PORT. */
  CODEC_CORS_ORIGINS: z.string().optional(),
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((value) => value.split(',').map((origin) => origin.trim()).filter(Boolean))
    .pipe(z.array(z.string().refine(isCorsOrigin, { error: (issue) => `"${String(issue.input)}" is not an origin (scheme://host[:port], no path) or *` }))),
  PERSIST_DELTAS: z.enum(['true', 'false']).default('false'),
  PERSIST_DELTAS_INTERVAL_MS: integer(200),
  PERSIST_DELTAS_MIN_CHARS: integer(1024),
  EMBEDDINGS_BASE_URL: z.string().url().optional(),
  EMBEDDINGS_API_KEY: z.string().optional(),
  EMBEDDINGS_MODEL: z.string().min(1).default('text-embedding-3-small'),
  EMBEDDINGS_DIMENSIONS: z.coerce.number().int().min(1).max(4096).optional(),
  EMBEDDINGS_BATCH_SIZE: z.coerce.number().int().min(1).max(2048).default(64),
  EMBEDDINGS_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
  MEMORY_MIN_SIMILARITY: z.coerce.number().min(-1).max(1).default(0.3),
  DOCUMENT_MAX_BYTES: z.coerce.number().int().min(1).default(10 * 1024 * 1024),
  OBJECT_STORE: z.enum(['filesystem', 's3']).default('filesystem'),
  OBJECT_STORE_ROOT: z.string().default('.data/objects'),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid bucket name (3-63 lowercase letters, digits, dots, hyphens)')
    .optional(),
  S3_REGION: z.string().default('us-east-1'),
  S3_ENDPOINT: z.string().url().optional(),
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).optional(),
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  S3_CREATE_BUCKET: z.enum(['true', 'false']).default('false'),
  ATTACHMENT_MAX_BYTES: integer(5 * 1024 * 1024),
  ATTACHMENT_MAX_COUNT: integer(4),
  ATTACHMENT_TYPES: z.string().default(DEFAULT_ATTACHMENT_TYPES.join(',')),
  ATTACHMENT_INLINE_TEXT_CHARS: integer(20_000),
  VISION_MODELS: z.string().default(DEFAULT_VISION_MODELS.join(',')),
  GENERATED_IMAGE_MAX_BYTES: integer(10 * 1024 * 1024),
}).superRefine((value, context) => {
  // On a cluster the `{turnId}` hash tag must be the first braces of a key, or every turn lands on one shard.
  if (value.REDIS_CLUSTER_NODES.length > 0 && /[{}]/.test(value.REDIS_KEY_PREFIX)) {
    context.addIssue({ code: 'custom', path: ['REDIS_KEY_PREFIX'], message: 'may not contain { or } with REDIS_CLUSTER_NODES (a hash tag in the prefix would put every turn on one shard)' });
  }
  if (value.OBJECT_STORE === 's3' && !value.S3_BUCKET) context.addIssue({ code: 'custom', path: ['S3_BUCKET'], message: 'is required when OBJECT_STORE=s3' });
  if ((value.S3_ACCESS_KEY_ID === undefined) !== (value.S3_SECRET_ACCESS_KEY === undefined)) {
    context.addIssue({ code: 'custom', path: ['S3_SECRET_ACCESS_KEY'], message: 'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY are set together or not at all' });
  }
});

export type Environment = z.infer<typeof environmentSchema>;

export interface Configuration {
  environment: string;
  logLevel: Environment['LOG_LEVEL'];
  api: {
    port: number;
    host: string;
    maxRequestBytes: number;
    sseKeepAliveMs: number;
    /** Origins allowed to call `/api` from a browser (`*` for any); empty: same origin only. */
    corsOrigins: string[];
    rateLimits: { perKey: number; perWorkspace: number; perAddress: number; windowMs: number };
  };
  databaseUrl: string;
  redis: {
    url: string;
    /** Redis Cluster seed nodes (`host:port`); empty: the single server at `url`. */
    clusterNodes: string[];
    keyPrefix: string;
    streamRetentionSeconds: number;
    streamMaxEvents: number;
  };
  temporal: {
    address?: string;
    namespace: string;
    taskQueue: string;
    /** What this worker process polls (WORKER_ROLE). */
    workerRole: 'all' | 'workflows' | 'activities';
    apiKey?: string;
    tls: boolean;
    cliPath?: string;
    port: number;
    uiPort: number;
    /** Deadline of the API's calls to Temporal (TEMPORAL_REQUEST_TIMEOUT_MS). */
    requestTimeoutMs: number;
  };
  llm: {
    baseUrl?: string;
    apiKey?: string;
    defaultModel: string;
    /** Who serves the deployment's model, for usage rows: `LLM_PROVIDER`, or derived from the base URL. */
    provider: string;
    heartbeatTimeoutMs: number;
    startToCloseTimeoutMs: number;
    deltaPersistence: { enabled: boolean; intervalMs: number; minChars: number };
  };
  /**
   * The embeddings endpoint (any OpenAI-compatible `/v1/embeddings`). Without a base URL the LLM's
   * endpoint and client serve embeddings too.
   */
  embeddings: { baseUrl?: string; apiKey?: string; model: string; dimensions?: number; batchSize: number; timeoutMs: number };
  /** Hybrid retrieval: vector matches below this cosine similarity are not matches. */
  memory: { minimumSimilarity: number };
  documents: { maxBytes: number };
  demoApiKey?: string;
  /** Root of the per-workspace directories the `workspace_*` tools read and write. */
  workspaceFilesRoot: string;
  encryption: { keys?: EncryptionKey[]; codecAuthToken?: string; codecCorsOrigins: string[] };
  /** Keys of the secrets kept in Postgres (`SECRETS_ENCRYPTION_KEYS`); absent: connections cannot be created. */
  secrets: { keys?: EncryptionKey[] };
  /** How many tools a turn offers the model at most, unless the agent sets its own cap. */
  toolSelection: { maxTools: number };
  /** MCP servers: stdio commands a workspace may register (`MCP_STDIO_COMMANDS`), call and listing limits. */
  mcp: McpLimits;
  /** Origins Markdown links and images in answers may point at (`*`: any); other targets are replaced. */
  answerOrigins: { linkOrigins: string[]; imageOrigins: string[] };
  /** The deployment's default spend caps (agents and workspaces may set their own) and the warning ratio. */
  spendCaps: { defaults: SpendCapDefaults; warningRatio: number };
  /** Where generated images and attachments are stored. */
  objectStore: ObjectStoreConfiguration;
  attachments: AttachmentLimits;
  generatedImages: { maxBytes: number };
}

export type ObjectStoreConfiguration =
  | { kind: 'filesystem'; root: string }
  | {
      kind: 's3';
      bucket: string;
      region: string;
      endpoint?: string;
      forcePathStyle: boolean;
      credentials?: { accessKeyId: string; secretAccessKey: string };
      createBucket: boolean;
    };

export interface AttachmentLimits {
  /** Largest attachment, in decoded bytes (413 beyond). */
  maxBytes: number;
  /** Most files in one message (413 beyond). */
  maxCount: number;
  /** Media types accepted (`text/*` style wildcards allowed; 415 otherwise). */
  allowedTypes: string[];
  /** Characters of a text file given to the model before it is cut. */
  inlineTextChars: number;
  /** Model name patterns that get images as image parts; other models get a description. */
  visionModels: string[];
}

/** Thrown when the environment does not validate; its message names every offending variable. */
export class ConfigurationError extends Error {}

function parseKeysOrFail(value: string, variableName: string): EncryptionKey[] {
  try {
    return parseKeyRing(value, variableName);
  } catch (error) {
    throw new ConfigurationError(`Invalid configuration:\n  ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Reads and validates the configuration from an environment (default: `process.env`). */
export function loadConfiguration(environment: NodeJS.ProcessEnv = process.env): Configuration {
  const cleaned = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== ''));
  const parsed = environmentSchema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigurationError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const value = parsed.data;
  return {
    environment: value.NODE_ENV,
    logLevel: value.LOG_LEVEL,
    api: {
      port: value.PORT,
      host: value.HOST,
      maxRequestBytes: value.MAX_REQUEST_BYTES,
      sseKeepAliveMs: value.SSE_KEEPALIVE_MS,
      corsOrigins: value.CORS_ORIGINS,
      rateLimits: { perKey: value.RATE_LIMIT_PER_KEY, perWorkspace: value.RATE_LIMIT_PER_WORKSPACE, perAddress: value.RATE_LIMIT_PER_ADDRESS, windowMs: value.RATE_LIMIT_WINDOW_MS },
    },
    databaseUrl: value.DATABASE_URL,
    redis: {
      url: value.REDIS_URL,
      clusterNodes: value.REDIS_CLUSTER_NODES,
      keyPrefix: value.REDIS_KEY_PREFIX,
      streamRetentionSeconds: value.STREAM_RETENTION_SECONDS,
      streamMaxEvents: value.STREAM_MAX_EVENTS,
    },
    temporal: {
      address: value.TEMPORAL_ADDRESS,
      namespace: value.TEMPORAL_NAMESPACE,
      taskQueue: value.TEMPORAL_TASK_QUEUE,
      workerRole: value.WORKER_ROLE,
      apiKey: value.TEMPORAL_API_KEY,
      tls: value.TEMPORAL_TLS === 'true' || (value.TEMPORAL_TLS === undefined && value.TEMPORAL_API_KEY !== undefined),
      cliPath: value.TEMPORAL_CLI_PATH,
      port: value.TEMPORAL_PORT,
      uiPort: value.TEMPORAL_UI_PORT,
      requestTimeoutMs: value.TEMPORAL_REQUEST_TIMEOUT_MS,
    },
    llm: {
      baseUrl: value.OPENAI_BASE_URL,
      apiKey: value.OPENAI_API_KEY,
      defaultModel: value.DEFAULT_MODEL,
      provider: value.LLM_PROVIDER ?? providerOf(value.OPENAI_BASE_URL),
      heartbeatTimeoutMs: value.LLM_HEARTBEAT_TIMEOUT_MS,
      startToCloseTimeoutMs: value.LLM_START_TO_CLOSE_TIMEOUT_MS,
      deltaPersistence: { enabled: value.PERSIST_DELTAS === 'true', intervalMs: value.PERSIST_DELTAS_INTERVAL_MS, minChars: value.PERSIST_DELTAS_MIN_CHARS },
    },
    embeddings: {
      ...(value.EMBEDDINGS_BASE_URL ? { baseUrl: value.EMBEDDINGS_BASE_URL } : {}),
      ...(value.EMBEDDINGS_API_KEY ? { apiKey: value.EMBEDDINGS_API_KEY } : {}),
      model: value.EMBEDDINGS_MODEL,
      ...(value.EMBEDDINGS_DIMENSIONS ? { dimensions: value.EMBEDDINGS_DIMENSIONS } : {}),
      batchSize: value.EMBEDDINGS_BATCH_SIZE,
      timeoutMs: value.EMBEDDINGS_TIMEOUT_MS,
    },
    memory: { minimumSimilarity: value.MEMORY_MIN_SIMILARITY },
    documents: { maxBytes: value.DOCUMENT_MAX_BYTES },
    demoApiKey: value.DEMO_API_KEY,
    workspaceFilesRoot: path.resolve(value.WORKSPACE_FILES_ROOT),
    encryption: {
      ...(value.PAYLOAD_ENCRYPTION_KEYS ? { keys: parseKeysOrFail(value.PAYLOAD_ENCRYPTION_KEYS, 'PAYLOAD_ENCRYPTION_KEYS') } : {}),
      ...(value.CODEC_AUTH_TOKEN ? { codecAuthToken: value.CODEC_AUTH_TOKEN } : {}),
      codecCorsOrigins: list(value.CODEC_CORS_ORIGINS ?? `http://localhost:${value.TEMPORAL_UI_PORT},http://127.0.0.1:${value.TEMPORAL_UI_PORT}`),
    },
    secrets: value.SECRETS_ENCRYPTION_KEYS ? { keys: parseKeysOrFail(value.SECRETS_ENCRYPTION_KEYS, 'SECRETS_ENCRYPTION_KEYS') } : {},
    toolSelection: { maxTools: value.TOOL_SELECTION_MAX_TOOLS },
    mcp: {
      stdioCommands: list(value.MCP_STDIO_COMMANDS),
      callTimeoutMs: value.MCP_CALL_TIMEOUT_MS,
      connectTimeoutMs: value.MCP_CONNECT_TIMEOUT_MS,
      maxResultBytes: value.MCP_MAX_RESULT_BYTES,
      refreshIntervalMs: value.MCP_REFRESH_INTERVAL_MS,
    },
    answerOrigins: { linkOrigins: list(value.ANSWER_LINK_ORIGINS), imageOrigins: list(value.ANSWER_IMAGE_ORIGINS) },
    spendCaps: {
      defaults: {
        ...(value.SPEND_CAP_TURN_USD !== undefined ? { turnUsd: value.SPEND_CAP_TURN_USD } : {}),
        ...(value.SPEND_CAP_TURN_TOKENS !== undefined ? { turnTokens: value.SPEND_CAP_TURN_TOKENS } : {}),
        ...(value.SPEND_CAP_AGENT_DAILY_USD !== undefined ? { dailyUsd: value.SPEND_CAP_AGENT_DAILY_USD } : {}),
        ...(value.SPEND_CAP_AGENT_DAILY_TOKENS !== undefined ? { dailyTokens: value.SPEND_CAP_AGENT_DAILY_TOKENS } : {}),
        ...(value.SPEND_CAP_WORKSPACE_DAILY_USD !== undefined ? { workspaceDailyUsd: value.SPEND_CAP_WORKSPACE_DAILY_USD } : {}),
        ...(value.SPEND_CAP_WORKSPACE_DAILY_TOKENS !== undefined ? { workspaceDailyTokens: value.SPEND_CAP_WORKSPACE_DAILY_TOKENS } : {}),
      },
      warningRatio: value.SPEND_CAP_WARNING_RATIO,
    },
    objectStore:
      value.OBJECT_STORE === 's3'
        ? {
            kind: 's3',
            bucket: value.S3_BUCKET!,
            region: value.S3_REGION,
            ...(value.S3_ENDPOINT ? { endpoint: value.S3_ENDPOINT } : {}),
            // S3-compatible servers on an explicit endpoint rarely resolve bucket subdomains.
            forcePathStyle: value.S3_FORCE_PATH_STYLE === undefined ? value.S3_ENDPOINT !== undefined : value.S3_FORCE_PATH_STYLE === 'true',
            ...(value.S3_ACCESS_KEY_ID && value.S3_SECRET_ACCESS_KEY
              ? { credentials: { accessKeyId: value.S3_ACCESS_KEY_ID, secretAccessKey: value.S3_SECRET_ACCESS_KEY } }
              : {}),
            createBucket: value.S3_CREATE_BUCKET === 'true',
          }
        : { kind: 'filesystem', root: path.resolve(value.OBJECT_STORE_ROOT) },
    attachments: {
      maxBytes: value.ATTACHMENT_MAX_BYTES,
      maxCount: value.ATTACHMENT_MAX_COUNT,
      allowedTypes: list(value.ATTACHMENT_TYPES).map((type) => type.toLowerCase()),
      inlineTextChars: value.ATTACHMENT_INLINE_TEXT_CHARS,
      visionModels: list(value.VISION_MODELS),
    },
    generatedImages: { maxBytes: value.GENERATED_IMAGE_MAX_BYTES },
  };
}
