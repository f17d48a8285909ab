/**
 * Exact cosine top-k over every stored vector, on the CPU: one contiguous Float32Array of unit vectors (row i is
 * the chunk `keys[i]`), a dot product per row, and a bounded min-heap for the k best. Rows are removed by moving the
 * last row into the hole, so the matrix stays dense. Exact search is linear in the collection; BENCHMARKS.md says
 * up to what size that stays interactive.
 */
import { topKIndices } from '../util/top-k.ts';

export class VectorIndex {
  private data: Float32Array;
  private n = 0;
  private readonly keys: string[] = [];
  private readonly row = new Map<string, number>();
  private changes = 0;

  constructor(readonly dims: number, capacity = 256) {
    this.data = new Float32Array(dims * capacity);
  }

  get size(): number {
    return this.n;
  }

  /** Counts changes, so a copy elsewhere (the GPU's) knows when it is out of date. */
  get version(): number {
    return this.changes;
  }

  /** The matrix of the first `size` rows (a view: do not keep it across add/remove). */
  matrix(): Float32Array {
    return this.data.subarray(0, this.n * this.dims);
  }

  keyAt(i: number): string {
    return this.keys[i];
  }

  has(key: string): boolean {
    return this.row.has(key);
  }

  /** Adds or replaces `key`'s vector (normalized here). */
  set(key: string, v: ArrayLike<number>): void {
    if (v.length !== this.dims) throw new RangeError(`The vector for ${key} has ${v.length} dimensions; this index holds ${this.dims}.`);
    let i = this.row.get(key);
    if (i === undefined) {
      if ((this.n + 1) * this.dims > this.data.length) {
        const grown = new Float32Array(Math.max(this.data.length * 2, (this.n + 1) * this.dims));
        grown.set(this.data);
        this.data = grown;
      }
      i = this.n++;
      this.keys[i] = key;
      this.row.set(key, i);
    }
    this.data.set(normalize(v), i * this.dims);
    this.changes++;
  }

  delete(key: string): void {
    const i = this.row.get(key);
    if (i === undefined) return;
    const last = --this.n;
    if (i !== last) {
      this.data.copyWithin(i * this.dims, last * this.dims, (last + 1) * this.dims);
      this.keys[i] = this.keys[last];
      this.row.set(this.keys[i], i);
    }
    this.keys.length = last;
    this.row.delete(key);
    this.changes++;
  }

  /** The k rows most similar to `q` (cosine), best first; `accept` filters by key. */
  topK(q: ArrayLike<number>, k: number, accept?: (key: string) => boolean): { key: string; score: number }[] {
    const u = normalize(q);
    const d = this.dims;
    const m = this.data;
    const scores = new Float32Array(this.n);
    for (let r = 0; r < this.n; r++) {
      let s = 0;
      const o = r * d;
      for (let j = 0; j < d; j++) s += m[o + j] * u[j];
      scores[r] = s;
    }
    return topOf(scores, k, (r) => !accept || accept(this.keys[r])).map(({ i, score }) => ({ key: this.keys[i], score }));
  }
}

/** Unit-length copy (a zero vector stays zero). */
export function normalize(v: ArrayLike<number>): Float32Array {
  const out = Float32Array.from(v);
  let s = 0;
  for (let i = 0; i < out.length; i++) s += out[i] * out[i];
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let i = 0; i < out.length; i++) out[i] *= inv;
  return out;
}

/** Indices of the k largest scores (ties: lower index first), best first; NaN scores never count. */
export function topOf(scores: ArrayLike<number>, k: number, accept: (i: number) => boolean = () => true): { i: number; score: number }[] {
  return topKIndices(scores, k, (i) => !Number.isNaN(scores[i]) && accept(i)).map((i) => ({ i, score: scores[i] }));
}
