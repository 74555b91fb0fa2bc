/**
 * Encodes turn events as the AI SDK UI message stream (`x-vercel-ai-ui-message-stream: v1`), what
 * `useChat` in ai 5, 6 and 7 consumes. Stateful per connection: it opens and closes text parts and
 * steps in the order the client enforces (text-start before text-delta, parts closed before
 * finish-step).
 *
 * Each hop is one step; text part ids carry hop and attempt. A retried hop reaches ai ≥ 7 clients as
 * `reset-step` (the failed attempt's parts disappear) and older clients as a `data-hop-restart` part:
 * older schemas reject chunk types they do not know, so the client must declare itself.
 */
import type { UIMessageChunk } from 'ai' with { 'resolution-mode': 'import' };
import { sourceDocumentPart } from '../../shared/sources';
import type { FinishReason, StreamEvent } from '../../shared/stream-events';

/** A chunk of the UI message stream, as the `ai` package (7.x) defines it. */
export type UiMessageChunk = UIMessageChunk;

type UiFinishReason = Extract<UIMessageChunk, { type: 'finish' }>['finishReason'];

export interface UiEncoderOptions {
  /** The client runs ai ≥ 7 and understands `reset-step` and `finish.finishReason`. */
  modernClient: boolean;
  /**
   * The client runs ai ≥ 6 (`X-AI-SDK-Version: 6` or more): it gets `tool-approval-request` and
   * `tool-output-denied` chunks, and its stream ends while a turn waits for an approval (it answers
   * with its next request). Older clients get `data-tool-approval-*` parts and a stream that stays open.
   */
  approvalChunks?: boolean;
}

const UI_FINISH_REASONS: ReadonlySet<string> = new Set(['stop', 'length', 'content-filter', 'tool-calls', 'error', 'other']);

/** Our finish reason as the chunk's: `cancelled` and `tool-limit-reached` are `other` there (metadata keeps ours). */
function uiFinishReason(reason: FinishReason): UiFinishReason {
  return (UI_FINISH_REASONS.has(reason) ? reason : 'other') as UiFinishReason;
}

export class UiMessageStreamEncoder {
  private openTextId: string | undefined;
  private stepOpen = false;
  /** The hop whose step the client shows last (open, or already finished). */
  private lastStepHop: number | undefined;

  constructor(private readonly options: UiEncoderOptions) {}

  /** The opening chunk: the persisted assistant message id, so resume and persistence agree. */
  start(messageId: string, metadata?: Record<string, unknown>): UiMessageChunk[] {
    return [{ type: 'start', messageId, ...(metadata ? { messageMetadata: metadata } : {}) }];
  }

