import { mulberry32 } from '../../src/util/random.ts';

/** Small helpers shared by the reference tests (and usable by kernel tests). */

/** Deterministic pseudo-random numbers in [-1, 1) (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  const r = mulberry32(seed);
  return () => r() * 2 - 1;
}

export const randArray = (n: number, r: () => number, scale = 1): Float32Array =>
  Float32Array.from({ length: n }, () => r() * scale);

/** Throws naming the first element where |actual − expected| > tol. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6): void {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      throw new Error(`element ${i}: got ${actual[i]}, expected ${expected[i]} (tol ${tol})`);
    }
  }
}

/**
 * The GGUF llama converter's Q/K row permutation, `w.reshape(n_head, 2, d/2, cols).swapaxes(1, 2)`, applied to a
 * [nHeads·d, cols] matrix: new row h·d + 2i + j = old row h·d + j·d/2 + i. It turns HF's rotate-half (neox)
 * layout into ggml's adjacent-pair (normal) one.
 */
export function permuteRows(w: Float32Array, nHeads: number, d: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < d / 2; i++) {
      for (let j = 0; j < 2; j++) {
        const from = h * d + j * (d / 2) + i;
        const to = h * d + 2 * i + j;
        out.set(w.subarray(from * cols, (from + 1) * cols), to * cols);
      }
    }
  }
  return out;
}
