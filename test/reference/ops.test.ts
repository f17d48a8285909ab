import { describe, expect, it } from 'vitest';
import { add, argmax, attention, embedding, matmul, rmsnorm, rope, siluMul, softmax } from './ops.ts';
import { expectClose, permuteRows, randArray, rng } from './test-utils.ts';

const f32 = (xs: number[]): Float32Array => Float32Array.from(xs);

describe('rmsnorm', () => {
  it('matches a hand-computed row', () => {
    // mean([9, 16]) = 12.5 → rms = √12.5
    const r = Math.sqrt(12.5);
    expectClose(rmsnorm(f32([3, 4]), f32([1, 2]), 1, 2, 0), [3 / r, (4 / r) * 2]);
  });
  it('normalizes each row separately and adds eps inside the root', () => {
    const y = rmsnorm(f32([1, 1, 2, 2]), f32([1, 1]), 2, 2, 1);
    expectClose(y, [1 / Math.sqrt(2), 1 / Math.sqrt(2), 2 / Math.sqrt(5), 2 / Math.sqrt(5)]);
  });
});

describe('matmul', () => {
  it('computes x·Wᵀ + bias with W as [N, K]', () => {
    const W = f32([1, 2, 3, 4, 5, 6]); // N=2, K=3
    const x = f32([1, 0, -1, 2, 1, 0]); // M=2
    // row 0: [1-3, 4-6] = [-2, -2]; row 1: [2+2, 8+5] = [4, 13]
    expectClose(matmul(W, x, 2, 2, 3), [-2, -2, 4, 13]);
    expectClose(matmul(W, x, 2, 2, 3, f32([10, 20])), [8, 18, 14, 33]);
  });
  it('rejects mismatched shapes', () => {
    expect(() => matmul(new Float32Array(6), new Float32Array(5), 2, 2, 3)).toThrow(/x has 5/);
  });
});

