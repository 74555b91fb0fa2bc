/**
 * The tool activity: runs one tool call of the model, once.
 *
 * Idempotency: every call has the key `<turnId>:<hop>:<toolCallId>`. The activity takes a
 * transaction-scoped advisory lock on the key, returns the stored result when `tool_executions`
 * already holds one (a retry after the worker died once the tool had completed), and otherwise runs
 * the tool and records its result in the same transaction. A tool whose effect is a database write
 * commits it together with that record, so it happens exactly once; concurrent duplicates wait on the
 * lock and then read the first one's result.
 *
 * Failure semantics: an unknown or disallowed tool, invalid arguments, or an error of the tool itself
 * is a result (`isError`, content `Error: …`) that goes back to the model as a tool message; it is
 * recorded like any result and never fails the turn. Only infrastructure failures (Postgres
 * unreachable, lock timeouts) throw, so that Temporal retries the activity.
 *
 * App actions (`APP_*`, `app_execute`: tools of MCP servers) keep the same key and stored result but
 * run outside the transaction; see `executeAppActionOnce`.
 *
 * No activity context is needed: tests call `executeTool` directly.
 */
import { Context } from '@temporalio/activity';
import type { Pool, PoolClient } from 'pg';
import type { EmbedderProvider } from '../embeddings/embedder';
import type { Logger } from '../logger';
import { findTool, isToolAllowed } from '../tools/registry';
import type { ToolContext } from '../tools/tool-definition';
import { errorMessage, isInfrastructureError } from '../tools/tool-errors';
import { WorkspaceFiles } from '../tools/workspace-files';
import type { GeneratedImages } from '../storage/generated-images';
import { rewriteInlineImages } from '../storage/inline-images';
import { isAppTool } from '../mcp/action-names';
import type { AppActionExecutor } from '../mcp/app-action-executor';

export interface ToolDependencies {
  pool: Pool;
  logger: Logger;
  /** Directory holding one sub-directory of files per workspace; created on demand. */
  workspaceFilesRoot: string;
  /** Where inline data images of tool results go; without it they stay inline. */
  generatedImages?: GeneratedImages;
  /** Query embeddings for the `search_*` tools; without them they search by full text only. */
  embedders?: EmbedderProvider;
  minimumSimilarity?: number;
  /** Runs `APP_*` actions and `app_execute` on the workspace's MCP servers; absent, they are unknown tools. */
  appActions?: AppActionExecutor;
}

export interface ExecuteToolInput {
  turnId: string;
  hop: number;
  toolCallId: string;
  /** `${turnId}:${hop}:${toolCallId}` (see `toolCallKey`): stable across retries and replays. */
  idempotencyKey: string;
  workspaceId: string;
  conversationId: string;
  name: string;
  arguments: Record<string, unknown>;
  /** The agent's permissions, checked again here: the model may call a tool it was never shown. */
  allowedTools: string[];
  /**
   * Since `turn-start-v1`: the call records (and streams) its own result once it ran, as the round's
   * `recordToolResults` did before: the round's request id, the call's position in it, its approval.
   */
  record?: { requestId: string; position: number; arguments?: string; approval?: { id: string; approved: boolean; reason?: string } };
}

export interface ToolResult {
  /** The tool message text for the model. */
  content: string;
  isError: boolean;
  /** JSON for the client's `tool-output-available`; null when `isError`. */
  output: unknown;
}

/** Longest tool message given to the model. */
export const MAX_TOOL_CONTENT_CHARS = 8000;

/**
 * Longest serialised output kept for the client. The result travels through workflow history, so an
 * output beyond this (a large file read) is replaced by a preview.
 */
export const MAX_TOOL_OUTPUT_CHARS = 32_000;

/** How long a retry waits for a still-running earlier attempt of the same call before retrying later. */
const LOCK_TIMEOUT = '30s';

/** Cuts `text` to at most `limit` characters, saying how much was left out, never splitting a surrogate pair. */
export function truncateText(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const marker = ` … [truncated: ${text.length} characters in total]`;
  let end = Math.max(0, limit - marker.length);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return text.slice(0, end) + marker;
}

function successResult(output: unknown): ToolResult {
  const json = JSON.stringify(output ?? null);
  return {
    content: truncateText(json, MAX_TOOL_CONTENT_CHARS),
    isError: false,
    output:
      json.length <= MAX_TOOL_OUTPUT_CHARS
        ? (JSON.parse(json) as unknown)
        : { truncated: true, totalChars: json.length, preview: json.slice(0, MAX_TOOL_CONTENT_CHARS) },
  };
}

