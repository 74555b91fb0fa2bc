/**
 * Pure logic of the scripted OpenAI-compatible server (the project's test double and the demo
 * default LLM; any real OpenAI-compatible endpoint replaces it through OPENAI_BASE_URL).
 *
 * Everything here is deterministic and free of I/O so it can be unit-tested on its own:
 * - reading per-request directives (`[[ttft=200 tps=50 fault=cut:5]]`) out of the last user message,
 * - choosing the answer (tool call, tool-result summary, long text, conversation summary, echo),
 * - cutting the answer into the pieces that the server streams,
 * - estimating usage numbers.
 */
import { dataOfToolResult } from '../llm/data-boundary';
import { createHash } from 'node:crypto';
import { MEMORY_EXTRACTION_MARKER } from '../memory/memory-extraction';
import { scriptedExtractionAnswer } from './memory-extraction';

// ---------------------------------------------------------------------------------------------
// Wire shapes (the subset of the OpenAI chat completion request that the scripted server reads)
// ---------------------------------------------------------------------------------------------

/** One part of an array-valued message content: `text` parts carry text, `image_url` parts an image. */
export interface WireContentPart {
  type: string;
  text?: string | undefined;
  image_url?: { url?: string | undefined } | undefined;
}

/** Message content as the OpenAI API accepts it: a string, an array of parts, or nothing. */
export type WireContent = string | readonly WireContentPart[] | null | undefined;

/** A tool call as it appears in an assistant message of the request history. */
export interface WireToolCall {
  id?: string | undefined;
  type?: string | undefined;
  function?: { name?: string | undefined; arguments?: string | undefined } | undefined;
}

/** A chat message of the request (system, developer, user, assistant or tool). */
export interface WireMessage {
  role: string;
  content?: WireContent;
  tool_calls?: readonly WireToolCall[] | null | undefined;
  tool_call_id?: string | undefined;
}

/** A tool offered by the request; only function tools with a name can be called. */
export interface WireTool {
  type: string;
  function?: { name: string; parameters?: { properties?: Record<string, { type?: string }>; required?: readonly string[] } } | undefined;
}

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

/**
 * The faults the scripted server can play, written as in directives and in `injectFault`:
 * - `500`: HTTP 500 with an OpenAI error body, before any byte of answer.
 * - `429:<seconds>`: HTTP 429 with a `retry-after` header and code `rate_limit_exceeded`.
 * - `400`: HTTP 400 `invalid_request_error`.
 * - `context`: HTTP 400 with code `context_length_exceeded`.
 * - `cut:<n>`: stream n deltas, then destroy the socket without `[DONE]`.
 * - `stall:<n>`: stream n deltas, then send nothing more until the client goes away.
 */
export type FaultName = '500' | '400' | 'context' | `429:${number}` | `cut:${number}` | `stall:${number}`;

/** A fault name, parsed. */
export type ParsedFault =
  | { kind: 'server-error' }
  | { kind: 'bad-request' }
  | { kind: 'context-length' }
  | { kind: 'rate-limit'; retryAfterSeconds: number }
  | { kind: 'cut'; afterDeltas: number }
  | { kind: 'stall'; afterDeltas: number };

/**
 * Parses a fault name (`500`, `429:3`, `cut:5`, ...). Returns `undefined` for anything else so
 * that callers can report a bad directive or reject a bad control request instead of guessing.
 */
export function parseFault(spec: string): ParsedFault | undefined {
  const trimmed = spec.trim();
  if (trimmed === '500') return { kind: 'server-error' };
  if (trimmed === '400') return { kind: 'bad-request' };
  if (trimmed === 'context') return { kind: 'context-length' };
  const match = /^(429|cut|stall):(\d+)$/.exec(trimmed);
  if (!match) return undefined;
  const count = Number(match[2]);
  if (!Number.isSafeInteger(count)) return undefined;
  switch (match[1]) {
    case '429':
      return { kind: 'rate-limit', retryAfterSeconds: count };
    case 'cut':
      return { kind: 'cut', afterDeltas: count };
    default:
      return { kind: 'stall', afterDeltas: count };
  }
}

