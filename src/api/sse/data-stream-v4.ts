/**
 * Encodes turn events as the AI SDK v4 data stream protocol (`x-vercel-ai-data-stream: v1`), what
 * `useChat` in ai 4 consumes (`callChatApi` → `processChatResponse` → `processDataStream` in
 * `@ai-sdk/ui-utils` 1.x). The body is plain text, not SSE: one part per line, `CODE:JSON\n`.
 *
 * The seed describes a variant of this protocol (`0:` text, `d:` data, `e:` error, `8:` chat id)
 * that the real v4 parser rejects: `parseDataStreamPart` validates every value against its code, so
 * `8:"chat_123"` throws ("message_annotations" parts expect an array value) on the first line and
 * `useChat` enters its error state with no message. The seed's intents are mapped onto the real codes:
 *
 * | seed intent        | real line                                                  | v4 client effect                  |
 * |--------------------|------------------------------------------------------------|-----------------------------------|
 * | `0:` text          | `0:"…"` (a JSON string)                                    | appended to the message content   |
 * | `d:` data          | `2:[{type:'memory'|'tool-execution'|'warning'|'hop-restart',…}]` (an array) | pushed onto `useChat().data` |
 * | `e:` error         | `3:"…"` (a JSON string)                                    | `useChat` error state             |
 * | `8:` chat id       | none: the client sends the chat id as the request's `id`; the assistant message id goes in `f:{messageId}` | sets `message.id` |
 *
 * The codes the seed took are the real protocol's step and message ends: `e:{finishReason,usage,
 * isContinued}` (finish step) closes each hop, and `d:{finishReason,usage}` (finish message) closes the
 * turn and is always the last line.
 *
 * Tool calls use `b:` (streaming start), `c:` (argument deltas), `9:` (complete call) and `a:` (result);
 * cited document passages use `h:` (a source; v4 knows URL sources only, so the URL is the passage's
 * API path, `/api/documents/:id/chunks/:index`);
 * `8:[…]` carries message annotations (per-hop usage, and our own finish reason and usage at the end).
 * The lines are exactly what `formatDataStreamPart` from `@ai-sdk/ui-utils` writes (up to key order);
 * the project cannot depend on that package (its zod 3 peer conflicts with our zod 4), so the lines
 * are written here and test/unit/data-stream-v4.test.ts proves them with the real parser.
 *
 * Stateful per response, like `UiMessageStreamEncoder` (./ui-message-stream.ts): each hop is one step (`f:` … `e:`).
 * Limits of the v4 protocol the client must know about:
 * - No `reset-step`: a retried hop closes the failed attempt's step (`e:` with finish reason `error`),
 *   opens a new one and sends `2:[{type:'hop-restart',hop,attempt}]`; the failed attempt's text stays in
 *   `message.content` (in its own text part), and a tool call it had started streaming stays a
 *   `partial-call`. A v4 client that must hide it drops the parts of the step before the restart.
 * - No resumption by `Last-Event-ID`: the encoder expects the turn from its first event. Lines the
 *   real client would throw on out of context (an argument delta or a result for a tool call it never
 *   saw) are left out rather than aborting the client's stream.
 */
import type { FinishReason, StreamEvent, TokenUsage } from '../../shared/stream-events';

/** The finish reasons of ai 4 (`LanguageModelV1FinishReason`); the ai ≥ 5 type has no `unknown`. */
export type V4FinishReason = 'stop' | 'length' | 'content-filter' | 'tool-calls' | 'error' | 'other' | 'unknown';

const V4_FINISH_REASONS: ReadonlySet<string> = new Set<V4FinishReason>(['stop', 'length', 'content-filter', 'tool-calls', 'error', 'other', 'unknown']);

/**
 * Our finish reasons as ai 4's: `cancelled` and `tool-limit-reached` become `other`, a missing
 * reason `unknown`.
 */
export function toV4FinishReason(reason: FinishReason | null | undefined): V4FinishReason {
  if (reason === null || reason === undefined) return 'unknown';
  return V4_FINISH_REASONS.has(reason) ? (reason as V4FinishReason) : 'other';
}