describe('rope', () => {
  const theta = 10000;
  // headDim 4: pair 0 has frequency 1, pair 1 has frequency 10000^(-1/2) = 0.01.
  it('normal layout rotates adjacent pairs by pos·theta^(-2i/d)', () => {
    const y = rope(f32([1, 0, 0, 1]), [1], 1, 4, theta, 'normal');
    expectClose(y, [Math.cos(1), Math.sin(1), -Math.sin(0.01), Math.cos(0.01)]);
    const y3 = rope(f32([1, 0, 0, 1]), [3], 1, 4, theta, 'normal');
    expectClose(y3, [Math.cos(3), Math.sin(3), -Math.sin(0.03), Math.cos(0.03)]);
  });
  it('neox layout rotates (i, i + d/2) pairs', () => {
    // pairs (x0, x2) = (1, 0) by 1 rad and (x1, x3) = (0, 1) by 0.01 rad
    const y = rope(f32([1, 0, 0, 1]), [1], 1, 4, theta, 'neox');
    expectClose(y, [Math.cos(1), -Math.sin(0.01), Math.sin(1), Math.cos(0.01)]);
  });
  it('divides frequencies by freqFactors', () => {
    const y = rope(f32([1, 0, 0, 1]), [2], 1, 4, theta, 'normal', f32([4, 2]));
    expectClose(y, [Math.cos(0.5), Math.sin(0.5), -Math.sin(0.01), Math.cos(0.01)]);
  });
  it('is the identity at position 0 and applies per token and per head', () => {
    const r = rng(1);
    const x = randArray(2 * 3 * 8, r);
    const y = rope(x, [0, 5], 3, 8, theta, 'neox');
    expectClose(y.subarray(0, 24), x.subarray(0, 24));
    // each head of token 1 rotated alone gives the same result
    for (let h = 0; h < 3; h++) {
      const one = rope(x.slice(24 + h * 8, 24 + (h + 1) * 8), [5], 1, 8, theta, 'neox');
      expectClose(y.subarray(24 + h * 8, 24 + (h + 1) * 8), one);
    }
  });
  it('makes q·k depend only on the position difference (both layouts)', () => {
    const r = rng(2);
    const q = randArray(16, r);
    const k = randArray(16, r);
    const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);
    for (const style of ['normal', 'neox'] as const) {
      const d1 = dot(rope(q, [7], 1, 16, theta, style), rope(k, [3], 1, 16, theta, style));
      const d2 = dot(rope(q, [104], 1, 16, theta, style), rope(k, [100], 1, 16, theta, style));
      expect(Math.abs(d1 - d2)).toBeLessThan(1e-4);
    }
  });
  it('matches HF rotate_half written out (q·cos + rotate_half(q)·sin) for neox', () => {
    const r = rng(3);
    const d = 8;
    const x = randArray(d, r);
    const pos = 11;
    const invFreq = Array.from({ length: d / 2 }, (_, i) => 1 / Math.pow(theta, (2 * i) / d));
    const emb = [...invFreq, ...invFreq].map((f) => f * pos); // cat(freqs, freqs)
    const rot = [...Array.from(x.subarray(d / 2), (v) => -v), ...x.subarray(0, d / 2)]; // cat(-x2, x1)
    const expected = Array.from(x, (v, i) => v * Math.cos(emb[i]) + rot[i] * Math.sin(emb[i]));
    expectClose(rope(x, [pos], 1, d, theta, 'neox'), expected, 1e-6);
  });
  it('normal layout on GGUF-permuted Q/K weights equals neox on the original weights', () => {
    // The GGUF llama converter permutes Q/K rows: w.reshape(n_head, 2, d/2, dim).swapaxes(1, 2),
    // i.e. new row h·d + 2i + j = old row h·d + j·d/2 + i.
    const r = rng(4);
    const nHeads = 2, d = 8, dim = 6, T = 3;
    const W = randArray(nHeads * d * dim, r);
    const Wp = permuteRows(W, nHeads, d, dim);
    const x = randArray(T * dim, r);
    const positions = [0, 4, 9];
    const neox = rope(matmul(W, x, T, nHeads * d, dim), positions, nHeads, d, theta, 'neox');
    const normal = rope(matmul(Wp, x, T, nHeads * d, dim), positions, nHeads, d, theta, 'normal');
    // the normal-layout output is the same vector, in permuted order
    expectClose(normal, permuteRows(neox, T * nHeads, d, 1), 1e-5);
  });
});

