/**
 * The scripted OpenAI-compatible server (the project's test double / demo LLM), driven over real
 * HTTP by the official `openai` client: if these pass, code written against the client works
 * against the scripted server unchanged — and against any real endpoint behind OPENAI_BASE_URL.
 */
import OpenAI, { APIError, BadRequestError, InternalServerError, RateLimitError } from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import { startScriptedLlm, type RecordedRequest, type ScriptedLlm } from '../../src/scripted-llm/server';

/** A chunk as received, with the scripted server's extra send timestamp and our receive time. */
type TimedChunk = ChatCompletionChunk & { x_sent_at?: number; receivedAt: number };

let server: ScriptedLlm;
let client: OpenAI;

beforeAll(async () => {
  server = await startScriptedLlm();
  client = new OpenAI({ baseURL: server.url, apiKey: 'test', maxRetries: 0 });
});

afterAll(async () => {
  await server.close();
});

afterEach(() => {
  server.clearFaults();
});

const searchTool: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'search_docs',
    description: 'Searches the documentation.',
    parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
  },
};
const lookupTool: ChatCompletionTool = {
  type: 'function',
  function: { name: 'lookup', parameters: { type: 'object', properties: { input: { type: 'string' } } } },
};

function userMessage(content: string): ChatCompletionMessageParam[] {
  return [{ role: 'user', content }];
}

async function streamChunks(
  messages: ChatCompletionMessageParam[],
  extra: { tools?: ChatCompletionTool[]; includeUsage?: boolean; signal?: AbortSignal; openai?: OpenAI } = {},
): Promise<TimedChunk[]> {
  const stream = await (extra.openai ?? client).chat.completions.create(
    {
      model: 'scripted-1',
      messages,
      stream: true,
      ...(extra.tools ? { tools: extra.tools } : {}),
      ...(extra.includeUsage ? { stream_options: { include_usage: true } } : {}),
    },
    extra.signal ? { signal: extra.signal } : {},
  );
  const chunks: TimedChunk[] = [];
  for await (const chunk of stream) chunks.push({ ...chunk, receivedAt: performance.timeOrigin + performance.now() });
  return chunks;
}

function contentDeltas(chunks: readonly ChatCompletionChunk[]): string[] {
  return chunks.flatMap((chunk) => {
    const content = chunk.choices[0]?.delta.content;
    return typeof content === 'string' && content.length > 0 ? [content] : [];
  });
}

interface AssembledToolCall {
  id: string;
  name: string;
  arguments: string;
  pieces: number;
}

/** Reassembles streamed tool calls by index, the way every OpenAI client must. */
function assembleToolCalls(chunks: readonly ChatCompletionChunk[]): AssembledToolCall[] {
  const calls: AssembledToolCall[] = [];
  for (const chunk of chunks) {
    for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
      const call = (calls[delta.index] ??= { id: '', name: '', arguments: '', pieces: 0 });
      if (delta.id) call.id = delta.id;
      if (delta.function?.name) call.name = delta.function.name;
      if (delta.function?.arguments) {
        call.arguments += delta.function.arguments;
        call.pieces += 1;
      }
    }
  }
  return calls;
}

function finishReason(chunks: readonly ChatCompletionChunk[]): string | null | undefined {
  return chunks.flatMap((chunk) => chunk.choices).find((choice) => choice.finish_reason !== null)?.finish_reason;
}

async function expectRejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error: unknown) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

function recordOf(id: string | undefined): Promise<RecordedRequest> {
  return server.waitForRequest((request) => request.id === id, 2000);
}

/** Base URL of the control endpoints (the server URL without `/v1`). */
function controlUrl(path: string): string {
  return server.url.replace(/\/v1$/, '') + path;
}

