/** Reciprocal rank fusion of vector and full-text rankings. */
import { fuseRankings, RRF_K } from '../../src/memory/hybrid-ranking';

describe('fuseRankings', () => {
  it('ranks a hit both lists found above hits only one list found', () => {
    const fused = fuseRankings(
      [
        { id: 'a', similarity: 0.9 },
        { id: 'b', similarity: 0.8 },
      ],
      [
        { id: 'c', rank: 1.2 },
        { id: 'b', rank: 0.4 },
      ],
      10,
    );
    expect(fused.map((hit) => hit.id)).toEqual(['b', 'a', 'c']);
    expect(fused[0]).toEqual({ id: 'b', score: 1 / (RRF_K + 2) + 1 / (RRF_K + 2), similarity: 0.8, textRank: 0.4 });
    expect(fused[1]).toEqual({ id: 'a', score: 1 / (RRF_K + 1), similarity: 0.9 });
  });

  it('keeps one list alone in its order, breaks ties by first appearance, and honours the limit', () => {
    expect(fuseRankings([], [{ id: 'x', rank: 2 }, { id: 'y', rank: 1 }], 5).map((hit) => hit.id)).toEqual(['x', 'y']);
    expect(fuseRankings([{ id: 'v', similarity: 0.5 }], [{ id: 't', rank: 1 }], 5).map((hit) => hit.id)).toEqual(['v', 't']);
    expect(fuseRankings([{ id: 'v', similarity: 0.5 }], [{ id: 't', rank: 1 }], 1)).toHaveLength(1);
    expect(fuseRankings([], [], 3)).toEqual([]);
  });
});
