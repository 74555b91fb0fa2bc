/**
 * Reassembles streamed tool calls the way the seed's `_accumulate_tool_call_delta` does:
 * - a fragment is placed by its `index`; a fragment without one starts a new call;
 * - `id`, `type` and the function `name` are taken when they arrive (a later value replaces an
 *   earlier one, never concatenated: some servers repeat them in every fragment);
 * - `arguments` fragments are appended in order;
 * - calls that never received an id, a name or any arguments are dropped at the end.
 *
 * It also tells the caller what to stream: a call "starts" once its id and name are both known, and
 * argument text that arrived before that is handed over with the start, so a client sees every
 * character of the arguments exactly once.
 */

/** One `choices[0].delta.tool_calls[]` fragment, as any OpenAI-compatible server may send it. */
export interface ToolCallFragment {
  index?: number | null;
  id?: string | null;
  type?: string | null;
  function?: { name?: string | null; arguments?: string | null } | null;
}

export interface AccumulatedToolCall {
  id?: string;
  type: string;
  name?: string;
  /** Undefined until a fragment carried an `arguments` field (even an empty one). */
  arguments?: string;
}

/** What a fragment changed that a client should see. */
export type ToolCallProgress =
  | { kind: 'start'; id: string; name: string; arguments: string }
  | { kind: 'arguments'; id: string; delta: string };

export class ToolCallAccumulator {
  private readonly calls: AccumulatedToolCall[] = [];
  private readonly started = new Set<AccumulatedToolCall>();

  /** Adds one fragment; returns what it started or appended, for the stream. */
  add(fragment: ToolCallFragment): ToolCallProgress[] {
    const index = typeof fragment.index === 'number' && fragment.index >= 0 ? fragment.index : this.calls.length;
    while (this.calls.length <= index) this.calls.push({ type: 'function' });
    const call = this.calls[index]!;
    if (fragment.id) call.id = fragment.id;
    if (fragment.type) call.type = fragment.type;
    if (fragment.function?.name) call.name = fragment.function.name;
    const argumentsDelta = fragment.function?.arguments;
    if (typeof argumentsDelta === 'string') call.arguments = (call.arguments ?? '') + argumentsDelta;

    if (!call.id || !call.name) return [];
    if (!this.started.has(call)) {
      this.started.add(call);
      return [{ kind: 'start', id: call.id, name: call.name, arguments: call.arguments ?? '' }];
    }
    return argumentsDelta ? [{ kind: 'arguments', id: call.id, delta: argumentsDelta }] : [];
  }

  /** The complete calls in index order (id, name and arguments all arrived). */
  complete(): Array<{ id: string; name: string; arguments: string }> {
    return this.calls
      .filter((call): call is Required<AccumulatedToolCall> => Boolean(call.id && call.name) && call.arguments !== undefined)
      .map((call) => ({ id: call.id, name: call.name, arguments: call.arguments }));
  }

  /** Calls the stream started (id and name known), whatever their arguments: for a hop stopped mid-call. */
  startedCalls(): Array<{ id: string; name: string; arguments: string }> {
    return this.calls
      .filter((call) => this.started.has(call))
      .map((call) => ({ id: call.id!, name: call.name!, arguments: call.arguments ?? '' }));
  }
}