/** Type guard over {@link parseFault}, for validating fault names that arrive as plain strings. */
export function isFaultName(spec: string): spec is FaultName {
  return parseFault(spec) !== undefined;
}

// ---------------------------------------------------------------------------------------------
// Directives
// ---------------------------------------------------------------------------------------------

/** Per-request knobs read from `[[key=value ...]]` blocks of the last user message. */
export interface Directives {
  /** `ttft=<ms>`: delay before the first content delta. */
  ttftMs?: number;
  /** `tps=<n>`: deltas per second; 0 means "use the server default". */
  tokensPerSecond?: number;
  /** `fault=<spec>`: fault to play on the first occurrence(s) of this exact request. */
  fault?: FaultName;
  /** `fault-times=<k>`: how many occurrences of the same request get the directive fault (default 1). */
  faultTimes: number;
  /** `hops=<n>`: keep calling the requested tool until n tool rounds happened. */
  hops?: number;
  /** `vary=1`: prefix text answers with `(attempt k) ` where k counts occurrences of the request. */
  vary: boolean;
  /**
   * `tokens=<n>`: text answers repeat their text until they are n streamed pieces long, then stop
   * there: a long answer to a short question (the bench's streams outlast its ramp this way).
   */
  tokens?: number;
  /** `image=1`: text answers end with a small PNG as an inline Markdown data image, streamed in several deltas. */
  image: boolean;
  /**
   * `args=<base64url of a JSON object>`: the arguments of the tool calls the user asks for, verbatim
   * (a tool whose arguments are not one string, such as the `app_execute` mega-tool). Base64, so its
   * words never reach a search over the message.
   */
  toolArguments?: string;
  /** Every key/value seen, including keys this server does not know. */
  raw: Record<string, string>;
  /** Human-readable problems (unknown keys, bad numbers) so the server can log them. */
  problems: string[];
}

/** The text of a message with its directive blocks removed, and the directives they held. */
export interface ParsedDirectives {
  text: string;
  directives: Directives;
}

const directiveBlockPattern = /[ \t]*\[\[([^[\]]*)\]\][ \t]*/g;

