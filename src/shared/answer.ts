/**
 * The one answer builder: the stored assistant message (UI message parts) is assembled here, and a
 * stored answer is turned back into stream events here. The workflow builds the answer hop by hop,
 * finalize stores what it built, the stop path adds the stopped hop's partial text, and a duplicate
 * request whose log expired replays the stored answer through {@link storedAnswerEvents}, so every
 * path produces the same parts in the same order as the live stream showed them.
 *
 * Pure: imported by workflow code.
 */
import { messageText, type MessagePart } from './messages';
import { citedSourceOfPart, citedSources, sourceDocumentPart } from './sources';
import type { FinishReason, StreamEvent, TokenUsage } from './stream-events';
import type { HopResult, RecordedToolResult } from './turn';

/** The error text of a tool call whose input was still streaming when the turn stopped. */
export const INTERRUPTED_TOOL_CALL_TEXT = 'Stopped before the tool call was complete.';

export interface ToolPart extends Record<string, unknown> {
  type: `tool-${string}`;
  toolCallId: string;
  state: 'output-available' | 'output-error' | 'output-denied';
  input: unknown;
  output?: unknown;
  errorText?: string;
  /** The approval the call needed (ai 6/7 tool parts carry it). */
  approval?: { id: string; approved: boolean; reason?: string };
}

export function toolPartOf(result: Pick<RecordedToolResult, 'toolCallId' | 'toolName' | 'input' | 'isError' | 'content' | 'output'> & Partial<Pick<RecordedToolResult, 'decision' | 'approval'>>): ToolPart {
  const approval = result.approval ? { approval: result.approval } : {};
  if (result.decision === 'denied') return { type: `tool-${result.toolName}`, toolCallId: result.toolCallId, state: 'output-denied', input: result.input, ...approval };
  return {
    type: `tool-${result.toolName}`,
    toolCallId: result.toolCallId,
    state: result.isError ? 'output-error' : 'output-available',
    input: result.input,
    ...(result.isError ? { errorText: result.content } : { output: result.output }),
    ...approval,
  };
}

export function isToolPart(part: MessagePart): part is ToolPart {
  return part.type.startsWith('tool-') && typeof (part as { toolCallId?: unknown }).toolCallId === 'string';
}

export class AnswerBuilder {
  private readonly built: MessagePart[] = [];

  /** A hop's message: one step, with its text (a stopped hop keeps what it streamed). */
  addHop(result: Pick<HopResult, 'content' | 'interruptedToolCalls'>): void {
    this.built.push({ type: 'step-start' });
    if (result.content) this.built.push({ type: 'text', text: result.content });
    for (const call of result.interruptedToolCalls ?? []) {
      this.built.push(toolPartOf({ toolCallId: call.id, toolName: call.name, input: call.input, isError: true, content: INTERRUPTED_TOOL_CALL_TEXT, output: null }));
    }
  }

  /**
   * A step of text only: what a hop streamed before it failed for good (kept, as the client saw
   * it), or the answer an earlier turn stored for the same message (the cached fallback).
   */
  addStep(text: string): void {
    if (!text) return;
    this.built.push({ type: 'step-start' }, { type: 'text', text });
  }

  /**
   * A hop's tool results, in the order of the model's calls; the document passages a knowledge tool
   * returned follow its part as `source-document` parts, where the stream puts them.
   */
  addToolResults(results: readonly RecordedToolResult[]): void {
    for (const result of results) {
      this.built.push(toolPartOf(result));
      if (!result.isError) this.built.push(...citedSources(result.toolName, result.output).map(sourceDocumentPart));
    }
  }

  /** A notice kept in the answer: the text the user reads, and the data part the stream carried. */
  addWarning(hop: number, text: string): void {
    this.built.push({ type: 'step-start' }, { type: 'text', text }, { type: 'data-warning', data: { hop, text } });
  }

  /** A notice the stream carried as a data part only (e.g. a spend cap getting close). */
  addNotice(hop: number, text: string): void {
    this.built.push({ type: 'data-warning', data: { hop, text } });
  }

  /** A steering message the user sent during the turn, where the stream showed it. */
  addSteering(hop: number, id: string, text: string): void {
    this.built.push({ type: 'data-steering', id, data: { hop, id, text } });
  }

  /** Why the turn failed, kept with the partial answer. */
  addError(errorText: string): void {
    this.built.push({ type: 'data-error', data: { errorText } });
  }

  get parts(): MessagePart[] {
    return [...this.built];
  }

  get text(): string {
    return messageText(this.built);
  }
}

/**
 * The stream events that show a stored answer again (a duplicate request whose replay log expired):
 * one step per stored step, its text, its tool calls with their outputs, warnings and errors, then
 * the finish, marked `cached`.
 */
export function storedAnswerEvents(parts: readonly MessagePart[], finish: { finishReason: FinishReason; usage: TokenUsage }): StreamEvent[] {
  const events: StreamEvent[] = [];
  let hop = -1;
  const openHop = () => {
    if (hop < 0) {
      hop = 0;
      events.push({ kind: 'hop-start', hop, attempt: 1 });
    }
  };
  for (const part of parts) {
    if (part.type === 'step-start') {
      if (hop >= 0) events.push({ kind: 'hop-end', hop, attempt: 1, finishReason: null });
      hop += 1;
      events.push({ kind: 'hop-start', hop, attempt: 1 });
    } else if (part.type === 'text' && typeof part.text === 'string') {
      openHop();
      events.push({ kind: 'text-delta', hop, attempt: 1, delta: part.text });
    } else if (isToolPart(part)) {
      openHop();
      const toolName = part.type.slice('tool-'.length);
      events.push({ kind: 'tool-input-available', hop, toolCallId: part.toolCallId, toolName, input: part.input });
      events.push(
        part.state === 'output-denied'
          ? { kind: 'tool-output-denied', hop, toolCallId: part.toolCallId, ...(part.approval?.reason ? { reason: part.approval.reason } : {}) }
          : part.state === 'output-error'
          ? { kind: 'tool-output-error', hop, toolCallId: part.toolCallId, errorText: String(part.errorText ?? '') }
          : { kind: 'tool-output-available', hop, toolCallId: part.toolCallId, output: part.output },
      );
    } else if (part.type === 'source-document') {
      const source = citedSourceOfPart(part);
      if (source) events.push({ kind: 'source-cited', hop: Math.max(hop, 0), source });
    } else if (part.type === 'data-warning') {
      const data = part.data as { text?: string };
      events.push({ kind: 'warning', hop: Math.max(hop, 0), text: String(data?.text ?? '') });
    } else if (part.type === 'data-error') {
      const data = part.data as { errorText?: string };
      events.push({ kind: 'error', errorText: String(data?.errorText ?? '') });
    }
  }
  if (hop >= 0) events.push({ kind: 'hop-end', hop, attempt: 1, finishReason: finish.finishReason });
  events.push({ kind: 'turn-finish', finishReason: finish.finishReason, usage: finish.usage, cached: true });
  return events;
}
