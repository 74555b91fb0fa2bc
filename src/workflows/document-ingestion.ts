/**
 * Ingests one uploaded document in the background: extract its text and cut it into overlapping
 * chunks, embed the chunks batch by batch, then mark it `ready`, or `failed` with the reason.
 *
 * Durable by construction: each step is an activity whose completion is recorded, so a worker that
 * dies mid-ingestion resumes on another worker at the step it was in (a batch of embeddings, not the
 * whole document). The embedding activity retries with backoff while the endpoint is down; the
 * chunks are searchable by full text meanwhile. Deterministic: only activity results drive it.
 */
import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

export interface IngestDocumentInput {
  workspaceId: string;
  documentId: string;
}

export interface IngestDocumentResult {
  status: 'ready' | 'failed';
  chunks: number;
  embeddedChunks: number;
  error?: string;
}

/** Ingests the document; see the module comment for the guarantees. */
export async function ingestDocument(input: IngestDocumentInput): Promise<IngestDocumentResult> {
  const steps = proxyActivities<Activities>({
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '1 minute',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
  });
  const ref = { workspaceId: input.workspaceId, documentId: input.documentId };
  let chunks = 0;
  let embeddedChunks = 0;
  try {
    chunks = (await steps.chunkDocument.executeWithOptions({ startToCloseTimeout: '5 minutes', summary: 'extract text and chunk' }, [ref])).chunks;
    for (;;) {
      const batch = await steps.embedDocumentChunks.executeWithOptions({ startToCloseTimeout: '5 minutes', heartbeatTimeout: '1 minute', summary: `embed chunks · ${embeddedChunks} done` }, [ref]);
      embeddedChunks += batch.embedded;
      if (!batch.remaining) break;
    }
    await steps.finishDocumentIngestion({ ...ref, status: 'ready' });
    return { status: 'ready', chunks, embeddedChunks };
  } catch (error) {
    const cause = error instanceof ActivityFailure && error.cause ? error.cause : error;
    const message = cause instanceof Error ? cause.message : String(cause);
    if (cause instanceof ApplicationFailure && cause.type === 'DocumentNotFound') return { status: 'failed', chunks, embeddedChunks, error: message };
    await steps.finishDocumentIngestion({ ...ref, status: 'failed', error: message });
    return { status: 'failed', chunks, embeddedChunks, error: message };
  }
}
