/**
 * The pure half of the scripted LLM (the project's test double): directives, answer rules,
 * tokenising, usage estimates. The HTTP half is covered by test/integration/scripted-llm.test.ts.
 */
import {
  chooseAnswer,
  contentText,
  estimateCompletionTokens,
  estimatePromptTokens,
  findRequestedTools,
  longAnswer,
  messagesHash8,
  parseDirectives,
  parseFault,
  requestHash,
  splitArguments,
  tokenize,
  type ScriptedAnswer,
  type WireMessage,
  type WireTool,
} from '../../src/scripted-llm/answers';

const tools: WireTool[] = [
  { type: 'function', function: { name: 'search_docs' } },
  { type: 'function', function: { name: 'lookup' } },
];

function user(content: string): WireMessage {
  return { role: 'user', content };
}

function textOf(answer: ScriptedAnswer): string {
  if (answer.kind !== 'text') throw new Error(`expected a text answer, got ${answer.kind}`);
  return answer.text;
}

function toolCallsOf(answer: ScriptedAnswer): { id: string; name: string; arguments: unknown }[] {
  if (answer.kind !== 'tool-calls') throw new Error(`expected tool calls, got ${answer.kind}`);
  return answer.toolCalls.map((call) => ({ id: call.id, name: call.name, arguments: JSON.parse(call.arguments) as unknown }));
}

describe('parseDirectives', () => {
  it('reads every known key and strips the block from the text', () => {
    const parsed = parseDirectives('hello [[ttft=200 tps=50 fault=cut:5 fault-times=2 hops=3 vary=1]] world');
    expect(parsed.text).toBe('hello world');
    expect(parsed.directives).toMatchObject({
      ttftMs: 200,
      tokensPerSecond: 50,
      fault: 'cut:5',
      faultTimes: 2,
      hops: 3,
      vary: true,
      problems: [],
    });
  });

  it('has defaults when there is no block and leaves the text alone (but trimmed)', () => {
    const parsed = parseDirectives('  just text  ');
    expect(parsed.text).toBe('just text');
    expect(parsed.directives.faultTimes).toBe(1);
    expect(parsed.directives.vary).toBe(false);
    expect(parsed.directives.fault).toBeUndefined();
  });

  it('reads several blocks and reports bad values instead of guessing', () => {
    const parsed = parseDirectives('[[tps=abc]] a [[fault=explode colour=red]] b [[ttft=10]]');
    expect(parsed.text).toBe('a b');
    expect(parsed.directives.tokensPerSecond).toBeUndefined();
    expect(parsed.directives.fault).toBeUndefined();
    expect(parsed.directives.ttftMs).toBe(10);
    expect(parsed.directives.problems).toHaveLength(3);
  });
});

describe('parseFault', () => {
  it.each([
    ['500', { kind: 'server-error' }],
    ['400', { kind: 'bad-request' }],
    ['context', { kind: 'context-length' }],
    ['429:3', { kind: 'rate-limit', retryAfterSeconds: 3 }],
    ['cut:5', { kind: 'cut', afterDeltas: 5 }],
    ['stall:0', { kind: 'stall', afterDeltas: 0 }],
  ])('parses %s', (spec, expected) => {
    expect(parseFault(spec)).toEqual(expected);
  });

  it.each(['501', 'cut', 'cut:-1', 'stall:x', '429', ''])('rejects %p', (spec) => {
    expect(parseFault(spec)).toBeUndefined();
  });
});

describe('tokenize', () => {
  it.each(['You said: hello world', '  leading and trailing  ', 'tabs\tand\nnew lines\n\n', longAnswer, ''])(
    'joins back to the exact text (case %#)',
    (text) => {
      expect(tokenize(text).join('')).toBe(text);
    },
  );

  it('keeps each word with its trailing whitespace', () => {
    expect(tokenize('You said: hi')).toEqual(['You ', 'said: ', 'hi']);
    expect(tokenize('  hi')).toEqual(['  ', 'hi']);
  });
});

describe('splitArguments', () => {
  it('splits into at least three pieces that join back', () => {
    const argumentsText = JSON.stringify({ query: 'durable execution' });
    const pieces = splitArguments(argumentsText);
    expect(pieces.length).toBeGreaterThanOrEqual(3);
    expect(pieces.join('')).toBe(argumentsText);
  });

  it('uses more pieces for long arguments and never more pieces than characters', () => {
    expect(splitArguments('x'.repeat(160)).length).toBeGreaterThanOrEqual(10);
    expect(splitArguments('{}')).toEqual(['{', '}']);
    expect(splitArguments('')).toEqual([]);
  });
});

