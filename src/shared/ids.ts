/**
 * Ids derived from business keys. Pure: imported by workflow code and by the API alike.
 */

/** The workflow id of one chat turn: one conversation, one request (the user message id). */
export function turnWorkflowId(conversationId: string, requestId: string): string {
  return `chat:${conversationId}:${requestId}`;
}

/**
 * The persisted assistant message id of a turn. Derived from the request id so that the API can
 * announce it in the `start` chunk before the workflow has run a single task, and a resumed or
 * duplicate stream carries the same id.
 */
export function assistantMessageId(requestId: string): string {
  return `${requestId}-assistant`;
}

/** Idempotency key of one tool call: stable across activity retries and workflow replays. */
export function toolCallKey(turnId: string, hop: number, toolCallId: string): string {
  return `${turnId}:${hop}:${toolCallId}`;
}
