/**
 * The LLM error boundary, table-driven: errors built by the `openai` package's own factory
 * (`APIError.generate`, what the client throws for an HTTP error answer) and its connection errors,
 * classified for Temporal's retry policy.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import OpenAI from 'openai';
import { classifyLlmError, LLM_ERROR_TYPES, withRetryBackoff } from '../../src/llm/classify-error';
import { partialTextOf } from '../../src/shared/turn';

function answered(status: number, headers: Record<string, string> = {}, body: object = { error: { message: `status ${status}` } }) {
  return OpenAI.APIError.generate(status, body, undefined, new Headers(headers));
}

describe('classifyLlmError', () => {
  it.each<[string, unknown, { type: string; nonRetryable: boolean; nextRetryDelayMs?: number }]>([
    ['400 bad request', answered(400), { type: LLM_ERROR_TYPES.badRequest, nonRetryable: true }],
    ['401 authentication', answered(401), { type: LLM_ERROR_TYPES.authentication, nonRetryable: true }],
    ['403 permission', answered(403), { type: LLM_ERROR_TYPES.permission, nonRetryable: true }],
    ['404 unknown model', answered(404), { type: LLM_ERROR_TYPES.notFound, nonRetryable: true }],
    ['422 unprocessable', answered(422), { type: LLM_ERROR_TYPES.badRequest, nonRetryable: true }],
    [
      'context length (400 with code context_length_exceeded)',
      answered(400, {}, { error: { message: 'too long', code: 'context_length_exceeded' } }),
      { type: LLM_ERROR_TYPES.contextLength, nonRetryable: true },
    ],
    ['408 timeout', answered(408), { type: LLM_ERROR_TYPES.timeout, nonRetryable: false }],
    ['409 conflict', answered(409), { type: LLM_ERROR_TYPES.conflict, nonRetryable: false }],
    ['429 with retry-after seconds', answered(429, { 'retry-after': '7' }), { type: LLM_ERROR_TYPES.rateLimited, nonRetryable: false, nextRetryDelayMs: 7000 }],
    ['429 with retry-after-ms', answered(429, { 'retry-after-ms': '250' }), { type: LLM_ERROR_TYPES.rateLimited, nonRetryable: false, nextRetryDelayMs: 250 }],
    ['500 server error', answered(500), { type: LLM_ERROR_TYPES.server, nonRetryable: false }],
    ['503 unavailable', answered(503), { type: LLM_ERROR_TYPES.server, nonRetryable: false }],
    ['x-should-retry: false overrides a 503', answered(503, { 'x-should-retry': 'false' }), { type: LLM_ERROR_TYPES.server, nonRetryable: true }],
    ['x-should-retry: true overrides a 400', answered(400, { 'x-should-retry': 'true' }), { type: LLM_ERROR_TYPES.badRequest, nonRetryable: false }],
    ['a refused connection', new OpenAI.APIConnectionError({ message: 'ECONNREFUSED' }), { type: LLM_ERROR_TYPES.connection, nonRetryable: false }],
    ['a connection timeout', new OpenAI.APIConnectionTimeoutError(), { type: LLM_ERROR_TYPES.timeout, nonRetryable: false }],
    ['a stream that broke off', new TypeError('terminated'), { type: LLM_ERROR_TYPES.streamInterrupted, nonRetryable: false }],
  ])('%s', (_case, error, expected) => {
    const failure = classifyLlmError(error);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.type).toBe(expected.type);
    expect(failure.nonRetryable).toBe(expected.nonRetryable);
    if (expected.nextRetryDelayMs !== undefined) expect(failure.nextRetryDelay).toBe(expected.nextRetryDelayMs);
  });

  it('reads an HTTP date in retry-after as the time until then', () => {
    const now = Date.parse('2026-12-01T12:00:00Z');
    const failure = classifyLlmError(answered(429, { 'retry-after': 'Tue, 01 Dec 2026 12:00:30 GMT' }), { now });
    expect(failure.nextRetryDelay).toBe(30_000);
  });

  it('carries the text the attempt streamed before it failed, for the workflow to keep', () => {
    const failure = classifyLlmError(new TypeError('terminated'), { partialText: 'Half an ans' });
    expect(partialTextOf(failure)).toBe('Half an ans');
    expect(partialTextOf(classifyLlmError(answered(500)))).toBe('');
  });

  it('passes an ApplicationFailure through unchanged', () => {
    const original = ApplicationFailure.nonRetryable('already classified', 'Custom');
    expect(classifyLlmError(original)).toBe(original);
  });
});

describe('withRetryBackoff', () => {
  const backoff = (attempt: number) => ({ initialIntervalMs: 300, backoffCoefficient: 2, maximumIntervalMs: 2_000, attempt });

  it("waits the agent's interval after a failed attempt, doubled for each attempt and capped", () => {
    const delays = [1, 2, 3, 4, 5].map((attempt) => (withRetryBackoff(classifyLlmError(answered(500)), backoff(attempt)) as ApplicationFailure).nextRetryDelay);
    expect(delays).toEqual([300, 600, 1_200, 2_000, 2_000]);
  });

  it("keeps the failure's type, details and the provider's own retry-after", () => {
    const paced = withRetryBackoff(classifyLlmError(new TypeError('terminated'), { partialText: 'Half' }), backoff(1)) as ApplicationFailure;
    expect(paced.type).toBe(LLM_ERROR_TYPES.streamInterrupted);
    expect(partialTextOf(paced)).toBe('Half');
    const limited = classifyLlmError(answered(429, { 'retry-after': '7' }));
    expect(withRetryBackoff(limited, backoff(1))).toBe(limited);
  });

  it('leaves non-retryable failures and cancellations alone, and paces any other error under its own name', () => {
    const final = classifyLlmError(answered(401));
    expect(withRetryBackoff(final, backoff(1))).toBe(final);
    const cancelled = new CancelledFailure('Stopped by the user');
    expect(withRetryBackoff(cancelled, backoff(1))).toBe(cancelled);
    const store = withRetryBackoff(new RangeError('pool is draining'), backoff(2)) as ApplicationFailure;
    expect(store).toBeInstanceOf(ApplicationFailure);
    expect([store.type, store.message, store.nonRetryable, store.nextRetryDelay]).toEqual(['RangeError', 'pool is draining', false, 600]);
  });
});