function parseNonNegativeNumber(value: string): number | undefined {
  if (!/^\d+(?:\.\d+)?$/.test(value)) return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

/**
 * Reads every `[[key=value ...]]` block of a message text and returns the text without them.
 * Directives let a test (or a demo user) steer one request — latency, faults, tool hops — through
 * the message itself, which survives every layer between the test and the LLM unchanged.
 * A bare key (`[[vary]]`) counts as `key=1`. Blocks are replaced by one space, then the text is trimmed.
 */
export function parseDirectives(text: string): ParsedDirectives {
  const directives: Directives = { faultTimes: 1, vary: false, image: false, raw: {}, problems: [] };
  const stripped = text.replace(directiveBlockPattern, (_block, inside: string) => {
    for (const token of inside.split(/[\s,]+/).filter((part) => part.length > 0)) {
      const separator = token.indexOf('=');
      const key = (separator === -1 ? token : token.slice(0, separator)).toLowerCase();
      const value = separator === -1 ? '1' : token.slice(separator + 1);
      directives.raw[key] = value;
      applyDirective(directives, key, value);
    }
    return ' ';
  });
  return { text: stripped.trim(), directives };
}

function applyDirective(directives: Directives, key: string, value: string): void {
  const number = parseNonNegativeNumber(value);
  switch (key) {
    case 'ttft':
      if (number === undefined) directives.problems.push(`ttft needs a number of milliseconds, got "${value}"`);
      else directives.ttftMs = number;
      return;
    case 'tps':
      if (number === undefined) directives.problems.push(`tps needs a number, got "${value}"`);
      else directives.tokensPerSecond = number;
      return;
    case 'fault':
      if (isFaultName(value)) directives.fault = value;
      else directives.problems.push(`unknown fault "${value}"`);
      return;
    case 'fault-times':
      if (number === undefined || !Number.isInteger(number)) {
        directives.problems.push(`fault-times needs an integer, got "${value}"`);
      } else directives.faultTimes = number;
      return;
    case 'hops':
      if (number === undefined || !Number.isInteger(number)) directives.problems.push(`hops needs an integer, got "${value}"`);
      else directives.hops = number;
      return;
    case 'tokens':
      if (number === undefined || !Number.isInteger(number) || number < 1) directives.problems.push(`tokens needs a positive integer, got "${value}"`);
      else directives.tokens = number;
      return;
    case 'vary':
      directives.vary = value !== '0' && value.toLowerCase() !== 'false';
      return;
    case 'image':
      directives.image = value !== '0' && value.toLowerCase() !== 'false';
      return;
    case 'args': {
      const json = Buffer.from(value, 'base64url').toString('utf8');
      try {
        const parsed: unknown = JSON.parse(json);
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) directives.problems.push('args must encode a JSON object');
        else directives.toolArguments = json;
      } catch {
        directives.problems.push('args must be base64url of a JSON object');
      }
      return;
    }
    default:
      directives.problems.push(`unknown directive "${key}"`);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading messages
// ---------------------------------------------------------------------------------------------

/** The plain text of a message content: the string itself, or its text parts joined by newlines. */
export function contentText(content: WireContent): string {
  if (typeof content === 'string') return content;
  if (!content) return '';
  return content
    .filter((part) => part.type === 'text' && typeof part.text === 'string')
    .map((part) => part.text ?? '')
    .join('\n');
}

/** Index of the last message with the given role, or -1. */
function lastIndexOfRole(messages: readonly WireMessage[], role: string): number {
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    if (messages[index]?.role === role) return index;
  }
  return -1;
}

/** The raw text (directives included) of the last user message, or '' when there is none. */
export function lastUserText(messages: readonly WireMessage[]): string {
  const index = lastIndexOfRole(messages, 'user');
  return index === -1 ? '' : contentText(messages[index]?.content);
}

/** The names of the function tools a request offers. */
export function offeredToolNames(tools: readonly WireTool[] | null | undefined): string[] {
  return (tools ?? []).flatMap((tool) => (tool.type === 'function' && tool.function ? [tool.function.name] : []));
}

// ---------------------------------------------------------------------------------------------
// Hashes
// ---------------------------------------------------------------------------------------------

/**
 * Identity of a request for "faults once" bookkeeping: the same model and messages give the same
 * hash, so a retry of a request is recognised as the second occurrence of it.
 */
export function requestHash(model: string, messages: readonly WireMessage[]): string {
  return createHash('sha256').update(JSON.stringify({ model, messages })).digest('hex');
}

/** First 8 hex digits of the hash of the messages: the stable part of tool call ids. */
export function messagesHash8(messages: readonly WireMessage[]): string {
  return createHash('sha256').update(JSON.stringify(messages)).digest('hex').slice(0, 8);
}

// ---------------------------------------------------------------------------------------------
// Tool requests
// ---------------------------------------------------------------------------------------------

/** A tool the user asked for, with the text that becomes its argument. */
export interface RequestedTool {
  name: string;
  argumentText: string;
}

const toolRequestPattern = /\b(?:use|call)\s+(?:the\s+)?(?:tool\s+)?([a-z_][a-z0-9_]*)\b/gi;
const toolContinuationPattern =
  /(?:\s*,\s*(?:(?:and|then)\s+)?|\s+(?:and|then)\s+)(?:(?:use|call)\s+)?(?:the\s+)?(?:tool\s+)?([a-z_][a-z0-9_]*)\b/iy;
const trailingConnectorPattern = /(?:\s*(?:,|\band\b|\bthen\b))+\s*$/i;

/**
 * Finds the offered tools a user text asks for: "use search_docs for X", "call the tool lookup",
 * "use tool a and tool b for X", "use search for X, then call fetch for Y". Names are matched
 * case-insensitively and returned as the tool offers them. The argument text of a group of tools
 * is the text after the group up to the next request (connectors trimmed), or the whole text
 * when that is empty.
 */
export function findRequestedTools(text: string, offeredNames: readonly string[]): RequestedTool[] {
  const byLowerName = new Map(offeredNames.map((name) => [name.toLowerCase(), name]));
  const groups: { names: string[]; end: number; start: number }[] = [];
  const pattern = new RegExp(toolRequestPattern.source, toolRequestPattern.flags);
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const firstName = byLowerName.get((match[1] ?? '').toLowerCase());
    if (firstName === undefined) continue;
    const names = [firstName];
    let end = match.index + match[0].length;
    const continuation = new RegExp(toolContinuationPattern.source, toolContinuationPattern.flags);
    for (;;) {
      continuation.lastIndex = end;
      const next = continuation.exec(text);
      const nextName = next ? byLowerName.get((next[1] ?? '').toLowerCase()) : undefined;
      if (!next || nextName === undefined) break;
      names.push(nextName);
      end = next.index + next[0].length;
    }
    groups.push({ names, start: match.index, end });
    pattern.lastIndex = end;
  }
  return groups.flatMap((group, groupIndex) => {
    const nextStart = groups[groupIndex + 1]?.start ?? text.length;
    const rest = text.slice(group.end, nextStart).replace(trailingConnectorPattern, '').trim();
    const argumentText = rest.length > 0 ? rest : text.trim();
    return group.names.map((name) => ({ name, argumentText }));
  });
}

