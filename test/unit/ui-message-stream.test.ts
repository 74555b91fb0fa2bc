/**
 * The UI message stream encoder against the real client: its chunks go through the `ai` package's
 * own chunk schema and `readUIMessageStream` (in a child process: `ai` is ESM-only), and the message
 * the client ends with equals the answer the workflow stores for the same turn.
 */
import { readWithRealClient, type ReadUiMessage } from '../support/ui-message-reader';
import { UiMessageStreamEncoder, type UiMessageChunk } from '../../src/api/sse/ui-message-stream';
import { AnswerBuilder, INTERRUPTED_TOOL_CALL_TEXT } from '../../src/shared/answer';
import type { StreamEvent } from '../../src/shared/stream-events';


function encode(events: StreamEvent[]): UiMessageChunk[] {
  const encoder = new UiMessageStreamEncoder({ modernClient: true });
  return [...encoder.start('m1~assistant'), ...events.flatMap((event) => encoder.encode(event))];
}

/** What the client keeps of a part: the fields the stored answer has (state `done` etc. aside). */
function comparable(parts: ReadUiMessage['message']['parts']) {
  return parts.map((part) => {
    if (part.type === 'text') return { type: 'text', text: part.text };
    if (part.type.startsWith('tool-')) {
      const { type, toolCallId, state, input, output, errorText } = part;
      return { type, toolCallId, state, input, ...(state === 'output-error' ? { errorText } : { output }) };
    }
    return part;
  });
}

describe('the UI message stream encoder read by the real ai client', () => {
  it('ends with the message the workflow stores: a retried hop reset, tools, a warning', async () => {
    const events: StreamEvent[] = [
      { kind: 'hop-start', hop: 0, attempt: 1 },
      { kind: 'text-delta', hop: 0, attempt: 1, delta: 'A ghost of the first try' },
      { kind: 'hop-restart', hop: 0, attempt: 2 },
      { kind: 'text-delta', hop: 0, attempt: 2, delta: 'Let me ' },
      { kind: 'text-delta', hop: 0, attempt: 2, delta: 'search.' },
      { kind: 'tool-input-start', hop: 0, attempt: 2, toolCallId: 'call_1', toolName: 'search_knowledge' },
      { kind: 'tool-input-delta', hop: 0, attempt: 2, toolCallId: 'call_1', delta: '{"query":"fog"}' },
      { kind: 'tool-input-available', hop: 0, attempt: 2, toolCallId: 'call_1', toolName: 'search_knowledge', input: { query: 'fog' } },
      { kind: 'tool-execution-notice', hop: 0, attempt: 2, toolCount: 1, text: 'Executing 1 tool…' },
      { kind: 'usage', hop: 0, attempt: 2, usage: { inputTokens: 10, outputTokens: 4 } },
      { kind: 'hop-end', hop: 0, attempt: 2, finishReason: 'tool-calls' },
      { kind: 'tool-output-available', hop: 0, toolCallId: 'call_1', output: { hits: 2 } },
      { kind: 'hop-start', hop: 1, attempt: 1 },
      { kind: 'text-delta', hop: 1, attempt: 1, delta: 'Two hits.' },
      { kind: 'hop-end', hop: 1, attempt: 1, finishReason: 'stop' },
      { kind: 'text-delta', hop: 1, attempt: 0, delta: 'Limit reached.' },
      { kind: 'warning', hop: 1, text: 'Limit reached.' },
      { kind: 'turn-finish', finishReason: 'tool-limit-reached', usage: { inputTokens: 20, outputTokens: 8 } },
    ];
    const stored = new AnswerBuilder();
    stored.addHop({ content: 'Let me search.' });
    stored.addToolResults([{ toolCallId: 'call_1', toolName: 'search_knowledge', input: { query: 'fog' }, content: '{"hits":2}', isError: false, output: { hits: 2 }, decision: 'executed' }]);
    stored.addHop({ content: 'Two hits.' });
    stored.addWarning(1, 'Limit reached.');

    const { message, errors } = await readWithRealClient(encode(events));
    expect(errors).toEqual([]);
    expect(message.id).toBe('m1~assistant');
    expect(message.metadata).toMatchObject({ finishReason: 'tool-limit-reached', usage: { inputTokens: 20, outputTokens: 8 } });
    const shown = comparable(message.parts).filter((part) => part.type !== 'data-tool-execution');
    expect(shown).toEqual(stored.parts);
  });

  it('ends a stopped hop and a failed turn as they are stored: an unfinished tool call as an error, the error part kept', async () => {
    const events: StreamEvent[] = [
      { kind: 'hop-start', hop: 0, attempt: 1 },
      { kind: 'text-delta', hop: 0, attempt: 1, delta: 'Writing the file' },
      { kind: 'tool-input-start', hop: 0, attempt: 1, toolCallId: 'call_9', toolName: 'workspace_write_file' },
      { kind: 'tool-input-delta', hop: 0, attempt: 1, toolCallId: 'call_9', delta: '{"path":"a' },
      { kind: 'tool-input-error', hop: 0, toolCallId: 'call_9', toolName: 'workspace_write_file', input: '{"path":"a', errorText: INTERRUPTED_TOOL_CALL_TEXT },
      { kind: 'hop-end', hop: 0, attempt: 1, finishReason: 'cancelled' },
      { kind: 'error', errorText: 'The model went away.' },
      { kind: 'turn-finish', finishReason: 'error', usage: { inputTokens: 1, outputTokens: 1 } },
    ];
    const stored = new AnswerBuilder();
    stored.addHop({ content: 'Writing the file', interruptedToolCalls: [{ id: 'call_9', name: 'workspace_write_file', input: '{"path":"a' }] });
    stored.addError('The model went away.');

    const { message, errors } = await readWithRealClient(encode(events));
    expect(errors).toEqual(['The model went away.']);
    expect(comparable(message.parts)).toEqual(stored.parts);
  });
});