/** Where a cited passage can be read: `GET /api/documents/:id/chunks/:index`. */
export function citationPath(source: { documentId: string; chunkIndex: number }): string {
  return `/api/documents/${encodeURIComponent(source.documentId)}/chunks/${source.chunkIndex}`;
}

function v4Usage(usage: TokenUsage): { promptTokens: number; completionTokens: number } {
  return { promptTokens: usage.inputTokens, completionTokens: usage.outputTokens };
}

/** Tool call arguments must be a JSON object in v4 (`args` is a record); anything else is wrapped. */
function toolArgs(input: unknown): Record<string, unknown> {
  return input !== null && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : { value: input ?? null };
}

/** One protocol line. `JSON.stringify` escapes newlines, so a value never breaks the framing. */
function line(code: string, value: unknown): string {
  return `${code}:${JSON.stringify(value)}\n`;
}

export class DataStreamV4Encoder {
  private messageId: string | undefined;
  private stepOpen = false;
  private finished = false;
  /** Usage of the current hop (the `usage` event precedes `hop-end`), reported on its `e:` line. */
  private stepUsage: TokenUsage | undefined;
  /** Tool calls the client has seen a `b:` for (it crashes on a `c:` without one). */
  private readonly streamingToolCalls = new Set<string>();
  /** Tool calls the client has seen a `b:` or `9:` for (it throws on an `a:` without one). */
  private readonly knownToolCalls = new Set<string>();

  /**
   * Remembers the persisted assistant message id. Nothing is written yet (the chat id is never
   * streamed): the id reaches the client in the `f:{messageId}` line that opens the first step.
   */
  start(messageId: string): string[] {
    this.messageId = messageId;
    return [];
  }