/**
 * The JSON arguments of a scripted tool call. When the tool declares a JSON schema, the text goes to
 * its first required string property (else its first string property), as a model would fill it;
 * without one, `{"query": ...}` for search tools, else `{"input": ...}`.
 */
export function toolArguments(name: string, argumentText: string, parameters?: NonNullable<WireTool['function']>['parameters']): string {
  const properties = parameters?.properties ?? {};
  const stringProperties = Object.keys(properties).filter((key) => properties[key]?.type === 'string');
  const key = stringProperties.find((property) => parameters?.required?.includes(property)) ?? stringProperties[0];
  if (key) return JSON.stringify({ [key]: argumentText });
  return JSON.stringify(/search/i.test(name) ? { query: argumentText } : { input: argumentText });
}

// ---------------------------------------------------------------------------------------------
// Choosing the answer
// ---------------------------------------------------------------------------------------------

/** A tool call the scripted model makes. */
export interface ScriptedToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** Which rule produced the answer (recorded with each request, handy when a test fails). */
export type AnswerRule = 'memory-extraction' | 'tool-request' | 'tool-hop' | 'tool-summary' | 'title' | 'long' | 'summary' | 'echo';

/** The scripted model's answer: text, or tool calls. */
export type ScriptedAnswer =
  | { kind: 'text'; text: string; finishReason: 'stop' | 'length'; /** How the text is streamed, when not {@link tokenize}. */ deltas?: string[] }
  | { kind: 'tool-calls'; toolCalls: ScriptedToolCall[]; finishReason: 'tool_calls' };

/** A 16×16 PNG of a red dot (112 bytes): the image `image=1` answers carry and `test_generate_image` returns. */
export const SCRIPTED_PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAN0lEQVR42mP48OEXSYiBChruaGjAEQENyEpxaWMgqBpND7ka8KtG1jN4NdA+lMiJOHKSBk1SKwA70h3/YVKe5wAAAABJRU5ErkJggg==';

/** The Markdown the `image=1` directive appends to a text answer. */
export const SCRIPTED_IMAGE_MARKDOWN = `![a red dot](data:image/png;base64,${SCRIPTED_PNG_BASE64})`;

/** Stream pieces of a text: its tokens, with tokens over 32 characters (a data URL) cut into 24-character pieces. */
export function imageAnswerDeltas(text: string): string[] {
  return tokenize(text).flatMap((token) => (token.length <= 32 ? [token] : (token.match(/[\s\S]{1,24}/g) ?? [])));
}

