/**
 * Serving stored files: `GET /api/generated-images/:id` (images an answer held inline) and
 * `GET /api/attachments/:id` (files users attached). Both look the id up under the caller's own
 * workspace only, so another workspace's id answers 404 exactly like an unknown one and reveals
 * nothing. Ids come from the content, so a response never changes: it is cached privately (the
 * request carries an API key) for a year, with the id as ETag.
 */
import { Router, type Request, type Response } from 'express';
import type { Attachments } from '../../storage/attachments';
import type { GeneratedImages } from '../../storage/generated-images';
import type { StoredObject } from '../../storage/object-store';
import { principalOf } from '../auth';
import { sendError } from '../errors';

export interface FileRouteDependencies {
  generatedImages: GeneratedImages;
  attachments: Attachments;
}

function sendStored(request: Request, response: Response, id: string, stored: StoredObject, disposition: 'inline' | 'attachment') {
  const etag = `"${id}"`;
  response.setHeader('Cache-Control', 'private, max-age=31536000, immutable');
  response.setHeader('ETag', etag);
  // Stored bytes are never run as a page of this origin (an SVG or an uploaded HTML file included).
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.setHeader('Content-Security-Policy', "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox");
  response.setHeader('Content-Disposition', disposition);
  if (request.header('if-none-match') === etag) return response.status(304).end();
  response.setHeader('Content-Type', stored.contentType);
  response.setHeader('Content-Length', String(stored.size));
  return response.status(200).end(stored.body);
}

export function createFileRouter(dependencies: FileRouteDependencies): Router {
  const router = Router();

  /** An image of an answer, for the caller's workspace only (404 otherwise). */
  router.get('/generated-images/:id', async (request: Request<{ id: string }>, response: Response) => {
    const principal = principalOf(request);
    const stored = await dependencies.generatedImages.find(principal.workspaceId, request.params.id);
    if (!stored) return sendError(response, 404, 'image_not_found', 'Image not found.');
    return sendStored(request, response, request.params.id, stored, 'inline');
  });

  /** A file a user attached, for the caller's workspace only (404 otherwise); only images display inline. */
  router.get('/attachments/:id', async (request: Request<{ id: string }>, response: Response) => {
    const principal = principalOf(request);
    const stored = await dependencies.attachments.find(principal.workspaceId, request.params.id);
    if (!stored) return sendError(response, 404, 'attachment_not_found', 'Attachment not found.');
    return sendStored(request, response, request.params.id, stored, stored.contentType.startsWith('image/') ? 'inline' : 'attachment');
  });

  return router;
}