describe('streaming text', () => {
  it('streams the echo answer in several chunks in the OpenAI chunk format', async () => {
    const chunks = await streamChunks(userMessage('hello scripted world'));

    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: '' });
    const deltas = contentDeltas(chunks);
    expect(deltas.length).toBeGreaterThanOrEqual(4);
    expect(deltas.join('')).toBe('You said: hello scripted world');
    expect(finishReason(chunks)).toBe('stop');
    for (const chunk of chunks) {
      expect(chunk.object).toBe('chat.completion.chunk');
      expect(chunk.id).toMatch(/^chatcmpl-/);
      expect(chunk.model).toBe('scripted-1');
      expect(typeof chunk.x_sent_at).toBe('number');
    }
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);

    const record = await recordOf(chunks[0]?.id);
    expect(record).toMatchObject({ outcome: 'completed', stream: true, rule: 'echo', deltasSent: deltas.length });
    expect(record.chunksSent).toBe(chunks.length);
    expect(record.firstByteAt).toBeGreaterThanOrEqual(record.startedAt);
    expect(record.endedAt).toBeGreaterThanOrEqual(record.firstByteAt ?? Infinity);
  });

  it('ends with a usage chunk when stream_options.include_usage is set', async () => {
    const chunks = await streamChunks(userMessage('count me'), { includeUsage: true });
    const last = chunks[chunks.length - 1];
    expect(last?.choices).toEqual([]);
    // "count me" = 8 characters → 2 prompt tokens; "You said: count me" = 4 tokens.
    expect(last?.usage).toEqual({ prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 });
  });

  it('answers without streaming with a chat.completion object', async () => {
    const completion = await client.chat.completions.create({ model: 'scripted-mini', messages: userMessage('hello') });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('scripted-mini');
    expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'You said: hello' });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
  });
});

describe('tool calls', () => {
  it('streams several tool calls whose arguments reassemble by index', async () => {
    const chunks = await streamChunks(userMessage('please use tool search_docs and tool lookup for durable execution'), {
      tools: [searchTool, lookupTool],
    });

    const calls = assembleToolCalls(chunks);
    expect(calls.map((call) => call.name)).toEqual(['search_docs', 'lookup']);
    expect(JSON.parse(calls[0]?.arguments ?? '')).toEqual({ query: 'for durable execution' });
    expect(JSON.parse(calls[1]?.arguments ?? '')).toEqual({ input: 'for durable execution' });
    for (const [index, call] of calls.entries()) {
      expect(call.id).toMatch(new RegExp(`^call_[0-9a-f]{8}_${index}$`));
      expect(call.pieces).toBeGreaterThanOrEqual(3);
    }
    expect(finishReason(chunks)).toBe('tool_calls');
    expect(contentDeltas(chunks)).toEqual([]);
  });

  it('returns tool calls without streaming too', async () => {
    const completion = await client.chat.completions.create({
      model: 'scripted-1',
      messages: userMessage('call search_docs'),
      tools: [searchTool],
    });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    const call = choice?.message.tool_calls?.[0];
    expect(call?.type === 'function' ? [call.function.name, JSON.parse(call.function.arguments)] : undefined).toEqual([
      'search_docs',
      { query: 'call search_docs' },
    ]);
  });

  it('runs an agent loop of hops=2 tool rounds, then summarises the results', async () => {
    const messages: ChatCompletionMessageParam[] = userMessage('use search_docs for temporal [[hops=2]]');
    const queries: unknown[] = [];
    for (let round = 1; round <= 5; round += 1) {
      const chunks = await streamChunks(messages, { tools: [searchTool] });
      const calls = assembleToolCalls(chunks);
      if (calls.length === 0) {
        expect(contentDeltas(chunks).join('')).toBe('Tool results: result of round 1; result of round 2');
        break;
      }
      messages.push({
        role: 'assistant',
        content: null,
        tool_calls: calls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } })),
      });
      for (const call of calls) {
        queries.push(JSON.parse(call.arguments));
        messages.push({ role: 'tool', tool_call_id: call.id, content: `result of round ${round}` });
      }
    }
    expect(queries).toEqual([{ query: 'for temporal (round 1)' }, { query: 'for temporal (round 2)' }]);
  });
});

