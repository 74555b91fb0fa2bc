/** Document chunking: bounded, overlapping chunks at natural boundaries, with exact offsets. */
import { chunkText } from '../../src/documents/chunking';

const paragraph = (label: string) => `${label}: ${'Sentences about the topic go on here. '.repeat(8).trim()}`;

describe('chunkText', () => {
  it('gives one chunk for a short text, none for a blank one', () => {
    expect(chunkText('  Short note.  ')).toEqual([{ index: 0, start: 2, end: 13, content: 'Short note.' }]);
    expect(chunkText(' \n\n ')).toEqual([]);
  });

  it('cuts long text into overlapping chunks whose offsets point at their content', () => {
    const text = Array.from({ length: 12 }, (_, index) => paragraph(`Part ${index}`)).join('\n\n');
    const chunks = chunkText(text, { size: 600, overlap: 120 });
    expect(chunks.length).toBeGreaterThan(4);
    for (const [index, chunk] of chunks.entries()) {
      expect(chunk.index).toBe(index);
      expect(chunk.content.length).toBeLessThanOrEqual(600);
      expect(text.slice(chunk.start, chunk.end)).toBe(chunk.content);
      expect(chunk.content).toBe(chunk.content.trim());
      // No chunk starts or ends mid-word.
      expect(/\S/.test(text[chunk.start - 1] ?? ' ')).toBe(false);
      expect(/\S/.test(text[chunk.end] ?? ' ')).toBe(false);
      const next = chunks[index + 1];
      if (next) {
        expect(next.start).toBeLessThan(chunk.end);
        expect(next.start).toBeGreaterThan(chunk.start);
      }
    }
    // Every character of the text is in some chunk.
    expect(chunks[0]!.start).toBe(0);
    expect(chunks.at(-1)!.end).toBe(text.trimEnd().length);
    expect(chunkText(text, { size: 600, overlap: 120 })).toEqual(chunks);
  });

  it('prefers a paragraph break over a sentence end over a space', () => {
    const text = `${'a'.repeat(300)} end of one.\n\nSecond paragraph ${'b '.repeat(200)}`;
    expect(chunkText(text, { size: 400, overlap: 50 })[0]!.content).toBe(`${'a'.repeat(300)} end of one.`);
  });

  it('rejects an overlap as large as the chunk', () => {
    expect(() => chunkText('text', { size: 100, overlap: 100 })).toThrow(/overlap/);
  });
});
