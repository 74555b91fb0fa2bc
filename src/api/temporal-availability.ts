/**
 * Calls from the API to Temporal within a deadline. While the Temporal server is away the client
 * retries a refused connection for about twenty seconds; a request should not hang that long. Past
 * the deadline, or on a connection the server refused, the call fails with
 * {@link TemporalUnavailableError}, which the error handler answers as 503 with `Retry-After`.
 */
import { isGrpcDeadlineError, isGrpcServiceError, type Client } from '@temporalio/client';

/** gRPC status codes that mean "the server could not be reached in time". */
const UNAVAILABLE = 14;
const DEADLINE_EXCEEDED = 4;

export class TemporalUnavailableError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('Temporal cannot be reached right now; nothing was started. Try again shortly.');
    this.name = 'TemporalUnavailableError';
  }
}

/** Whether an error of the Temporal client (or its cause) says the server could not be reached in time. */
export function isTemporalUnreachable(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = (current as Error).cause, depth++) {
    const candidate: unknown = current;
    if (isGrpcDeadlineError(candidate)) return true;
    if (isGrpcServiceError(candidate) && (candidate.code === UNAVAILABLE || candidate.code === DEADLINE_EXCEEDED)) return true;
  }
  return false;
}

/** Runs `call` with a deadline of `timeoutMs`; an unreachable server becomes {@link TemporalUnavailableError}. */
export async function withinTemporalDeadline<R>(client: Client, timeoutMs: number, call: () => Promise<R>): Promise<R> {
  try {
    return await client.withDeadline(Date.now() + timeoutMs, call);
  } catch (error) {
    if (isTemporalUnreachable(error)) throw new TemporalUnavailableError(Math.max(1, Math.ceil(timeoutMs / 1000)));
    throw error;
  }
}
