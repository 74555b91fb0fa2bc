/**
 * Activities of the MCP catalogue: list a server's tools and cache them in Postgres.
 *
 * A listing that fails (server down, timed out, malformed) is recorded on the server row and logged;
 * the cached actions stay in service, and the activity returns normally, so the refresh workflow
 * neither retries a dead server in a tight loop nor stops refreshing the others.
 */
import type { Logger } from '../logger';
import { listMcpTools, McpCallError, type McpClientLimits } from '../mcp/mcp-client';
import type { McpServerRepository } from '../mcp/mcp-server-repository';

export interface McpActivityDependencies {
  servers: McpServerRepository;
  limits: McpClientLimits;
  logger: Logger;
}

export interface McpCatalogueRefreshResult {
  serverId: string;
  status: 'ok' | 'failed' | 'missing';
  actions?: number;
  /** Tools left out because another server of the workspace already uses their tool name. */
  skipped?: string[];
  error?: string;
  durationMs: number;
}

export function createMcpActivities(dependencies: McpActivityDependencies) {
  const { servers, limits, logger } = dependencies;

  /** Lists one server's tools and replaces its cached catalogue; a failure keeps the cache (see the module comment). */
  async function refreshMcpCatalogue(input: { workspaceId: string; serverId: string }): Promise<McpCatalogueRefreshResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const server = await servers.loadForUse(input.workspaceId, input.serverId);
    if (!server) return { serverId: input.serverId, status: 'missing', durationMs: elapsed() };
    let listed;
    try {
      listed = await listMcpTools(server, limits);
    } catch (error) {
      if (!(error instanceof McpCallError)) throw error;
      await servers.recordCatalogueFailure(input.workspaceId, input.serverId, error.message);
      logger.warn({ serverId: server.id, server: server.name, fault: error.kind, error: error.message, cachedActions: server.catalogue.actions }, 'MCP catalogue listing failed; the cached catalogue stays in service');
      return { serverId: input.serverId, status: 'failed', error: error.message, durationMs: elapsed() };
    }
    const stored = await servers.replaceCatalogue(input.workspaceId, input.serverId, listed);
    if (stored.skipped.length > 0) logger.warn({ serverId: server.id, server: server.name, skipped: stored.skipped }, 'MCP actions left out: their tool names are taken by another server');
    logger.info({ serverId: server.id, server: server.name, actions: stored.stored, durationMs: elapsed() }, 'MCP catalogue listed');
    return { serverId: input.serverId, status: 'ok', actions: stored.stored, ...(stored.skipped.length > 0 ? { skipped: stored.skipped } : {}), durationMs: elapsed() };
  }

  /**
   * Drops cached action results older than a day: the cache serves repeats within a turn (and its
   * retries), which never last that long.
   */
  async function pruneMcpActionResults(): Promise<{ deleted: number }> {
    return { deleted: await servers.pruneActionResults('1 day') };
  }

  /** Every registered server, for the scheduled refresh. */
  async function listMcpServerIds(): Promise<Array<{ workspaceId: string; id: string }>> {
    return servers.allIds();
  }

  return { refreshMcpCatalogue, listMcpServerIds, pruneMcpActionResults };
}
