/**
 * The k largest of many values without sorting them all: a size-k min-heap whose root is the worst kept, so each
 * further value costs one comparison unless it enters. Used for top-k sampling and log-prob alternatives over a
 * vocabulary (runtime/sampler.ts, generation-helpers.ts) and for the k best chunks of a vector search (rag/).
 */

/**
 * Indices of the k largest values of `x`, largest first (ties: lower index first), among those `accept` keeps.
 * A NaN is not ordered against anything, so a caller whose values may be NaN must refuse them in `accept`.
 */
export function topKIndices(x: ArrayLike<number>, k: number, accept?: (i: number) => boolean): number[] {
  if (k <= 0) return [];
  const heap: number[] = [];
  const worse = (a: number, b: number) => x[a] < x[b] || (x[a] === x[b] && a > b);
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < heap.length && worse(heap[l], heap[m])) m = l;
      if (r < heap.length && worse(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (let i = 0; i < x.length; i++) {
    if (accept && !accept(i)) continue;
    if (heap.length < k) {
      heap.push(i);
      for (let j = heap.length - 1; j > 0;) {
        const p = (j - 1) >> 1;
        if (!worse(heap[j], heap[p])) break;
        [heap[j], heap[p]] = [heap[p], heap[j]];
        j = p;
      }
    } else if (worse(heap[0], i)) {
      heap[0] = i;
      down(0);
    }
  }
  return heap.sort((a, b) => x[b] - x[a] || a - b);
}
