/**
 * The one classification point for failures while a tool runs. A tool failure is an answer the model
 * reads and reacts to (a missing file, a refused path); an infrastructure failure (the database is
 * unreachable) is thrown so that Temporal retries the activity.
 */

/** A failure the model should read, with a message safe to show it (no host paths, no secrets). */
export class ToolError extends Error {
  override readonly name = 'ToolError';
}

const NETWORK_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * SQLSTATEs worth a retry: connection exceptions (08), insufficient resources (53), operator
 * intervention such as a server shutting down (57P), system errors (58), serialization failures and
 * deadlocks (40001, 40P01) and lock timeouts (55P03).
 */
function isRetryableSqlState(code: string): boolean {
  return ['08', '53', '57P', '58'].some((prefix) => code.startsWith(prefix)) || ['40001', '40P01', '55P03'].includes(code);
}

const CONNECTION_FAILURE_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /client has encountered a connection error/i,
  /cannot use a pool after calling end/i,
  /client was closed and is not queryable/i,
];

/** True when retrying later may succeed because the failure was in the infrastructure, not the tool. */
export function isInfrastructureError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK_ERROR_CODES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && isRetryableSqlState(code)) return true;
  }
  return CONNECTION_FAILURE_MESSAGES.some((pattern) => pattern.test(error.message));
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
