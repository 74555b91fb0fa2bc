/**
 * What Postgres `jsonb` and a sane request accept, checked once at the boundary: no NUL character
 * and no unpaired UTF-16 surrogate in any string or key (jsonb rejects both, which would make a
 * turn fail after it was accepted), and no nesting deeper than a chat message needs.
 */
import type { NextFunction, Request, Response } from 'express';
import { sendError } from './errors';

/** Deepest nesting accepted inside one message part. */
export const MAX_JSON_DEPTH = 32;

export interface JsonProblem {
  /** Path of the offending value, e.g. `messages.0.parts.1.text`. */
  path: string;
  message: string;
}

function problemOfString(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain the NUL character';
  if (!text.isWellFormed()) return 'must not contain an unpaired UTF-16 surrogate';
  return undefined;
}

/** Deepest nesting accepted in any request body (a chat message's parts sit a few levels down). */
export const MAX_BODY_DEPTH = 64;

/** The first problem in `value`, or undefined when it is safe to store. */
export function findJsonProblem(value: unknown, path: Array<string | number> = [], depth = 0, maxDepth = MAX_JSON_DEPTH): JsonProblem | undefined {
  const at = (message: string, extra?: string | number): JsonProblem => ({ path: [...path, ...(extra === undefined ? [] : [extra])].join('.'), message });
  if (typeof value === 'string') {
    const problem = problemOfString(value);
    return problem ? at(problem) : undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (depth >= maxDepth) return at(`is nested deeper than ${maxDepth} levels`);
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const problem = findJsonProblem(item, [...path, index], depth + 1, maxDepth);
      if (problem) return problem;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    const keyProblem = problemOfString(key);
    if (keyProblem) return at(`has a key that ${keyProblem}`, key);
    const problem = findJsonProblem(item, [...path, key], depth + 1, maxDepth);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * Express middleware after the JSON parser: a body with NUL, an unpaired surrogate or nesting deeper
 * than {@link MAX_BODY_DEPTH} is a 400 naming the field, on every route, before anything is stored.
 */
export function rejectUnsafeJson(request: Request, response: Response, next: NextFunction) {
  if (request.body !== null && typeof request.body === 'object') {
    const problem = findJsonProblem(request.body, [], 0, MAX_BODY_DEPTH);
    if (problem) return sendError(response, 400, 'invalid_request', `${problem.path || 'body'}: ${problem.message}`, problem.path || undefined);
  }
  next();
}
