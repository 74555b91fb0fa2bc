/**
 * Reassembles streamed tool calls: OpenAI sends each call's id and name in its first delta and the
 * arguments string in pieces, all keyed by `index`. Calls that never received an id or a name are
 * incomplete and dropped.
 */
import type { ToolCall } from '../shared/turn';

export interface ToolCallDelta {
  index: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

interface PartialCall {
  id?: string;
  name?: string;
  arguments: string;
}

export class ToolCallAccumulator {
  private readonly calls: PartialCall[] = [];

  /** Adds one delta; returns whether this delta started a new call (it carried the id or name). */
  add(delta: ToolCallDelta): { started: boolean; call: PartialCall } {
    let call = this.calls[delta.index];
    if (!call) {
      call = { arguments: '' };
      this.calls[delta.index] = call;
    }
    const wasNamed = call.id !== undefined && call.name !== undefined;
    if (delta.id) call.id = delta.id;
    if (delta.function?.name) call.name = (call.name ?? '') + delta.function.name;
    if (delta.function?.arguments) call.arguments += delta.function.arguments;
    return { started: !wasNamed && call.id !== undefined && call.name !== undefined, call };
  }

  /** The complete calls in index order. */
  complete(): ToolCall[] {
    return this.calls
      .filter((call): call is Required<PartialCall> => Boolean(call?.id && call.name))
      .map((call) => ({ id: call.id, name: call.name, arguments: call.arguments }));
  }
}