describe('latency knobs', () => {
  it('spaces the deltas at tps and delays the first content delta by ttft', async () => {
    const started = performance.timeOrigin + performance.now();
    const chunks = await streamChunks(userMessage('a b c [[ttft=150 tps=50]]'));
    const contentChunks = chunks.filter((chunk) => chunk.choices[0]?.delta.content);
    expect(contentChunks).toHaveLength(5); // "You ", "said: ", "a ", "b ", "c"

    const first = contentChunks[0];
    const last = contentChunks[contentChunks.length - 1];
    // 4 gaps of 20 ms; loose bounds, this is a behavioural check, not a benchmark.
    expect((last?.receivedAt ?? 0) - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(60);
    expect((last?.x_sent_at ?? 0) - (first?.x_sent_at ?? 0)).toBeGreaterThanOrEqual(60);
    // The role chunk goes out at once; the first content waits ttft.
    expect((first?.x_sent_at ?? 0) - (chunks[0]?.x_sent_at ?? 0)).toBeGreaterThanOrEqual(120);
    expect((first?.receivedAt ?? 0) - started).toBeGreaterThanOrEqual(120);
  });

  it('uses the server-wide tokensPerSecond when a request has no tps directive', async () => {
    const slow = await startScriptedLlm({ tokensPerSecond: 50 });
    try {
      const chunks = await streamChunks(userMessage('a b c'), { openai: new OpenAI({ baseURL: slow.url, apiKey: 'test', maxRetries: 0 }) });
      const sentTimes = chunks.filter((chunk) => chunk.choices[0]?.delta.content).map((chunk) => chunk.x_sent_at ?? 0);
      expect((sentTimes[sentTimes.length - 1] ?? 0) - (sentTimes[0] ?? 0)).toBeGreaterThanOrEqual(60);
    } finally {
      await slow.close();
    }
  });
});

describe('client abort', () => {
  it('notices the client abort, stops sending and records the request as aborted', async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'scripted-1', messages: userMessage('tell me something long [[tps=40]]'), stream: true },
      { signal: controller.signal },
    );
    let id: string | undefined;
    let received = 0;
    try {
      for await (const chunk of stream) {
        id = chunk.id;
        if (chunk.choices[0]?.delta.content) received += 1;
        if (received === 2) controller.abort();
      }
    } catch {
      // Whether iteration ends quietly or throws on abort is the client's business; the server side is under test.
    }

    const record = await server.waitForRequest((request) => request.id === id && request.outcome === 'aborted', 2000);
    expect(record.endedAt).toBeDefined();
    const sentAtAbort = record.deltasSent;
    expect(sentAtAbort).toBeLessThan(20);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(record.deltasSent).toBe(sentAtAbort);
  });
});

