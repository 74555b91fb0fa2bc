/**
 * Starting turns against the product API or the baseline server, with the same request body
 * (`DefaultChatTransport`'s shape) and the same prompts, and observing them as a client does.
 */
import { conversationKey, turnKey, turnWorkflowId } from '../../src/shared/ids';
import { randomUUID } from 'node:crypto';
import { chunkType, epochNow, openStream, type OpenStream, type SseEvent, type StreamOutcome } from './sse-client';

export interface Target {
  kind: 'ours' | 'baseline';
  url: string;
  apiKey?: string;
  /** The workspace of `apiKey` (ours): turn workflow ids are scoped to it. */
  workspaceId?: string;
}

export interface TurnHandle {
  conversationId: string;
  requestId: string;
  /** The turn's workflow id (ours only; empty for the baseline). */
  workflowId: string;
  stream: OpenStream;
  /** Epoch ms of the response headers (for ours: the workflow start RPC has returned). */
  headersAt?: number;
  /** Epoch ms of the first `text-delta` chunk. */
  firstDeltaAt?: number;
  /** Resolves with the outcome when the stream ends; never rejects. */
  done: Promise<StreamOutcome & { endedAt: number }>;
}

export interface StartTurnOptions {
  conversationId?: string;
  extraBody?: Record<string, unknown>;
  headers?: Record<string, string>;
  timeoutMs: number;
  onEvent?(event: SseEvent, type: string): void;
  onFirstDelta?(at: number): void;
}

/** Opens the POST /api/chat stream of a new turn (a new conversation unless one is given). */
export function startTurn(target: Target, text: string, options: StartTurnOptions): TurnHandle {
  const conversationId = options.conversationId ?? `bench-${randomUUID()}`;
  const requestId = `msg-${randomUUID()}`;
  const workflowId = target.kind === 'ours' && target.workspaceId ? turnWorkflowId(conversationKey(target.workspaceId, conversationId), turnKey(requestId)) : '';
  const handle: Partial<TurnHandle> = { conversationId, requestId, workflowId };
  const stream = openStream({
    url: `${target.url}/api/chat`,
    method: 'POST',
    headers: { ...(target.apiKey ? { authorization: `Bearer ${target.apiKey}` } : {}), ...options.headers },
    body: JSON.stringify({ id: conversationId, messages: [{ id: requestId, role: 'user', parts: [{ type: 'text', text }] }], ...options.extraBody }),
    timeoutMs: options.timeoutMs,
    onHeaders: (_status, at) => (handle.headersAt = at),
    onEvent: (event) => {
      const type = chunkType(event.data);
      if (type === 'text-delta' && handle.firstDeltaAt === undefined) {
        handle.firstDeltaAt = event.receivedAt;
        options.onFirstDelta?.(event.receivedAt);
      }
      options.onEvent?.(event, type);
    },
  });
  handle.stream = stream;
  handle.done = stream.done.then((outcome) => ({ ...outcome, endedAt: epochNow() }));
  return handle as TurnHandle;
}

/** Opens the resume stream of a conversation (`GET /api/chat/:id/stream`). */
export function resumeStream(target: Target, conversationId: string, lastEventId: string | undefined, options: { timeoutMs: number; onEvent?(event: SseEvent): void }): OpenStream {
  return openStream({
    url: `${target.url}/api/chat/${encodeURIComponent(conversationId)}/stream`,
    headers: { ...(target.apiKey ? { authorization: `Bearer ${target.apiKey}` } : {}), ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
    timeoutMs: options.timeoutMs,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
}

/** Cancels a conversation's running turn (`POST /api/chat/:id/stop`); resolves whatever happens. */
export async function stopTurn(target: Target, conversationId: string): Promise<void> {
  if (target.kind !== 'ours') return;
  await fetch(`${target.url}/api/chat/${encodeURIComponent(conversationId)}/stop`, {
    method: 'POST',
    headers: { authorization: `Bearer ${target.apiKey ?? ''}` },
    signal: AbortSignal.timeout(15_000),
  }).then((response) => response.arrayBuffer()).catch(() => undefined);
}

/**
 * A short question on the full path (memory retrieval and the context guard run; no fast path). The
 * first word is `tag`, so the scripted LLM's record of the request can be found again.
 */
export function questionPrompt(tag: string, directives = '[[ttft=0]]'): string {
  return `${tag} what does the durable chat backend do with each turn? ${directives}`;
}

/** Runs `task(index)` for indexes 0..count-1 with at most `concurrency` in flight. */
export async function forEachLimited(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) {
      const index = next++;
      await task(index);
    }
  });
  await Promise.all(lanes);
}

export function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/** Resolves when `predicate` holds (checked every `everyMs`) or after `timeoutMs`; returns whether it held. */
export async function waitUntil(predicate: () => boolean, timeoutMs: number, everyMs = 20): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) return false;
    await sleep(everyMs);
  }
  return true;
}
