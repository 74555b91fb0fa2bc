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

export function createFraming(protocol: StreamProtocol, options: { modernClient: boolean; approvalChunks?: boolean }): StreamFraming {
  if (protocol === 'data-stream-v4') {
    const encoder = new DataStreamV4Encoder();
    return {
      headers: DATA_STREAM_V4_HEADERS,
      preamble: '',
      start: (messageId) => encoder.start(messageId).join(''),
      event: (event) => encoder.encode(event).join(''),
      // The v4 parser skips empty lines but throws on SSE comments.
      keepAlive: '\n',
      end: '',
      resumable: false,
      endsAtApprovalPause: false,
      pauseEnd: () => '',
    };
  }
  if (protocol === 'conversation-events') {
    return {
      headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' },
      preamble: 'retry: 1000\n\n',
      start: () => '',
      event: (event, id) =>
        event.kind === 'conversation-event' ? `${id ? `id: ${id}\n` : ''}data: ${JSON.stringify({ type: event.type, turnId: event.turnId, ...event.data })}\n\n` : '',
      keepAlive: ': keep-alive\n\n',
      end: '',
      resumable: true,
      endsAtApprovalPause: false,
      pauseEnd: () => '',
    };
  }
  const encoder = new UiMessageStreamEncoder(options);
  return {
    headers: UI_MESSAGE_STREAM_HEADERS,
    preamble: 'retry: 1000\n\n',
    start: (messageId) => sseFrames(encoder.start(messageId)),
    event: (event, id) => sseFrames(encoder.encode(event), id),
    keepAlive: ': keep-alive\n\n',
    end: 'data: [DONE]\n\n',
    resumable: true,
    endsAtApprovalPause: options.approvalChunks === true,
    pauseEnd: (approvalIds) => sseFrames(encoder.pause(approvalIds)),
  };
}