function errorResult(message: string): ToolResult {
  return { content: truncateText(`Error: ${message}`, MAX_TOOL_CONTENT_CHARS), isError: true, output: null };
}

function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((issue) => (issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ${issue.message}` : issue.message)).join('; ');
}

async function readStoredResult(client: Pick<PoolClient, 'query'> | Pool, idempotencyKey: string): Promise<ToolResult | undefined> {
  const result = await client.query('SELECT content, is_error, output FROM tool_executions WHERE idempotency_key = $1', [idempotencyKey]);
  const row = result.rows[0];
  return row ? { content: row.content as string, isError: row.is_error as boolean, output: row.output as unknown } : undefined;
}

/**
 * Records a tool's result under its idempotency key, unless an attempt recorded one first; returns
 * the stored row either way, so every attempt returns the same value.
 */
async function recordResult(client: Pick<PoolClient, 'query'> | Pool, input: ExecuteToolInput, result: ToolResult): Promise<ToolResult> {
  const inserted = await client.query(
    `INSERT INTO tool_executions (idempotency_key, turn_id, hop, tool_call_id, tool_name, workspace_id, arguments, content, is_error, output)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (idempotency_key) DO NOTHING
     RETURNING content, is_error, output`,
    [input.idempotencyKey, input.turnId, input.hop, input.toolCallId, input.name, input.workspaceId, JSON.stringify(input.arguments), result.content, result.isError, JSON.stringify(result.output ?? null)],
  );
  const row = inserted.rows[0];
  const recorded = row ? { content: row.content as string, isError: row.is_error as boolean, output: row.output as unknown } : await readStoredResult(client, input.idempotencyKey);
  if (!recorded) throw new Error(`Tool execution ${input.idempotencyKey} was neither inserted nor found`);
  return recorded;
}

export function createToolActivities(dependencies: ToolDependencies) {
  const { pool, logger } = dependencies;
  const workspaceFiles = new WorkspaceFiles(dependencies.workspaceFilesRoot);

  /**
   * Inline data images in a tool's output are uploaded and replaced by their URLs before the output
   * is cut to size, recorded, streamed or shown to the model; a failed upload keeps the image inline.
   */
  async function withUploadedImages(output: unknown, input: ExecuteToolInput): Promise<unknown> {
    const generatedImages = dependencies.generatedImages;
    if (!generatedImages || output === undefined) return output;
    const json = JSON.stringify(output);
    const rewritten = await rewriteInlineImages(
      json,
      generatedImages.rewriterOptions(input.workspaceId, (error, image) =>
        logger.warn({ turnId: input.turnId, hop: input.hop, tool: input.name, mediaType: image.mediaType, error: String(error) }, 'generated image upload failed; the tool result keeps it inline'),
      ),
    );
    return rewritten === json ? output : (JSON.parse(rewritten) as unknown);
  }

  /** Runs an app action on its MCP server (see src/mcp/app-action-executor.ts). */
  async function runAppAction(input: ExecuteToolInput, signal: AbortSignal | undefined): Promise<ToolResult> {
    if (!dependencies.appActions) return errorResult(`Unknown tool "${input.name}"`);
    const outcome = await dependencies.appActions.execute(
      {
        scopeId: input.turnId,
        workspaceId: input.workspaceId,
        name: input.name,
        arguments: input.arguments,
        allowedTools: input.allowedTools,
        logContext: { turnId: input.turnId, hop: input.hop, toolCallId: input.toolCallId, tool: input.name },
      },
      signal,
    );
    if (!outcome.ok) return errorResult(outcome.error);
    const result = successResult(await withUploadedImages(outcome.output, input));
    return { ...result, content: truncateText(outcome.text, MAX_TOOL_CONTENT_CHARS), ...(outcome.cached ? { output: { cached: true, ...(result.output as object) } } : {}) };
  }

  /** Validates and runs the tool inside a savepoint. Throws only for infrastructure failures. */
  async function runTool(client: PoolClient, input: ExecuteToolInput, signal?: AbortSignal): Promise<ToolResult> {
    if (isAppTool(input.name)) return runAppAction(input, signal);
    const tool = findTool(input.name);
    if (!tool) return errorResult(`Unknown tool "${input.name}"`);
    if (!isToolAllowed(input.name, input.allowedTools)) return errorResult(`Tool "${input.name}" is not allowed for this agent`);
    const parsed = tool.schema.safeParse(input.arguments);
    if (!parsed.success) return errorResult(`Invalid arguments for ${input.name}: ${describeIssues(parsed.error.issues)}`);

    const context: ToolContext = {
      database: client,
      workspaceId: input.workspaceId,
      conversationId: input.conversationId,
      idempotencyKey: input.idempotencyKey,
      workspaceFiles,
      ...(dependencies.embedders ? { knowledge: { embedders: dependencies.embedders, minimumSimilarity: dependencies.minimumSimilarity ?? 0.3 } } : {}),
    };
    await client.query('SAVEPOINT tool_run');
    try {
      // Serialising belongs to the tool: an output that is not JSON is the tool's error.
      const result = successResult(await withUploadedImages(await tool.run(parsed.data, context), input));
      await client.query('RELEASE SAVEPOINT tool_run');
      return result;
    } catch (error) {
      if (isInfrastructureError(error)) throw error;
      // Undo whatever database writes the failed tool made; its error is the result.
      await client.query('ROLLBACK TO SAVEPOINT tool_run');
      return errorResult(errorMessage(error));
    }
  }

  /**
   * Runs one tool call at most once per idempotency key; see the module comment. Heartbeats every
   * second inside an activity, so a worker that dies mid-tool is noticed in seconds, not at the
   * start-to-close timeout.
   */
  async function executeTool(input: ExecuteToolInput): Promise<ToolResult> {
    let heartbeat: NodeJS.Timeout | undefined;
    let signal: AbortSignal | undefined;
    try {
      const context = Context.current();
      heartbeat = setInterval(() => context.heartbeat(), 1000);
      signal = context.cancellationSignal;
    } catch {
      // Called outside an activity (tests call it directly): nothing to heartbeat.
    }
    try {
      return await executeToolOnce(input, signal);
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * An app action waits on a remote server for up to its timeout, so it runs outside any database
   * transaction: holding a pooled connection for that long would starve the worker's other
   * activities. A stored result is looked up first and the new one recorded after, each in a short
   * statement; between the two, the per-turn action cache (written the moment the server answers)
   * keeps a retried attempt from calling the server again. Only two attempts running at once (a
   * worker Temporal gave up on that still runs) could both call it.
   */
  async function executeAppActionOnce(input: ExecuteToolInput, signal?: AbortSignal): Promise<ToolResult> {
    const started = performance.now();
    const stored = await readStoredResult(pool, input.idempotencyKey);
    if (stored) {
      logger.info({ turnId: input.turnId, hop: input.hop, toolCallId: input.toolCallId, tool: input.name }, 'tool result reused from an earlier attempt');
      return stored;
    }
    const recorded = await recordResult(pool, input, await runAppAction(input, signal));
    logger.info(
      { turnId: input.turnId, hop: input.hop, toolCallId: input.toolCallId, tool: input.name, isError: recorded.isError, durationMs: Math.round(performance.now() - started) },
      'tool executed',
    );
    return recorded;
  }

  async function executeToolOnce(input: ExecuteToolInput, signal?: AbortSignal): Promise<ToolResult> {
    if (isAppTool(input.name) && dependencies.appActions) return executeAppActionOnce(input, signal);
    const started = performance.now();
    const client = await pool.connect();
    let failure: Error | undefined;
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [input.idempotencyKey]);
      const stored = await readStoredResult(client, input.idempotencyKey);
      if (stored) {
        await client.query('COMMIT');
        logger.info({ turnId: input.turnId, hop: input.hop, toolCallId: input.toolCallId, tool: input.name }, 'tool result reused from an earlier attempt');
        return stored;
      }

      // The stored row is the answer, also to the first attempt: every attempt returns the same value.
      const recorded = await recordResult(client, input, await runTool(client, input, signal));
      await client.query('COMMIT');
      logger.info(
        {
          turnId: input.turnId,
          hop: input.hop,
          toolCallId: input.toolCallId,
          tool: input.name,
          isError: recorded.isError,
          durationMs: Math.round(performance.now() - started),
        },
        'tool executed',
      );
      return recorded;
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      await client.query('ROLLBACK').catch(() => undefined);
      logger.warn({ turnId: input.turnId, hop: input.hop, toolCallId: input.toolCallId, tool: input.name, error: failure.message }, 'tool activity failed; Temporal retries it');
      throw error;
    } finally {
      // A connection that failed mid-transaction is discarded rather than returned to the pool.
      client.release(failure);
    }
  }

  return { executeTool };
}
