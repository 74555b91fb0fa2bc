/**
 * Document ingestion activities, run by the `ingestDocument` workflow (src/workflows/document-ingestion.ts):
 * extract the text and cut it into chunks, embed the chunks in batches, and record the outcome.
 *
 * Each step is idempotent, so a worker that dies mid-ingestion costs only the step it was in: chunking
 * replaces the document's chunks in one transaction, embedding only touches chunks that still lack a
 * vector (and only if their text is unchanged), and the outcome is a plain status update.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import { DocumentRepository } from '../documents/document-repository';
import { chunkText, DEFAULT_CHUNKING } from '../documents/chunking';
import { DocumentUnreadableError, extractDocumentText, isDocumentMediaType } from '../documents/text-extraction';
import type { EmbedderProvider } from '../embeddings/embedder';
import type { Logger } from '../logger';
import { toStoredVector } from './memory';

export interface DocumentActivityDependencies {
  pool: Pool;
  logger: Logger;
  embedders: EmbedderProvider;
}

export interface DocumentRef {
  workspaceId: string;
  documentId: string;
}

/** Chunks embedded per activity call: one embeddings request each, a heartbeat in between. */
export const DOCUMENT_EMBEDDING_BATCH = 64;

export const DOCUMENT_FAILURE_TYPES = {
  notFound: 'DocumentNotFound',
  unreadable: 'DocumentUnreadable',
  empty: 'DocumentEmpty',
} as const;

function heartbeat(details?: unknown) {
  try {
    Context.current().heartbeat(details);
  } catch {
    // Called outside an activity (tests call the functions directly).
  }
}

export function createDocumentActivities(dependencies: DocumentActivityDependencies) {
  const { logger } = dependencies;
  const documents = new DocumentRepository(dependencies.pool);

  /**
   * Extracts the text of the uploaded file and stores its chunks (status `processing`). A document
   * deleted meanwhile, a file that cannot be read, or one without text are non-retryable failures:
   * trying again would not change them.
   */
  async function chunkDocument(input: DocumentRef): Promise<{ chunks: number; characters: number }> {
    const stored = await documents.loadSource(input.workspaceId, input.documentId);
    if (!stored) throw ApplicationFailure.nonRetryable(`Document ${input.documentId} no longer exists`, DOCUMENT_FAILURE_TYPES.notFound);
    if (!stored.source) {
      // Ingested before: the bytes were dropped when it became ready; nothing to redo.
      const existing = await documents.findDocument(input.workspaceId, input.documentId);
      return { chunks: existing?.chunkCount ?? 0, characters: 0 };
    }
    if (!isDocumentMediaType(stored.mediaType)) throw ApplicationFailure.nonRetryable(`Unsupported media type ${stored.mediaType}`, DOCUMENT_FAILURE_TYPES.unreadable);
    let text: string;
    try {
      text = await extractDocumentText(stored.source, stored.mediaType);
    } catch (error) {
      if (error instanceof DocumentUnreadableError) throw ApplicationFailure.nonRetryable(error.message, DOCUMENT_FAILURE_TYPES.unreadable);
      throw error;
    }
    const chunks = chunkText(text, DEFAULT_CHUNKING);
    if (chunks.length === 0) throw ApplicationFailure.nonRetryable('The document has no text (a scanned PDF needs OCR first)', DOCUMENT_FAILURE_TYPES.empty);
    if (!(await documents.replaceChunks(input.workspaceId, input.documentId, text, chunks))) {
      throw ApplicationFailure.nonRetryable(`Document ${input.documentId} no longer exists`, DOCUMENT_FAILURE_TYPES.notFound);
    }
    logger.info({ documentId: input.documentId, chunks: chunks.length, characters: text.length }, 'document chunked');
    return { chunks: chunks.length, characters: text.length };
  }

  /**
   * Embeds the next batch of the document's chunks that have no vector yet; `remaining` says whether
   * more are left. An unavailable embeddings endpoint throws, so Temporal retries with backoff while
   * the chunks stay searchable by full text.
   */
  async function embedDocumentChunks(input: DocumentRef): Promise<{ embedded: number; remaining: boolean }> {
    const embedder = await dependencies.embedders.embedderFor(input.workspaceId);
    const pending = await documents.pendingChunks(input.documentId, embedder.space, DOCUMENT_EMBEDDING_BATCH);
    if (pending.length === 0) return { embedded: 0, remaining: false };
    heartbeat({ chunk: pending[0]!.chunkIndex });
    const embeddings = await embedder.embed(pending.map((chunk) => chunk.content));
    let embedded = 0;
    for (const [index, chunk] of pending.entries()) {
      if (await documents.storeChunkEmbedding(input.documentId, chunk.chunkIndex, chunk.content, toStoredVector(embedder, embeddings[index]!))) embedded++;
    }
    logger.info({ documentId: input.documentId, embedded }, 'document chunks embedded');
    return { embedded, remaining: pending.length === DOCUMENT_EMBEDDING_BATCH };
  }

  /** Records the outcome: `ready` (the uploaded bytes are dropped), or `failed` with the reason shown by the API. */
  async function finishDocumentIngestion(input: DocumentRef & ({ status: 'ready' } | { status: 'failed'; error: string })): Promise<void> {
    await documents.finishIngestion(input.workspaceId, input.documentId, input.status === 'ready' ? { status: 'ready' } : { status: 'failed', error: input.error });
    logger.info({ documentId: input.documentId, status: input.status }, 'document ingestion finished');
  }

  return { chunkDocument, embedDocumentChunks, finishDocumentIngestion };
}
