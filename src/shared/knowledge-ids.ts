/**
 * Workflow ids of the background knowledge work, derived from business keys. Each component is
 * URI-encoded, so no workspace or document id can forge another's workflow id. Pure: imported by
 * the API (which starts these workflows) and by workflow code alike.
 */

/** One ingestion per document: uploading starts it, a duplicate start attaches to it. */
export function documentIngestionWorkflowId(workspaceId: string, documentId: string): string {
  return `document-ingestion:${encodeURIComponent(workspaceId)}:${encodeURIComponent(documentId)}`;
}

/** One memory-embedding backfill per workspace at a time; writes signal it to go round again. */
export function memoryEmbeddingWorkflowId(workspaceId: string): string {
  return `memory-embedding:${encodeURIComponent(workspaceId)}`;
}
