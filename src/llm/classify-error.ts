/**
 * The one error boundary of the LLM call: errors of the provider request and of its stream are
 * classified here, for Temporal's retry policy (the `openai` client itself runs with
 * `maxRetries: 0`: Temporal owns retries). Store and Redis errors never pass through it: they keep
 * their own types, so a failed write is never mistaken for a model failure.
 *
 * The classification follows the `openai` package's own rules (`shouldRetry`): the server's
 * `x-should-retry` header wins; otherwise 408/409/429/5xx and connection errors are retryable (with
 * `nextRetryDelay` from `retry-after-ms`/`retry-after`), and 400/401/403/404/422 and context-length
 * errors are non-retryable with a stable `type`.
 */
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import OpenAI from 'openai';

export const LLM_ERROR_TYPES = {
  badRequest: 'LlmBadRequest',
  authentication: 'LlmAuthentication',
  permission: 'LlmPermissionDenied',
  notFound: 'LlmNotFound',
  contextLength: 'LlmContextLengthExceeded',
  rateLimited: 'LlmRateLimited',
  server: 'LlmServerError',
  conflict: 'LlmConflict',
  timeout: 'LlmTimeout',
  connection: 'LlmConnectionError',
  streamInterrupted: 'LlmStreamInterrupted',
} as const;

function retryAfterMs(headers: Headers | undefined, now: number): number | undefined {
  const milliseconds = headers?.get('retry-after-ms');
  if (milliseconds && Number.isFinite(Number(milliseconds))) return Number(milliseconds);
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  if (Number.isFinite(Number(value))) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function isContextLengthError(error: InstanceType<typeof OpenAI.APIError>): boolean {
  return error.code === 'context_length_exceeded' || /context.length|maximum context/i.test(error.message);
}

/** The failure type of an HTTP error answer, by the `openai` package's error class. */
function typeOfStatusError(error: InstanceType<typeof OpenAI.APIError>): string {
  if (isContextLengthError(error)) return LLM_ERROR_TYPES.contextLength;
  if (error instanceof OpenAI.AuthenticationError) return LLM_ERROR_TYPES.authentication;
  if (error instanceof OpenAI.PermissionDeniedError) return LLM_ERROR_TYPES.permission;
  if (error instanceof OpenAI.NotFoundError) return LLM_ERROR_TYPES.notFound;
  if (error instanceof OpenAI.RateLimitError) return LLM_ERROR_TYPES.rateLimited;
  if (error instanceof OpenAI.ConflictError) return LLM_ERROR_TYPES.conflict;
  if (error instanceof OpenAI.InternalServerError) return LLM_ERROR_TYPES.server;
  if (error.status === 408) return LLM_ERROR_TYPES.timeout;
  return LLM_ERROR_TYPES.badRequest;
}

/** Whether the `openai` client itself would retry this answer (its `shouldRetry`, header first). */
function providerWouldRetry(error: InstanceType<typeof OpenAI.APIError>): boolean {
  const header = error.headers?.get('x-should-retry');
  if (header === 'true') return true;
  if (header === 'false') return false;
  const status = error.status ?? 0;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * Maps an error of the provider request or its stream to an `ApplicationFailure` Temporal acts on.
 * `partialText` (what the attempt streamed before it failed) travels in the failure's details, so
 * the workflow can keep it when the hop fails for good.
 */
export function classifyLlmError(error: unknown, options: { partialText?: string; now?: number } = {}): ApplicationFailure {
  if (error instanceof ApplicationFailure) return error;
  const details = options.partialText ? [{ partialText: options.partialText }] : [];
  if (error instanceof OpenAI.APIConnectionError) {
    const type = error instanceof OpenAI.APIConnectionTimeoutError ? LLM_ERROR_TYPES.timeout : LLM_ERROR_TYPES.connection;
    return ApplicationFailure.create({ message: `LLM connection failed: ${error.message}`, type, nonRetryable: false, details });
  }
  if (error instanceof OpenAI.APIError && typeof error.status === 'number') {
    const retryable = providerWouldRetry(error) && !isContextLengthError(error);
    return ApplicationFailure.create({
      message: `LLM answered ${error.status}: ${error.message}`,
      type: typeOfStatusError(error),
      nonRetryable: !retryable,
      ...(retryable ? { nextRetryDelay: retryAfterMs(error.headers, options.now ?? Date.now()) } : {}),
      details,
    });
  }
  // An error event inside the stream, a reset connection, a truncated body: the attempt broke off.
  const message = error instanceof Error ? error.message : String(error);
  return ApplicationFailure.create({ message: `LLM stream interrupted: ${message}`, type: LLM_ERROR_TYPES.streamInterrupted, nonRetryable: false, details });
}

/**
 * A failed attempt of a hop whose retry policy restarts quickly (`restartIntervalMs`, for an attempt
 * lost with its worker) waits the agent's own backoff instead: `initialIntervalMs` times
 * `backoffCoefficient` for each attempt after the first, at most `maximumIntervalMs`, unless the failure already says when (a provider's
 * `retry-after`). Non-retryable failures and Temporal's own (a cancellation) pass unchanged; any
 * other error becomes a retryable `ApplicationFailure` of its own name, as the SDK would make it.
 */
export function withRetryBackoff(error: unknown, backoff: { initialIntervalMs: number; backoffCoefficient: number; maximumIntervalMs: number; attempt: number }): unknown {
  const delay = Math.min(backoff.maximumIntervalMs, backoff.initialIntervalMs * backoff.backoffCoefficient ** Math.max(0, backoff.attempt - 1));
  if (error instanceof ApplicationFailure) {
    if (error.nonRetryable || (error.nextRetryDelay !== undefined && error.nextRetryDelay !== null)) return error;
    const paced = ApplicationFailure.create({ message: error.message, type: error.type ?? undefined, nonRetryable: false, details: error.details ?? [], nextRetryDelay: delay, ...(error.cause ? { cause: error.cause } : {}) });
    paced.stack = error.stack;
    return paced;
  }
  if (!(error instanceof Error) || error instanceof TemporalFailure) return error;
  const paced = ApplicationFailure.create({ message: error.message, type: error.name, nonRetryable: false, nextRetryDelay: delay });
  paced.stack = error.stack;
  return paced;
}
