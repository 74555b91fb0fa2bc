/**
 * The tool loop guard of a chat turn: decides, for each tool call the model asks for, whether to run
 * it, to hand back the result of an earlier identical (or, for search tools, similar) call, or to
 * refuse it because the tool already ran as often as this turn allows.
 *
 * It lives in workflow code, so it is pure and deterministic: no clock, no randomness, no I/O, and
 * iteration only over insertion-ordered arrays and maps. A replayed workflow rebuilds exactly the
 * same decisions from the same recorded outcomes. Query similarity uses `difflib`, a port of
 * Python's `difflib.SequenceMatcher`, so the ratios (and thus the decisions) equal those of the
 * Python service this project reproduces.
 */
import { SequenceMatcher } from 'difflib';
import type { ToolArguments } from './turn';

export interface TrackedToolCall {
  id: string;
  name: string;
  /** The arguments as the model sent them: raw JSON text, not yet trusted. */
  arguments: string;
  /** The arguments already parsed with {@link parseToolArguments}; parsed here when absent. */
  input?: ParsedArguments;
}

export type ToolDecision =
  | { action: 'execute'; parsedArguments: Record<string, unknown> }
  /** An exact or similar call already ran in this turn: give the model that call's result. */
  | { action: 'reuse'; previousToolCallId: string; reason: string }
  /** The tool reached its limit in this turn, or the arguments are not a JSON object. */
  | { action: 'skip'; reason: string };

export interface ToolOutcome {
  content: string;
  isError: boolean;
}

/**
 * Executions allowed per tool and turn. Cheap reads get more attempts than writes and paid calls:
 * a write repeated in one turn usually means the model is looping.
 */
export const DEFAULT_TOOL_LIMITS: Record<string, number> = {
  composio_execute: 2,
  // The app actions' mega-tool (src/mcp/action-names.ts): external and paid, like composio_execute.
  app_execute: 2,
  search_knowledge: 2,
  read_file: 3,
  write_file: 2,
  workspace_read_file: 3,
  workspace_write_file: 2,
};

/** Executions allowed per turn for a tool without its own limit. */
export const DEFAULT_TOOL_LIMIT = 3;

/** Search tools whose name does not start with `search_`. */
export const SEARCH_TOOLS: ReadonlySet<string> = new Set(['search_knowledge', 'semantic_search', 'web_search']);

/** From this normalised query similarity on, a search counts as a repeat of an earlier one. */
export const SEARCH_SIMILARITY_THRESHOLD = 0.75;

/** JSON with object keys sorted at every depth: equal values give equal text whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item === undefined ? null : item)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Lowercase, punctuation (anything but letters, digits, marks and spaces) removed, whitespace collapsed. */
export function normalizeQuery(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s]/gu, '')
    .replace(/\s+/gu, ' ')
    .trim();
}

/**
 * Python's `SequenceMatcher(None, a, b).ratio()` (Ratcliff/Obershelp, with its default autojunk) of
 * the normalised texts. Texts are compared by code point, as Python does, not by UTF-16 unit.
 */
export function querySimilarity(a: string, b: string): number {
  return sequenceRatio(normalizeQuery(a), normalizeQuery(b));
}

function sequenceRatio(a: string, b: string): number {
  return new SequenceMatcher<string[]>(null, Array.from(a), Array.from(b)).ratio();
}

export function isSearchTool(name: string): boolean {
  return name.startsWith('search_') || SEARCH_TOOLS.has(name);
}

export type ParsedArguments = ToolArguments;

function describeJsonValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * Parses the model's argument text. Blank text means "no arguments": some OpenAI-compatible servers
 * send `""` for a call without parameters. The reason never quotes the engine's parse error, whose
 * wording differs between Node versions, so a replay on another version decides the same text.
 */
