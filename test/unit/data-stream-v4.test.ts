/**
 * The AI SDK v4 data stream encoder, proven with the real v4 client: @ai-sdk/ui-utils 1.2.11's
 * `processDataStream` (the parser) and `callChatApi` (what ai 4's `useChat` runs), installed apart in
 * test/clients/v4.
 */
import { DATA_STREAM_V4_HEADERS, DataStreamV4Encoder, toV4FinishReason } from '../../src/api/sse/data-stream-v4';
import type { StreamEvent } from '../../src/shared/stream-events';
import { ensureV4Client, parseV4, V4ParseError } from '../support/v4-client';

const MESSAGE_ID = 'msg_assistant_1';

function encodeTurn(events: StreamEvent[], messageId = MESSAGE_ID): { lines: string[]; body: string } {
  const encoder = new DataStreamV4Encoder();
  const lines = [...encoder.start(messageId), ...events.flatMap((event) => encoder.encode(event))];
  return { lines, body: lines.join('') };
}

const weatherInput = { city: 'San Francisco', unit: 'celsius' };
const weatherArgs = JSON.stringify(weatherInput);
const weatherOutput = { temperature: 18, conditions: 'foggy', note: 'line one\nline "two"' };

/** Two hops: the first retried after streaming a little text, then tools; the second answers. */
const twoHopTurn: StreamEvent[] = [
  { kind: 'hop-start', hop: 0, attempt: 1 },
  { kind: 'memory-used', memories: [{ id: 'mem_1', tier: 'long', text: 'Prefers celsius.' }] },
  { kind: 'text-delta', hop: 0, attempt: 1, delta: 'Let me ch' },
  // The first attempt failed; the retry publishes hop-restart before its first delta.
  { kind: 'hop-restart', hop: 0, attempt: 2 },
  { kind: 'memory-used', memories: [{ id: 'mem_1', tier: 'long', text: 'Prefers celsius.' }] },
  { kind: 'text-delta', hop: 0, attempt: 2, delta: 'Let me check ' },
  { kind: 'text-delta', hop: 0, attempt: 2, delta: 'the weather.' },
  { kind: 'tool-input-start', hop: 0, attempt: 2, toolCallId: 'call_weather', toolName: 'get_weather' },
  { kind: 'tool-input-delta', hop: 0, attempt: 2, toolCallId: 'call_weather', delta: weatherArgs.slice(0, 10) },
  { kind: 'tool-input-delta', hop: 0, attempt: 2, toolCallId: 'call_weather', delta: weatherArgs.slice(10) },
  { kind: 'tool-input-start', hop: 0, attempt: 2, toolCallId: 'call_search', toolName: 'web_search' },
  { kind: 'tool-input-delta', hop: 0, attempt: 2, toolCallId: 'call_search', delta: '"fog season"' },
  { kind: 'tool-input-available', hop: 0, toolCallId: 'call_weather', toolName: 'get_weather', input: weatherInput },
  // Arguments that are not a JSON object (here a JSON string) are wrapped as { value }.
  { kind: 'tool-input-available', hop: 0, toolCallId: 'call_search', toolName: 'web_search', input: 'fog season' },
  { kind: 'tool-execution-notice', hop: 0, toolCount: 2, text: 'Executing 2 tools…' },
  { kind: 'usage', hop: 0, usage: { inputTokens: 120, outputTokens: 30 } },
  { kind: 'hop-end', hop: 0, attempt: 2, finishReason: 'tool-calls' },
  { kind: 'tool-output-available', hop: 0, toolCallId: 'call_weather', output: weatherOutput },
  { kind: 'tool-output-error', hop: 0, toolCallId: 'call_search', errorText: 'Search is unavailable.' },
  { kind: 'hop-start', hop: 1, attempt: 1 },
  { kind: 'text-delta', hop: 1, attempt: 1, delta: 'It is 18°C ' },
  { kind: 'text-delta', hop: 1, attempt: 1, delta: 'and foggy 🌫️\nin "SF".' },
  { kind: 'usage', hop: 1, usage: { inputTokens: 200, outputTokens: 12 } },
  { kind: 'hop-end', hop: 1, attempt: 1, finishReason: 'stop' },
  { kind: 'warning', hop: 1, text: 'Stopped after 2 tool rounds.' },
  { kind: 'turn-finish', finishReason: 'tool-limit-reached', usage: { inputTokens: 320, outputTokens: 42 } },
];

const errorTurn: StreamEvent[] = [
  { kind: 'hop-start', hop: 0, attempt: 1 },
  { kind: 'text-delta', hop: 0, attempt: 1, delta: 'Partial ' },
  { kind: 'error', errorText: 'The model provider is unavailable.' },
  { kind: 'turn-finish', finishReason: 'error', usage: { inputTokens: 0, outputTokens: 0 } },
];