/**
 * What the last user message showed besides text, as the echo answer reports it:
 * ` (I see 1 image: image/png, 112 bytes)`; empty when it held no image parts.
 */
export function describeImageParts(content: WireContent): string {
  if (typeof content === 'string' || !content) return '';
  const images = content.filter((part) => part.type === 'image_url' && typeof part.image_url?.url === 'string').map((part) => {
    const match = /^data:([^;,]+)[^,]*;base64,(.*)$/s.exec(part.image_url!.url!);
    return match ? `${match[1]}, ${Buffer.from(match[2]!, 'base64').length} bytes` : 'a linked image';
  });
  if (images.length === 0) return '';
  return ` (I see ${images.length} image${images.length === 1 ? '' : 's'}: ${images.join('; ')})`;
}

/** What {@link chooseAnswer} needs to know about a request. */
export interface AnswerRequest {
  messages: readonly WireMessage[];
  tools?: readonly WireTool[] | null | undefined;
  /** 1-based count of requests with the same model and messages seen so far, this one included. */
  occurrence: number;
  /** `max_tokens` / `max_completion_tokens`: a text answer longer than this stops with `length`. */
  maxTokens?: number | undefined;
}

/** The answer, the rule that chose it, and the directives of the last user message. */
export interface AnswerChoice {
  answer: ScriptedAnswer;
  rule: AnswerRule;
  directives: Directives;
  /** The last user text with directives removed. */
  text: string;
}

/** Three paragraphs (about 150 words) for prompts that ask for something `long`. */
export const longAnswer = [
  'Durable execution means a program keeps its progress even when the machine running it does not. ' +
    'Each step is recorded in a history, so after a crash a new worker replays that history and continues ' +
    'exactly where the old one stopped, without repeating side effects that already happened.',
  'In this chat backend every turn is a workflow. The call to the language model runs as an activity that ' +
    'streams tokens and heartbeats; if the process dies halfway, the activity is retried and the client keeps ' +
    'reading the same stream from the last event it saw, so nothing is lost and nothing is shown twice.',
  'The price is discipline: workflow code must be deterministic, timers and randomness go through the ' +
    'framework, and anything that touches the outside world lives in activities. In return, retries, timeouts ' +
    'and long waits become ordinary code instead of fragile bookkeeping.',
].join('\n\n');

const summaryRequestPattern = /summari[sz]e|summary of the conversation/i;
const titleRequestPattern = /\btitle for the conversation\b/i;
const titleWords = 6;

/**
 * The scripted model's title for a conversation: the first words of its first user message
 * (directives removed), capitalised, without final punctuation.
 */
export function scriptedTitle(messages: readonly WireMessage[]): string {
  const firstUser = messages.find((message) => message.role === 'user');
  const words = parseDirectives(contentText(firstUser?.content)).text.split(/\s+/).filter(Boolean).slice(0, titleWords);
  const title = words.join(' ').replace(/[.!?:;,]+$/, '');
  return title.charAt(0).toUpperCase() + title.slice(1);
}
const longPattern = /\blong\b/i;
const toolResultLimit = 200;
const summaryWordsPerMessage = 12;

/**
 * Chooses the deterministic answer for a request, so tests and the demo get predictable, useful
 * replies without a real model. Rules, first match wins:
 * 0. a system message starts with the memory extraction instructions → the extraction JSON
 *    (./memory-extraction.ts);
 * 1. the last message is a user message naming offered tools (`use search_docs ...`) → tool calls;
 * 2. the last message is a tool result → more tool calls while `hops=N` rounds are not done,
 *    otherwise `Tool results: ...`;
 * 3. a system message asks for a title for the conversation → {@link scriptedTitle};
 * 3b. the last user message contains the word `long` → three paragraphs;
 * 4. the last message is a system message, or a system message / the last user message asks to
 *    summarise → `Summary: ` + the first 12 words of every user message;
 * 5. otherwise → `You said: <text>`, plus ` (I see 1 image: image/png, 112 bytes)` when the message held image parts.
 * With `vary=1` text answers start with `(attempt k) `, k being {@link AnswerRequest.occurrence}; with
 * `image=1` they end with {@link SCRIPTED_IMAGE_MARKDOWN}, its data URL streamed over several deltas.
 */
