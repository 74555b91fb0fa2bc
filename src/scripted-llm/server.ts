/**
 * Scripted OpenAI-compatible server: the project's one test double, and the default LLM of the
 * demo (`npm start`). It is NOT a model: it answers deterministically (see ./answers.ts) so tests
 * and demos are predictable, and it can play latency and faults on request. Any real
 * OpenAI-compatible endpoint replaces it by setting OPENAI_BASE_URL.
 *
 * It speaks the real wire format over real HTTP (node:http, no framework) so the official `openai`
 * client works against it unchanged:
 * - `POST /v1/chat/completions` (streaming SSE and non-streaming), `GET /v1/models`;
 * - control endpoints for tests in other processes: `POST|DELETE /_scripted/faults`,
 *   `GET /_scripted/requests`.
 * Every streamed chunk carries an extra `x_sent_at` field (epoch milliseconds, sub-millisecond
 * precision) so a benchmark can measure the latency of each delta.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import {
  chooseAnswer,
  estimateCompletionTokens,
  estimatePromptTokens,
  isFaultName,
  lastUserText,
  parseDirectives,
  parseFault,
  requestHash,
  splitArguments,
  tokenize,
  type AnswerRule,
  type FaultName,
  type ParsedFault,
  type ScriptedAnswer,
  type WireMessage,
  type WireTool,
} from './answers';

export type { FaultName } from './answers';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/** A fault queued with {@link ScriptedLlm.injectFault} or `POST /_scripted/faults`. */
export interface FaultSpec {
  /** Only requests whose last user text contains this substring; any request when absent. */
  match?: string;
  fault: FaultName;
  /** How many matching requests get the fault (default 1). */
  times?: number;
}

/** How a recorded request ended (so far). */
export type RequestOutcome = 'completed' | 'aborted' | 'fault' | 'in-progress';

/** One chat completion request as the scripted server saw it; updated in place while it runs. */
export interface RecordedRequest {
  /** The completion id (`chatcmpl-...`), also sent as the `x-request-id` header. */
  id: string;
  model: string;
  messages: WireMessage[];
  tools: WireTool[] | undefined;
  stream: boolean;
  /** Epoch milliseconds (float, `performance.timeOrigin + performance.now()`, like `x_sent_at`). */
  startedAt: number;
  /** When the first byte of the response body was written. */
  firstByteAt?: number;
  /** When the response ended, failed, or the client went away. */
  endedAt?: number;
  outcome: RequestOutcome;
  /** The fault played on this request, as written in the directive or the injected spec. */
  fault?: string;
  /** SSE data chunks written (role, deltas, finish, usage; not `[DONE]`). */
  chunksSent: number;
  /** Content or tool call deltas written (the unit that `cut:<n>` and `stall:<n>` count). */
  deltasSent: number;
  /** 1-based count of requests with the same model and messages, this one included. */
  occurrence: number;
  /** The answer rule chosen (see ./answers.ts). */
  rule: AnswerRule;
  /** Last user text, directives removed. */
  lastUserText: string;
  /** HTTP status sent. */
  statusCode?: number;
  /** The request headers, lower-cased names (tests check which key and default headers arrived). */
  headers: Record<string, string>;
}

/** The subset of a pino logger the server uses; pass a pino logger, or nothing for silence. */
export interface ScriptedLlmLogger {
  debug(details: object, message: string): void;
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface ScriptedLlmOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** Default delay before the first content delta, when a request has no `ttft` directive (default 0). */
  ttftMs?: number;
  /** Default deltas per second, when a request has no `tps` directive; 0 (default) means no delay. */
  tokensPerSecond?: number;
  logger?: ScriptedLlmLogger;
  /**
   * When set, chat completions and model lists need `Authorization: Bearer <apiKey>`; any other key
   * gets 401, with an error text that repeats the key it got (as careless providers do), so tests can
   * prove that such text never reaches history or logs.
   */
  apiKey?: string;
  /** Model ids `GET /v1/models` lists (default {@link scriptedModelIds}); chat completions accept any. */
  models?: readonly string[];
}

