/**
 * Cuts a document's text into overlapping chunks: each about `size` characters, ending at the best
 * boundary available (a blank line, else a line or sentence end, else a space), and the next one
 * starting `overlap` characters before that end, at a word boundary. The overlap keeps a sentence
 * that straddles a cut findable in one piece. Offsets refer to the extracted text, so a citation can
 * point at the exact passage.
 *
 * Pure and deterministic: the same text always gives the same chunks.
 */

export interface ChunkingOptions {
  /** Target characters per chunk. */
  size: number;
  /** Characters shared by consecutive chunks. */
  overlap: number;
}

export const DEFAULT_CHUNKING: ChunkingOptions = { size: 1000, overlap: 200 };

export interface TextChunk {
  index: number;
  /** Offset of the chunk's first character in the text. */
  start: number;
  /** Offset after its last character. */
  end: number;
  content: string;
}

/** The best cut in `text[from, to)`: the last paragraph break, else line or sentence end, else space. */
function cutPoint(text: string, from: number, to: number): number {
  const window = text.slice(from, to);
  const patterns = [/\n\s*\n/g, /[.!?]["')\]]?\s|\n/g, /\s/g];
  for (const pattern of patterns) {
    let last = -1;
    for (const match of window.matchAll(pattern)) last = match.index! + match[0].length;
    if (last > 0) return from + last;
  }
  return to;
}

export function chunkText(text: string, options: ChunkingOptions = DEFAULT_CHUNKING): TextChunk[] {
  if (options.size <= 0 || options.overlap < 0 || options.overlap >= options.size) throw new Error('chunkText: need 0 ≤ overlap < size');
  const chunks: TextChunk[] = [];
  let start = 0;
  while (start < text.length) {
    // Skip leading whitespace so chunks never start blank.
    while (start < text.length && /\s/.test(text[start]!)) start++;
    if (start >= text.length) break;
    let end = Math.min(text.length, start + options.size);
    if (end < text.length) end = cutPoint(text, start + Math.floor(options.size / 2), end);
    const raw = text.slice(start, end);
    const content = raw.trimEnd();
    chunks.push({ index: chunks.length, start, end: start + content.length, content });
    if (end >= text.length) break;
    let next = Math.max(start + 1, end - options.overlap);
    // Start the overlap at a word boundary, not mid-word.
    while (next < end && !/\s/.test(text[next - 1]!)) next++;
    start = next;
  }
  return chunks;
}