beforeAll(async () => {
  await ensureV4Client();
}, 120_000);

describe('DataStreamV4Encoder lines', () => {
  it('writes one complete CODE:JSON line per string and puts the finish message last', () => {
    const { lines } = encodeTurn(twoHopTurn);
    for (const line of lines) {
      expect(line).toMatch(/^[0-9a-k]:.*\n$/s);
      expect(line.indexOf('\n')).toBe(line.length - 1);
      expect(() => JSON.parse(line.slice(2))).not.toThrow();
    }
    expect(lines.at(-1)).toBe('d:{"finishReason":"other","usage":{"promptTokens":320,"completionTokens":42}}\n');
    expect(lines.filter((line) => line.startsWith('d:'))).toHaveLength(1);
  });

  it('never streams the chat id, names the message in f:, and writes exact lines', () => {
    const encoder = new DataStreamV4Encoder();
    expect(encoder.start(MESSAGE_ID)).toEqual([]);
    expect(encoder.encode({ kind: 'hop-start', hop: 0, attempt: 1 })).toEqual([`f:{"messageId":"${MESSAGE_ID}"}\n`]);
    expect(encoder.encode({ kind: 'text-delta', hop: 0, attempt: 1, delta: 'Hi "you"\n' })).toEqual(['0:"Hi \\"you\\"\\n"\n']);
    expect(encoder.encode({ kind: 'usage', hop: 0, usage: { inputTokens: 3, outputTokens: 4 } })).toEqual([
      '8:[{"hopUsage":{"hop":0,"inputTokens":3,"outputTokens":4}}]\n',
    ]);
    expect(encoder.encode({ kind: 'hop-end', hop: 0, attempt: 1, finishReason: 'stop' })).toEqual([
      'e:{"finishReason":"stop","usage":{"promptTokens":3,"completionTokens":4},"isContinued":false}\n',
    ]);
    expect(encoder.encode({ kind: 'error', errorText: 'boom' })).toEqual(['3:"boom"\n']);
    expect(encoder.encode({ kind: 'turn-finish', finishReason: 'stop', usage: { inputTokens: 3, outputTokens: 4 } })).toEqual([
      '8:[{"finishReason":"stop","usage":{"inputTokens":3,"outputTokens":4}}]\n',
      'd:{"finishReason":"stop","usage":{"promptTokens":3,"completionTokens":4}}\n',
    ]);
    // Nothing after the finish message.
    expect(encoder.encode({ kind: 'text-delta', hop: 1, attempt: 1, delta: 'late' })).toEqual([]);
  });

  it('maps our finish reasons onto v4 finish reasons', () => {
    expect(toV4FinishReason('stop')).toBe('stop');
    expect(toV4FinishReason('length')).toBe('length');
    expect(toV4FinishReason('tool-calls')).toBe('tool-calls');
    expect(toV4FinishReason('content-filter')).toBe('content-filter');
    expect(toV4FinishReason('error')).toBe('error');
    expect(toV4FinishReason('cancelled')).toBe('other');
    expect(toV4FinishReason('tool-limit-reached')).toBe('other');
    expect(toV4FinishReason('other')).toBe('other');
    expect(toV4FinishReason(null)).toBe('unknown');
  });

  it('declares the v4 data stream headers', () => {
    expect(DATA_STREAM_V4_HEADERS).toEqual({
      'content-type': 'text/plain; charset=utf-8',
      'x-vercel-ai-data-stream': 'v1',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    });
  });
});