/** A running scripted server. */
export interface ScriptedLlm {
  /** Base URL for the `openai` client, ending in `/v1` (e.g. `http://127.0.0.1:4010/v1`). */
  url: string;
  port: number;
  /** Chat completion requests so far (the last 10,000), oldest first; records are updated in place. */
  readonly requests: readonly RecordedRequest[];
  /** Queues a fault for the next matching request(s); throws on an unknown fault name. */
  injectFault(fault: FaultSpec): void;
  /** Forgets every queued fault (directive bookkeeping is kept). */
  clearFaults(): void;
  /**
   * Resolves with the first recorded request (past or future) that satisfies the predicate,
   * re-checking whenever a record changes; rejects after `timeoutMs` (default 5000).
   */
  waitForRequest(predicate: (request: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  /** Stops listening and drops every open connection (stalled streams included). */
  close(): Promise<void>;
}

/** Model ids listed by `GET /v1/models`; any model id is accepted by chat completions. */
export const scriptedModelIds = ['scripted-1', 'scripted-mini'] as const;

// ---------------------------------------------------------------------------------------------
// Request validation
// ---------------------------------------------------------------------------------------------

const contentSchema = z.union([
  z.string(),
  z.array(z.looseObject({ type: z.string(), text: z.string().optional(), image_url: z.looseObject({ url: z.string() }).optional() })),
  z.null(),
]);

const messageSchema = z.looseObject({
  role: z.string(),
  content: contentSchema.optional(),
  tool_calls: z
    .array(
      z.looseObject({
        id: z.string().optional(),
        type: z.string().optional(),
        function: z.looseObject({ name: z.string().optional(), arguments: z.string().optional() }).optional(),
      }),
    )
    .nullish(),
  tool_call_id: z.string().optional(),
});

const chatCompletionBodySchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(messageSchema),
  tools: z.array(z.looseObject({ type: z.string(), function: z.looseObject({ name: z.string() }).optional() })).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
});

const faultSpecSchema = z.object({
  match: z.string().optional(),
  fault: z.string().refine(isFaultName, { message: 'unknown fault; use 500, 400, context, 429:<s>, cut:<n> or stall:<n>' }),
  times: z.number().int().positive().optional(),
});

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const maximumBodyBytes = 32 * 1024 * 1024;
/** Oldest records are dropped beyond this, so a long demo run does not grow without bound. */
const maximumRecordedRequests = 10_000;

/** Epoch milliseconds with sub-millisecond precision (the clock of `x_sent_at`). */
function epochMilliseconds(): number {
  return performance.timeOrigin + performance.now();
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  response.end(payload);
}

function sendError(response: ServerResponse, error: HttpError, headers: Record<string, string> = {}): void {
  sendJson(
    response,
    error.status,
    { error: { message: error.message, type: error.type, param: error.param, code: error.code } },
    headers,
  );
}

async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > maximumBodyBytes) throw new HttpError(413, 'Request body too large.', 'invalid_request_error');
    chunks.push(buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'We could not parse the JSON body of your request.', 'invalid_request_error');
  }
}

function validationError(error: z.ZodError, body: unknown): HttpError {
  const issue = error.issues[0];
  const param = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : null;
  const topLevel = issue?.path[0];
  const isMissing =
    typeof topLevel === 'string' &&
    issue?.path.length === 1 &&
    (typeof body !== 'object' || body === null || !(topLevel in body));
  if (isMissing) {
    return new HttpError(400, `Missing required parameter: '${topLevel}'.`, 'invalid_request_error', topLevel, 'missing_required_parameter');
  }
  return new HttpError(400, `Invalid ${param ?? 'body'}: ${issue?.message ?? 'invalid request'}`, 'invalid_request_error', param, null);
}

/**
 * Waits `milliseconds`, or less if the signal aborts first. Resolves `true` when the full time
 * elapsed, `false` on abort, so streaming loops can stop as soon as the client is gone.
 */
function pause(milliseconds: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (milliseconds <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, milliseconds);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

function completionId(sequence: number): string {
  return `chatcmpl-scripted${Date.now().toString(36)}${sequence.toString(36).padStart(4, '0')}`;
}

/** One streamed delta: text content, or a piece of a tool call. */
type StreamDelta =
  | { content: string }
  | {
      tool_calls: [
        | { index: number; id: string; type: 'function'; function: { name: string; arguments: string } }
        | { index: number; function: { arguments: string } },
      ];
    };

function deltasOf(answer: ScriptedAnswer): StreamDelta[] {
  if (answer.kind === 'text') return (answer.deltas ?? tokenize(answer.text)).map((token) => ({ content: token }));
  return answer.toolCalls.flatMap((call, index): StreamDelta[] => [
    { tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] },
    ...splitArguments(call.arguments).map((piece): StreamDelta => ({ tool_calls: [{ index, function: { arguments: piece } }] })),
  ]);
}

