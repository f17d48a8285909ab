/**
 * Token choice from logits: greedy, or temperature → top-k → top-p → draw from a seeded PRNG (so a seed reproduces
 * a completion exactly). Greedy decoding never reaches here: the GPU argmax picks the token and no logits are read.
 */
import { mulberry32 } from '../util/random.ts';

export interface SamplingOptions {
  /** 0 = greedy. Default 0.8 (llama.cpp's default). */
  temperature?: number;
  /** Keep the k most likely tokens; 0 = off. Default 40. */
  topK?: number;
  /** Keep the smallest set whose probability reaches p; 1 = off. Default 0.95. */
  topP?: number;
  /** PRNG seed; random when omitted. */
  seed?: number;
}

export function isGreedy(o: SamplingOptions): boolean {
  return (o.temperature ?? 0.8) <= 0 || o.topK === 1;
}


export class Sampler {
  private readonly random: () => number;
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;

  constructor(o: SamplingOptions = {}) {
    this.temperature = o.temperature ?? 0.8;
    this.topK = o.topK ?? 40;
    this.topP = o.topP ?? 0.95;
    this.random = mulberry32(o.seed ?? Math.floor(Math.random() * 2 ** 32));
  }

  /** Candidates after temperature, top-k and top-p, with their renormalised probabilities (most likely first). */
  candidates(logits: Float32Array): { ids: number[]; probs: number[] } {
    const n = logits.length;
    const k = this.topK > 0 ? Math.min(this.topK, n) : n;
    const ids = k < n ? topKIndices(logits, k) : Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
    const t = this.temperature;
    const max = logits[ids[0]];
    let sum = 0;
    const probs = ids.map((id) => {
      const e = Math.exp((logits[id] - max) / t);
      sum += e;
      return e;
    });
    let keep = probs.length;
    let cum = 0;
    for (let i = 0; i < probs.length; i++) {
      probs[i] /= sum;
      cum += probs[i];
      if (this.topP < 1 && cum >= this.topP) {
        keep = i + 1;
        break;
      }
    }
    const kept = probs.slice(0, keep);
    const ks = kept.reduce((a, b) => a + b, 0);
    return { ids: ids.slice(0, keep), probs: kept.map((p) => p / ks) };
  }

  sample(logits: Float32Array): number {
    if (this.temperature <= 0) return argmax(logits);
    const { ids, probs } = this.candidates(logits);
    let r = this.random();
    for (let i = 0; i < ids.length; i++) {
      r -= probs[i];
      if (r < 0) return ids[i];
    }
    return ids[ids.length - 1];
  }
}

export function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** Indices of the k largest values, largest first (ties: lower index first), via a size-k min-heap. */
function topKIndices(x: Float32Array, k: number): number[] {
  const heap: number[] = [];
  const less = (a: number, b: number) => x[a] < x[b] || (x[a] === x[b] && a > b);
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l], heap[m])) m = l;
      if (r < heap.length && less(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (let i = 0; i < x.length; i++) {
    if (heap.length < k) {
      heap.push(i);
      for (let j = heap.length - 1; j > 0;) {
        const p = (j - 1) >> 1;
        if (!less(heap[j], heap[p])) break;
        [heap[j], heap[p]] = [heap[p], heap[j]];
        j = p;
      }
    } else if (less(heap[0], i)) {
      heap[0] = i;
      down(0);
    }
  }
  return heap.sort((a, b) => x[b] - x[a] || a - b);
}
