/**
 * The one place LLM errors are classified for Temporal's retry policy (the client itself runs with
 * `maxRetries: 0`: Temporal owns retries).
 *
 * 400/401/403/404/422 and context-length errors are non-retryable with a stable `type`;
 * 408/409/429/5xx and connection errors are retryable, with `nextRetryDelay` from `Retry-After`.
 */
import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';

export const LLM_ERROR_TYPES = {
  badRequest: 'LlmBadRequest',
  authentication: 'LlmAuthentication',
  notFound: 'LlmNotFound',
  contextLength: 'LlmContextLengthExceeded',
  rateLimited: 'LlmRateLimited',
  server: 'LlmServerError',
  connection: 'LlmConnectionError',
  streamInterrupted: 'LlmStreamInterrupted',
} as const;

function retryAfterMs(headers: Headers | undefined): number | undefined {
  const value = headers?.get('retry-after-ms') ?? undefined;
  if (value && Number.isFinite(Number(value))) return Number(value);
  const seconds = headers?.get('retry-after');
  if (!seconds) return undefined;
  if (Number.isFinite(Number(seconds))) return Number(seconds) * 1000;
  const date = Date.parse(seconds);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Maps any error thrown while calling the model to an `ApplicationFailure` Temporal acts on. */
export function classifyLlmError(error: unknown): ApplicationFailure {
  if (error instanceof ApplicationFailure) return error;
  if (error instanceof OpenAI.APIConnectionError) {
    return ApplicationFailure.retryable(`LLM connection failed: ${error.message}`, LLM_ERROR_TYPES.connection);
  }
  if (error instanceof OpenAI.APIError && typeof error.status === 'number') {
    const status = error.status;
    const message = `LLM answered ${status}: ${error.message}`;
    const code = (error.code ?? '') as string;
    if (code === 'context_length_exceeded' || /context.length|maximum context/i.test(error.message)) {
      return ApplicationFailure.nonRetryable(message, LLM_ERROR_TYPES.contextLength);
    }
    if (status === 401 || status === 403) return ApplicationFailure.nonRetryable(message, LLM_ERROR_TYPES.authentication);
    if (status === 404) return ApplicationFailure.nonRetryable(message, LLM_ERROR_TYPES.notFound);
    if (status === 400 || status === 422) return ApplicationFailure.nonRetryable(message, LLM_ERROR_TYPES.badRequest);
    if (status === 408 || status === 409 || status === 429 || status >= 500) {
      const delay = retryAfterMs(error.headers as Headers | undefined);
      return ApplicationFailure.create({
        message,
        type: status === 429 ? LLM_ERROR_TYPES.rateLimited : LLM_ERROR_TYPES.server,
        nonRetryable: false,
        nextRetryDelay: delay,
      });
    }
    return ApplicationFailure.nonRetryable(message, LLM_ERROR_TYPES.badRequest);
  }
  const message = error instanceof Error ? error.message : String(error);
  return ApplicationFailure.retryable(`LLM stream interrupted: ${message}`, LLM_ERROR_TYPES.streamInterrupted);
}
