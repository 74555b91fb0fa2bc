/**
 * Keeps the MCP catalogues current: the scheduled refresh is a timer workflow (one per task queue,
 * `mcpCatalogueRefreshWorkflowId`), not a cron in the API. Each round lists every registered
 * server's tools, prunes the per-turn action result cache, then sleeps for the interval; after a number of rounds it continues as new, so
 * its history stays small. A server that is down only records its failure: its cached catalogue
 * stays in service, and the next round tries again.
 *
 * `refreshMcpCatalogueNow` is the on-demand refresh of one server (the management API's
 * `POST /api/mcp-servers/:id/refresh`, and registration), run on a worker like every MCP connection.
 */
import { continueAsNew, proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { McpCatalogueRefreshResult } from '../activities/mcp';

/** Rounds before the workflow continues as new. */
const ROUNDS_PER_RUN = 100;

const catalogueSteps = () =>
  proxyActivities<Activities>({
    // The listing has its own connect and request timeouts; this bounds the activity as a whole.
    startToCloseTimeout: '2 minutes',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 3 },
  });

export interface McpCatalogueRefreshInput {
  intervalMs: number;
}

/** The scheduled refresh of every server's catalogue; see the module comment. */
export async function refreshMcpCatalogues(input: McpCatalogueRefreshInput): Promise<void> {
  const { listMcpServerIds, refreshMcpCatalogue, pruneMcpActionResults } = catalogueSteps();
  for (let round = 0; round < ROUNDS_PER_RUN; round++) {
    const servers = await listMcpServerIds();
    await Promise.all(
      servers.map((server) =>
        refreshMcpCatalogue({ workspaceId: server.workspaceId, serverId: server.id }).catch(() => undefined),
      ),
    );
    // The per-turn action result cache is only needed while a turn runs.
    await pruneMcpActionResults();
    await sleep(input.intervalMs);
  }
  await continueAsNew<typeof refreshMcpCatalogues>(input);
}

/** Lists one server's tools now and returns how it went. */
export async function refreshMcpCatalogueNow(input: { workspaceId: string; serverId: string }): Promise<McpCatalogueRefreshResult> {
  return catalogueSteps().refreshMcpCatalogue(input);
}
