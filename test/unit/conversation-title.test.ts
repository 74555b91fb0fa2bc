import { chooseAnswer, type WireMessage } from '../../src/scripted-llm/answers';
import { cleanTitle, GENERATED_TITLE_MAX_CHARACTERS, TITLE_INSTRUCTION, TITLE_REQUEST } from '../../src/shared/conversation-title';

describe('cleanTitle', () => {
  it.each([
    ['Trip to Lisbon', 'Trip to Lisbon'],
    ['Title: Trip to Lisbon', 'Trip to Lisbon'],
    ['"Trip to Lisbon."', 'Trip to Lisbon'],
    ['**Trip to Lisbon**\n\nThis conversation is about…', 'Trip to Lisbon'],
    ['# Trip   to\tLisbon!', 'Trip to Lisbon'],
    ['\n\n  “Refund policy questions”  \n', 'Refund policy questions'],
    ['_Refunds_ and search_knowledge', 'Refunds and search_knowledge'],
    ['   ', ''],
  ])('turns %j into %j', (answer, title) => {
    expect(cleanTitle(answer)).toBe(title);
  });

  it('cuts a long answer at a word boundary', () => {
    const answer = 'word '.repeat(40);
    const title = cleanTitle(answer);
    expect(title.length).toBeLessThanOrEqual(GENERATED_TITLE_MAX_CHARACTERS);
    expect(title.endsWith('word')).toBe(true);
  });
});

describe('the scripted model', () => {
  it('answers the title request the title activity sends with the first words of the first question', () => {
    const messages: WireMessage[] = [
      { role: 'system', content: TITLE_INSTRUCTION },
      { role: 'user', content: 'how do I make something long and durable [[tps=20]]? thanks' },
      { role: 'assistant', content: 'Durable execution means…' },
      { role: 'user', content: TITLE_REQUEST },
    ];
    const choice = chooseAnswer({ messages, occurrence: 1 });
    expect(choice.rule).toBe('title');
    expect(choice.answer).toEqual({ kind: 'text', text: 'How do I make something long', finishReason: 'stop' });
  });

  it('does not take an ordinary chat turn for a title request', () => {
    const choice = chooseAnswer({ messages: [{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content: 'a title for my essay?' }], occurrence: 1 });
    expect(choice.rule).toBe('echo');
  });
});
