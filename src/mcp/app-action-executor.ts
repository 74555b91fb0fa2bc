/**
 * Runs an app action the model called: `APP_<SERVER>_<ACTION>` directly, or through the mega-tool
 * `app_execute` (`{"action": "APP_…", "arguments": {…}}`). The tool activity calls it inside its
 * idempotency transaction (key `<turnId>:<hop>:<toolCallId>`), so a completed call is never run
 * again by a retried activity.
 *
 * Results are cached per turn (or recipe run) by action and canonical arguments, the seed's
 * "Composio action caching": the same action with the same arguments, asked again in the turn under
 * either name, returns the stored result without calling the server. Failures are not cached.
 *
 * Every failure of the server (refused, timed out, crashed, malformed, an error result, a result over
 * the size limit) comes back as `{ error }` for the model, and as a warning log line naming the
 * server, the action and the kind of fault for the operator.
 */
import type { Pool } from 'pg';
import type { Logger } from '../logger';
import { canonicalJson } from '../shared/tool-tracker';
import { APP_ACTION_PREFIX, APP_EXECUTE_TOOL } from './action-names';
import { callMcpTool, McpCallError, type McpClientLimits } from './mcp-client';
import type { McpServerRepository } from './mcp-server-repository';

export interface AppActionCall {
  /** The cache scope: the turn id (or recipe run id). */
  scopeId: string;
  workspaceId: string;
  name: string;
  arguments: Record<string, unknown>;
  allowedTools: readonly string[];
  /** For log lines. */
  logContext: Record<string, unknown>;
}

export type AppActionOutcome = { ok: true; text: string; output: unknown; cached: boolean } | { ok: false; error: string };

export interface AppActionExecutorDependencies {
  pool: Pool;
  servers: McpServerRepository;
  limits: McpClientLimits;
  logger: Logger;
  isAllowed(name: string, allowedTools: readonly string[]): boolean;
}

export class AppActionExecutor {
  constructor(private readonly dependencies: AppActionExecutorDependencies) {}

  /** The action and arguments a call names: the mega-tool's are inside its arguments. */
  private target(call: AppActionCall): { action: string; input: Record<string, unknown> } | { error: string } {
    if (call.name !== APP_EXECUTE_TOOL) return { action: call.name, input: call.arguments };
    const action = call.arguments.action;
    const input = call.arguments.arguments ?? {};
    if (typeof action !== 'string' || !action.startsWith(APP_ACTION_PREFIX)) return { error: `${APP_EXECUTE_TOOL} needs "action": the name of an app action (APP_…)` };
    if (input === null || typeof input !== 'object' || Array.isArray(input)) return { error: `${APP_EXECUTE_TOOL}: "arguments" must be a JSON object` };
    return { action, input: input as Record<string, unknown> };
  }

  async execute(call: AppActionCall, signal?: AbortSignal): Promise<AppActionOutcome> {
    const { pool, servers, logger, limits } = this.dependencies;
    const target = this.target(call);
    if ('error' in target) return { ok: false, error: target.error };
    if (!this.dependencies.isAllowed(target.action, call.allowedTools)) return { ok: false, error: `App action "${target.action}" is not allowed for this agent` };
    const action = await servers.actionByToolName(call.workspaceId, target.action);
    if (!action) return { ok: false, error: `Unknown app action "${target.action}": no MCP server of this workspace lists it` };

    const canonical = canonicalJson(target.input);
    const cached = await pool.query('SELECT content, output FROM mcp_action_results WHERE scope_id = $1 AND tool_name = $2 AND canonical_arguments = $3', [
      call.scopeId,
      target.action,
      canonical,
    ]);
    if (cached.rows[0]) {
      logger.info({ ...call.logContext, action: target.action }, 'app action result reused from the cache of this turn');
      return { ok: true, text: cached.rows[0].content as string, output: cached.rows[0].output as unknown, cached: true };
    }

    const server = await servers.loadForUse(call.workspaceId, action.serverId);
    if (!server) return { ok: false, error: `The MCP server of "${target.action}" was removed` };
    const started = performance.now();
    try {
      const result = await callMcpTool(server, action.action, target.input, limits, signal);
      await pool.query(
        `INSERT INTO mcp_action_results (scope_id, tool_name, canonical_arguments, content, output) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING`,
        [call.scopeId, target.action, canonical, result.text, JSON.stringify(result.output)],
      );
      logger.info({ ...call.logContext, server: server.name, action: action.action, durationMs: Math.round(performance.now() - started) }, 'app action executed');
      return { ok: true, text: result.text, output: result.output, cached: false };
    } catch (error) {
      // A cancelled activity (worker shutdown, stopped turn) is retried or ends, never a tool error.
      if (!(error instanceof McpCallError) || signal?.aborted) throw error;
      logger.warn(
        { ...call.logContext, server: server.name, serverId: server.id, action: action.action, fault: error.kind, durationMs: Math.round(performance.now() - started), error: error.message },
        'app action failed; the model gets a tool error',
      );
      return { ok: false, error: error.message };
    }
  }
}