describe('the real v4 client (@ai-sdk/ui-utils 1.2.11) reads the encoded stream', () => {
  it('parses a two-hop turn with tool streaming, tool results, data, a restart and usage', async () => {
    const { body } = encodeTurn(twoHopTurn);
    const parsed = await parseV4(body);

    const deltas = twoHopTurn.flatMap((event) => (event.kind === 'text-delta' ? [event.delta] : []));
    expect(parsed.text).toBe(deltas.join(''));
    expect(parsed.errors).toEqual([]);
    // Every line is what the SDK's own formatDataStreamPart writes for the value it parsed.
    expect(parsed.nonCanonicalLines).toEqual([]);

    // Steps: the failed attempt's, the retry's, and hop 1's; each named with the message id.
    expect(parsed.startSteps).toEqual([{ messageId: MESSAGE_ID }, { messageId: MESSAGE_ID }, { messageId: MESSAGE_ID }]);
    expect(parsed.finishSteps).toEqual([
      { finishReason: 'error', isContinued: false },
      { finishReason: 'tool-calls', usage: { promptTokens: 120, completionTokens: 30 }, isContinued: false },
      { finishReason: 'stop', usage: { promptTokens: 200, completionTokens: 12 }, isContinued: false },
    ]);

    // Tool input streaming: starts, then argument deltas that add up to the arguments.
    expect(parsed.toolCallStreamingStarts).toEqual([
      { toolCallId: 'call_weather', toolName: 'get_weather' },
      { toolCallId: 'call_search', toolName: 'web_search' },
    ]);
    const weatherDeltas = parsed.toolCallDeltas.filter((delta) => delta.toolCallId === 'call_weather').map((delta) => delta.argsTextDelta);
    expect(JSON.parse(weatherDeltas.join(''))).toEqual(weatherInput);
    expect(parsed.toolCalls).toEqual([
      { toolCallId: 'call_weather', toolName: 'get_weather', args: weatherInput },
      { toolCallId: 'call_search', toolName: 'web_search', args: { value: 'fog season' } },
    ]);
    expect(parsed.toolResults).toEqual([
      { toolCallId: 'call_weather', result: weatherOutput },
      { toolCallId: 'call_search', result: { error: 'Search is unavailable.' } },
    ]);

    // Data parts arrive as arrays, in order.
    for (const item of parsed.data) expect(Array.isArray(item)).toBe(true);
    expect(parsed.data.map((item) => (item[0] as { type: string }).type)).toEqual(['memory', 'hop-restart', 'memory', 'tool-execution', 'warning']);
    expect(parsed.data[1]).toEqual([{ type: 'hop-restart', hop: 0, attempt: 2 }]);
    expect(parsed.data[3]).toEqual([{ type: 'tool-execution', hop: 0, toolCount: 2, text: 'Executing 2 tools…' }]);
    expect(parsed.data[4]).toEqual([{ type: 'warning', hop: 1, text: 'Stopped after 2 tool rounds.' }]);

    // Annotations: per-hop usage, then our own finish reason.
    expect(parsed.annotations).toEqual([
      [{ hopUsage: { hop: 0, inputTokens: 120, outputTokens: 30 } }],
      [{ hopUsage: { hop: 1, inputTokens: 200, outputTokens: 12 } }],
      [{ finishReason: 'tool-limit-reached', usage: { inputTokens: 320, outputTokens: 42 } }],
    ]);

    expect(parsed.finishMessage).toEqual({ finishReason: 'other', usage: { promptTokens: 320, completionTokens: 42 } });
    expect(parsed.order.at(-1)).toBe('finish_message');
  });

  it('builds the assistant message ai 4 useChat would show', async () => {
    const { chat } = await parseV4(encodeTurn(twoHopTurn).body);
    expect(chat.error).toBeNull();
    expect(chat.finishReason).toBe('other');
    expect(chat.usage).toEqual({ promptTokens: 320, completionTokens: 42, totalTokens: 362 });
    expect(chat.message?.id).toBe(MESSAGE_ID);
    // v4 cannot retract text: the failed attempt's text stays, in its own step (the hop-restart data part marks it).
    expect(chat.message?.content).toBe('Let me chLet me check the weather.It is 18°C and foggy 🌫️\nin "SF".');
    const parts = chat.message?.parts ?? [];
    expect(parts.map((part) => part.type)).toEqual([
      'step-start',
      'text',
      'step-start',
      'text',
      'tool-invocation',
      'tool-invocation',
      'step-start',
      'text',
    ]);
    expect(parts.filter((part) => part.type === 'text').map((part) => part.text)).toEqual(['Let me ch', 'Let me check the weather.', 'It is 18°C and foggy 🌫️\nin "SF".']);
    expect(chat.message?.toolInvocations).toEqual([
      { state: 'result', step: 1, toolCallId: 'call_weather', toolName: 'get_weather', args: weatherInput, result: weatherOutput },
      { state: 'result', step: 1, toolCallId: 'call_search', toolName: 'web_search', args: { value: 'fog season' }, result: { error: 'Search is unavailable.' } },
    ]);
    expect(chat.data).toHaveLength(5);
    expect(chat.message?.annotations).toHaveLength(3);
  });

  it('surfaces an error turn as an error part, and useChat enters its error state', async () => {
    const { lines, body } = encodeTurn(errorTurn);
    expect(lines).toContain('3:"The model provider is unavailable."\n');
    const parsed = await parseV4(body);
    expect(parsed.errors).toEqual(['The model provider is unavailable.']);
    expect(parsed.nonCanonicalLines).toEqual([]);
    expect(parsed.text).toBe('Partial ');
    expect(parsed.finishSteps).toEqual([{ finishReason: 'error', isContinued: false }]);
    expect(parsed.finishMessage).toEqual({ finishReason: 'error', usage: { promptTokens: 0, completionTokens: 0 } });
    expect(parsed.order.slice(-3)).toEqual(['error', 'message_annotations', 'finish_message']);
    expect(parsed.chat.error).toBe('The model provider is unavailable.');
    expect(parsed.chat.message?.content).toBe('Partial ');
  });

  it('keeps the stream valid when tool lines arrive without their start (no resume in v4)', async () => {
    const { lines, body } = encodeTurn([
      { kind: 'hop-start', hop: 0, attempt: 1 },
      { kind: 'tool-input-delta', hop: 0, attempt: 1, toolCallId: 'call_unseen', delta: '{"a":' },
      { kind: 'tool-output-available', hop: 0, toolCallId: 'call_ghost', output: { ok: true } },
      { kind: 'tool-input-available', hop: 0, toolCallId: 'call_unseen', toolName: 'lookup', input: [1, 2] },
      { kind: 'tool-output-available', hop: 0, toolCallId: 'call_unseen', output: undefined },
      { kind: 'hop-end', hop: 0, attempt: 1, finishReason: null },
      { kind: 'turn-finish', finishReason: 'cancelled', usage: { inputTokens: 1, outputTokens: 2 } },
    ]);
    expect(lines.some((line) => line.startsWith('c:'))).toBe(false);
    const parsed = await parseV4(body);
    expect(parsed.chat.error).toBeNull();
    expect(parsed.toolCalls).toEqual([{ toolCallId: 'call_unseen', toolName: 'lookup', args: { value: [1, 2] } }]);
    expect(parsed.toolResults).toEqual([{ toolCallId: 'call_unseen', result: null }]);
    expect(parsed.finishSteps).toEqual([{ finishReason: 'unknown', isContinued: false }]);
    expect(parsed.finishMessage?.finishReason).toBe('other');
    expect(parsed.annotations.at(-1)).toEqual([{ finishReason: 'cancelled', usage: { inputTokens: 1, outputTokens: 2 } }]);
  });

  it("rejects the seed document's literal format, which is why its intents are mapped onto real codes", async () => {
    await expect(parseV4('8:"chat_123"\n0:"Hi"\n')).rejects.toThrow(new V4ParseError('"message_annotations" parts expect an array value.'));
    await expect(parseV4('d:{"foo":1}\n')).rejects.toThrow('"finish_message" parts expect an object with a "finishReason" property.');
    await expect(parseV4('e:"boom"\n')).rejects.toThrow('"finish_step" parts expect an object with a "finishReason" property.');
    await expect(parseV4('0:Hello\n')).rejects.toThrow(V4ParseError);
  });
});

