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

export function textOf(chunks: Array<{ type: string; [key: string]: unknown }>): string {
  return chunks.filter((chunk) => chunk.type === 'text-delta').map((chunk) => chunk.delta as string).join('');
}

export function userMessage(id: string, text: string) {
  return { id, role: 'user', parts: [{ type: 'text', text }] };
}
