/**
 * Deterministic embeddings for the scripted OpenAI-compatible server (`POST /v1/embeddings`).
 *
 * Not a model: a text becomes the set of concepts of its words (./concept-lexicon.ts maps synonyms
 * to one concept; any other word, lightly stemmed, is a concept of its own; stop words are dropped),
 * each concept a fixed pseudo-random unit direction derived from its name, and the embedding the
 * normalised sum. Texts that share concepts point the same way, so a paraphrase built from the
 * lexicon's synonyms ("automobile" for "car") is near its original although they share no word, and
 * unrelated texts are nearly orthogonal (cosine ≈ ±1/√dimensions). Same input, same vector, on every
 * machine: tests and the retrieval bench can rely on it.
 *
 * Pure and free of I/O.
 */
import { createHash } from 'node:crypto';
import { CONCEPT_GROUPS } from './concept-lexicon';

export const SCRIPTED_EMBEDDING_DIMENSIONS = 256;
export const SCRIPTED_EMBEDDING_MAX_DIMENSIONS = 3072;

const STOP_WORDS = new Set(
  (
    'a an the and or but if then else of to in on at by for with from into onto about above below over under again further ' +
    'is am are was were be been being do does did doing have has had having i me my mine myself we us our ours you your yours ' +
    'he him his she her hers it its they them their theirs this that these those what which who whom whose when where why how ' +
    'all any both each few more most other some such no nor not only own same so than too very can will just should would could ' +
    'may might must shall s t don doesn didn isn aren wasn weren there here also as up down out off per via etc please tell ' +
    'know want need let lets get got one ones thing things something anything way much many user users every each'
  ).split(' '),
);

/** Light suffix stripping so "cars", "driving" and "drives" meet "car" and "drive". */
export function stem(word: string): string {
  if (word.length <= 3) return word;
  if (word.endsWith('ies') && word.length > 4) return `${word.slice(0, -3)}y`;
  if (/(ches|shes|sses|xes|zes)$/.test(word)) return word.slice(0, -2);
  if (word.endsWith('s') && !word.endsWith('ss') && !word.endsWith('us') && !word.endsWith('is')) return word.slice(0, -1);
  if (word.endsWith('ing') && word.length > 5) {
    const base = word.slice(0, -3);
    return /([b-df-hj-np-tv-z])\1$/.test(base) ? base.slice(0, -1) : base;
  }
  if (word.endsWith('ed') && word.length > 4) {
    const base = word.slice(0, -2);
    return /([b-df-hj-np-tv-z])\1$/.test(base) ? base.slice(0, -1) : base;
  }
  return word;
}

function words(text: string): string[] {
  const tokens = text.normalize('NFKC').toLowerCase().replace(/[\u2018\u2019]/g, "'").match(/[\p{L}\p{N}]+(?:'[\p{L}]+)?/gu) ?? [];
  return tokens.map((token) => token.replace(/'s$/, ''));
}

/**
 * The forms a word is looked up under: as written, stemmed, stemmed plus "e" ("reimbursed" →
 * "reimburse"), and without a plural "s" ("movies" → "movie", where the stem rule gives "movy").
 */
function formsOf(word: string): string[] {
  const stemmed = stem(word);
  if (stemmed === word) return [word];
  return [word, stemmed, `${stemmed}e`, ...(word.endsWith('s') ? [word.slice(0, -1)] : [])];
}

/** Word or phrase (stemmed, space-joined) → concept name; the first group that names a form wins. */
const CONCEPTS: ReadonlyMap<string, string> = (() => {
  const concepts = new Map<string, string>();
  for (const group of CONCEPT_GROUPS) {
    const concept = `concept:${group[0]}`;
    for (const entry of group) {
      for (const form of [entry, words(entry).map(stem).join(' ')]) if (!concepts.has(form)) concepts.set(form, concept);
    }
  }
  return concepts;
})();

/**
 * The concepts of a text, in order, with repeats: two-word phrases of the lexicon first ("time off"),
 * then single words (as written or stemmed). Stop words and one-letter tokens carry no concept.
 */
export function conceptsOf(text: string): string[] {
  const tokens = words(text);
  const concepts: string[] = [];
  for (let index = 0; index < tokens.length; index++) {
    const word = tokens[index]!;
    const next = tokens[index + 1];
    if (next !== undefined) {
      const phrase = CONCEPTS.get(`${word} ${next}`) ?? CONCEPTS.get(`${stem(word)} ${stem(next)}`);
      if (phrase) {
        concepts.push(phrase);
        index++;
        continue;
      }
    }
    const known = formsOf(word)
      .map((form) => CONCEPTS.get(form))
      .find((concept) => concept !== undefined);
    if (known) concepts.push(known);
    else if (!STOP_WORDS.has(word) && word.length > 1) concepts.push(`word:${stem(word)}`);
  }
  return concepts;
}

/** A 32-bit generator seeded from the concept's name (mulberry32): the same numbers everywhere. */
function generatorFor(name: string): () => number {
  let state = createHash('sha256').update(name).digest().readUInt32LE(0);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

const directions = new Map<string, Float64Array>();

/** The concept's fixed direction: Gaussian coordinates (Box–Muller), not normalised (the sum is). */
function directionOf(concept: string, dimensions: number): Float64Array {
  const key = `${dimensions}:${concept}`;
  const cached = directions.get(key);
  if (cached) return cached;
  const next = generatorFor(concept);
  const direction = new Float64Array(dimensions);
  for (let index = 0; index < dimensions; index++) {
    direction[index] = Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
  }
  if (directions.size > 50_000) directions.clear();
  directions.set(key, direction);
  return direction;
}

/** The embedding of one text: unit length, `dimensions` coordinates. */
export function scriptedEmbedding(text: string, dimensions = SCRIPTED_EMBEDDING_DIMENSIONS): number[] {
  // A concept counts once: repeating a word does not make a text more about it.
  const concepts = [...new Set(conceptsOf(text))];
  if (concepts.length === 0) concepts.push('empty');
  const sum = new Float64Array(dimensions);
  for (const concept of concepts) {
    const direction = directionOf(concept, dimensions);
    for (let index = 0; index < dimensions; index++) sum[index]! += direction[index]!;
  }
  let norm = 0;
  for (const value of sum) norm += value * value;
  norm = Math.sqrt(norm) || 1;
  return Array.from(sum, (value) => value / norm);
}

/** Tokens as the scripted server counts them for `usage`: words, at least one per input. */
export function embeddingTokenCount(text: string): number {
  return Math.max(1, words(text).length);
}

/** Little-endian float32 bytes in base64: what `encoding_format: "base64"` returns (the openai client's default). */
export function toBase64Float32(vector: readonly number[]): string {
  const buffer = Buffer.alloc(vector.length * 4);
  vector.forEach((value, index) => buffer.writeFloatLE(value, index * 4));
  return buffer.toString('base64');
}
