/** JSON error answers: every 4xx/5xx names the problem in `error.code` and `error.message`. */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logger';
import { TemporalUnavailableError } from './temporal-availability';

export function sendError(response: Response, status: number, code: string, message: string, field?: string, details?: Record<string, unknown>) {
  response.status(status).json({ error: { code, message, ...(field ? { field } : {}), ...details } });
}

/**
 * An answer other than success, thrown by a route handler (see `defineRoute`): the error handler
 * sends it as `{"error":{"code","message","field",…details}}`. `details` adds fields such as the
 * agents that still use a connection.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * The Express error handler: malformed JSON or a body that does not decode becomes a 400, an oversize
 * body a 413, a path that does not decode a 400, Temporal out of reach a 503 with `Retry-After`, each
 * naming the problem. Anything else is a 500, logged with the request id the answer carries.
 */
export function createErrorHandler(logger: Logger) {
  return function errorHandler(error: unknown, request: Request, response: Response, next: NextFunction) {
    if (response.headersSent) return next(error);
    if (error instanceof ApiError) return sendError(response, error.status, error.code, error.message, error.field, error.details);
    if (error instanceof TemporalUnavailableError) {
      response.setHeader('Retry-After', String(error.retryAfterSeconds));
      return sendError(response, 503, 'temporal_unavailable', error.message);
    }
    const { type, status } = error as { type?: string; status?: number };
    if (type === 'entity.parse.failed') return sendError(response, 400, 'invalid_json', 'The body is not valid JSON.');
    if (type === 'entity.too.large') return sendError(response, 413, 'body_too_large', 'The body is larger than the server accepts (MAX_REQUEST_BYTES).');
    if (type === 'encoding.unsupported' || type === 'charset.unsupported') return sendError(response, 415, 'invalid_encoding', 'Unsupported body encoding.');
    // The router's `decodeURIComponent` of a path parameter throws a URIError (status 400).
    if (error instanceof URIError) return sendError(response, 400, 'invalid_path', 'The path does not decode as UTF-8.');
    // body-parser and express errors carry the client's fault as a 4xx status (a body that is not gzip, a cut body).
    if (typeof status === 'number' && status >= 400 && status < 500) return sendError(response, status, 'invalid_body', 'The body could not be read as it was declared (Content-Encoding, Content-Length).');
    if (isDatabaseInputError(error)) return sendError(response, 400, 'invalid_request', 'A value of the request cannot be stored (invalid characters).');
    logger.error({ err: error, requestId: requestIdOf(response), method: request.method, path: request.path }, 'request failed');
    return sendError(response, 500, 'internal_error', `Internal error (request id ${requestIdOf(response)}).`, undefined, { requestId: requestIdOf(response) });
  };
}

/** Postgres refusing a value for its characters (NUL in text, invalid byte sequences): the input's fault. */
function isDatabaseInputError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === '22021' || code === '22P05' || code === '54001';
}

/** The id of the request an answer belongs to (set by {@link requestIdMiddleware}). */
export function requestIdOf(response: Response): string {
  return (response.locals.requestId as string | undefined) ?? 'unknown';
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives every request an id: the caller's `X-Request-Id` when it is a plain token, else a new UUID.
 * It goes back in the `X-Request-Id` answer header and into the log lines of failed requests.
 */
export function requestIdMiddleware(request: Request, response: Response, next: NextFunction) {
  const offered = request.header('x-request-id');
  const id = offered && REQUEST_ID_PATTERN.test(offered) ? offered : randomUUID();
  response.locals.requestId = id;
  response.setHeader('X-Request-Id', id);
  next();
}
