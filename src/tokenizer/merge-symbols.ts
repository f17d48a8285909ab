/**
 * The merge loop byte-level BPE (bpe.ts) and SentencePiece (spm.ts) share, as llama.cpp's tokenizers run it: the
 * symbols form a doubly linked list, every adjacent pair that makes a known token is queued, the best pair (by the
 * tokenizer's own order) is merged first and its new neighbours are queued in turn. A merge leaves older entries of
 * its two symbols in the queue; they are skipped when popped, and since symbols only grow, an entry whose two
 * lengths are still the symbols' lengths is still the same adjacent pair.
 */
import { MinHeap } from './heap.ts';

/** A queued pair: the two symbols and their lengths when it was queued. */
export interface Candidate {
  left: number;
  right: number;
  leftLen: number;
  rightLen: number;
}

/**
 * Merges the symbols whose lengths are `len` (changed in place: a symbol merged into its left neighbour gets 0).
 * `candidate` gives the queue entry for `left` + `right`, or undefined when they form no token; `before` orders the
 * queue. Returns `next`: from symbol 0, each remaining symbol's successor, -1 after the last.
 */
export function mergeSymbols<C extends Candidate>(
  len: number[], before: (a: C, b: C) => boolean, candidate: (left: number, right: number) => C | undefined,
): number[] {
  const n = len.length;
  const prev = Array.from({ length: n }, (_, i) => i - 1);
  const next = Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
  const queue = new MinHeap<C>(before);
  const tryAdd = (left: number, right: number) => {
    if (left < 0 || right < 0) return;
    const c = candidate(left, right);
    if (c) queue.push(c);
  };
  for (let i = 1; i < n; i++) tryAdd(i - 1, i);
  for (let c = queue.pop(); c; c = queue.pop()) {
    const { left, right } = c;
    if (len[left] !== c.leftLen || len[right] !== c.rightLen) continue; // stale: a side has grown or merged away
    len[left] += len[right];
    len[right] = 0;
    next[left] = next[right];
    if (next[right] >= 0) prev[next[right]] = left;
    tryAdd(prev[left], left);
    tryAdd(left, next[left]);
  }
  return next;
}