export function chooseAnswer(request: AnswerRequest): AnswerChoice {
  const { messages } = request;
  const lastUserIndex = lastIndexOfRole(messages, 'user');
  const { text, directives } = parseDirectives(lastUserText(messages));
  const offered = offeredToolNames(request.tools);
  const lastMessage = messages[messages.length - 1];
  const hashPrefix = messagesHash8(messages);

  const toolCallsFor = (requested: readonly RequestedTool[], round: number | undefined): ScriptedAnswer => ({
    kind: 'tool-calls',
    finishReason: 'tool_calls',
    toolCalls: requested.map((tool, index) => ({
      id: `call_${hashPrefix}_${index}`,
      name: tool.name,
      arguments: directives.toolArguments ?? toolArguments(
        tool.name,
        round === undefined ? tool.argumentText : `${tool.argumentText} (round ${round})`,
        request.tools?.find((offeredTool) => offeredTool.function?.name === tool.name)?.function?.parameters,
      ),
    })),
  });
  const textAnswer = (rule: AnswerRule, answerText: string): AnswerChoice => {
    const sized = directives.tokens ? repeatToTokens(answerText, directives.tokens) : answerText;
    const varied = directives.vary ? `(attempt ${request.occurrence}) ${sized}` : sized;
    const full = directives.image ? `${varied}\n\nHere is the image: ${SCRIPTED_IMAGE_MARKDOWN}` : varied;
    const answer = limitText(full, request.maxTokens);
    if (directives.image && answer.kind === 'text') answer.deltas = imageAnswerDeltas(answer.text);
    return { answer, rule, directives, text };
  };

  // Rule 0: a memory extraction request (the product's own prompt, see src/memory/memory-extraction.ts).
  if (messages.some((message) => message.role === 'system' && contentText(message.content).startsWith(MEMORY_EXTRACTION_MARKER))) {
    return { answer: { kind: 'text', text: scriptedExtractionAnswer(lastUserText(messages)), finishReason: 'stop' }, rule: 'memory-extraction', directives, text };
  }

  // Rule 1: the user asks for tools.
  if (lastMessage?.role === 'user' && offered.length > 0) {
    const requested = findRequestedTools(text, offered);
    if (requested.length > 0) {
      const round = directives.hops === undefined ? undefined : 1;
      return { answer: toolCallsFor(requested, round), rule: 'tool-request', directives, text };
    }
  }

  // Rule 2: tool results came back.
  if (lastMessage?.role === 'tool') {
    const sinceUser = messages.slice(lastUserIndex + 1);
    const toolRounds = sinceUser.filter((message) => message.role === 'assistant' && (message.tool_calls?.length ?? 0) > 0);
    if (directives.hops !== undefined && toolRounds.length < directives.hops && offered.length > 0) {
      let requested = findRequestedTools(text, offered);
      if (requested.length === 0) {
        const previousCalls = toolRounds[toolRounds.length - 1]?.tool_calls ?? [];
        requested = previousCalls
          .map((call) => call.function?.name ?? '')
          .filter((name) => offered.includes(name))
          .map((name) => ({ name, argumentText: text }));
      }
      if (requested.length > 0) {
        return { answer: toolCallsFor(requested, toolRounds.length + 1), rule: 'tool-hop', directives, text };
      }
    }
    const results = sinceUser
      .filter((message) => message.role === 'tool')
      .map((message) => dataOfToolResult(contentText(message.content)).slice(0, toolResultLimit));
    return textAnswer('tool-summary', `Tool results: ${results.join('; ')}`);
  }

  // Rule 3: a title for the conversation.
  const isInstruction = (message: WireMessage): boolean => message.role === 'system' || message.role === 'developer';
  if (messages.some((message) => isInstruction(message) && titleRequestPattern.test(contentText(message.content)))) {
    return textAnswer('title', scriptedTitle(messages));
  }

  // Rule 3b: a long answer.
  if (lastMessage?.role === 'user' && longPattern.test(text)) return textAnswer('long', longAnswer);

  // Rule 4: a summary of the conversation.
  const asksForSummary =
    (lastMessage !== undefined && isInstruction(lastMessage)) ||
    summaryRequestPattern.test(text) ||
    messages.some((message) => isInstruction(message) && summaryRequestPattern.test(contentText(message.content)));
  if (asksForSummary) {
    const firstWords = messages
      .filter((message) => message.role === 'user')
      .map((message) => parseDirectives(contentText(message.content)).text.split(/\s+/).filter(Boolean))
      .map((words) => words.slice(0, summaryWordsPerMessage).join(' '));
    return textAnswer('summary', `Summary: ${firstWords.join(' / ')}`);
  }

  // Rule 5: echo (naming the images the message carried, so a test can see they arrived).
  const images = lastUserIndex === -1 ? '' : describeImageParts(messages[lastUserIndex]?.content);
  return textAnswer('echo', `You said: ${text}`.trimEnd() + images);
}

