/**
 * Document routes: the workspace's knowledge for `search_knowledge` and `semantic_search`.
 *
 * - `POST /api/documents`: upload text, Markdown or PDF, either as the raw body with its content type
 *   (`?title=&filename=` in the query) or as JSON `{title, text, mediaType?, filename?}`. Answers 202
 *   with the document in status `pending`; the `ingestDocument` workflow extracts, chunks and embeds
 *   it in the background (a worker crash resumes it), and `status` becomes `ready` or `failed`.
 * - `GET /api/documents`, `GET /api/documents/:id`: status, chunk count, embedded chunks, error.
 * - `GET /api/documents/:id/chunks/:index`: one passage, what a citation points at.
 * - `DELETE /api/documents/:id`: the document and its chunks.
 * A document of another workspace answers 404, like one that never existed.
 */
import path from 'node:path';
import express, { Router, type Request, type Response } from 'express';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { z } from 'zod';
import { DocumentRepository, type KnowledgeDocument } from '../../documents/document-repository';
import { isDocumentMediaType, type DocumentMediaType } from '../../documents/text-extraction';
import type { Logger } from '../../logger';
import { documentIngestionWorkflowId } from '../../shared/knowledge-ids';
import type { ingestDocument } from '../../workflows/document-ingestion';
import { principalOf } from '../auth';
import { sendError } from '../errors';
import { describeIssue } from '../validation';

export interface DocumentRouteDependencies {
  pool: Pool;
  logger: Logger;
  temporal: Client;
  taskQueue: string;
  /** Largest upload accepted. */
  maxBytes: number;
}

const RAW_TYPES = ['text/plain', 'text/markdown', 'text/x-markdown', 'application/pdf', 'application/octet-stream'];

const EXTENSION_TYPES: Readonly<Record<string, DocumentMediaType>> = {
  '.txt': 'text/plain',
  '.text': 'text/plain',
  '.md': 'text/markdown',
  '.markdown': 'text/markdown',
  '.pdf': 'application/pdf',
};

const titleSchema = z.string().trim().min(1, 'must not be empty').max(300, 'must be at most 300 characters');
const filenameSchema = z
  .string()
  .trim()
  .min(1)
  .max(255)
  .refine((name) => !name.includes('/') && !name.includes('\\') && !name.includes('\0'), 'must be a file name, not a path');

export const jsonUploadSchema = z.object({
  title: titleSchema,
  text: z.string().refine((text) => text.trim().length > 0, 'must not be empty'),
  mediaType: z.enum(['text/plain', 'text/markdown']).default('text/plain'),
  filename: filenameSchema.optional(),
});

export const rawUploadQuerySchema = z.object({ title: titleSchema.optional(), filename: filenameSchema.optional() });
export const documentPageSchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
const documentIdSchema = z.string().regex(/^doc_[0-9a-f-]{36}$/);

function toWire(document: KnowledgeDocument) {
  return {
    id: document.id,
    title: document.title,
    ...(document.filename ? { filename: document.filename } : {}),
    mediaType: document.mediaType,
    byteSize: document.byteSize,
    status: document.status,
    chunkCount: document.chunkCount,
    embeddedChunks: document.embeddedChunks,
    ...(document.error ? { error: document.error } : {}),
    createdAt: document.createdAt.toISOString(),
    updatedAt: document.updatedAt.toISOString(),
  };
}

/** The media type of a raw upload: its content type, or for `application/octet-stream` the file extension. */
function mediaTypeOf(contentType: string, filename: string | undefined): DocumentMediaType | undefined {
  const base = contentType.split(';')[0]!.trim().toLowerCase();
  if (base === 'text/x-markdown') return 'text/markdown';
  if (isDocumentMediaType(base)) return base;
  if (base === 'application/octet-stream' && filename) return EXTENSION_TYPES[path.extname(filename).toLowerCase()];
  return undefined;
}