describe('faults', () => {
  it('answers 429 with retry-after, which the client raises as RateLimitError', async () => {
    const error = await expectRejection(
      client.chat.completions.create({ model: 'scripted-1', messages: userMessage('slow down [[fault=429:2]]') }),
    );
    expect(error).toBeInstanceOf(RateLimitError);
    const rateLimit = error as RateLimitError;
    expect(rateLimit.status).toBe(429);
    expect(rateLimit.code).toBe('rate_limit_exceeded');
    expect(rateLimit.headers.get('retry-after')).toBe('2');
  });

  it.each([
    ['500', InternalServerError, null],
    ['400', BadRequestError, null],
    ['context', BadRequestError, 'context_length_exceeded'],
  ] as const)('plays fault=%s as an HTTP error before any byte', async (fault, errorClass, code) => {
    const text = `fault please [[fault=${fault}]]`;
    const error = await expectRejection(streamChunks(userMessage(text)));
    expect(error).toBeInstanceOf(errorClass);
    expect((error as APIError).code ?? null).toBe(code);
    const record = await server.waitForRequest((request) => request.lastUserText === 'fault please' && request.fault === fault, 2000);
    expect(record).toMatchObject({ outcome: 'fault', chunksSent: 0 });
  });

  it('cuts the stream after n deltas, so the client throws; the same request then succeeds', async () => {
    const messages = userMessage('one two three four five [[fault=cut:2]]');
    const received: ChatCompletionChunk[] = [];
    const stream = await client.chat.completions.create({ model: 'scripted-1', messages, stream: true });
    const error = await expectRejection(
      (async () => {
        for await (const chunk of stream) received.push(chunk);
      })(),
    );
    // undici's "terminated" (cause: "other side closed"); a TypeError from another realm than jest's.
    expect(error).toMatchObject({ message: 'terminated' });
    expect(contentDeltas(received)).toEqual(['You ', 'said: ']);
    expect(finishReason(received)).toBeUndefined();
    const cutRecord = await server.waitForRequest((request) => request.id === received[0]?.id && request.outcome === 'fault', 2000);
    expect(cutRecord).toMatchObject({ fault: 'cut:2', deltasSent: 2, occurrence: 1 });

    const retry = await streamChunks(messages);
    expect(contentDeltas(retry).join('')).toBe('You said: one two three four five');
    expect(await recordOf(retry[0]?.id)).toMatchObject({ outcome: 'completed', occurrence: 2 });
    expect((await recordOf(retry[0]?.id)).fault).toBeUndefined();
  });

  it('applies a directive fault to the first fault-times occurrences only', async () => {
    const messages = userMessage('twice [[fault=500 fault-times=2]]');
    const create = (): Promise<unknown> => client.chat.completions.create({ model: 'scripted-1', messages });
    expect(await expectRejection(create())).toBeInstanceOf(InternalServerError);
    expect(await expectRejection(create())).toBeInstanceOf(InternalServerError);
    await expect(create()).resolves.toMatchObject({ choices: [{ message: { content: 'You said: twice' } }] });
  });

  it('lets the openai client retry past a fault that happens once', async () => {
    const retrying = new OpenAI({ baseURL: server.url, apiKey: 'test', maxRetries: 2 });
    const completion = await retrying.chat.completions.create({
      model: 'scripted-1',
      messages: userMessage('retry me [[fault=500 vary=1]]'),
    });
    expect(completion.choices[0]?.message.content).toBe('(attempt 2) You said: retry me');
    const attempts = server.requests.filter((request) => request.lastUserText === 'retry me');
    expect(attempts.map((request) => request.outcome)).toEqual(['fault', 'completed']);
  });

  it('stalls after n deltas, keeping the connection open until the client gives up', async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'scripted-1', messages: userMessage('stall here please [[fault=stall:2]]'), stream: true },
      { signal: controller.signal },
    );
    const iterator = stream[Symbol.asyncIterator]();
    const contents: string[] = [];
    let id: string | undefined;
    while (contents.length < 2) {
      const next = await iterator.next();
      if (next.done) throw new Error('stream ended early');
      id = next.value.id;
      const content = next.value.choices[0]?.delta.content;
      if (content) contents.push(content);
    }
    const pending = iterator.next();
    const raced = await Promise.race([pending.then(() => 'chunk'), new Promise((resolve) => setTimeout(() => resolve('quiet'), 200))]);
    expect(raced).toBe('quiet');
    expect((await recordOf(id)).outcome).toBe('in-progress');

    controller.abort();
    await pending.catch(() => undefined);
    const record = await server.waitForRequest((request) => request.id === id && request.endedAt !== undefined, 2000);
    expect(record).toMatchObject({ outcome: 'fault', fault: 'stall:2', deltasSent: 2 });
  });

  it('plays injected faults on matching requests only, before directive faults', async () => {
    server.injectFault({ match: 'inject-me', fault: '429:1' });
    await expect(client.chat.completions.create({ model: 'scripted-1', messages: userMessage('other text') })).resolves.toBeDefined();

    const messages = userMessage('inject-me [[fault=400]]');
    const create = (): Promise<unknown> => client.chat.completions.create({ model: 'scripted-1', messages });
    expect(await expectRejection(create())).toBeInstanceOf(RateLimitError);
    // The first occurrence was taken by the injected fault, so the directive fault is spent too.
    await expect(create()).resolves.toBeDefined();
  });

  it('injects a fault several times and forgets it on clearFaults', async () => {
    server.injectFault({ fault: '500', times: 2 });
    expect(await expectRejection(client.chat.completions.create({ model: 'scripted-1', messages: userMessage('x1') }))).toBeInstanceOf(
      InternalServerError,
    );
    server.clearFaults();
    await expect(client.chat.completions.create({ model: 'scripted-1', messages: userMessage('x2') })).resolves.toBeDefined();
    expect(() => server.injectFault({ fault: 'cut:x' as 'cut:1' })).toThrow(/Unknown fault/);
  });
});

