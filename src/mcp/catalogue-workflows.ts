/**
 * Starting the catalogue workflows from the API: the scheduled refresh (one per task queue, started
 * with USE_EXISTING, so every API process may ask and one runs) and the on-demand refresh of one
 * server, awaited with a deadline.
 */
import type { Client } from '@temporalio/client';
import type { McpCatalogueRefreshResult } from '../activities/mcp';
import type { refreshMcpCatalogueNow, refreshMcpCatalogues } from '../workflows/mcp-catalogue';

export function mcpCatalogueRefreshWorkflowId(taskQueue: string): string {
  return `mcp-catalogue-refresh:${taskQueue}`;
}

/** Starts the scheduled refresh unless it already runs. */
export async function ensureCatalogueSchedule(temporal: Client, taskQueue: string, intervalMs: number): Promise<void> {
  await temporal.workflow.start<typeof refreshMcpCatalogues>('refreshMcpCatalogues', {
    taskQueue,
    workflowId: mcpCatalogueRefreshWorkflowId(taskQueue),
    args: [{ intervalMs }],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
}

/**
 * Lists one server's tools now, on a worker. Two requests for the same server at once share one
 * run. Resolves to undefined when the listing takes longer than `waitMs` (it goes on in the background).
 */
export async function refreshCatalogueNow(temporal: Client, taskQueue: string, workspaceId: string, serverId: string, waitMs: number): Promise<McpCatalogueRefreshResult | undefined> {
  const handle = await temporal.workflow.start<typeof refreshMcpCatalogueNow>('refreshMcpCatalogueNow', {
    taskQueue,
    workflowId: `mcp-catalogue-refresh-now:${workspaceId}:${serverId}`,
    args: [{ workspaceId, serverId }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), waitMs);
  });
  try {
    return await Promise.race([handle.result(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
