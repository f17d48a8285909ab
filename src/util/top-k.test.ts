import { describe, expect, test } from 'vitest';
import { topKIndices } from './top-k.ts';
import { mulberry32 } from './random.ts';

/** The reference: every index sorted (largest first, ties by index), then cut to k. */
function bySort(x: ArrayLike<number>, k: number, accept: (i: number) => boolean = () => true): number[] {
  const ids = Array.from({ length: x.length }, (_, i) => i).filter(accept);
  return ids.sort((a, b) => x[b] - x[a] || a - b).slice(0, Math.max(0, k));
}

describe('topKIndices', () => {
  test('equals a full sort on random values with many ties, for every k, with and without a filter', () => {
    const rand = mulberry32(7);
    for (let trial = 0; trial < 50; trial++) {
      const n = 1 + Math.floor(rand() * 60);
      // Few distinct values, so ties are common; -Infinity as a masked logit is.
      const x = Float32Array.from({ length: n }, () => (rand() < 0.1 ? -Infinity : Math.floor(rand() * 8)));
      const odd = (i: number) => i % 2 === 1;
      for (const k of [0, 1, 2, 5, n - 1, n, n + 3]) {
        expect(topKIndices(x, k)).toEqual(bySort(x, k));
        expect(topKIndices(x, k, odd)).toEqual(bySort(x, k, odd));
      }
    }
  });

  test('ties go to the lower index; k past the length returns all, k <= 0 none', () => {
    expect(topKIndices([1, 3, 3, 2], 10)).toEqual([1, 2, 3, 0]);
    expect(topKIndices([5, 5, 5], 2)).toEqual([0, 1]);
    expect(topKIndices([1, 2], 0)).toEqual([]);
    expect(topKIndices([1, 2], -1)).toEqual([]);
  });
});
