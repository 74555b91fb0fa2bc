import {
  canonicalJson,
  DEFAULT_TOOL_LIMIT,
  isSearchTool,
  normalizeQuery,
  querySimilarity,
  ToolExecutionTracker,
  type TrackedToolCall,
} from '../../src/shared/tool-tracker';

function call(id: string, name: string, parsedArguments: unknown): TrackedToolCall {
  return { id, name, arguments: JSON.stringify(parsedArguments) };
}

const succeeded = { content: '{"ok":true}', isError: false };

describe('querySimilarity equals Python difflib.SequenceMatcher(None, a, b).ratio()', () => {
  // Expected values printed by CPython 3.11: difflib.SequenceMatcher(None, normalized_a, normalized_b).ratio()
  const pythonRatios: Array<[string, string, number]> = [
    ['search for api docs', 'search api documentation', 0.6511627906976745],
    ['how do refunds work', 'how do refunds work for annual plans', 0.6909090909090909],
    ['quarterly revenue 2024', 'quarterly revenue report 2024', 0.8627450980392157],
    ['deploy kubernetes cluster', 'kubernetes cluster deployment guide', 0.6],
    ['weather in paris', 'stock price of acme', 0.2857142857142857],
    ['kitten', 'sitting', 0.6153846153846154],
    ['abcd', 'dcba', 0.25],
    // Compared by code point as Python does (UTF-16 units would give 0.5454…).
    ['𠀀𠀁 report', 'report 𠀀𠀁', 0.6666666666666666],
    // Over 200 characters Python's autojunk treats popular characters as junk (0.992 without it).
    ['x'.repeat(150) + 'ab'.repeat(50), 'x'.repeat(149) + 'ba'.repeat(50) + 'y', 0.596],
  ];

  it.each(pythonRatios.map(([a, b, expected]) => ({ a, b, expected, label: `${a.slice(0, 30)} / ${b.slice(0, 30)}` })))(
    '$label',
    ({ a, b, expected }) => {
      expect(normalizeQuery(a)).toBe(a);
      expect(querySimilarity(a, b)).toBe(expected);
    },
  );

  it('compares the normalised texts', () => {
    expect(querySimilarity('What is Temporal?', 'what   is temporal')).toBe(1);
  });
});

describe('normalizeQuery and canonicalJson', () => {
  it('lowercases, drops punctuation and collapses whitespace', () => {
    expect(normalizeQuery('  Search for: API-docs,\n please!  ')).toBe('search for apidocs please');
    expect(normalizeQuery('Café CRÈME')).toBe('café crème');
  });

  it('sorts keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson({ b: 'x', a: 'y' })).toBe(canonicalJson({ a: 'y', b: 'x' }));
  });

  it('knows search tools by prefix and by name', () => {
    expect(['search_knowledge', 'search_tickets', 'semantic_search', 'web_search'].every(isSearchTool)).toBe(true);
    expect(isSearchTool('workspace_read_file')).toBe(false);
  });
});