export function createDocumentRouter(dependencies: DocumentRouteDependencies): Router {
  const { logger, temporal, taskQueue } = dependencies;
  const documents = new DocumentRepository(dependencies.pool);
  const router = Router();

  /** Uploads a document and starts its ingestion; see the module comment. Nothing starts on a bad request. */
  router.post('/documents', express.raw({ type: RAW_TYPES, limit: dependencies.maxBytes }), async (request: Request, response: Response) => {
    const principal = principalOf(request);
    const contentType = request.header('content-type') ?? '';
    let upload: { title: string; filename?: string; mediaType: DocumentMediaType; source: Buffer };
    if (Buffer.isBuffer(request.body)) {
      const query = rawUploadQuerySchema.safeParse(request.query);
      if (!query.success) {
        const { field, message } = describeIssue(query.error, 'query');
        return sendError(response, 400, 'invalid_request', message, field);
      }
      const mediaType = mediaTypeOf(contentType, query.data.filename);
      if (!mediaType) return sendError(response, 415, 'unsupported_media_type', 'Upload text/plain, text/markdown or application/pdf (or octet-stream with a .txt, .md or .pdf filename).');
      if (request.body.length === 0) return sendError(response, 400, 'invalid_request', 'body: the file is empty', 'body');
      upload = {
        title: query.data.title ?? query.data.filename ?? 'Untitled',
        ...(query.data.filename ? { filename: query.data.filename } : {}),
        mediaType,
        source: request.body,
      };
    } else if (/^application\/json\b/i.test(contentType)) {
      const parsed = jsonUploadSchema.safeParse(request.body ?? {});
      if (!parsed.success) {
        const { field, message } = describeIssue(parsed.error, 'body');
        return sendError(response, 400, 'invalid_request', message, field);
      }
      const source = Buffer.from(parsed.data.text, 'utf8');
      if (source.length > dependencies.maxBytes) return sendError(response, 400, 'body_too_large', 'The document is larger than the server accepts.', 'text');
      upload = { title: parsed.data.title, ...(parsed.data.filename ? { filename: parsed.data.filename } : {}), mediaType: parsed.data.mediaType, source };
    } else {
      return sendError(response, 415, 'unsupported_media_type', 'Upload text/plain, text/markdown or application/pdf, or JSON {title, text}.');
    }

    const document = await documents.createDocument({ workspaceId: principal.workspaceId, userId: principal.userId, ...upload });
    try {
      await temporal.workflow.start<typeof ingestDocument>('ingestDocument', {
        taskQueue,
        workflowId: documentIngestionWorkflowId(principal.workspaceId, document.id),
        args: [{ workspaceId: principal.workspaceId, documentId: document.id }],
        staticSummary: `ingest ${upload.title.slice(0, 100)}`,
      });
    } catch (error) {
      // No ingestion, no document: the client may simply upload again.
      await documents.deleteDocument(principal.workspaceId, document.id);
      throw error;
    }
    logger.info({ workspaceId: principal.workspaceId, documentId: document.id, mediaType: upload.mediaType, bytes: upload.source.length }, 'document uploaded');
    response.status(202).json({ document: toWire(document) });
  });

  /** The workspace's documents, newest first; `limit` (1–200, default 50) and `offset` page. */
  router.get('/documents', async (request: Request, response: Response) => {
    const parsed = documentPageSchema.safeParse(request.query);
    if (!parsed.success) {
      const { field, message } = describeIssue(parsed.error, 'query');
      return sendError(response, 400, 'invalid_request', message, field);
    }
    const page = await documents.listDocuments(principalOf(request).workspaceId, parsed.data);
    response.json({ documents: page.map(toWire) });
  });

  /** One document and its ingestion status, or 404. */
  router.get('/documents/:id', async (request: Request<{ id: string }>, response: Response) => {
    const workspaceId = principalOf(request).workspaceId;
    const document = documentIdSchema.safeParse(request.params.id).success ? await documents.findDocument(workspaceId, request.params.id) : undefined;
    if (!document) return sendError(response, 404, 'document_not_found', 'Document not found.');
    response.json({ document: toWire(document) });
  });

  /** One passage of a document (what a citation's `sourceId` `<documentId>#<chunkIndex>` points at), or 404. */
  router.get('/documents/:id/chunks/:index', async (request: Request<{ id: string; index: string }>, response: Response) => {
    const workspaceId = principalOf(request).workspaceId;
    const index = Number(request.params.index);
    const found =
      documentIdSchema.safeParse(request.params.id).success && Number.isInteger(index) && index >= 0
        ? await documents.findChunk(workspaceId, request.params.id, index)
        : undefined;
    if (!found) return sendError(response, 404, 'chunk_not_found', 'Passage not found.');
    const document = await documents.findDocument(workspaceId, request.params.id);
    response.json({ chunk: { documentId: request.params.id, chunkIndex: index, title: document?.title, content: found.content, start: found.start, end: found.end } });
  });

  /** Deletes a document and its chunks: 204, or 404. */
  router.delete('/documents/:id', async (request: Request<{ id: string }>, response: Response) => {
    const workspaceId = principalOf(request).workspaceId;
    const deleted = documentIdSchema.safeParse(request.params.id).success && (await documents.deleteDocument(workspaceId, request.params.id));
    if (!deleted) return sendError(response, 404, 'document_not_found', 'Document not found.');
    logger.info({ workspaceId, documentId: request.params.id }, 'document deleted');
    response.status(204).end();
  });

  return router;
}
