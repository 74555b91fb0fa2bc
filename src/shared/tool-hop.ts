/**
 * One tool round of a turn, as a pure module: decide each call with the loop guard, run the calls
 * that must run (in parallel, through an injected runner: the workflow passes the tool activity),
 * record what ran, and answer every call of the round in the model's order (executed, reused from an
 * identical or similar call, or skipped with the reason).
 *
 * At the tool-round limit nothing runs: every call is answered as skipped (the seed checks the limit
 * before it executes a round), so no tool runs whose result no model would ever read.
 *
 * Pure apart from the runner: deterministic for the same calls, tracker state and runner results,
 * which is what workflow code needs, and unit-testable without Temporal.
 */
import { ToolExecutionTracker, type ToolOutcome } from './tool-tracker';
import type { RecordedToolResult, ToolCall } from './turn';

/** What one executed tool call produced (the tool activity's result). */
export interface ToolRunResult {
  content: string;
  isError: boolean;
  output: unknown;
}

export type ToolRunner = (call: ToolCall, input: Record<string, unknown>) => Promise<ToolRunResult>;

/** The reason given to the model (and the user) for calls that reach the tool-round limit. */
export function toolLimitReason(maxRounds: number): string {
  return `the limit of ${maxRounds} tool rounds for this turn was reached`;
}

function inputOf(call: ToolCall): unknown {
  return call.input.ok ? call.input.value : call.arguments;
}

function skipped(call: ToolCall, reason: string, earlier?: ToolOutcome): RecordedToolResult {
  return {
    toolCallId: call.id,
    toolName: call.name,
    input: inputOf(call),
    arguments: call.arguments,
    content: earlier ? `${earlier.content}\n(Not executed again: ${reason})` : `Not executed: ${reason}`,
    isError: earlier ? earlier.isError : true,
    output: earlier ? { reused: true, reason } : null,
    decision: earlier ? 'reused' : 'skipped',
  };
}

/**
 * Runs one tool round and answers every call. With `limitReachedReason` set (the round limit was
 * reached), nothing runs and every call is answered as skipped with that reason.
 */
export async function runToolRound(
  tracker: ToolExecutionTracker,
  calls: readonly ToolCall[],
  runner: ToolRunner,
  options: { limitReachedReason?: string } = {},
): Promise<RecordedToolResult[]> {
  if (options.limitReachedReason !== undefined) return calls.map((call) => skipped(call, options.limitReachedReason!));

  const decisions = tracker.decideHop(calls);
  const executed = new Map<string, RecordedToolResult>();
  await Promise.all(
    calls.map(async (call, index) => {
      const decision = decisions[index]!;
      if (decision.action !== 'execute') return;
      const result = await runner(call, decision.parsedArguments);
      executed.set(call.id, { toolCallId: call.id, toolName: call.name, input: decision.parsedArguments, arguments: call.arguments, ...result, decision: 'executed' });
    }),
  );
  // Recorded in the model's order, not completion order, so a replay rebuilds the same tracker.
  for (const call of calls) {
    const done = executed.get(call.id);
    if (done) tracker.record(call, { content: done.content, isError: done.isError });
  }
  return calls.map((call, index) => {
    const done = executed.get(call.id);
    if (done) return done;
    const decision = decisions[index]!;
    if (decision.action === 'reuse') return skipped(call, decision.reason, tracker.outcomeOf(decision.previousToolCallId));
    return skipped(call, decision.action === 'skip' ? decision.reason : '');
  });
}