describe('tool approval and steering in the v4 data stream', () => {
  it('carries requests, answers, the pause and steering as 2: items, and a denied call as an a: result', async () => {
    const turn: StreamEvent[] = [
      { kind: 'hop-start', hop: 0, attempt: 1 },
      { kind: 'tool-input-available', hop: 0, toolCallId: 'call_a', toolName: 'test_record_side_effect', input: { label: 'a' } },
      { kind: 'hop-end', hop: 0, attempt: 1, finishReason: 'tool-calls' },
      { kind: 'tool-approval-request', hop: 0, toolCallId: 'call_a', toolName: 'test_record_side_effect', approvalId: 'apr_a' },
      { kind: 'turn-awaiting-approval', hop: 0, approvalIds: ['apr_a'] },
      { kind: 'tool-approval-response', hop: 0, toolCallId: 'call_a', approvalId: 'apr_a', approved: false, reason: 'no' },
      { kind: 'tool-output-denied', hop: 0, toolCallId: 'call_a', reason: 'no' },
      { kind: 'steering-message', hop: 1, id: 'steer-1', text: 'shorter' },
      { kind: 'hop-start', hop: 1, attempt: 1 },
      { kind: 'text-delta', hop: 1, attempt: 1, delta: 'Fine.' },
      { kind: 'hop-end', hop: 1, attempt: 1, finishReason: 'stop' },
      { kind: 'turn-finish', finishReason: 'stop', usage: { inputTokens: 1, outputTokens: 1 } },
    ];
    const parsed = await parseV4(encodeTurn(turn).body);
    expect(parsed.errors).toEqual([]);
    expect(parsed.nonCanonicalLines).toEqual([]);
    expect(parsed.data).toEqual([
      [{ type: 'tool-approval-request', approvalId: 'apr_a', toolCallId: 'call_a', toolName: 'test_record_side_effect' }],
      [{ type: 'awaiting-approval', approvalIds: ['apr_a'] }],
      [{ type: 'tool-approval-response', approvalId: 'apr_a', toolCallId: 'call_a', approved: false, reason: 'no' }],
      [{ type: 'steering', hop: 1, id: 'steer-1', text: 'shorter' }],
    ]);
    expect(parsed.toolResults).toEqual([{ toolCallId: 'call_a', result: { denied: true, reason: 'no' } }]);
    expect(parsed.text).toBe('Fine.');
  });
});