function limitText(text: string, maxTokens: number | undefined): ScriptedAnswer {
  if (maxTokens === undefined) return { kind: 'text', text, finishReason: 'stop' };
  const tokens = tokenize(text);
  if (tokens.length <= maxTokens) return { kind: 'text', text, finishReason: 'stop' };
  return { kind: 'text', text: tokens.slice(0, maxTokens).join(''), finishReason: 'length' };
}

// ---------------------------------------------------------------------------------------------
// Chunking and usage
// ---------------------------------------------------------------------------------------------

/**
 * Splits text into the tokens streamed as content deltas: each word with its trailing whitespace
 * (leading whitespace is a token of its own). Joining the tokens gives back the text exactly,
 * which is what lets tests compare streamed and non-streamed answers.
 */
export function tokenize(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

/** `text` repeated (a space between the copies) until it is exactly `count` streamed pieces long. */
export function repeatToTokens(text: string, count: number): string {
  const pieces = tokenize(text.trim());
  if (pieces.length === 0) return text;
  const out: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const piece = pieces[index % pieces.length]!;
    out.push(index < count - 1 && !/\s$/.test(piece) ? `${piece} ` : piece);
  }
  return out.join('').trimEnd();
}

/**
 * Splits tool call arguments into at least `minimumPieces` pieces (when the string is long enough)
 * of at most about 16 characters, so clients must reassemble arguments across chunks as they do
 * with a real model.
 */
export function splitArguments(argumentsText: string, minimumPieces = 3): string[] {
  if (argumentsText.length === 0) return [];
  const pieceCount = Math.min(argumentsText.length, Math.max(minimumPieces, Math.ceil(argumentsText.length / 16)));
  const pieceLength = Math.ceil(argumentsText.length / pieceCount);
  const pieces: string[] = [];
  for (let start = 0; start < argumentsText.length; start += pieceLength) {
    pieces.push(argumentsText.slice(start, start + pieceLength));
  }
  return pieces;
}

/** Prompt tokens as the scripted model counts them: content characters / 4, rounded up, at least 1. */
export function estimatePromptTokens(messages: readonly WireMessage[]): number {
  const characters = messages.reduce((total, message) => total + contentText(message.content).length, 0);
  return Math.max(1, Math.ceil(characters / 4));
}

/** Completion tokens: text tokens streamed, or tool call argument characters / 4 rounded up. */
export function estimateCompletionTokens(answer: ScriptedAnswer): number {
  if (answer.kind === 'text') return tokenize(answer.text).length;
  const characters = answer.toolCalls.reduce((total, call) => total + call.arguments.length, 0);
  return Math.ceil(characters / 4);
}
