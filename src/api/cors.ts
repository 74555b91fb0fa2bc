/**
 * CORS for `/api`, so a chat app served from another origin (a separate front end, a widget host)
 * can call the API with its API key. Only the origins in `CORS_ORIGINS` get CORS headers; `*` allows
 * any origin, which is safe here because credentials travel in the `Authorization` header, never in
 * cookies. Preflights are answered here, before API-key auth (browsers send them without the key).
 */
import type { NextFunction, Request, Response } from 'express';
import { sendError } from './errors';

/** Request headers a browser client sends: the key, JSON bodies, the AI SDK version, resume position. */
const ALLOWED_HEADERS = 'Authorization, Content-Type, X-AI-SDK-Version, Last-Event-ID';
/** Response headers a client may read: the stream protocol markers. */
const EXPOSED_HEADERS = 'X-Vercel-AI-UI-Message-Stream, X-Vercel-AI-Data-Stream';

export function corsForApi(allowedOrigins: readonly string[]) {
  const anyOrigin = allowedOrigins.includes('*');
  const origins = new Set(allowedOrigins);
  return (request: Request, response: Response, next: NextFunction) => {
    const origin = request.header('origin');
    const preflight = request.method === 'OPTIONS' && request.header('access-control-request-method') !== undefined;
    if (!origin || allowedOrigins.length === 0) return preflight ? response.status(204).end() : next();
    response.vary('Origin');
    if (!anyOrigin && !origins.has(origin)) {
      if (preflight) return sendError(response, 403, 'origin_not_allowed', `Origin ${origin} is not allowed: add it to CORS_ORIGINS.`);
      return next();
    }
    response.setHeader('Access-Control-Allow-Origin', anyOrigin ? '*' : origin);
    response.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    if (!preflight) return next();
    response.setHeader('Access-Control-Allow-Methods', 'GET, POST, PATCH, DELETE, OPTIONS');
    response.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    response.setHeader('Access-Control-Max-Age', '600');
    response.status(204).end();
  };
}