function errorForFault(fault: ParsedFault, promptTokens: number): { error: HttpError; headers: Record<string, string> } | undefined {
  switch (fault.kind) {
    case 'server-error':
      return {
        error: new HttpError(500, 'The server had an error while processing your request (scripted fault).', 'server_error'),
        headers: {},
      };
    case 'bad-request':
      return { error: new HttpError(400, 'Scripted bad request.', 'invalid_request_error'), headers: {} };
    case 'context-length':
      return {
        error: new HttpError(
          400,
          `This model's maximum context length is 8192 tokens. However, your messages resulted in ${Math.max(promptTokens, 8193)} tokens (scripted fault).`,
          'invalid_request_error',
          'messages',
          'context_length_exceeded',
        ),
        headers: {},
      };
    case 'rate-limit':
      return {
        error: new HttpError(
          429,
          `Rate limit reached (scripted fault). Please try again in ${fault.retryAfterSeconds}s.`,
          'requests',
          null,
          'rate_limit_exceeded',
        ),
        headers: { 'retry-after': String(fault.retryAfterSeconds) },
      };
    default:
      return undefined;
  }
}

interface QueuedFault {
  match: string | undefined;
  fault: FaultName;
  remaining: number;
}

interface Waiter {
  predicate: (request: RecordedRequest) => boolean;
  resolve: (request: RecordedRequest) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

/**
 * Starts the scripted OpenAI-compatible server and resolves once it listens. Tests start one per
 * suite (port 0) and point the `openai` client at `url`; `npm start` uses it as the demo LLM when
 * no OPENAI_BASE_URL is configured.
 */
export async function startScriptedLlm(options: ScriptedLlmOptions = {}): Promise<ScriptedLlm> {
  const host = options.host ?? '127.0.0.1';
  const defaultTtftMs = options.ttftMs ?? 0;
  const defaultTokensPerSecond = options.tokensPerSecond ?? 0;
  const logger = options.logger;

  const requests: RecordedRequest[] = [];
  const occurrences = new Map<string, number>();
  let queuedFaults: QueuedFault[] = [];
  const waiters = new Set<Waiter>();
  const activeRequests = new Set<AbortController>();
  let sequence = 0;

  const notify = (): void => {
    for (const waiter of waiters) {
      const found = requests.find(waiter.predicate);
      if (found) {
        waiters.delete(waiter);
        clearTimeout(waiter.timer);
        waiter.resolve(found);
      }
    }
  };

  const queueFault = (spec: FaultSpec): QueuedFault => {
    if (!isFaultName(spec.fault)) throw new Error(`Unknown fault "${String(spec.fault)}"`);
    const times = spec.times ?? 1;
    if (!Number.isInteger(times) || times < 1) throw new Error(`Fault times must be a positive integer, got ${times}`);
    const queued: QueuedFault = { match: spec.match, fault: spec.fault, remaining: times };
    queuedFaults.push(queued);
    return queued;
  };

  /** Takes the first queued fault matching the last user text, if any. */
  const takeQueuedFault = (rawText: string, strippedText: string): FaultName | undefined => {
    const queued = queuedFaults.find(
      (candidate) => candidate.match === undefined || rawText.includes(candidate.match) || strippedText.includes(candidate.match),
    );
    if (!queued) return undefined;
    queued.remaining -= 1;
    if (queued.remaining <= 0) queuedFaults = queuedFaults.filter((candidate) => candidate !== queued);
    return queued.fault;
  };

  /** Refuses a request without the configured key (401, like OpenAI); no check without `apiKey`. */
  const checkApiKey = (request: IncomingMessage): void => {
    if (options.apiKey === undefined) return;
    const given = /^Bearer\s+(.*)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
    if (given !== options.apiKey) {
      throw new HttpError(401, `Incorrect API key provided: ${given}. You can find your API key in your account settings.`, 'invalid_request_error', null, 'invalid_api_key');
    }
  };

  const headersOf = (request: IncomingMessage): Record<string, string> =>
    Object.fromEntries(Object.entries(request.headers).flatMap(([name, value]) => (value === undefined ? [] : [[name, Array.isArray(value) ? value.join(', ') : value]])));

  async function handleChatCompletion(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readJsonBody(request);
    const parsed = chatCompletionBodySchema.safeParse(body);
    if (!parsed.success) throw validationError(parsed.error, body);
    const { model, messages } = parsed.data;
    const tools = parsed.data.tools ?? undefined;
    const stream = parsed.data.stream === true;
    const includeUsage = parsed.data.stream_options?.include_usage === true;

    const hash = requestHash(model, messages);
    const occurrence = (occurrences.get(hash) ?? 0) + 1;
    occurrences.set(hash, occurrence);

    const choice = chooseAnswer({
      messages,
      tools,
      occurrence,
      maxTokens: parsed.data.max_completion_tokens ?? parsed.data.max_tokens ?? undefined,
    });
    const { answer, directives } = choice;
    sequence += 1;
    const record: RecordedRequest = {
      id: completionId(sequence),
      model,
      messages,
      tools,
      stream,
      startedAt: epochMilliseconds(),
      outcome: 'in-progress',
      chunksSent: 0,
      deltasSent: 0,
      occurrence,
      rule: choice.rule,
      lastUserText: choice.text,
      headers: headersOf(request),
    };
    requests.push(record);
    if (requests.length > maximumRecordedRequests) requests.splice(0, requests.length - maximumRecordedRequests);
    if (directives.problems.length > 0) {
      logger?.warn({ requestId: record.id, problems: directives.problems }, 'scripted LLM ignored bad directives');
    }

    try {
      checkApiKey(request);
    } catch (error) {
      record.statusCode = 401;
      record.outcome = 'fault';
      record.endedAt = epochMilliseconds();
      notify();
      throw error;
    }

    const rawUserText = lastUserText(messages);
    let faultName = takeQueuedFault(rawUserText, parseDirectives(rawUserText).text);
    if (faultName === undefined && directives.fault !== undefined && occurrence <= directives.faultTimes) {
      faultName = directives.fault;
    }
    const fault = faultName === undefined ? undefined : parseFault(faultName);
    if (faultName !== undefined) record.fault = faultName;
    logger?.debug(
      { requestId: record.id, model, stream, rule: choice.rule, occurrence, fault: faultName },
      'scripted LLM request',
    );

    const finish = (outcome: RequestOutcome): void => {
      if (record.outcome !== 'in-progress') return;
      record.outcome = outcome;
      record.endedAt = epochMilliseconds();
      notify();
    };

    const controller = new AbortController();
    activeRequests.add(controller);
    response.on('close', () => {
      activeRequests.delete(controller);
      if (!response.writableFinished) {
        // The client went away (or the socket was cut) before the end of the response.
        controller.abort();
        finish(record.fault === undefined ? 'aborted' : 'fault');
      }
    });
    response.on('error', (error) => logger?.debug({ requestId: record.id, error: error.message }, 'scripted LLM response error'));
    notify();

    const promptTokens = estimatePromptTokens(messages);
    const httpFault = fault ? errorForFault(fault, promptTokens) : undefined;
    if (httpFault) {
      record.statusCode = httpFault.error.status;
      sendError(response, httpFault.error, { 'x-request-id': record.id, ...httpFault.headers });
      finish('fault');
      return;
    }

    const tokensPerSecond =
      directives.tokensPerSecond !== undefined && directives.tokensPerSecond > 0 ? directives.tokensPerSecond : defaultTokensPerSecond;
    const timing = {
      ttftMs: directives.ttftMs ?? defaultTtftMs,
      intervalMs: tokensPerSecond > 0 ? 1000 / tokensPerSecond : 0,
    };
    const cutOrStall = fault && (fault.kind === 'cut' || fault.kind === 'stall') ? fault : undefined;
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: estimateCompletionTokens(answer),
      total_tokens: promptTokens + estimateCompletionTokens(answer),
    };
    const created = Math.floor(Date.now() / 1000);
    const signal = controller.signal;

    if (!stream) {
      const deltaCount = deltasOf(answer).length;
      if (!(await pause(timing.ttftMs + Math.max(0, deltaCount - 1) * timing.intervalMs, signal))) return;
      if (cutOrStall?.kind === 'cut') {
        response.destroy();
        finish('fault');
        return;
      }
      if (cutOrStall?.kind === 'stall') {
        await waitForAbort(signal);
        return;
      }
      const message =
        answer.kind === 'text'
          ? { role: 'assistant', content: answer.text, refusal: null }
          : {
              role: 'assistant',
              content: null,
              refusal: null,
              tool_calls: answer.toolCalls.map((call) => ({
                id: call.id,
                type: 'function',
                function: { name: call.name, arguments: call.arguments },
              })),
            };
      record.statusCode = 200;
      record.firstByteAt = epochMilliseconds();
      sendJson(
        response,
        200,
        {
          id: record.id,
          object: 'chat.completion',
          created,
          model,
          choices: [{ index: 0, message, finish_reason: answer.finishReason, logprobs: null }],
          usage,
        },
        { 'x-request-id': record.id },
      );
      finish('completed');
      return;
    }

    record.statusCode = 200;
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-request-id': record.id,
    });
    /** Writes one SSE chunk (false once the client is gone) and lets waiters see the progress. */
    const writeChunk = (fields: Record<string, unknown>, isDelta = false): boolean => {
      if (signal.aborted || response.destroyed) return false;
      const chunk = { id: record.id, object: 'chat.completion.chunk', created, model, ...fields, x_sent_at: epochMilliseconds() };
      response.write(`data: ${JSON.stringify(chunk)}\n\n`);
      record.chunksSent += 1;
      if (isDelta) record.deltasSent += 1;
      record.firstByteAt ??= chunk.x_sent_at;
      notify();
      return true;
    };
    const choiceChunk = (delta: object, finishReason: string | null): Record<string, unknown> => ({
      choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
    });

    if (!writeChunk(choiceChunk({ role: 'assistant', content: '' }, null))) return;
    const deltas = deltasOf(answer);
    for (const [index, delta] of deltas.entries()) {
      if (cutOrStall && record.deltasSent >= cutOrStall.afterDeltas) break;
      if (!(await pause(index === 0 ? timing.ttftMs : timing.intervalMs, signal))) return;
      if (!writeChunk(choiceChunk(delta, null), true)) return;
    }
    if (cutOrStall?.kind === 'cut') {
      // Let the written chunks leave, then drop the connection without `[DONE]` or the final
      // chunked-encoding terminator: the client sees a connection lost mid-answer.
      finish('fault');
      if (response.socket) response.socket.destroySoon();
      else response.destroy();
      return;
    }
    if (cutOrStall?.kind === 'stall') {
      await waitForAbort(signal);
      return;
    }
    if (!writeChunk(choiceChunk({}, answer.finishReason))) return;
    if (includeUsage && !writeChunk({ choices: [], usage })) return;
    response.end('data: [DONE]\n\n');
    finish('completed');
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    const path = new URL(request.url ?? '/', 'http://scripted.invalid').pathname;
    const route = `${method} ${path}`;
    switch (route) {
      case 'POST /v1/chat/completions':
        return handleChatCompletion(request, response);
      case 'GET /v1/models': {
        checkApiKey(request);
        const created = Math.floor(Date.now() / 1000);
        return sendJson(response, 200, {
          object: 'list',
          data: (options.models ?? scriptedModelIds).map((id) => ({ id, object: 'model', created, owned_by: 'durable-chat-scripted' })),
        });
      }
      case 'POST /_scripted/faults': {
        const body = await readJsonBody(request);
        const parsed = faultSpecSchema.safeParse(body);
        if (!parsed.success) throw validationError(parsed.error, body);
        const { match, fault, times } = parsed.data; // `fault` is a FaultName: the schema refines it.
        const queued = queueFault({ fault, match, times });
        return sendJson(response, 201, { queued: { match: queued.match ?? null, fault: queued.fault, times: queued.remaining } });
      }
      case 'DELETE /_scripted/faults': {
        const cleared = queuedFaults.length;
        queuedFaults = [];
        return sendJson(response, 200, { cleared });
      }
      case 'GET /_scripted/requests':
        return sendJson(response, 200, { requests });
      default:
        throw new HttpError(404, `Invalid URL (${method} ${path})`, 'invalid_request_error');
    }
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const httpError =
        error instanceof HttpError
          ? error
          : new HttpError(500, error instanceof Error ? error.message : 'Internal error', 'server_error');
      if (httpError.status >= 500) logger?.warn({ error: httpError.message }, 'scripted LLM failed a request');
      if (response.headersSent) response.destroy();
      else sendError(response, httpError);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/v1`;
  logger?.debug({ url }, 'scripted LLM listening');

  return {
    url,
    port,
    requests,
    injectFault: (spec) => {
      queueFault(spec);
    },
    clearFaults: () => {
      queuedFaults = [];
    },
    waitForRequest: (predicate, timeoutMs = 5000) => {
      const found = requests.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise<RecordedRequest>((resolve, reject) => {
        const waiter: Waiter = {
          predicate,
          resolve,
          reject,
          timer: setTimeout(() => {
            waiters.delete(waiter);
            reject(new Error(`No scripted LLM request matched within ${timeoutMs} ms (${requests.length} recorded)`));
          }, timeoutMs),
        };
        waiters.add(waiter);
      });
    },
    close: async () => {
      for (const controller of activeRequests) controller.abort();
      for (const waiter of waiters) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error('Scripted LLM closed'));
      }
      waiters.clear();
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