describe('findRequestedTools', () => {
  const offered = ['search_docs', 'lookup', 'fetch'];

  it('finds one tool and takes the rest of the text as argument', () => {
    expect(findRequestedTools('please use search_docs for durable execution', offered)).toEqual([
      { name: 'search_docs', argumentText: 'for durable execution' },
    ]);
  });

  it('accepts "the tool", "call", any case, and falls back to the whole text', () => {
    expect(findRequestedTools('Call the tool LOOKUP', offered)).toEqual([{ name: 'lookup', argumentText: 'Call the tool LOOKUP' }]);
  });

  it('finds several tools chained with "and"', () => {
    expect(findRequestedTools('use tool search_docs and tool lookup for cats', offered)).toEqual([
      { name: 'search_docs', argumentText: 'for cats' },
      { name: 'lookup', argumentText: 'for cats' },
    ]);
  });

  it('finds separate requests, each with its own argument', () => {
    expect(findRequestedTools('use search_docs for cats, then call fetch on dogs', offered)).toEqual([
      { name: 'search_docs', argumentText: 'for cats' },
      { name: 'fetch', argumentText: 'on dogs' },
    ]);
  });

  it('ignores tools that are not offered', () => {
    expect(findRequestedTools('use a hammer', offered)).toEqual([]);
    expect(findRequestedTools('use search_docs', [])).toEqual([]);
  });
});

