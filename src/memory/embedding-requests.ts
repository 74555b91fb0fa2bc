/**
 * Asks the background for vectors: memories written through the API are stored at once (and found by
 * full text at once), and the workspace's `embedWorkspaceMemories` workflow is signalled-with-start
 * to embed them. One workflow per workspace coalesces bursts of writes. A failure to reach Temporal
 * is logged, not raised: the write succeeded, and the next write (or extraction) catches up.
 */
import type { Client } from '@temporalio/client';
import type { Logger } from '../logger';
import { memoryEmbeddingWorkflowId } from '../shared/knowledge-ids';
import type { embedWorkspaceMemories } from '../workflows/memory-embedding';

export async function requestMemoryEmbedding(temporal: Client, taskQueue: string, workspaceId: string, logger: Logger): Promise<void> {
  try {
    await temporal.workflow.signalWithStart<typeof embedWorkspaceMemories, []>('embedWorkspaceMemories', {
      workflowId: memoryEmbeddingWorkflowId(workspaceId),
      taskQueue,
      args: [{ workspaceId }],
      signal: 'memoriesChanged',
      signalArgs: [],
    });
  } catch (error) {
    logger.warn({ workspaceId, error: error instanceof Error ? error.message : String(error) }, 'could not request memory embedding; the next write retries');
  }
}
