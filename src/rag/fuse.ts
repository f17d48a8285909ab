/**
 * Reciprocal-rank fusion (Cormack et al. 2009): score(d) = Σ over lists 1 / (K + rank), rank from 1. It needs no
 * calibration between BM25 scores and cosines, which live on unrelated scales; K = 60 is the paper's value and damps
 * the weight of the very first ranks.
 */
export const RRF_K = 60;

export function fuseRanks(lists: { key: string }[][], k: number, K = RRF_K): { key: string; score: number }[] {
  const score = new Map<string, number>();
  for (const list of lists) list.forEach(({ key }, r) => score.set(key, (score.get(key) ?? 0) + 1 / (K + r + 1)));
  return [...score].map(([key, s]) => ({ key, score: s })).sort((a, b) => b.score - a.score || (a.key < b.key ? -1 : 1)).slice(0, k);
}