  encode(event: StreamEvent): string[] {
    const lines: string[] = [];
    // `d:` (finish message) must stay the last part.
    if (this.finished) return lines;
    switch (event.kind) {
      case 'hop-start':
        this.closeStep(lines, 'unknown');
        this.openStep(lines);
        break;
      case 'hop-restart':
        this.closeStep(lines, 'error');
        this.openStep(lines);
        lines.push(line('2', [{ type: 'hop-restart', hop: event.hop, attempt: event.attempt }]));
        break;
      case 'text-delta':
        if (event.delta === '') break;
        this.ensureStep(lines);
        lines.push(line('0', event.delta));
        break;
      case 'tool-input-start':
        this.ensureStep(lines);
        this.streamingToolCalls.add(event.toolCallId);
        this.knownToolCalls.add(event.toolCallId);
        lines.push(line('b', { toolCallId: event.toolCallId, toolName: event.toolName }));
        break;
      case 'tool-input-delta':
        if (!this.streamingToolCalls.has(event.toolCallId)) break;
        lines.push(line('c', { toolCallId: event.toolCallId, argsTextDelta: event.delta }));
        break;
      case 'tool-input-available':
        this.ensureStep(lines);
        this.knownToolCalls.add(event.toolCallId);
        lines.push(line('9', { toolCallId: event.toolCallId, toolName: event.toolName, args: toolArgs(event.input) }));
        break;
      case 'tool-output-available':
        if (!this.knownToolCalls.has(event.toolCallId)) break;
        lines.push(line('a', { toolCallId: event.toolCallId, result: event.output ?? null }));
        break;
      case 'tool-output-error':
        if (!this.knownToolCalls.has(event.toolCallId)) break;
        lines.push(line('a', { toolCallId: event.toolCallId, result: { error: event.errorText } }));
        break;
      case 'tool-input-error':
        // v4 has no input error: the call ends with an error result, as it is stored.
        if (!this.knownToolCalls.has(event.toolCallId)) break;
        lines.push(line('a', { toolCallId: event.toolCallId, result: { error: event.errorText } }));
        break;
      case 'tool-execution-notice':
        lines.push(line('2', [{ type: 'tool-execution', hop: event.hop, toolCount: event.toolCount, text: event.text }]));
        break;
      case 'memory-used':
        lines.push(line('2', [{ type: 'memory', memories: event.memories }]));
        break;
      case 'recipe-stage':
        lines.push(line('2', [{ type: 'stage', index: event.index, name: event.name, kind: event.stageKind, status: event.status, ...(event.durationMs !== undefined ? { durationMs: event.durationMs } : {}) }]));
        break;
      case 'app-actions':
        lines.push(line('2', [{ type: 'app-actions', tier: event.tier, actions: event.actions, ...(event.megaToolHints ? { megaToolHints: event.megaToolHints } : {}) }]));
        break;
      case 'source-cited':
        // v4 sources are URLs only: the passage's API address, resolvable with the same API key.
        this.ensureStep(lines);
        lines.push(line('h', { sourceType: 'url', id: event.source.sourceId, url: citationPath(event.source), title: event.source.title }));
        break;
      case 'warning':
        lines.push(line('2', [{ type: 'warning', hop: event.hop, text: event.text }]));
        break;
      case 'usage':
        this.stepUsage = event.usage;
        lines.push(line('8', [{ hopUsage: { hop: event.hop, ...event.usage } }]));
        break;
      case 'hop-end':
        this.closeStep(lines, toV4FinishReason(event.finishReason));
        break;
      case 'error':
        this.closeStep(lines, 'error');
        lines.push(line('3', event.errorText));
        break;
      case 'tool-approval-request':
        lines.push(line('2', [{ type: 'tool-approval-request', approvalId: event.approvalId, toolCallId: event.toolCallId, toolName: event.toolName }]));
        break;
      case 'tool-approval-response':
        lines.push(line('2', [{ type: 'tool-approval-response', approvalId: event.approvalId, toolCallId: event.toolCallId, approved: event.approved, ...(event.reason ? { reason: event.reason } : {}) }]));
        break;
      case 'tool-output-denied':
        if (!this.knownToolCalls.has(event.toolCallId)) break;
        lines.push(line('a', { toolCallId: event.toolCallId, result: { denied: true, ...(event.reason ? { reason: event.reason } : {}) } }));
        break;
      case 'turn-awaiting-approval':
        lines.push(line('2', [{ type: 'awaiting-approval', approvalIds: event.approvalIds }]));
        break;
      case 'turn-queued':
        lines.push(line('2', [{ type: 'turn-queued', behindTurnId: event.behindTurnId }]));
        break;
      case 'turn-dequeued':
        lines.push(line('2', [{ type: 'turn-dequeued' }]));
        break;
      case 'steering-message':
        lines.push(line('2', [{ type: 'steering', hop: event.hop, id: event.id, text: event.text }]));
        break;
      case 'turn-finish': {
        const finishReason = toV4FinishReason(event.finishReason);
        this.closeStep(lines, finishReason);
        // Our own finish reason (`cancelled`, `tool-limit-reached`) survives as an annotation, as in the UI stream's metadata.
        lines.push(line('8', [{ finishReason: event.finishReason, usage: event.usage, ...(event.cached ? { cached: true } : {}) }]));
        lines.push(line('d', { finishReason, usage: v4Usage(event.usage) }));
        this.finished = true;
        break;
      }
    }
    return lines;
  }

  private openStep(lines: string[]) {
    // Without a known message id no `f:` is sent (an empty id would replace the client's own); the
    // step still ends with `e:`.
    if (this.messageId !== undefined) lines.push(line('f', { messageId: this.messageId }));
    this.stepOpen = true;
    this.stepUsage = undefined;
  }

  private ensureStep(lines: string[]) {
    if (!this.stepOpen) this.openStep(lines);
  }

  private closeStep(lines: string[], finishReason: V4FinishReason) {
    if (!this.stepOpen) return;
    lines.push(line('e', { finishReason, ...(this.stepUsage ? { usage: v4Usage(this.stepUsage) } : {}), isContinued: false }));
    this.stepOpen = false;
    this.stepUsage = undefined;
  }
}

export const DATA_STREAM_V4_HEADERS = {
  'content-type': 'text/plain; charset=utf-8',
  'x-vercel-ai-data-stream': 'v1',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
} as const;