describe('tool approval and steering chunks', () => {
  const approvalTurn: StreamEvent[] = [
    { kind: 'hop-start', hop: 0, attempt: 1 },
    { kind: 'tool-input-available', hop: 0, attempt: 1, toolCallId: 'call_a', toolName: 'test_record_side_effect', input: { label: 'a' } },
    { kind: 'tool-input-available', hop: 0, attempt: 1, toolCallId: 'call_b', toolName: 'test_record_side_effect', input: { label: 'b' } },
    { kind: 'hop-end', hop: 0, attempt: 1, finishReason: 'tool-calls' },
    { kind: 'tool-approval-request', hop: 0, toolCallId: 'call_a', toolName: 'test_record_side_effect', approvalId: 'apr_a' },
    { kind: 'tool-approval-request', hop: 0, toolCallId: 'call_b', toolName: 'test_record_side_effect', approvalId: 'apr_b' },
    { kind: 'turn-awaiting-approval', hop: 0, approvalIds: ['apr_a', 'apr_b'] },
    { kind: 'tool-approval-response', hop: 0, toolCallId: 'call_a', approvalId: 'apr_a', approved: true },
    { kind: 'tool-approval-response', hop: 0, toolCallId: 'call_b', approvalId: 'apr_b', approved: false, reason: 'no' },
    { kind: 'tool-output-available', hop: 0, toolCallId: 'call_a', output: { recorded: true } },
    { kind: 'tool-output-denied', hop: 0, toolCallId: 'call_b', reason: 'no' },
    { kind: 'steering-message', hop: 1, id: 'steer-1', text: 'shorter please' },
    { kind: 'hop-start', hop: 1, attempt: 1 },
    { kind: 'text-delta', hop: 1, attempt: 1, delta: 'Done.' },
    { kind: 'hop-end', hop: 1, attempt: 1, finishReason: 'stop' },
    { kind: 'turn-finish', finishReason: 'stop', usage: { inputTokens: 1, outputTokens: 1 } },
  ];

  async function read(version: 5 | 6 | 7) {
    const encoder = new UiMessageStreamEncoder({ modernClient: version >= 7, approvalChunks: version >= 6 });
    const chunks = [...encoder.start('m2~assistant'), ...approvalTurn.flatMap((event) => encoder.encode(event))];
    return { chunks, ...(await readWithRealClient(chunks, version === 7 ? 'ai' : `ai-v${version}`)) };
  }

  it('ai 7 reads requests, answers, a denial and a steering message; the parts equal the stored answer', async () => {
    const { chunks, message, errors } = await read(7);
    expect(errors).toEqual([]);
    // A pause inside the log is no end: the finish of the pause is written only where a response stops.
    expect(chunks.filter((chunk) => chunk.type === 'finish')).toHaveLength(1);
    const tools = message.parts.filter((part) => part.type === 'tool-test_record_side_effect');
    expect(tools).toEqual([
      expect.objectContaining({ toolCallId: 'call_a', state: 'output-available', approval: expect.objectContaining({ id: 'apr_a', approved: true }) }),
      expect.objectContaining({ toolCallId: 'call_b', state: 'output-denied', approval: expect.objectContaining({ id: 'apr_b', approved: false, reason: 'no' }) }),
    ]);
    expect(message.parts.find((part) => part.type === 'steering-message')).toMatchObject({ id: 'steer-1', parts: [{ type: 'text', text: 'shorter please' }] });
    const stored = new AnswerBuilder();
    stored.addToolResults([
      { toolCallId: 'call_b', toolName: 'test_record_side_effect', input: { label: 'b' }, content: 'denied', isError: true, output: null, decision: 'denied', approval: { id: 'apr_b', approved: false, reason: 'no' } },
    ]);
    expect(stored.parts[0]).toMatchObject({ type: tools[1]!.type, toolCallId: 'call_b', state: 'output-denied', input: { label: 'b' }, approval: { id: 'apr_b', approved: false, reason: 'no' } });
  });

  it('ai 6 gets the approval chunks, and ai 5 only chunks its schema accepts', async () => {
    const six = await read(6);
    expect(six.errors).toEqual([]);
    expect(six.message.parts.filter((part) => part.type === 'tool-test_record_side_effect').map((part) => part.state)).toEqual(['output-available', 'output-denied']);
    const five = await read(5);
    expect(five.errors).toEqual([]);
    expect(five.chunks.map((chunk) => chunk.type)).toEqual(expect.arrayContaining(['data-tool-approval-request', 'data-awaiting-approval', 'data-tool-approval-response', 'data-steering']));
    expect(five.message.parts.filter((part) => part.type === 'tool-test_record_side_effect').map((part) => part.state)).toEqual(['output-available', 'output-error']);
  });

  it('ends a response at a pause with a finish naming the pending approvals', () => {
    const encoder = new UiMessageStreamEncoder({ modernClient: true, approvalChunks: true });
    for (const event of approvalTurn.slice(0, 7)) encoder.encode(event);
    expect(encoder.pause(['apr_a', 'apr_b'])).toEqual([{ type: 'finish', finishReason: 'tool-calls', messageMetadata: { awaitingApproval: ['apr_a', 'apr_b'] } }]);
  });
});