  encode(event: StreamEvent): UiMessageChunk[] {
    const chunks: UiMessageChunk[] = [];
    switch (event.kind) {
      case 'hop-start':
        this.closeStep(chunks);
        chunks.push({ type: 'start-step' });
        this.stepOpen = true;
        this.lastStepHop = event.hop;
        break;
      case 'hop-restart':
        this.closeText(chunks);
        // The failed attempt may have finished its step already (hop-end published, then the worker
        // died before Temporal recorded the completion): reset-step clears that step, and the new
        // attempt continues in it.
        if (!this.stepOpen && this.lastStepHop !== event.hop) chunks.push({ type: 'start-step' });
        this.stepOpen = true;
        this.lastStepHop = event.hop;
        if (this.options.modernClient) chunks.push({ type: 'reset-step' });
        else chunks.push({ type: 'data-hop-restart', data: { hop: event.hop, attempt: event.attempt } });
        break;
      case 'text-delta': {
        const id = `text-${event.hop}-${event.attempt}`;
        this.ensureStep(chunks);
        if (this.openTextId !== id) {
          this.closeText(chunks);
          chunks.push({ type: 'text-start', id });
          this.openTextId = id;
        }
        chunks.push({ type: 'text-delta', id, delta: event.delta });
        break;
      }
      case 'tool-input-start':
        this.ensureStep(chunks);
        this.closeText(chunks);
        chunks.push({ type: 'tool-input-start', toolCallId: event.toolCallId, toolName: event.toolName });
        break;
      case 'tool-input-delta':
        chunks.push({ type: 'tool-input-delta', toolCallId: event.toolCallId, inputTextDelta: event.delta });
        break;
      case 'tool-input-available':
        this.ensureStep(chunks);
        this.closeText(chunks);
        chunks.push({ type: 'tool-input-available', toolCallId: event.toolCallId, toolName: event.toolName, input: event.input });
        break;
      case 'tool-output-available':
        chunks.push({ type: 'tool-output-available', toolCallId: event.toolCallId, output: event.output });
        break;
      case 'tool-output-error':
        chunks.push({ type: 'tool-output-error', toolCallId: event.toolCallId, errorText: event.errorText });
        break;
      case 'tool-input-error':
        this.ensureStep(chunks);
        this.closeText(chunks);
        chunks.push({ type: 'tool-input-error', toolCallId: event.toolCallId, toolName: event.toolName, input: event.input, errorText: event.errorText });
        break;
      case 'tool-execution-notice':
        chunks.push({ type: 'data-tool-execution', data: { hop: event.hop, toolCount: event.toolCount, text: event.text } });
        break;
      case 'memory-used':
        chunks.push({ type: 'data-memory', data: { memories: event.memories } });
        break;
      case 'recipe-stage':
        chunks.push({
          type: 'data-stage',
          data: { index: event.index, name: event.name, kind: event.stageKind, status: event.status, ...(event.durationMs !== undefined ? { durationMs: event.durationMs } : {}) },
        });
        break;
      case 'app-actions':
        chunks.push({ type: 'data-app-actions', data: { tier: event.tier, actions: event.actions, ...(event.megaToolHints ? { megaToolHints: event.megaToolHints } : {}) } });
        break;
      case 'source-cited':
        // The same part the stored answer holds (ai 5, 6 and 7 all accept `source-document`).
        chunks.push(sourceDocumentPart(event.source) as UiMessageChunk);
        break;
      case 'warning':
        chunks.push({ type: 'data-warning', data: { hop: event.hop, text: event.text } });
        break;
      case 'hop-end':
        this.closeStep(chunks);
        break;
      case 'usage':
        chunks.push({ type: 'message-metadata', messageMetadata: { hopUsage: { hop: event.hop, ...event.usage } } });
        break;
      case 'error':
        this.closeStep(chunks);
        // The data part keeps the error in the message, as it is stored; the error chunk sets the
        // client's error state.
        chunks.push({ type: 'data-error', data: { errorText: event.errorText } }, { type: 'error', errorText: event.errorText });
        break;
      case 'tool-approval-request':
        if (this.options.approvalChunks) chunks.push({ type: 'tool-approval-request', approvalId: event.approvalId, toolCallId: event.toolCallId });
        else chunks.push({ type: 'data-tool-approval-request', data: { approvalId: event.approvalId, toolCallId: event.toolCallId, toolName: event.toolName } });
        break;
      case 'tool-approval-response':
        // ai 7 knows the chunk (a resumed client sees the answer); ai 6 sets the state itself when it answers.
        if (this.options.modernClient) chunks.push({ type: 'tool-approval-response', approvalId: event.approvalId, approved: event.approved, ...(event.reason ? { reason: event.reason } : {}) } as UiMessageChunk);
        else chunks.push({ type: 'data-tool-approval-response', data: { approvalId: event.approvalId, toolCallId: event.toolCallId, approved: event.approved, ...(event.reason ? { reason: event.reason } : {}) } });
        break;
      case 'tool-output-denied':
        if (this.options.approvalChunks) chunks.push({ type: 'tool-output-denied', toolCallId: event.toolCallId });
        else chunks.push({ type: 'tool-output-error', toolCallId: event.toolCallId, errorText: `Denied${event.reason ? `: ${event.reason}` : ''}` });
        break;
      case 'turn-awaiting-approval':
        // For ai ≥ 6 the response may end here (see `pause`); older clients read on.
        if (this.options.approvalChunks) this.closeStep(chunks);
        else chunks.push({ type: 'data-awaiting-approval', data: { approvalIds: event.approvalIds } });
        break;
      case 'turn-queued':
        chunks.push({ type: 'data-turn-queued', data: { behindTurnId: event.behindTurnId } });
        break;
      case 'turn-dequeued':
        chunks.push({ type: 'data-turn-dequeued', data: {} });
        break;
      case 'steering-message':
        // ai 7 shows it as the user message it is (`steering-message`, before the step that read it).
        if (this.options.modernClient) {
          this.closeStep(chunks);
          chunks.push({ type: 'steering-message', id: event.id, parts: [{ type: 'text', text: event.text }] } as UiMessageChunk);
        } else chunks.push({ type: 'data-steering', id: event.id, data: { hop: event.hop, id: event.id, text: event.text } });
        break;
      case 'turn-finish': {
        this.closeStep(chunks);
        const messageMetadata = { finishReason: event.finishReason, usage: event.usage, ...(event.cached ? { cached: true } : {}) };
        chunks.push(
          this.options.modernClient
            ? { type: 'finish', finishReason: uiFinishReason(event.finishReason), messageMetadata }
            : { type: 'finish', messageMetadata },
        );
        break;
      }
    }
    return chunks;
  }

  /**
   * The end of a response that stops while the turn waits for approvals (the client answers with
   * its next request, which continues the same message): a `finish` naming the pending approvals.
   */
  pause(approvalIds: readonly string[]): UiMessageChunk[] {
    const chunks: UiMessageChunk[] = [];
    this.closeStep(chunks);
    const messageMetadata = { awaitingApproval: [...approvalIds] };
    chunks.push(this.options.modernClient ? { type: 'finish', finishReason: 'tool-calls', messageMetadata } : { type: 'finish', messageMetadata });
    return chunks;
  }

  private ensureStep(chunks: UiMessageChunk[]) {
    if (!this.stepOpen) {
      chunks.push({ type: 'start-step' });
      this.stepOpen = true;
    }
  }

  private closeText(chunks: UiMessageChunk[]) {
    if (this.openTextId) {
      chunks.push({ type: 'text-end', id: this.openTextId });
      this.openTextId = undefined;
    }
  }

  private closeStep(chunks: UiMessageChunk[]) {
    this.closeText(chunks);
    if (this.stepOpen) {
      chunks.push({ type: 'finish-step' });
      this.stepOpen = false;
    }
  }
}

export const UI_MESSAGE_STREAM_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-vercel-ai-ui-message-stream': 'v1',
  'x-accel-buffering': 'no',
} as const;
