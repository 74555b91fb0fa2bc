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
  /** Exact tool names (or `prefix*` patterns) the client expects this turn to need: offered first. */
  toolHints?: string[];
  /** An embedded widget: the workspace memory tier is skipped so nothing leaks across users. */
  widgetMode?: boolean;
  userMessage: StoredMessage;
  options: TurnOptions;
}

/** The id of the deployment's own LLM endpoint (`OPENAI_BASE_URL`), which is not a workspace connection. */
export const SYSTEM_CONNECTION_ID = 'system';

/**
 * The LLM connection a turn runs on: ids and names only. The LLM activity loads this exact version
 * and opens its key itself, so no credential ever enters workflow history or activity arguments.
 */
export interface LlmConnectionReference {
  /** A workspace connection id, or {@link SYSTEM_CONNECTION_ID}. */
  id: string;
  /** Versions are immutable: a turn keeps the version it was activated with until it ends. */
  version: number;
  name: string;
  provider: string;
  /** True for a workspace connection (the customer's own key): usage rows are marked BYOK. */
  byok: boolean;
}

/** A skill version a turn ran with. */
export interface SkillUse {
  id: string;
  name: string;
  version: number;
}

/**
 * Why a tool was offered: named in the request's or a skill's `toolHints`, named in the user's
 * message, found by the search over names and descriptions, or (nothing matched) the agent's tools
 * in catalogue order up to the cap.
 */
export type ToolSelectionReason = 'hint' | 'mention' | 'search' | 'fallback';

/** The tools this turn offers the model, decided once at activation and recorded in history. */
export interface ToolSelection {
  tools: Array<{ name: string; reason: ToolSelectionReason }>;
  /** The most tools a turn may offer (the agent's cap, or the deployment's). */
  cap: number;
  /** Hints that named no tool the agent may use. */
  ignoredHints?: string[];
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
  /** The LLM connection; absent in turns recorded before connections existed (the deployment's). */
  connection?: LlmConnectionReference;
  /** Models to try, in order, when the model fails (same connection). */
  fallbackModels?: string[];
  /** Skill versions merged into this configuration, in merge order. */
  skills?: SkillUse[];
  /** The tools offered this turn; absent in older turns (then every allowed tool is offered). */
  toolSelection?: ToolSelection;
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
  /** What the turn was activated with: agent, model, connection, skill versions, offered tools. */
  activation?: {
    agentId: string;
    model: string;
    connection?: { id: string; version: number; provider: string };
    skills: SkillUse[];
    tools: string[];
  };
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