export function parseToolArguments(text: string): ParsedArguments {
  if (text.trim() === '') return { ok: true, value: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'arguments are not a JSON object: invalid JSON' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, reason: `arguments are not a JSON object: got ${describeJsonValue(value)}` };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/** The text a search tool searches for: its `query` argument, else its first string argument. */
function searchQueryOf(parsedArguments: Record<string, unknown>): string | undefined {
  const query = parsedArguments.query;
  if (typeof query === 'string') return query;
  return Object.values(parsedArguments).find((value): value is string => typeof value === 'string');
}

interface ExecutedCall {
  id: string;
  name: string;
  canonicalArguments: string;
  /** Normalised search query, for search tools with a non-empty one. */
  normalizedQuery?: string;
  searchQuery?: string;
}

interface TrackerState {
  executed: ExecutedCall[];
  executionCounts: Map<string, number>;
}

function toExecutedCall(call: TrackedToolCall, parsedArguments: Record<string, unknown>): ExecutedCall {
  const executed: ExecutedCall = { id: call.id, name: call.name, canonicalArguments: canonicalJson(parsedArguments) };
  if (isSearchTool(call.name)) {
    const searchQuery = searchQueryOf(parsedArguments);
    const normalizedQuery = searchQuery === undefined ? '' : normalizeQuery(searchQuery);
    if (searchQuery !== undefined && normalizedQuery !== '') {
      executed.searchQuery = searchQuery;
      executed.normalizedQuery = normalizedQuery;
    }
  }
  return executed;
}

/**
 * Per-turn memory of the tool calls that ran. Create one per turn in the workflow; `decide` before
 * running a call, `record` once it finished. Reused and skipped calls are never recorded, so they
 * neither count toward a limit nor become the "earlier call" of a later duplicate.
 */
export class ToolExecutionTracker {
  private readonly limits = new Map<string, number>();
  private readonly state: TrackerState = { executed: [], executionCounts: new Map() };
  private readonly outcomes = new Map<string, ToolOutcome>();

  /** `limits` override or extend {@link DEFAULT_TOOL_LIMITS}; other tools get {@link DEFAULT_TOOL_LIMIT}. */
  constructor(limits: Partial<Record<string, number>> = {}) {
    for (const [name, limit] of Object.entries({ ...DEFAULT_TOOL_LIMITS, ...limits })) {
      if (limit !== undefined) this.limits.set(name, limit);
    }
  }

  /** Decides what to do with a call against the calls recorded so far. Does not change the tracker. */
  decide(call: TrackedToolCall): ToolDecision {
    return this.decideAgainst(call, this.state);
  }

  /**
   * Decides a hop's calls together, as if each call decided `execute` had already run: a repeat of
   * a call earlier in the same hop is reused, and the hop cannot run a tool past its limit by asking
   * for it several times in parallel. Does not change the tracker; `record` each executed call once
   * it finished, then resolve the reused ones with `outcomeOf`.
   */
  decideHop(calls: readonly TrackedToolCall[]): ToolDecision[] {
    const planned: TrackerState = { executed: [...this.state.executed], executionCounts: new Map(this.state.executionCounts) };
    return calls.map((call) => {
      const decision = this.decideAgainst(call, planned);
      if (decision.action === 'execute') addExecution(planned, toExecutedCall(call, decision.parsedArguments));
      return decision;
    });
  }

  /**
   * Records the outcome of an executed call. Recording the same call id again only replaces its
   * outcome, so a call never counts twice toward its tool's limit.
   */
  record(call: TrackedToolCall, outcome: ToolOutcome): void {
    const known = this.outcomes.has(call.id);
    this.outcomes.set(call.id, outcome);
    if (known) return;
    const parsed = call.input ?? parseToolArguments(call.arguments);
    addExecution(
      this.state,
      parsed.ok ? toExecutedCall(call, parsed.value) : { id: call.id, name: call.name, canonicalArguments: call.arguments },
    );
  }

  /** The recorded outcome of a call, to answer a reused call with it. */
  outcomeOf(toolCallId: string): ToolOutcome | undefined {
    return this.outcomes.get(toolCallId);
  }

  /** Executions allowed per turn for the tool. */
  limitOf(name: string): number {
    return this.limits.get(name) ?? DEFAULT_TOOL_LIMIT;
  }

  private decideAgainst(call: TrackedToolCall, state: TrackerState): ToolDecision {
    const parsed = call.input ?? parseToolArguments(call.arguments);
    if (!parsed.ok) return { action: 'skip', reason: parsed.reason };
    const candidate = toExecutedCall(call, parsed.value);

    const identical = state.executed.find(
      (executed) => executed.name === candidate.name && executed.canonicalArguments === candidate.canonicalArguments,
    );
    if (identical) {
      return {
        action: 'reuse',
        previousToolCallId: identical.id,
        reason: `${call.name} was already called with the same arguments in this turn (tool call ${identical.id})`,
      };
    }

    if (candidate.normalizedQuery !== undefined) {
      for (const executed of state.executed) {
        if (executed.name !== candidate.name || executed.normalizedQuery === undefined) continue;
        const similarity = sequenceRatio(candidate.normalizedQuery, executed.normalizedQuery);
        if (similarity >= SEARCH_SIMILARITY_THRESHOLD) {
          return {
            action: 'reuse',
            previousToolCallId: executed.id,
            reason:
              `the query ${JSON.stringify(candidate.searchQuery)} is ${formatPercent(similarity)} similar to ` +
              `${JSON.stringify(executed.searchQuery)}, already searched with ${call.name} in this turn (tool call ${executed.id})`,
          };
        }
      }
    }

    const limit = this.limitOf(call.name);
    if ((state.executionCounts.get(call.name) ?? 0) >= limit) {
      return { action: 'skip', reason: `${call.name} reached its limit of ${limit} executions in this turn` };
    }
    return { action: 'execute', parsedArguments: parsed.value };
  }
}

function addExecution(state: TrackerState, executed: ExecutedCall): void {
  state.executed.push(executed);
  state.executionCounts.set(executed.name, (state.executionCounts.get(executed.name) ?? 0) + 1);
}

function formatPercent(ratio: number): string {
  return `${Math.floor(ratio * 100)}%`;
}
