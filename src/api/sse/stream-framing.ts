/**
 * How a turn's events are written on the wire, per protocol: the AI SDK UI message stream (SSE with
 * `id:` lines, keep-alive comments, `data: [DONE]`) or the v4 data stream (plain `CODE:JSON` lines).
 * The bridge (./turn-stream.ts) is protocol-agnostic and asks the framing for every byte it writes.
 */
import type { StreamEvent } from '../../shared/stream-events';
import { DATA_STREAM_V4_HEADERS, DataStreamV4Encoder } from './data-stream-v4';
import { UI_MESSAGE_STREAM_HEADERS, UiMessageStreamEncoder, type UiMessageChunk } from './ui-message-stream';

/** `conversation-events`: the conversation-level events of `GET /api/chat/:id/events` (SSE, JSON per event). */
export type StreamProtocol = 'ui-message-stream' | 'data-stream-v4' | 'conversation-events';

export interface StreamFraming {
  headers: Record<string, string>;
  /** Written once, before anything else. */
  preamble: string;
  start(messageId: string): string;
  /** The bytes of one event; `id` is its replay-log id, for protocols that carry one. */
  event(event: StreamEvent, id?: string): string;
  keepAlive: string;
  end: string;
  /** Whether a client can resume after an event id; otherwise a reconnect replays from the start. */
  resumable: boolean;
  /** Whether the response ends while the turn waits for an approval (the client answers with its next request). */
  endsAtApprovalPause: boolean;
  /** The bytes that end a response at an approval pause (after the pause event). */
  pauseEnd(approvalIds: readonly string[]): string;
}

function sseFrames(chunks: UiMessageChunk[], id?: string): string {
  let frames = '';
  for (let index = 0; index < chunks.length; index++) {
    const idLine = id && index === chunks.length - 1 ? `id: ${id}\n` : '';
    frames += `${idLine}data: ${JSON.stringify(chunks[index])}\n\n`;
  }
  return frames;
}

// The framings are classes: their methods live on the prototype, so an open stream holds no
// function objects of its own (under tsx, each named closure also carries its own `name`).

const CONVERSATION_EVENTS_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' };

class DataStreamV4Framing implements StreamFraming {
  readonly headers = DATA_STREAM_V4_HEADERS;
  readonly preamble = '';
  // The v4 parser skips empty lines but throws on SSE comments.
  readonly keepAlive = '\n';
  readonly end = '';
  readonly resumable = false;
  readonly endsAtApprovalPause = false;
  private readonly encoder = new DataStreamV4Encoder();

  start(messageId: string): string {
    return this.encoder.start(messageId).join('');
  }

  event(event: StreamEvent): string {
    return this.encoder.encode(event).join('');
  }

  pauseEnd(): string {
    return '';
  }
}

/** What the SSE framings share: a reconnect delay, comment keep-alives, resumable after an event id. */
abstract class SseFraming implements StreamFraming {
  abstract readonly headers: Record<string, string>;
  abstract readonly end: string;
  readonly preamble = 'retry: 1000\n\n';
  readonly keepAlive = ': keep-alive\n\n';
  readonly resumable = true;
  readonly endsAtApprovalPause: boolean = false;

  abstract start(messageId: string): string;
  abstract event(event: StreamEvent, id?: string): string;

  pauseEnd(_approvalIds: readonly string[]): string {
    return '';
  }
}

class ConversationEventsFraming extends SseFraming {
  readonly headers = CONVERSATION_EVENTS_HEADERS;
  readonly end = '';

  start(): string {
    return '';
  }

  event(event: StreamEvent, id?: string): string {
    return event.kind === 'conversation-event' ? `${id ? `id: ${id}\n` : ''}data: ${JSON.stringify({ type: event.type, turnId: event.turnId, ...event.data })}\n\n` : '';
  }
}

class UiMessageStreamFraming extends SseFraming {
  readonly headers = UI_MESSAGE_STREAM_HEADERS;
  readonly end = 'data: [DONE]\n\n';
  override readonly endsAtApprovalPause: boolean;
  private readonly encoder: UiMessageStreamEncoder;

  constructor(options: { modernClient: boolean; approvalChunks?: boolean }) {
    super();
    this.encoder = new UiMessageStreamEncoder(options);
    this.endsAtApprovalPause = options.approvalChunks === true;
  }

  start(messageId: string): string {
    return sseFrames(this.encoder.start(messageId));
  }

  event(event: StreamEvent, id?: string): string {
    return sseFrames(this.encoder.encode(event), id);
  }

  override pauseEnd(approvalIds: readonly string[]): string {
    return sseFrames(this.encoder.pause(approvalIds));
  }
}

export function createFraming(protocol: StreamProtocol, options: { modernClient: boolean; approvalChunks?: boolean }): StreamFraming {
  if (protocol === 'data-stream-v4') return new DataStreamV4Framing();
  if (protocol === 'conversation-events') return new ConversationEventsFraming();
  return new UiMessageStreamFraming(options);
}
