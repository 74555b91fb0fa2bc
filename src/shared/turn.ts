/**
 * The shapes that cross the workflow boundary for a chat turn. Kept small: ids, decisions and this
 * turn's new messages go through history; conversation history and memories load in activities.
 * Provider shapes (OpenAI chunks, finish reasons, argument text) stop at the LLM activity: what
 * comes back is the project's own types below.
 */
import type { StoredMessage } from './messages';
import type { TurnBudget } from './spend-caps';
import type { FinishReason, TokenUsage } from './stream-events';
import type { TurnApproval } from './turn-control';

export interface TurnOptions {
  /** How long the streaming activity may go without a heartbeat before Temporal retries it elsewhere. */
  heartbeatTimeoutMs: number;
  llmStartToCloseTimeoutMs: number;
}

export interface ChatTurnInput {
  /** The workflow id (`turnWorkflowId`). */
  turnId: string;
  /** The conversation key (`conversationKey(workspaceId, chatId)`): unique across workspaces. */
  conversationId: string;
  /** The turn key (`turnKey`): the user message id, or a regenerated answer's own key. */
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
  /** Set when this turn regenerates an earlier answer to the same user message (kept in history). */
  regenerates?: string;
  options: TurnOptions;
  /** The conversation still has the title it was created with: name it after this answer. */
  titleNeeded?: boolean;
  /** Busy policy `queue`: the turn (workflow id) this one waits for before it starts. */
  queuedBehind?: string;
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

/**
 * The app actions (MCP server tools) a turn offers and the tier that found them: exact hints, the
 * search over the cached catalogue, the whole cached catalogue, or the `app_execute` mega-tool (see
 * src/tools/app-action-resolution.ts). Decided once at activation and recorded in history.
 */
export interface AppActionResolution {
  tier: 'hint' | 'search' | 'catalogue' | 'mega' | 'none';
  /** `APP_<SERVER>_<ACTION>` tools offered, in order. */
  actions: string[];
  /** Set for the `mega` tier: the mega-tool is offered, with these actions named in its description. */
  megaTool?: { hints: string[] };
}

/** What a turn needs of its agent. Credentials never appear here: activities resolve them. */
export interface AgentConfiguration {
  agentId: string;
  workspaceId: string;
  name: string;
  model: string;
  /** Models tried in order when `model` fails for good (non-retryable, or out of retries). */
  fallbackModels?: string[];
  /** Who serves the model (`openai`, a host name, …), for usage rows. */
  provider?: string;
  /** The workspace's own credentials pay for the calls (bring your own key). */
  byok?: boolean;
  systemPrompt: string;
  temperature?: number;
  /** Tool rounds allowed per turn (the seed's tool iterations). */
  maxHops: number;
  allowedTools: string[];
  contextWindow: number;
  memoryEnabled: boolean;
  /**
   * Retry policy of this agent's LLM hops (absent in turns recorded before it existed).
   * `initialIntervalMs` is the agent's backoff after a failed attempt; `restartIntervalMs` (absent in
   * turns recorded before it existed, which wait `initialIntervalMs` after any failure) is how soon
   * an attempt lost with its worker starts again.
   */
  llmRetry?: { maximumAttempts: number; initialIntervalMs: number; restartIntervalMs?: number };
  /** The LLM connection (its fallback models run on it too); absent in turns recorded before connections existed (the deployment's). */
  connection?: LlmConnectionReference;
  /** Skill versions merged into this configuration, in merge order. */
  skills?: SkillUse[];
  /** The tools offered this turn; absent in older turns (then every allowed tool is offered). */
  toolSelection?: ToolSelection;
  /** The turn's spend caps and prices; absent when no cap applies. */
  budget?: TurnBudget;
  /** The app actions of the workspace's MCP servers this turn offers; absent when it has none. */
  appActions?: AppActionResolution;
  /** Tools whose calls wait for the user's approval; absent when none does. */
  approval?: TurnApproval;
}

/** The model's tool-call arguments, parsed once where they arrive: a JSON object, or why not. */
export type ToolArguments = { ok: true; value: Record<string, unknown> } | { ok: false; reason: string };

/** One tool call of the model, complete (id, name and arguments all arrived). */
export interface ToolCall {
  id: string;
  name: string;
  /** The arguments as the model sent them (raw JSON text), for the model's own context. */
  arguments: string;
  /** The same arguments parsed once, in the LLM activity. */
  input: ToolArguments;
}

/** A message this turn added to the model's context after the user message (tool hops). */
export type TurnMessage =
  /** A steering message the user sent while the turn ran, given to the model at a hop boundary. */
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls: Array<Pick<ToolCall, 'id' | 'name' | 'arguments'>> }
  | { role: 'tool'; toolCallId: string; content: string };

/** What one hop of the LLM returned: the whole message, in the project's own types. */
export interface HopResult {
  hop: number;
  /** The stream attempt whose text this is (see `streamAttempt`). */
  attempt: number;
  /** The model that answered (a fallback model when the primary failed). */
  model?: string;
  content: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage: TokenUsage;
  /** The user stopped the hop: `content` is what was streamed until then. */
  stopped?: boolean;
  /** Tool calls whose input was still streaming when the hop stopped (ended in the stream as errors). */
  interruptedToolCalls?: Array<{ id: string; name: string; input: unknown }>;
  latencyMs?: number;
  timeToFirstTokenMs?: number;
  /** The provider sent no usage (a stopped hop): the tokens were counted with the tokenizer. */
  usageEstimated?: boolean;
}

export interface ChatTurnResult {
  messageId: string;
  finishReason: FinishReason;
  text: string;
  hops: number;
  usage: TokenUsage;
}

export type TurnStatus = 'queued' | 'starting' | 'streaming' | 'awaiting-approval' | 'running-tools' | 'finalizing' | 'completed' | 'cancelled' | 'failed';

/** Answer of the workflow's `state` query. */
export interface TurnState {
  status: TurnStatus;
  hop: number;
  usage: TokenUsage;
  toolCalls: number;
  lastError?: string;
  /** The model answering now (changes when a fallback model takes over). */
  model?: string;
  /** What the turn was activated with: agent, model, connection, skill versions, offered tools. */
  activation?: {
    agentId: string;
    model: string;
    connection?: { id: string; version: number; provider: string };
    skills: SkillUse[];
    tools: string[];
    /** The app actions offered and the resolution tier that found them. */
    appActions?: AppActionResolution;
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
  /** The raw argument text, so later turns can give the model the call exactly as it made it. */
  arguments?: string;
  content: string;
  isError: boolean;
  output: unknown;
  decision: 'executed' | 'reused' | 'skipped' | 'denied';
  /** The approval the call needed, and its answer. */
  approval?: { id: string; approved: boolean; reason?: string };
}

/**
 * The attempt number events and text part ids carry: unique per hop across fallback models, so a
 * client told to reset a step never confuses the primary model's text with a fallback's.
 */
export function streamAttempt(fallbackIndex: number, activityAttempt: number): number {
  return fallbackIndex * 100 + activityAttempt;
}

/** The most attempts an agent may give one LLM hop (keeps `streamAttempt` unique). */
export const MAX_LLM_ATTEMPTS = 99;

/** The stream attempt of a cached answer streamed in place of a hop that failed on every model. */
export const CACHED_ANSWER_ATTEMPT = 10_000;

/** The partial text a failed hop carried in its failure details (see `classifyLlmError`). */
export function partialTextOf(failure: { details?: unknown[] | null } | undefined): string {
  const detail = failure?.details?.[0] as { partialText?: unknown } | undefined;
  return typeof detail?.partialText === 'string' ? detail.partialText : '';
}
