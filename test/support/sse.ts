/** Reads an SSE response over real HTTP into its events, as a client sees them. */

export interface SseEvent {
  id?: string;
  data: string;
  receivedAt: number;
}

/** Parses an SSE body into events (comments and `retry:` lines are skipped). */
export async function readSse(response: Response, onEvent?: (event: SseEvent) => void): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = response.body!.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let boundary: number;
    while ((boundary = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) id = line.slice(4);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length === 0) continue;
      const event: SseEvent = { ...(id ? { id } : {}), data: data.join('\n'), receivedAt: performance.now() };
      events.push(event);
      onEvent?.(event);
    }
  }
  return events;
}

/** The JSON chunks of a UI message stream (without `[DONE]`). */
export function chunksOf(events: SseEvent[]): Array<{ type: string; [key: string]: unknown }> {
  return events.filter((event) => event.data !== '[DONE]').map((event) => JSON.parse(event.data));
}

/**
 * The text a client shows for these chunks: the deltas in order, where a `reset-step` (ai 7) drops
 * what its step showed so far, as the client does.
 */
export function textOf(chunks: Array<{ type: string; [key: string]: unknown }>): string {
  let before = '';
  let step = '';
  for (const chunk of chunks) {
    if (chunk.type === 'start-step') {
      before += step;
      step = '';
    } else if (chunk.type === 'reset-step') step = '';
    else if (chunk.type === 'text-delta') step += chunk.delta as string;
  }
  return before + step;
}

export function userMessage(id: string, text: string) {
  return { id, role: 'user', parts: [{ type: 'text', text }] };
}
