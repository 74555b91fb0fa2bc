/**
 * The UI message stream encoder against the real client: its chunks go through the `ai` package's
 * own chunk schema and `readUIMessageStream` (in a child process: `ai` is ESM-only), and the message
 * the client ends with equals the answer the workflow stores for the same turn.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { UiMessageStreamEncoder, type UiMessageChunk } from '../../src/api/sse/ui-message-stream';
import { AnswerBuilder, INTERRUPTED_TOOL_CALL_TEXT } from '../../src/shared/answer';
import type { StreamEvent } from '../../src/shared/stream-events';

interface ReadResult {
  message: { id: string; role: string; parts: Array<{ type: string; [key: string]: unknown }>; metadata?: Record<string, unknown> };
  errors: string[];
}

async function readWithRealClient(chunks: UiMessageChunk[]): Promise<ReadResult> {
  const child = spawn(process.execPath, [path.resolve(__dirname, '../clients/read-ui-message-stream.mjs')], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdin.end(JSON.stringify({ chunks }));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`reader exited with ${code}: ${stderr}`);
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ReadResult;
}

function encode(events: StreamEvent[]): UiMessageChunk[] {
  const encoder = new UiMessageStreamEncoder({ modernClient: true });
  return [...encoder.start('m1~assistant'), ...events.flatMap((event) => encoder.encode(event))];
}

/** What the client keeps of a part: the fields the stored answer has (state `done` etc. aside). */
function comparable(parts: ReadResult['message']['parts']) {
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
