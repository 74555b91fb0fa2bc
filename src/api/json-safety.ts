/**
 * What Postgres `jsonb` and a sane request accept, checked once at the boundary: no NUL character
 * and no unpaired UTF-16 surrogate in any string or key (jsonb rejects both, which would make a
 * turn fail after it was accepted), and no nesting deeper than a chat message needs.
 */

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

/** The first problem in `value`, or undefined when it is safe to store. */
export function findJsonProblem(value: unknown, path: Array<string | number> = [], depth = 0): JsonProblem | undefined {
  const at = (message: string, extra?: string | number): JsonProblem => ({ path: [...path, ...(extra === undefined ? [] : [extra])].join('.'), message });
  if (typeof value === 'string') {
    const problem = problemOfString(value);
    return problem ? at(problem) : undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (depth >= MAX_JSON_DEPTH) return at(`is nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const problem = findJsonProblem(item, [...path, index], depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    const keyProblem = problemOfString(key);
    if (keyProblem) return at(`has a key that ${keyProblem}`, key);
    const problem = findJsonProblem(item, [...path, key], depth + 1);
    if (problem) return problem;
  }
  return undefined;
}
