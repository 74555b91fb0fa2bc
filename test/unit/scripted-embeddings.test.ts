/**
 * The scripted server's deterministic embeddings: stable, unit length, and with just enough meaning
 * (synonym groups) that a paraphrase sharing no word with its original lands near it.
 */
import { conceptsOf, scriptedEmbedding, stem, toBase64Float32 } from '../../src/scripted-llm/embeddings';

function cosine(left: readonly number[], right: readonly number[]): number {
  return left.reduce((total, value, index) => total + value * right[index]!, 0);
}

describe('scripted embeddings', () => {
  it('gives the same unit vector for the same text, of the requested size', () => {
    const first = scriptedEmbedding('The user drives a red car.');
    expect(first).toHaveLength(256);
    expect(scriptedEmbedding('The user drives a red car.')).toEqual(first);
    expect(Math.hypot(...first)).toBeCloseTo(1, 10);
    expect(scriptedEmbedding('The user drives a red car.', 64)).toHaveLength(64);
    expect(Math.hypot(...scriptedEmbedding('', 32))).toBeCloseTo(1, 10);
  });

  it('maps synonyms to one concept and drops stop words', () => {
    expect(conceptsOf('my automobile')).toEqual(conceptsOf('the car'));
    expect(conceptsOf('Which vehicles?')).toEqual(['concept:car']);
    expect(conceptsOf('We were reimbursed')).toEqual(['concept:refund']);
    expect(conceptsOf('time off in June')).toEqual(['concept:holiday', 'word:june']);
    expect(stem('drives')).toBe('drive');
    expect(stem('running')).toBe('run');
  });

  it('puts a paraphrase that shares no word near its original, and unrelated text far from it', () => {
    const original = scriptedEmbedding('Customers can get a refund within 30 days of purchase.');
    const paraphrase = scriptedEmbedding('How long do buyers have to be reimbursed after they shop?');
    const unrelated = scriptedEmbedding('The weather in Paris is mild in spring.');
    expect(cosine(original, paraphrase)).toBeGreaterThan(0.4);
    expect(Math.abs(cosine(original, unrelated))).toBeLessThan(0.2);
  });

  it('encodes base64 as little-endian float32, the way the openai client decodes it', () => {
    const vector = [0.5, -0.25, 1];
    const bytes = Buffer.from(toBase64Float32(vector), 'base64');
    expect([0, 1, 2].map((index) => bytes.readFloatLE(index * 4))).toEqual(vector);
  });
});
