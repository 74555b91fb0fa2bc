/**
 * Tool-call accumulation as the seed's `_accumulate_tool_call_delta` does it, on tables of fragment
 * sequences real servers send: OpenAI (id and name once, arguments in pieces), parallel calls whose
 * fragments interleave, servers that repeat id and name in every fragment, fragments without an
 * index, and calls that never became complete.
 */
import { ToolCallAccumulator, type ToolCallFragment, type ToolCallProgress } from '../../src/llm/tool-call-accumulator';

function accumulate(fragments: ToolCallFragment[]) {
  const accumulator = new ToolCallAccumulator();
  const progress: ToolCallProgress[] = fragments.flatMap((fragment) => accumulator.add(fragment));
  return { calls: accumulator.complete(), progress, started: accumulator.startedCalls() };
}

const fn = (name?: string, args?: string) => ({ ...(name !== undefined ? { name } : {}), ...(args !== undefined ? { arguments: args } : {}) });

describe('tool call accumulation', () => {
  it.each<[string, ToolCallFragment[], Array<{ id: string; name: string; arguments: string }>]>([
    [
      'OpenAI: id and name first, then argument pieces',
      [
        { index: 0, id: 'call_1', type: 'function', function: fn('get_weather', '') },
        { index: 0, function: fn(undefined, '{"city":') },
        { index: 0, function: fn(undefined, '"Paris"}') },
      ],
      [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
    ],
    [
      'parallel calls whose fragments interleave',
      [
        { index: 0, id: 'call_a', type: 'function', function: fn('search', '') },
        { index: 1, id: 'call_b', type: 'function', function: fn('read_file', '') },
        { index: 1, function: fn(undefined, '{"path":') },
        { index: 0, function: fn(undefined, '{"q":"x"') },
        { index: 1, function: fn(undefined, '"a.md"}') },
        { index: 0, function: fn(undefined, '}') },
      ],
      [
        { id: 'call_a', name: 'search', arguments: '{"q":"x"}' },
        { id: 'call_b', name: 'read_file', arguments: '{"path":"a.md"}' },
      ],
    ],
    [
      'a server that repeats id, type and name in every fragment: taken, never concatenated',
      [
        { index: 0, id: 'call_1', type: 'function', function: fn('lookup', '{"a"') },
        { index: 0, id: 'call_1', type: 'function', function: fn('lookup', ':1}') },
      ],
      [{ id: 'call_1', name: 'lookup', arguments: '{"a":1}' }],
    ],
    [
      'fragments without an index: each starts a new call',
      [
        { id: 'call_1', function: fn('one', '{}') },
        { id: 'call_2', function: fn('two', '{"x":2}') },
      ],
      [
        { id: 'call_1', name: 'one', arguments: '{}' },
        { id: 'call_2', name: 'two', arguments: '{"x":2}' },
      ],
    ],
    [
      'a later id replaces an earlier one (the last value wins)',
      [
        { index: 0, id: 'tmp', function: fn('act', '{') },
        { index: 0, id: 'call_final', function: fn(undefined, '}') },
      ],
      [{ id: 'call_final', name: 'act', arguments: '{}' }],
    ],
    [
      'calls without id, without name or without arguments are dropped',
      [
        { index: 0, function: fn('no_id', '{}') },
        { index: 1, id: 'call_no_name', function: fn(undefined, '{}') },
        { index: 2, id: 'call_no_arguments', function: fn('silent') },
        { index: 3, id: 'call_ok', function: fn('ok', '') },
      ],
      [{ id: 'call_ok', name: 'ok', arguments: '' }],
    ],
    [
      'an index past the end leaves empty slots, which are dropped',
      [{ index: 2, id: 'call_3', function: fn('third', '{}') }],
      [{ id: 'call_3', name: 'third', arguments: '{}' }],
    ],
  ])('%s', (_case, fragments, expected) => {
    expect(accumulate(fragments).calls).toEqual(expected);
  });

  it('streams each call once it has an id and a name, with any arguments that came before, then each piece once', () => {
    const { progress } = accumulate([
      { index: 0, function: fn(undefined, '{"early":') },
      { index: 0, id: 'call_1', function: fn('late_name', 'true') },
      { index: 0, function: fn(undefined, '}') },
      { index: 0, id: 'call_1', function: fn('late_name', '') },
    ]);
    expect(progress).toEqual([
      { kind: 'start', id: 'call_1', name: 'late_name', arguments: '{"early":true' },
      { kind: 'arguments', id: 'call_1', delta: '}' },
    ]);
  });

  it('knows the calls it started, complete or not, for a hop stopped mid-call', () => {
    const { started, calls } = accumulate([
      { index: 0, id: 'call_1', function: fn('done', '{}') },
      { index: 1, id: 'call_2', function: fn('half', '{"a":') },
      { index: 2, function: fn(undefined, '{"never":"named"}') },
    ]);
    expect(started.map((call) => [call.id, call.arguments])).toEqual([
      ['call_1', '{}'],
      ['call_2', '{"a":'],
    ]);
    expect(calls.map((call) => call.id)).toEqual(['call_1', 'call_2']);
  });
});
