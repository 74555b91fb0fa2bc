/**
 * The events activities publish for one turn. They are stored in the turn's Redis Stream (the
 * replay log) and fanned out on its pub/sub channel; the SSE bridge turns them into the client's
 * protocol. Event kinds are `noun-action`.
 *
 * Pure types and constants: shared by workflow code, activities and the API.
 */

import type { CitedSource } from './sources';

/**
 * Why a turn (or one hop of it) ended, in the project's own words; provider finish reasons are
 * mapped to it once, in the LLM activity, and each client protocol maps it to what it accepts.
 * `tool-limit-reached` is the seed's `tool_limit_reached`; `hop-limit` is its name in turns recorded
 * before this version and is read as the same thing.
 */
export type FinishReason =
  | 'stop'
  | 'length'
  | 'tool-calls'
  | 'content-filter'
  | 'error'
  | 'cancelled'
  | 'tool-limit-reached'
  | 'spend-cap-reached'
  | 'hop-limit'
  | 'other';

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

export type StreamEvent =
  | { kind: 'hop-start'; hop: number; attempt: number }
  | { kind: 'hop-restart'; hop: number; attempt: number }
  | { kind: 'text-delta'; hop: number; attempt: number; delta: string }
  | { kind: 'tool-input-start'; hop: number; attempt: number; toolCallId: string; toolName: string }
  | { kind: 'tool-input-delta'; hop: number; attempt: number; toolCallId: string; delta: string }
  | { kind: 'tool-input-available'; hop: number; attempt?: number; toolCallId: string; toolName: string; input: unknown }
  /** A tool call whose input was still streaming when the hop stopped: it ends as an error, as it is stored. */
  | { kind: 'tool-input-error'; hop: number; toolCallId: string; toolName: string; input: unknown; errorText: string }
  | { kind: 'tool-execution-notice'; hop: number; attempt?: number; toolCount: number; text: string }
  | { kind: 'tool-output-available'; hop: number; toolCallId: string; output: unknown }
  | { kind: 'tool-output-error'; hop: number; toolCallId: string; errorText: string }
  | { kind: 'memory-used'; memories: Array<{ id: string; tier: string; text: string }> }
  /** A recipe stage started or ended (status, and its duration once it ended). */
  | { kind: 'recipe-stage'; index: number; name: string; stageKind: 'prompt' | 'action'; status: 'running' | 'completed' | 'failed' | 'cancelled'; durationMs?: number }
  /** The app actions (MCP tools) the turn offers and the resolution tier that chose them. */
  | { kind: 'app-actions'; tier: string; actions: string[]; megaToolHints?: string[] }
  /** A document passage a knowledge tool returned (see src/shared/sources.ts). */
  | { kind: 'source-cited'; hop: number; source: CitedSource }
  | { kind: 'hop-end'; hop: number; attempt: number; finishReason: FinishReason | null }
  | { kind: 'warning'; hop: number; text: string }
  | { kind: 'usage'; hop: number; attempt?: number; usage: TokenUsage }
  | { kind: 'error'; errorText: string }
  /** A tool call waits for the user's approval (`tool-approval-request`). */
  | { kind: 'tool-approval-request'; hop: number; toolCallId: string; toolName: string; approvalId: string }
  /** The user's (or the timeout's) answer to an approval request. */
  | { kind: 'tool-approval-response'; hop: number; toolCallId: string; approvalId: string; approved: boolean; reason?: string }
  /** A call the user denied: it did not run (`tool-output-denied`). */
  | { kind: 'tool-output-denied'; hop: number; toolCallId: string; reason?: string }
  /** Every request of a round is out: the turn waits. A client that answers with its next POST ends its stream here. */
  | { kind: 'turn-awaiting-approval'; hop: number; approvalIds: string[] }
  /** The turn waits for an earlier turn of the conversation to end (busy policy `queue`). */
  | { kind: 'turn-queued'; behindTurnId: string }
  /** The queued turn starts. */
  | { kind: 'turn-dequeued' }
  /**
   * A conversation-level event (`GET /api/chat/:id/events`): kept in the conversation's own log, so
   * every tab following the chat sees the same events in the same order.
   */
  | { kind: 'conversation-event'; type: ConversationEventType; turnId: string; data?: Record<string, unknown> }
  /** A steering message the model reads from the next hop on. */
  | { kind: 'steering-message'; hop: number; id: string; text: string }
  | {
      kind: 'turn-finish';
      finishReason: FinishReason;
      usage: TokenUsage;
      cached?: boolean;
    };

export type StreamEventKind = StreamEvent['kind'];

/** What happened to a turn of the conversation, as `GET /api/chat/:id/events` streams it. */
export type ConversationEventType =
  | 'turn-started'
  | 'turn-queued'
  | 'turn-dequeued'
  | 'turn-awaiting-approval'
  | 'turn-approval-answered'
  | 'turn-steered'
  | 'turn-finished';

/** An event as read back from the replay log: the Redis Stream entry id is its SSE `id:`. */
export interface LoggedStreamEvent {
  id: string;
  event: StreamEvent;
}

/** The event that closes a turn's stream: after it the bridge ends the response. */
export function isTerminal(event: StreamEvent): boolean {
  return event.kind === 'turn-finish';
}