describe('chooseAnswer', () => {
  it('echoes the last user text without its directives', () => {
    const choice = chooseAnswer({ messages: [user('first'), { role: 'assistant', content: 'x' }, user('  hello [[tps=5]] ')], occurrence: 1 });
    expect(choice.rule).toBe('echo');
    expect(textOf(choice.answer)).toBe('You said: hello');
    expect(choice.answer.finishReason).toBe('stop');
    expect(choice.directives.tokensPerSecond).toBe(5);
  });

  it('reads array content made of text parts', () => {
    const messages: WireMessage[] = [
      { role: 'user', content: [{ type: 'text', text: 'part one' }, { type: 'image_url' }, { type: 'text', text: 'part two' }] },
    ];
    expect(textOf(chooseAnswer({ messages, occurrence: 1 }).answer)).toBe('You said: part one\npart two');
  });

  it('answers a tool request with deterministic tool calls', () => {
    const messages = [user('use search_docs to find durable execution')];
    const first = chooseAnswer({ messages, tools, occurrence: 1 });
    const second = chooseAnswer({ messages, tools, occurrence: 2 });
    expect(first.rule).toBe('tool-request');
    expect(first.answer.finishReason).toBe('tool_calls');
    expect(toolCallsOf(first.answer)).toEqual([
      { id: `call_${messagesHash8(messages)}_0`, name: 'search_docs', arguments: { query: 'to find durable execution' } },
    ]);
    expect(second.answer).toEqual(first.answer);
  });

  it('uses "input" for tools whose name has no "search", and indexes several calls', () => {
    const calls = toolCallsOf(chooseAnswer({ messages: [user('use tool search_docs and tool lookup for cats')], tools, occurrence: 1 }).answer);
    expect(calls.map((call) => call.name)).toEqual(['search_docs', 'lookup']);
    expect(calls[0]?.arguments).toEqual({ query: 'for cats' });
    expect(calls[1]?.arguments).toEqual({ input: 'for cats' });
    expect(calls[0]?.id).toMatch(/^call_[0-9a-f]{8}_0$/);
    expect(calls[1]?.id).toMatch(/^call_[0-9a-f]{8}_1$/);
  });

  it('does not call tools that the request does not offer', () => {
    expect(chooseAnswer({ messages: [user('use search_docs please')], occurrence: 1 }).rule).toBe('echo');
  });

  it('summarises tool results, truncated to 200 characters each', () => {
    const messages: WireMessage[] = [
      user('use search_docs for cats'),
      { role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'search_docs', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'a', content: 'cats purr' },
      { role: 'tool', tool_call_id: 'b', content: 'y'.repeat(300) },
    ];
    const choice = chooseAnswer({ messages, tools, occurrence: 1 });
    expect(choice.rule).toBe('tool-summary');
    expect(textOf(choice.answer)).toBe(`Tool results: cats purr; ${'y'.repeat(200)}`);
  });

  it('keeps calling the tool until hops=N rounds happened', () => {
    const request = user('use search_docs for cats [[hops=2]]');
    const firstChoice = chooseAnswer({ messages: [request], tools, occurrence: 1 });
    expect(toolCallsOf(firstChoice.answer)[0]?.arguments).toEqual({ query: 'for cats (round 1)' });

    const afterRound1: WireMessage[] = [
      request,
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'search_docs', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: 'result 1' },
    ];
    const secondChoice = chooseAnswer({ messages: afterRound1, tools, occurrence: 1 });
    expect(secondChoice.rule).toBe('tool-hop');
    const secondCalls = toolCallsOf(secondChoice.answer);
    expect(secondCalls[0]?.arguments).toEqual({ query: 'for cats (round 2)' });
    expect(secondCalls[0]?.id).not.toBe(toolCallsOf(firstChoice.answer)[0]?.id);

    const afterRound2: WireMessage[] = [
      ...afterRound1,
      { role: 'assistant', content: null, tool_calls: [{ id: 'c2', type: 'function', function: { name: 'search_docs', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c2', content: 'result 2' },
    ];
    const finalChoice = chooseAnswer({ messages: afterRound2, tools, occurrence: 1 });
    expect(finalChoice.rule).toBe('tool-summary');
    expect(textOf(finalChoice.answer)).toBe('Tool results: result 1; result 2');
  });

  it('gives three paragraphs of about 150 words when asked for something long', () => {
    const text = textOf(chooseAnswer({ messages: [user('tell me a LONG story')], occurrence: 1 }).answer);
    expect(text).toBe(longAnswer);
    expect(text.split('\n\n')).toHaveLength(3);
    const words = text.split(/\s+/).length;
    expect(words).toBeGreaterThan(120);
    expect(words).toBeLessThan(180);
  });

  it('summarises the conversation when asked, in a system message or the user text', () => {
    const history: WireMessage[] = [
      user('one two three four five six seven eight nine ten eleven twelve thirteen'),
      { role: 'assistant', content: 'ok' },
      user('short [[tps=3]]'),
    ];
    const expected = 'Summary: one two three four five six seven eight nine ten eleven twelve / short';
    const bySystem = chooseAnswer({ messages: [...history, { role: 'system', content: 'Compact this.' }], occurrence: 1 });
    expect(bySystem.rule).toBe('summary');
    expect(textOf(bySystem.answer)).toBe(expected);
    const byInstruction = chooseAnswer({ messages: [{ role: 'system', content: 'Summarize the conversation.' }, ...history], occurrence: 1 });
    expect(textOf(byInstruction.answer)).toBe(expected);
    const byUser = chooseAnswer({ messages: [user('please give a summary of the conversation')], occurrence: 1 });
    expect(textOf(byUser.answer)).toBe('Summary: please give a summary of the conversation');
  });

  it('prefixes text answers with the attempt number when vary=1', () => {
    const messages = [user('hi [[vary=1]]')];
    expect(textOf(chooseAnswer({ messages, occurrence: 1 }).answer)).toBe('(attempt 1) You said: hi');
    expect(textOf(chooseAnswer({ messages, occurrence: 2 }).answer)).toBe('(attempt 2) You said: hi');
  });

  it('repeats a text answer to exactly n streamed pieces with tokens=n', () => {
    const answer = chooseAnswer({ messages: [user('why not [[tokens=8]]')], occurrence: 1 }).answer;
    expect(textOf(answer)).toBe('You said: why not You said: why not');
    expect(tokenize(textOf(answer))).toHaveLength(8);
    const cut = textOf(chooseAnswer({ messages: [user('why not [[tokens=6]]')], occurrence: 1 }).answer);
    expect(cut).toBe('You said: why not You said:');
    expect(parseDirectives('x [[tokens=0]]').directives.problems).toEqual(['tokens needs a positive integer, got "0"']);
    expect(parseDirectives('x [[tokens=2.5]]').directives.tokens).toBeUndefined();
  });

  it('stops with finish reason length when max tokens is reached', () => {
    const answer = chooseAnswer({ messages: [user('a b c d e')], occurrence: 1, maxTokens: 3 }).answer;
    expect(answer).toEqual({ kind: 'text', text: 'You said: a ', finishReason: 'length' });
  });
});

describe('usage and hashes', () => {
  it('counts prompt tokens as content characters / 4, rounded up, at least 1', () => {
    expect(estimatePromptTokens([user('12345')])).toBe(2);
    expect(estimatePromptTokens([{ role: 'assistant', content: null }])).toBe(1);
    expect(estimatePromptTokens([user('1234'), { role: 'user', content: [{ type: 'text', text: '1234' }] }])).toBe(2);
  });

  it('counts completion tokens as streamed tokens, or argument characters / 4', () => {
    expect(estimateCompletionTokens({ kind: 'text', text: 'You said: hi', finishReason: 'stop' })).toBe(3);
    expect(
      estimateCompletionTokens({
        kind: 'tool-calls',
        finishReason: 'tool_calls',
        toolCalls: [{ id: 'a', name: 'x', arguments: '{"input":"abc"}' }],
      }),
    ).toBe(4);
  });

  it('hashes requests by model and messages', () => {
    const messages = [user('hi')];
    expect(requestHash('scripted-1', messages)).toBe(requestHash('scripted-1', [user('hi')]));
    expect(requestHash('scripted-1', messages)).not.toBe(requestHash('scripted-mini', messages));
    expect(requestHash('scripted-1', messages)).not.toBe(requestHash('scripted-1', [user('hi!')]));
    expect(messagesHash8(messages)).toMatch(/^[0-9a-f]{8}$/);
  });

  it('reads text from every content shape', () => {
    expect(contentText('x')).toBe('x');
    expect(contentText(null)).toBe('');
    expect(contentText(undefined)).toBe('');
    expect(contentText([{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }])).toBe('a\nb');
  });
});
