/**
 * The 256-bit signature stored next to each embedding: the signs of 256 fixed random projections
 * (SimHash). Two vectors at angle θ disagree on each bit with probability θ/π, so the Hamming
 * distance between signatures (`bit_count(a # b)` in Postgres, C code) orders rows by angle well
 * enough to pick a few hundred candidates that an exact cosine then re-ranks.
 *
 * The projections are derived from a fixed seed and the vector's dimension count: every process
 * computes the same signature for the same vector. Changing the seed or the bit count invalidates
 * every stored signature (they would have to be recomputed), so both are constants.
 */
import { createHash } from 'node:crypto';

export const SIGNATURE_BITS = 256;
const SEED = 'durable-chat signature v1';

const projectionsByDimensions = new Map<number, Float64Array[]>();

function projections(dimensions: number): Float64Array[] {
  const cached = projectionsByDimensions.get(dimensions);
  if (cached) return cached;
  let state = createHash('sha256').update(`${SEED}:${dimensions}`).digest().readUInt32LE(0);
  const next = () => {
    state = (state + 0x6d2b79f5) | 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
  const planes = Array.from({ length: SIGNATURE_BITS }, () => {
    const plane = new Float64Array(dimensions);
    for (let index = 0; index < dimensions; index++) plane[index] = Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
    return plane;
  });
  projectionsByDimensions.set(dimensions, planes);
  return planes;
}

/** The signature as Postgres `bit(256)` text: 256 characters `0`/`1`. */
export function signatureOf(embedding: readonly number[]): string {
  const planes = projections(embedding.length);
  let bits = '';
  for (const plane of planes) {
    let total = 0;
    for (let index = 0; index < embedding.length; index++) total += plane[index]! * embedding[index]!;
    bits += total >= 0 ? '1' : '0';
  }
  return bits;
}