describe('attention', () => {
  it('matches a hand-computed single-head case with the causal mask', () => {
    const q = f32([1, 0, 1, 0]); // two queries, both [1, 0]
    const k = f32([1, 0, 0, 1]);
    const v = f32([1, 2, 3, 4]);
    const y = attention(q, k, v, 1, 1, 2, 2, 2, 0);
    // query 0 sees only kv 0; query 1 sees scores [1/√2, 0]
    const e = Math.exp(1 / Math.sqrt(2));
    const w0 = e / (e + 1), w1 = 1 / (e + 1);
    expectClose(y, [1, 2, w0 * 1 + w1 * 3, w0 * 2 + w1 * 4]);
  });
  it('is causal: changing a later kv row leaves earlier outputs unchanged', () => {
    const r = rng(5);
    const [nH, nKv, d, T] = [4, 2, 8, 5];
    const q = randArray(T * nH * d, r);
    const k = randArray(T * nKv * d, r);
    const v = randArray(T * nKv * d, r);
    const y = attention(q, k, v, nH, nKv, d, T, T, 0);
    const k2 = k.slice(), v2 = v.slice();
    for (let i = 3 * nKv * d; i < 4 * nKv * d; i++) { k2[i] += 1; v2[i] -= 2; }
    const y2 = attention(q, k2, v2, nH, nKv, d, T, T, 0);
    const rowLen = nH * d;
    expectClose(y2.subarray(0, 3 * rowLen), y.subarray(0, 3 * rowLen), 0);
    expect(Array.from(y2.subarray(3 * rowLen)).some((a, i) => a !== y[3 * rowLen + i])).toBe(true);
  });
  it('queries at an offset equal the matching rows of a full pass (decode = prefill)', () => {
    const r = rng(6);
    const [nH, nKv, d, T] = [4, 4, 4, 6];
    const q = randArray(T * nH * d, r);
    const k = randArray(T * nKv * d, r);
    const v = randArray(T * nKv * d, r);
    const full = attention(q, k, v, nH, nKv, d, T, T, 0);
    const rowLen = nH * d;
    for (let t = 0; t < T; t++) {
      // one query at position t against the cache rows 0..t
      const one = attention(q.slice(t * rowLen, (t + 1) * rowLen), k.slice(0, (t + 1) * nKv * d), v.slice(0, (t + 1) * nKv * d), nH, nKv, d, 1, t + 1, t);
      expectClose(one, full.subarray(t * rowLen, (t + 1) * rowLen), 1e-7);
    }
    // extra cache rows past the last query are masked out
    const padded = attention(q.slice(0, 2 * rowLen), k, v, nH, nKv, d, 2, T, 0);
    expectClose(padded, full.subarray(0, 2 * rowLen), 0);
  });
  it('maps query head h to kv head floor(h / (nHeads / nKvHeads))', () => {
    const r = rng(7);
    const [nH, nKv, d, T] = [6, 2, 4, 3];
    const q = randArray(T * nH * d, r);
    const k = randArray(T * nKv * d, r);
    const v = randArray(T * nKv * d, r);
    const y = attention(q, k, v, nH, nKv, d, T, T, 0);
    const head = (a: Float32Array, n: number, h: number) => {
      const out = new Float32Array(T * d);
      for (let t = 0; t < T; t++) out.set(a.subarray((t * n + h) * d, (t * n + h + 1) * d), t * d);
      return out;
    };
    for (let h = 0; h < nH; h++) {
      const kvh = Math.floor(h / 3);
      const single = attention(head(q, nH, h), head(k, nKv, kvh), head(v, nKv, kvh), 1, 1, d, T, T, 0);
      expectClose(head(y, nH, h), single, 0);
    }
  });
});

describe('elementwise and small ops', () => {
  it('siluMul = g/(1+e^-g) · u', () => {
    const s1 = 1 / (1 + Math.exp(-1));
    expectClose(siluMul(f32([0, 1, -1]), f32([2, 3, 4])), [0, s1 * 3, -1 * (1 - s1) * 4]);
  });
  it('add', () => {
    expectClose(add(f32([1, 2]), f32([0.5, -2])), [1.5, 0]);
  });
  it('softmax of logs of 1,2,3 is 1/6, 2/6, 3/6, row by row, and is stable for large inputs', () => {
    expectClose(softmax(f32([0, Math.log(2), Math.log(3)])), [1 / 6, 2 / 6, 3 / 6]);
    expectClose(softmax(f32([1000, 1000, 0, Math.log(3)]), 2, 2), [0.5, 0.5, 0.25, 0.75]);
  });
  it('argmax picks the lowest index on ties and honours a sub-range', () => {
    expect(argmax(f32([1, 3, 2, 3]))).toBe(1);
    expect(argmax(f32([-5, -1, -1]))).toBe(1);
    expect(argmax(f32([9, 1, 4, 4]), 1, 3)).toBe(1);
  });
  it('embedding gathers rows and rejects out-of-range ids', () => {
    const table = f32([0, 0, 1, 1, 2, 2]);
    expectClose(embedding(table, [2, 0, 2], 2), [2, 2, 0, 0, 2, 2]);
    expect(() => embedding(table, [3], 2)).toThrow(/outside the vocabulary/);
  });
});
