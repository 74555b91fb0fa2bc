/**
 * The shapes that cross the workflow boundary for a chat turn. Kept small: ids, decisions and this
 * turn's new messages go through history; conversation history and memories load in activities.
 */
import type { StoredMessage } from './messages';
import type { FinishReason, TokenUsage } from './stream-events';

export interface TurnOptions {
  /** How long the streaming activity may go without a heartbeat before Temporal retries it elsewhere. */
  heartbeatTimeoutMs: number;
  llmStartToCloseTimeoutMs: number;
}

export interface ChatTurnInput {
  turnId: string;
  conversationId: string;
  requestId: string;
  /** The persisted assistant message id, announced in the stream's `start` chunk. */
  messageId: string;
  workspaceId: string;
  userId: string;
  agentId?: string;
  useSystemLlm?: boolean;
  /** An embedded widget: the workspace memory tier is skipped so nothing leaks across users. */
  widgetMode?: boolean;
  userMessage: StoredMessage;
  options: TurnOptions;
  /** The conversation still has the title it was created with: name it after this answer. */
  titleNeeded?: boolean;
}

/** What a turn needs of its agent. Credentials never appear here: activities resolve them. */
export interface AgentConfiguration {
  agentId: string;
  workspaceId: string;
  name: string;
  model: string;
  systemPrompt: string;
  temperature?: number;
  maxHops: number;
  allowedTools: string[];
  contextWindow: number;
  memoryEnabled: boolean;
  /** Retry policy of this agent's LLM hops (absent in turns recorded before it existed). */
  llmRetry?: { maximumAttempts: number; initialIntervalMs: number };
}

export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** A message this turn added to the model's context after the user message (tool hops). */
export type TurnMessage =
  | { role: 'assistant'; content: string; toolCalls: ToolCall[] }
  | { role: 'tool'; toolCallId: string; content: string };

export interface HopResult {
  hop: number;
  attempt: number;
  content: string;
  toolCalls: ToolCall[];
  finishReason: string | null;
  usage: TokenUsage;
}

export interface ChatTurnResult {
  messageId: string;
  finishReason: FinishReason;
  text: string;
  hops: number;
  usage: TokenUsage;
}

export type TurnStatus = 'starting' | 'streaming' | 'running-tools' | 'finalizing' | 'completed' | 'cancelled' | 'failed';

/** Answer of the workflow's `state` query. */
export interface TurnState {
  status: TurnStatus;
  hop: number;
  usage: TokenUsage;
  toolCalls: number;
  lastError?: string;
}

/** A memory injected into this turn's system prompt (and reported to the client). */
export interface TurnMemory {
  id: string;
  tier: 'workspace' | 'session';
  text: string;
}

/** One tool call's result as the turn records it: executed, reused from an identical call, or skipped. */
export interface RecordedToolResult {
  toolCallId: string;
  toolName: string;
  input: unknown;
  content: string;
  isError: boolean;
  output: unknown;
  decision: 'executed' | 'reused' | 'skipped';
}