describe('control endpoints', () => {
  it('queues and clears faults over HTTP and lists the recorded requests', async () => {
    const queued = await fetch(controlUrl('/_scripted/faults'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ match: 'over-http', fault: 'cut:1' }),
    });
    expect(queued.status).toBe(201);
    await expect(streamChunks(userMessage('over-http one'))).rejects.toThrow('terminated');

    await fetch(controlUrl('/_scripted/faults'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ match: 'over-http', fault: '500' }),
    });
    const cleared = await fetch(controlUrl('/_scripted/faults'), { method: 'DELETE' });
    expect(await cleared.json()).toEqual({ cleared: 1 });
    await expect(streamChunks(userMessage('over-http two'))).resolves.toBeDefined();

    const listed = (await (await fetch(controlUrl('/_scripted/requests'))).json()) as { requests: RecordedRequest[] };
    const overHttp = listed.requests.filter((request) => request.lastUserText.startsWith('over-http'));
    expect(overHttp.map((request) => [request.lastUserText, request.outcome, request.fault ?? null])).toEqual([
      ['over-http one', 'fault', 'cut:1'],
      ['over-http two', 'completed', null],
    ]);
  });

  it('rejects an unknown fault over HTTP', async () => {
    const response = await fetch(controlUrl('/_scripted/faults'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fault: 'explode' }),
    });
    expect(response.status).toBe(400);
  });
});

describe('other routes and errors', () => {
  it('lists the scripted models', async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    expect(models.map((model) => model.id)).toEqual(expect.arrayContaining(['scripted-1', 'scripted-mini']));
    expect(models[0]).toMatchObject({ object: 'model', owned_by: 'durable-chat-scripted' });
  });

  it('answers unknown routes with a 404 in the OpenAI error shape', async () => {
    const response = await fetch(controlUrl('/v1/nothing-here'));
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toBe('Invalid URL (GET /v1/nothing-here)');
  });

  it('rejects a body without messages with a 400 naming the parameter', async () => {
    const response = await fetch(`${server.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'scripted-1' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: {
        message: "Missing required parameter: 'messages'.",
        type: 'invalid_request_error',
        param: 'messages',
        code: 'missing_required_parameter',
      },
    });
  });

  it('rejects a body that is not JSON with a 400', async () => {
    const response = await fetch(`${server.url}/chat/completions`, { method: 'POST', body: '{nope' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
  });

  it('rejects waitForRequest when nothing matches in time', async () => {
    await expect(server.waitForRequest(() => false, 50)).rejects.toThrow(/No scripted LLM request matched/);
  });

  it('drops stalled streams when closed', async () => {
    const other = await startScriptedLlm();
    const otherClient = new OpenAI({ baseURL: other.url, apiKey: 'test', maxRetries: 0 });
    const stream = await otherClient.chat.completions.create({
      model: 'scripted-1',
      messages: userMessage('hang [[fault=stall:0]]'),
      stream: true,
    });
    const consumed = (async () => {
      for await (const chunk of stream) void chunk;
    })();
    await other.waitForRequest((request) => request.chunksSent === 1, 2000);
    await other.close();
    await expect(consumed).rejects.toThrow('terminated');
    expect(other.requests[0]).toMatchObject({ outcome: 'fault', fault: 'stall:0' });
  });
});
