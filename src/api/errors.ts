/** JSON error answers: every 4xx/5xx names the problem in `error.code` and `error.message`. */
import type { NextFunction, Request, Response } from 'express';

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

/** Express error handler: malformed JSON becomes a 400 and an oversize body a 413, each naming the problem. */
export function errorHandler(error: unknown, _request: Request, response: Response, next: NextFunction) {
  if (response.headersSent) return next(error);
  if (error instanceof ApiError) return sendError(response, error.status, error.code, error.message, error.field, error.details);
  const type = (error as { type?: string }).type;
  if (type === 'entity.parse.failed') return sendError(response, 400, 'invalid_json', 'The body is not valid JSON.');
  if (type === 'entity.too.large') return sendError(response, 413, 'body_too_large', 'The body is larger than the server accepts (MAX_REQUEST_BYTES).');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') return sendError(response, 400, 'invalid_encoding', 'Unsupported body encoding.');
  return sendError(response, 500, 'internal_error', 'Internal error.');
}
