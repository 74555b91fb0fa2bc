/**
 * Keeps a workspace's memory vectors current in the background: embeds, batch by batch, every memory
 * that has no vector in the current embedding space (added or edited through the API, stored while
 * the embeddings endpoint was down, or embedded by an older model).
 *
 * One run per workspace (`memoryEmbeddingWorkflowId`). Writers signal-with-start it with
 * `memoriesChanged`: a signal that arrives while a batch runs makes it go round once more, so a
 * memory written at any moment is embedded by this run or the next. The batch activity retries with
 * backoff while the endpoint is down; the memories are found by full text meanwhile.
 */
import { defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';

/** Something was written: look for memories without vectors again. */
export const memoriesChangedSignal = defineSignal('memoriesChanged');

export interface EmbedWorkspaceMemoriesInput {
  workspaceId: string;
}

/** Embeds the workspace's pending memories until none is left and no write arrived meanwhile. */
export async function embedWorkspaceMemories(input: EmbedWorkspaceMemoriesInput): Promise<{ embedded: number }> {
  const { embedPendingMemories } = proxyActivities<Activities>({
    startToCloseTimeout: '2 minutes',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20 },
  });
  let changed = true;
  setHandler(memoriesChangedSignal, () => {
    changed = true;
  });
  let embedded = 0;
  while (changed) {
    changed = false;
    for (;;) {
      const batch = await embedPendingMemories({ workspaceId: input.workspaceId });
      embedded += batch.embedded;
      if (!batch.remaining) break;
    }
  }
  return { embedded };
}
