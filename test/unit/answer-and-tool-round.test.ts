/**
 * The pure pieces of a turn: the answer builder (the stored message and its replay as stream
 * events) and one tool round (decide, run, record, answer), without Temporal.
 */
import { AnswerBuilder, INTERRUPTED_TOOL_CALL_TEXT, storedAnswerEvents } from '../../src/shared/answer';
import { runToolRound, toolLimitReason, type ToolRunner } from '../../src/shared/tool-hop';
import { parseToolArguments, ToolExecutionTracker } from '../../src/shared/tool-tracker';
import type { ToolCall } from '../../src/shared/turn';

function call(id: string, name: string, args: string): ToolCall {
  return { id, name, arguments: args, input: parseToolArguments(args) };
}

/** A runner that records what ran and answers with the tool name and arguments. */
function recordingRunner() {
  const ran: string[] = [];
  const runner: ToolRunner = async (toolCall, input) => {
    ran.push(`${toolCall.name}:${JSON.stringify(input)}`);
    return { content: `ran ${toolCall.name}`, isError: false, output: { input } };
  };
  return { ran, runner };
}

describe('one tool round', () => {
  it('runs the calls to run, reuses an identical call, and answers every call in the model order', async () => {
    const { ran, runner } = recordingRunner();
    const results = await runToolRound(new ToolExecutionTracker(), [call('a', 'test_echo', '{"x":1}'), call('b', 'test_echo', '{"x":1}'), call('c', 'test_other', '{}')], runner);
    expect(ran).toEqual(['test_echo:{"x":1}', 'test_other:{}']);
    expect(results.map((result) => [result.toolCallId, result.decision, result.isError])).toEqual([
      ['a', 'executed', false],
      ['b', 'reused', false],
      ['c', 'executed', false],
    ]);
    expect(results[1]!.content).toContain('ran test_echo\n(Not executed again:');
    expect(results[0]).toMatchObject({ input: { x: 1 }, arguments: '{"x":1}', output: { input: { x: 1 } } });
  });

  it('runs nothing at the tool-round limit and answers every call as skipped with the reason', async () => {
    const { ran, runner } = recordingRunner();
    const reason = toolLimitReason(3);
    const results = await runToolRound(new ToolExecutionTracker(), [call('a', 'test_echo', '{}'), call('b', 'test_other', 'not json')], runner, { limitReachedReason: reason });
    expect(ran).toEqual([]);
    expect(results.map((result) => [result.decision, result.isError, result.content])).toEqual([
      ['skipped', true, `Not executed: ${reason}`],
      ['skipped', true, `Not executed: ${reason}`],
    ]);
    expect(results[1]!.input).toBe('not json');
  });

  it('skips arguments that are not a JSON object without running the tool', async () => {
    const { ran, runner } = recordingRunner();
    const [result] = await runToolRound(new ToolExecutionTracker(), [call('a', 'test_echo', '[1,2]')], runner);
    expect(ran).toEqual([]);
    expect(result).toMatchObject({ decision: 'skipped', isError: true, content: 'Not executed: arguments are not a JSON object: got an array' });
  });

  it('remembers across rounds: a call repeated in a later round is reused, and limits count every round', async () => {
    const tracker = new ToolExecutionTracker({ test_echo: 2 });
    const { ran, runner } = recordingRunner();
    await runToolRound(tracker, [call('a', 'test_echo', '{"n":1}')], runner);
    const second = await runToolRound(tracker, [call('b', 'test_echo', '{"n":1}'), call('c', 'test_echo', '{"n":2}')], runner);
    const third = await runToolRound(tracker, [call('d', 'test_echo', '{"n":3}')], runner);
    expect(second.map((result) => result.decision)).toEqual(['reused', 'executed']);
    expect(third[0]).toMatchObject({ decision: 'skipped', content: 'Not executed: test_echo reached its limit of 2 executions in this turn' });
    expect(ran).toHaveLength(2);
  });
});

describe('the answer builder', () => {
  it('builds steps with text, tool parts, a warning and an error, and replays them as the same parts', () => {
    const answer = new AnswerBuilder();
    answer.addHop({ content: 'Let me look.' });
    answer.addToolResults([
      { toolCallId: 'a', toolName: 'search_knowledge', input: { query: 'q' }, content: '{"hits":1}', isError: false, output: { hits: 1 }, decision: 'executed' },
      { toolCallId: 'b', toolName: 'test_fail', input: {}, content: 'Error: boom', isError: true, output: null, decision: 'executed' },
    ]);
    answer.addHop({ content: 'Found one.' });
    answer.addWarning(1, 'Limit reached.');
    answer.addError('The model went away.');
    expect(answer.parts).toEqual([
      { type: 'step-start' },
      { type: 'text', text: 'Let me look.' },
      { type: 'tool-search_knowledge', toolCallId: 'a', state: 'output-available', input: { query: 'q' }, output: { hits: 1 } },
      { type: 'tool-test_fail', toolCallId: 'b', state: 'output-error', input: {}, errorText: 'Error: boom' },
      { type: 'step-start' },
      { type: 'text', text: 'Found one.' },
      { type: 'step-start' },
      { type: 'text', text: 'Limit reached.' },
      { type: 'data-warning', data: { hop: 1, text: 'Limit reached.' } },
      { type: 'data-error', data: { errorText: 'The model went away.' } },
    ]);
    expect(answer.text).toBe('Let me look.Found one.Limit reached.');

    const events = storedAnswerEvents(answer.parts, { finishReason: 'error', usage: { inputTokens: 3, outputTokens: 4 } });
    expect(events.map((event) => event.kind)).toEqual([
      'hop-start',
      'text-delta',
      'tool-input-available',
      'tool-output-available',
      'tool-input-available',
      'tool-output-error',
      'hop-end',
      'hop-start',
      'text-delta',
      'hop-end',
      'hop-start',
      'text-delta',
      'warning',
      'error',
      'hop-end',
      'turn-finish',
    ]);
    expect(events.at(-1)).toEqual({ kind: 'turn-finish', finishReason: 'error', usage: { inputTokens: 3, outputTokens: 4 }, cached: true });
  });

  it('keeps a stopped hop as it streamed: its text, and unfinished tool calls as errors', () => {
    const answer = new AnswerBuilder();
    answer.addHop({ content: 'Partial answ', interruptedToolCalls: [{ id: 'call_1', name: 'workspace_write_file', input: '{"path":"a' }] });
    expect(answer.parts).toEqual([
      { type: 'step-start' },
      { type: 'text', text: 'Partial answ' },
      { type: 'tool-workspace_write_file', toolCallId: 'call_1', state: 'output-error', input: '{"path":"a', errorText: INTERRUPTED_TOOL_CALL_TEXT },
    ]);
  });

  it('leaves out an empty step of text', () => {
    const answer = new AnswerBuilder();
    answer.addStep('');
    answer.addStep('Cached answer.');
    expect(answer.parts).toEqual([{ type: 'step-start' }, { type: 'text', text: 'Cached answer.' }]);
  });
});
