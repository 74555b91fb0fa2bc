/** The scripted model's image knobs: `image=1` answers with an inline PNG over several deltas; the echo names image parts it received. */
import { chooseAnswer, SCRIPTED_IMAGE_MARKDOWN, SCRIPTED_PNG_BASE64, tokenize, type ScriptedAnswer } from '../../src/scripted-llm/answers';

function textAnswer(answer: ScriptedAnswer) {
  if (answer.kind !== 'text') throw new Error(`expected a text answer, got ${answer.kind}`);
  return answer;
}

describe('the image directive', () => {
  it('ends the answer with a PNG data image whose data URL is cut over several deltas', () => {
    const answer = textAnswer(chooseAnswer({ messages: [{ role: 'user', content: 'draw a dot [[image=1]]' }], occurrence: 1 }).answer);
    expect(answer.text).toBe(`You said: draw a dot\n\nHere is the image: ${SCRIPTED_IMAGE_MARKDOWN}`);
    const deltas = answer.deltas!;
    expect(deltas.join('')).toBe(answer.text);
    expect(deltas.filter((delta) => /[A-Za-z0-9+/=]{8}/.test(delta) && SCRIPTED_PNG_BASE64.includes(delta.slice(-8))).length).toBeGreaterThan(3);
    expect(Math.max(...deltas.map((delta) => delta.length))).toBeLessThanOrEqual(32);
    expect(Buffer.from(SCRIPTED_PNG_BASE64, 'base64').subarray(1, 4).toString()).toBe('PNG');
  });

  it('leaves answers without the directive streamed token by token', () => {
    const answer = textAnswer(chooseAnswer({ messages: [{ role: 'user', content: 'hello there' }], occurrence: 1 }).answer);
    expect(answer.deltas).toBeUndefined();
    expect(tokenize(answer.text)).toEqual(['You ', 'said: ', 'hello ', 'there']);
  });
});

describe('image parts in the request', () => {
  it('are named in the echo with their media type and size', () => {
    const messages = [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is this?' },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${SCRIPTED_PNG_BASE64}` } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
        ],
      },
    ];
    expect(textAnswer(chooseAnswer({ messages, occurrence: 1 }).answer).text).toBe('You said: what is this? (I see 2 images: image/png, 112 bytes; a linked image)');
  });
});
