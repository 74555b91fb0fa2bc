/**
 * Reciprocal rank fusion of the two ranked lists a hybrid search produces: vector matches (by cosine
 * similarity, already cut at the minimum similarity) and full-text matches (by `ts_rank`). A hit's
 * score is Σ 1 / (k + position) over the lists it appears in, positions counted from 1. RRF needs no
 * calibration between cosine values and `ts_rank` values, which live on unrelated scales; a hit both
 * lists agree on beats a hit only one of them found.
 *
 * Pure: shared by memories and document chunks, unit-tested on its own.
 */

/** The usual constant: it damps the difference between the first few positions of one list. */
export const RRF_K = 60;

export interface VectorHit {
  id: string;
  similarity: number;
}

export interface TextHit {
  id: string;
  rank: number;
}

export interface FusedHit {
  id: string;
  score: number;
  /** Cosine similarity when the vector list found it. */
  similarity?: number;
  /** `ts_rank` (plus 1 when every query word matched) when the full-text list found it. */
  textRank?: number;
}

/**
 * Fuses the lists (each best first) and returns at most `limit` hits, best first. Ties keep the
 * order in which hits were first seen, vector list first, so the result is deterministic.
 */
export function fuseRankings(vector: readonly VectorHit[], text: readonly TextHit[], limit: number, k = RRF_K): FusedHit[] {
  const fused = new Map<string, FusedHit & { order: number }>();
  const add = (id: string, position: number, details: Partial<FusedHit>) => {
    const existing = fused.get(id);
    const contribution = 1 / (k + position);
    if (existing) {
      existing.score += contribution;
      Object.assign(existing, details);
    } else fused.set(id, { id, score: contribution, order: fused.size, ...details });
  };
  vector.forEach((hit, index) => add(hit.id, index + 1, { similarity: hit.similarity }));
  text.forEach((hit, index) => add(hit.id, index + 1, { textRank: hit.rank }));
  return [...fused.values()]
    .sort((left, right) => right.score - left.score || left.order - right.order)
    .slice(0, Math.max(0, limit))
    .map(({ order: _order, ...hit }) => hit);
}
