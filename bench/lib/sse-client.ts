/**
 * A minimal SSE client on node:http for thousands of concurrent streams: one keep-alive agent with no
 * socket limit, a hand-rolled parser (no per-event allocation beyond the event itself), and receive
 * times on the epoch clock (`performance.timeOrigin + performance.now()`), the clock Redis stream ids
 * and the scripted server's `x_sent_at` use. Every stream has a hard time bound.
 */
import http from 'node:http';

/** Epoch milliseconds with sub-millisecond precision. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Sized for the idle-connection scenario: every socket stays usable, none is queued. */
export const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 512, keepAliveMsecs: 1000 });

export interface SseEvent {
  id: string | undefined;
  data: string;
  /** Epoch ms at which the chunk carrying this event reached the client. */
  receivedAt: number;
}

export type StreamEnd = 'done' | 'closed' | 'aborted' | 'timeout' | 'error' | 'status';

export interface StreamOutcome {
  status: number;
  end: StreamEnd;
  events: number;
  error?: string;
  /** Body of a non-2xx answer (first 500 characters). */
  body?: string;
}

export interface StreamRequest {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Hard bound: the stream is destroyed after this long. */
  timeoutMs: number;
  onHeaders?(status: number, at: number): void;
  onEvent?(event: SseEvent): void;
}

export interface OpenStream {
  /** Epoch ms just before the request was written. */
  startedAt: number;
  /** Resolves when the stream ends for any reason; never rejects. */
  done: Promise<StreamOutcome>;
  abort(): void;
}

export function openStream(options: StreamRequest): OpenStream {
  const url = new URL(options.url);
  const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers };
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = String(Buffer.byteLength(options.body));
  }
  let settle!: (outcome: StreamOutcome) => void;
  const done = new Promise<StreamOutcome>((resolve) => (settle = resolve));
  let status = 0;
  let events = 0;
  let finished = false;
  let sawDone = false;
  const finish = (end: StreamEnd, error?: string, body?: string) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    settle({ status, end, events, ...(error ? { error } : {}), ...(body !== undefined ? { body } : {}) });
  };

  const startedAt = epochNow();
  const request = http.request({
    agent,
    host: url.hostname,
    port: url.port,
    path: url.pathname + url.search,
    method: options.method ?? 'GET',
    headers,
  });
  const timer = setTimeout(() => {
    finish('timeout');
    request.destroy();
  }, options.timeoutMs);

  request.on('error', (error) => finish('error', error.message));
  request.on('response', (response) => {
    status = response.statusCode ?? 0;
    options.onHeaders?.(status, epochNow());
    response.setEncoding('utf8');
    if (status < 200 || status >= 300) {
      let body = '';
      response.on('data', (chunk: string) => (body = (body + chunk).slice(0, 500)));
      response.on('end', () => finish('status', undefined, body));
      response.on('error', (error) => finish('error', error.message));
      return;
    }
    let buffer = '';
    response.on('data', (chunk: string) => {
      const receivedAt = epochNow();
      buffer += chunk;
      let boundary: number;
      while ((boundary = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        let id: string | undefined;
        let data: string | undefined;
        let start = 0;
        while (start <= block.length) {
          let end = block.indexOf('\n', start);
          if (end < 0) end = block.length;
          if (block.startsWith('data: ', start)) {
            const line = block.slice(start + 6, end);
            data = data === undefined ? line : `${data}\n${line}`;
          } else if (block.startsWith('id: ', start)) {
            id = block.slice(start + 4, end);
          }
          start = end + 1;
        }
        if (data === undefined) continue;
        if (data === '[DONE]') {
          sawDone = true;
          continue;
        }
        events += 1;
        options.onEvent?.({ id, data, receivedAt });
      }
    });
    response.on('end', () => finish(sawDone ? 'done' : 'closed'));
    response.on('aborted', () => finish('aborted'));
    response.on('error', (error) => finish(finished ? 'aborted' : 'error', error.message));
    response.on('close', () => finish(sawDone ? 'done' : 'aborted'));
  });
  request.end(options.body);

  return {
    startedAt,
    done,
    abort: () => {
      finish('aborted');
      request.destroy();
    },
  };
}

/** The `type` of a UI message stream chunk without parsing the JSON (the encoder writes `type` first). */
export function chunkType(data: string): string {
  if (!data.startsWith('{"type":"')) return '';
  const end = data.indexOf('"', 9);
  return end < 0 ? '' : data.slice(9, end);
}

/** The millisecond part of a Redis stream entry id (`<ms>-<seq>`): when Redis appended the event. */
export function entryIdMilliseconds(id: string | undefined): number | undefined {
  if (!id) return undefined;
  const dash = id.indexOf('-');
  const value = Number(dash < 0 ? id : id.slice(0, dash));
  return Number.isFinite(value) ? value : undefined;
}
