/**
 * The timeouts, retry policies and limits of a chat turn, named in one place. Pure constants:
 * workflow code builds its activity proxies from them, and the API and activities read the same
 * numbers, so a limit is never written twice.
 *
 * Every retry policy is bounded: whatever the input, a turn ends. A step that keeps failing fails
 * the turn with a clear error (streamed and stored) instead of retrying forever.
 */

import type { ActivityOptions, LocalActivityOptions, RetryPolicy } from '@temporalio/common';

/** Error types that no retry can fix: the input itself is wrong. */
export const NON_RETRYABLE_INPUT_ERRORS = ['InvalidInput', 'AgentNotFound', 'ConversationNotFound'] as const;

/**
 * Short Postgres/Redis steps of a turn (persist the user message, activate the agent, record tool
 * results, finalize). They run as local activities: inside the workflow task, no server round trip.
 * About two and a half minutes of retries ride out a database restart; then the turn fails.
 */
export const STORE_STEP: LocalActivityOptions = {
  startToCloseTimeout: '30 seconds',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 20, nonRetryableErrorTypes: [...NON_RETRYABLE_INPUT_ERRORS] },
};

/** Memory retrieval: a failure is logged inside the activity and the turn goes on without memory. */
export const MEMORY_STEP: LocalActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '2 seconds', maximumAttempts: 3 },
};

/**
 * The steps after the answer (a new conversation's title, memory extraction; before `after-turn-v1`,
 * extraction alone): regular activities on the activity workers, whose model calls may take seconds.
 * The answer is stored and streamed already: after a few attempts the turn ends without them.
 */
export const AFTER_ANSWER_STEP: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 3, nonRetryableErrorTypes: [...NON_RETRYABLE_INPUT_ERRORS] },
};

/** The conversation's title: one short model call after the first answer (the title workflow's policy). */
export const TITLE_STEP: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 4 },
};

/**
 * The turn's first step (`turn-start-v1`): store the message and activate the agent, then retrieve
 * memory and guard the context, as one local activity. Its timeout is the context guard's (which may
 * call the model); its retries are the store steps' (they ride out a database restart).
 */
export const BEGIN_TURN_STEP: LocalActivityOptions = {
  startToCloseTimeout: '2 minutes',
  localRetryThreshold: '10 seconds',
  retry: STORE_STEP.retry,
};

/** The context guard may call the model to condense older messages. */
export const CONTEXT_GUARD_STEP: LocalActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '20 seconds', maximumAttempts: 4 },
};

/** One tool call: its own activity, heartbeating, so a dead worker's call is retried in seconds. */
export const TOOL_CALL: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '5 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5 },
};

/**
 * A queued turn waiting for the running one to end: a heartbeating activity that polls the store.
 * Bounded: after half an hour the queued turn starts anyway (a turn that never ended must not block
 * the conversation forever).
 */
export const QUEUE_WAIT_STEP: ActivityOptions = {
  startToCloseTimeout: '31 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 10 },
};

/**
 * How soon a hop lost with its worker (heartbeat or start-to-close timeout) starts again: the first
 * interval of the hop's retry policy. Failures the hop reports itself (the provider's errors, a
 * broken stream) wait the agent's own backoff instead (`llmInitialRetryIntervalMs`, doubled per
 * attempt), which the activity sets on its failure (`withRetryBackoff`).
 */
export const LLM_RESTART_INTERVAL_MS = 100;

/** The longest wait between two attempts of a hop. */
export const LLM_HOP_MAXIMUM_INTERVAL_MS = 30_000;

/** The LLM hop's default retry policy; an agent may set its own attempts and first interval. */
export const LLM_HOP_RETRY: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: LLM_HOP_MAXIMUM_INTERVAL_MS,
  maximumAttempts: 6,
};

/** Tool rounds per turn when the agent does not say (the seed's "max 10 iterations"). */
export const DEFAULT_MAX_TOOL_ROUNDS = 10;

/** How long a worker that died holding the turn's workflow task keeps it from the next worker. */
export const WORKFLOW_TASK_TIMEOUT = '3 seconds';

/** Longest text of one user message, in characters. */
export const MAX_MESSAGE_TEXT_CHARACTERS = 100_000;

/** Longest `Last-Event-ID` accepted on resume (a Redis stream id is at most 41 characters). */
export const MAX_LAST_EVENT_ID_LENGTH = 64;