describe('ToolExecutionTracker', () => {
  it('executes a first call with its parsed arguments', () => {
    const tracker = new ToolExecutionTracker();
    expect(tracker.decide(call('c1', 'workspace_read_file', { path: 'a.md' }))).toEqual({
      action: 'execute',
      parsedArguments: { path: 'a.md' },
    });
  });

  it('skips arguments that are not a JSON object, and treats blank arguments as none', () => {
    const tracker = new ToolExecutionTracker();
    expect(tracker.decide({ id: 'c1', name: 'workspace_read_file', arguments: '{"path": ' })).toEqual({
      action: 'skip',
      reason: 'arguments are not a JSON object: invalid JSON',
    });
    expect(tracker.decide({ id: 'c2', name: 'workspace_read_file', arguments: '["a.md"]' })).toEqual({
      action: 'skip',
      reason: 'arguments are not a JSON object: got an array',
    });
    expect(tracker.decide({ id: 'c3', name: 'platform_list_agents', arguments: '' })).toEqual({ action: 'execute', parsedArguments: {} });
  });

  it('reuses the result of an identical executed call, whatever the key order', () => {
    const tracker = new ToolExecutionTracker();
    const first = call('c1', 'workspace_write_file', { path: 'a.md', content: 'hello' });
    tracker.record(first, succeeded);
    const decision = tracker.decide({ id: 'c2', name: 'workspace_write_file', arguments: '{"content":"hello","path":"a.md"}' });
    expect(decision).toMatchObject({ action: 'reuse', previousToolCallId: 'c1' });
    expect(tracker.outcomeOf('c1')).toEqual(succeeded);
  });

  it('does not treat the same arguments to another tool as a duplicate', () => {
    const tracker = new ToolExecutionTracker();
    tracker.record(call('c1', 'tool_a', { id: 1 }), succeeded);
    expect(tracker.decide(call('c2', 'tool_b', { id: 1 })).action).toBe('execute');
  });

  it('reuses a search whose query is at least 75% similar, naming the similarity', () => {
    const tracker = new ToolExecutionTracker();
    tracker.record(call('c1', 'search_knowledge', { query: 'quarterly revenue 2024' }), succeeded);
    const decision = tracker.decide(call('c2', 'search_knowledge', { query: 'Quarterly revenue report, 2024!' }));
    expect(decision).toEqual({
      action: 'reuse',
      previousToolCallId: 'c1',
      reason: expect.stringContaining('86% similar'),
    });
  });

  it('runs "search api documentation" after "search for API docs": Python rates them 0.651, below 0.75', () => {
    expect(querySimilarity('search for API docs', 'search api documentation')).toBe(0.6511627906976745);
    const tracker = new ToolExecutionTracker();
    tracker.record(call('c1', 'web_search', { query: 'search for API docs' }), succeeded);
    expect(tracker.decide(call('c2', 'web_search', { query: 'search api documentation' })).action).toBe('execute');
  });

  it('compares a search tool without `query` by its first string argument, within the same tool only', () => {
    const tracker = new ToolExecutionTracker();
    tracker.record(call('c1', 'semantic_search', { limit: 3, text: 'refund policy for annual plans' }), succeeded);
    expect(tracker.decide(call('c2', 'semantic_search', { limit: 5, text: 'refund policy, annual plans' }))).toMatchObject({
      action: 'reuse',
      previousToolCallId: 'c1',
    });
    expect(tracker.decide(call('c3', 'web_search', { text: 'refund policy for annual plans' })).action).toBe('execute');
  });

  it('does not fuzzy-match tools that are not search tools', () => {
    const tracker = new ToolExecutionTracker();
    tracker.record(call('c1', 'workspace_read_file', { path: 'notes/report-2024.md' }), succeeded);
    expect(tracker.decide(call('c2', 'workspace_read_file', { path: 'notes/report-2025.md' })).action).toBe('execute');
  });

  it('skips a tool once it ran as often as its limit allows; reuse does not count', () => {
    const tracker = new ToolExecutionTracker();
    tracker.record(call('c1', 'search_knowledge', { query: 'pricing' }), succeeded);
    expect(tracker.decide(call('c2', 'search_knowledge', { query: 'pricing' })).action).toBe('reuse');
    tracker.record(call('c3', 'search_knowledge', { query: 'onboarding checklist' }), succeeded);
    expect(tracker.decide(call('c4', 'search_knowledge', { query: 'holiday calendar' }))).toEqual({
      action: 'skip',
      reason: 'search_knowledge reached its limit of 2 executions in this turn',
    });
    // A duplicate is still answered from the earlier result after the limit.
    expect(tracker.decide(call('c5', 'search_knowledge', { query: 'pricing' })).action).toBe('reuse');
  });

  it('applies the default limit to other tools and accepts overrides', () => {
    const tracker = new ToolExecutionTracker({ workspace_write_file: 1, constructor: 5 });
    expect(tracker.limitOf('unknown_tool')).toBe(DEFAULT_TOOL_LIMIT);
    expect(tracker.limitOf('toString')).toBe(DEFAULT_TOOL_LIMIT);
    expect(tracker.limitOf('constructor')).toBe(5);
    tracker.record(call('c1', 'workspace_write_file', { path: 'a.md', content: '1' }), succeeded);
    expect(tracker.decide(call('c2', 'workspace_write_file', { path: 'b.md', content: '2' })).action).toBe('skip');
  });

  it('counts a call recorded twice only once', () => {
    const tracker = new ToolExecutionTracker({ tool_a: 2 });
    const first = call('c1', 'tool_a', { n: 1 });
    tracker.record(first, succeeded);
    tracker.record(first, { content: 'Error: boom', isError: true });
    expect(tracker.outcomeOf('c1')).toEqual({ content: 'Error: boom', isError: true });
    expect(tracker.decide(call('c2', 'tool_a', { n: 2 })).action).toBe('execute');
  });

  it('decide does not change the tracker', () => {
    const tracker = new ToolExecutionTracker({ tool_a: 1 });
    const first = call('c1', 'tool_a', { n: 1 });
    expect(tracker.decide(first).action).toBe('execute');
    expect(tracker.decide(first).action).toBe('execute');
    expect(tracker.outcomeOf('c1')).toBeUndefined();
  });

  it('decideHop plans parallel calls of one hop as if the earlier ones had run', () => {
    const tracker = new ToolExecutionTracker({ tool_a: 2 });
    const decisions = tracker.decideHop([
      call('c1', 'tool_a', { n: 1 }),
      call('c2', 'tool_a', { n: 1 }),
      call('c3', 'tool_a', { n: 2 }),
      call('c4', 'tool_a', { n: 3 }),
    ]);
    expect(decisions.map((decision) => decision.action)).toEqual(['execute', 'reuse', 'execute', 'skip']);
    expect(decisions[1]).toMatchObject({ previousToolCallId: 'c1' });
    // Planning a hop records nothing.
    expect(tracker.decide(call('c5', 'tool_a', { n: 3 })).action).toBe('execute');
  });

  it('makes the same decisions when the same calls are replayed', () => {
    const run = () => {
      const tracker = new ToolExecutionTracker();
      const calls = [
        call('c1', 'search_knowledge', { query: 'pricing tiers' }),
        call('c2', 'search_knowledge', { query: 'Pricing tiers?' }),
        call('c3', 'search_knowledge', { query: 'team onboarding' }),
        call('c4', 'search_knowledge', { query: 'vacation policy' }),
      ];
      return calls.map((toolCall) => {
        const decision = tracker.decide(toolCall);
        if (decision.action === 'execute') tracker.record(toolCall, succeeded);
        return decision;
      });
    };
    const decisions = run();
    expect(decisions.map((decision) => decision.action)).toEqual(['execute', 'reuse', 'execute', 'skip']);
    expect(run()).toEqual(decisions);
  });
});
