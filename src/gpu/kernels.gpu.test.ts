/**
 * Every WGSL kernel against the plain-TS f32 reference (test/reference/ops.ts) on random inputs, for each weight
 * format and variant. Tolerance: max |gpu - ref| / max(1, max |ref|) (see relErr), 2e-5 unless stated: f32
 * rounding of sums of a few thousand terms in a different order stays well below it.
 */
import { describe, test, expect, beforeAll } from 'vitest';
import { GgmlType } from '../model/types.ts';
import { dequantize, quantize } from '../formats/quant.ts';
import { WEIGHT_FORMATS } from '../formats/weight-formats.ts';
import { ggmlBlockSize } from '../formats/ggml-types.ts';
import { uploadWeight, type GpuWeight } from './weights.ts';
import { defaultTuning, type Dispatch, type Kernels, type Tuning } from './kernels.ts';
import type { LinearOptions } from './linear-out.ts';
import type { GpuCaps } from './device.ts';
import { ropeInvFreq } from '../model/rope.ts';
import * as ref from '../../test/reference/ops.ts';
import { testGpu, testKernels, gpuBuffer, readF32, readU32, runStep, randn, relErr } from '../../test/gpu-harness.ts';

const TOL = 2e-5;
let k: Kernels;
let device: GPUDevice;
beforeAll(async () => {
  k = await testKernels();
  device = k.device;
});

/** Every format of the table (src/formats/weight-formats.ts), by id. */
const FORMATS: [string, GgmlType][] = WEIGHT_FORMATS.map((f) => [f.id, f.type]);
/** Row length K rounded up to whole blocks of `type` (K-quants need multiples of 256). */
const kFor = (K: number, type: GgmlType): number => Math.ceil(K / ggmlBlockSize(type)) * ggmlBlockSize(type);
/** Shapes [M, N, K] of the linear tests: all for the formats the tests always had; fewer for the newer ones. */
const LINEAR_SHAPES = [[1, 100, 256], [1, 37, 64], [5, 70, 128], [37, 130, 96], [70, 64, 64], [1, 300, 1024], [129, 33, 160]];
/**
 * Rows of several super-blocks for the newer formats: matvec's GPU layout takes runs of 1 (K = 256), 4 (K = 2048,
 * 16 lanes a row) or 8 chunks (2048 with a subgroup of 4 lanes) per scale read, the tiled matmul reloads a row's
 * scale words at each super-block (K = 768).
 */
const LONG_SHAPES = [[1, 8, 2048], [9, 20, 768]];
const shapesFor = (type: GgmlType, layout: string) =>
  ([GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0].includes(type)
    ? LINEAR_SHAPES
    : [LINEAR_SHAPES[0], LINEAR_SHAPES[3], LINEAR_SHAPES[6], ...LONG_SHAPES].map(([M, N, K]) => [M, N, kFor(K, type)]))
    // The subgroup layout differs from the GPU layout only in matvec (M = 1): its matmul is the GPU layout's pipeline.
    .filter(([M]) => M === 1 || layout !== 'subgroup layout');

/**
 * Every kernel runs in both launch layouts (defaultTuning): GPUs' workgroup reductions (16 threads per matvec row,
 * attention one workgroup per head, argmax over 256 threads) and CPU adapters' barrier-free ones.
 */
const LAYOUTS: [string, (caps: GpuCaps) => Tuning][] = [
  ['GPU layout', () => defaultTuning({ cpu: false })],
  ['CPU layout', () => defaultTuning({ cpu: true })],
  // A subgroup per matvec row (subgroupAdd; the tree reduction where the adapter's subgroup size is not fixed), and
  // argmax / rmsnorm reduced with subgroup operations (any size) where the adapter has `subgroups`.
  ['subgroup layout', (caps) => defaultTuning({ cpu: false, subgroupSize: caps.subgroupSize, subgroups: caps.subgroups })],
];
/**
 * rope() and embedding() take nothing from Tuning: the same pipeline in every layout, so their tests run in the first
 * layout only (the per-head RMSNorm + RoPE test stays in all: rmsnorm has a SUBGROUPS variant).
 */
const layoutFree = (layout: string) => layout === LAYOUTS[0][0];

/** The decode kernel (matvec) for one token, the tiled prefill kernel (matmul) for more. */
function linear(o: LinearOptions, M: number): Promise<Dispatch> {
  return M === 1 ? k.matvec(o) : k.matmul(o);
}

/** A random weight in `type`, and its exact dequantized values (what the kernel must compute with). */
function makeWeight(name: string, type: GgmlType, rows: number, cols: number, seed: number): { w: GpuWeight; ref: Float32Array } {
  const f = randn(rows * cols, seed, 0.5);
  const bytes = quantize(type, f);
  return { w: uploadWeight(device, name, type, [rows, cols], bytes), ref: dequantize(type, bytes, rows * cols) };
}

for (const [layout, tuning] of LAYOUTS) {
  describe(layout, () => {
    beforeAll(async () => {
      k = await testKernels(tuning((await testGpu()).caps));
    });

    describe('linear (matvec + matmul) for every weight format', () => {
      for (const [fname, type] of FORMATS) {
        for (const [M, N, K] of shapesFor(type, layout)) {
          test(`${fname} M=${M} N=${N} K=${K}`, async () => {
            const { w, ref: W } = makeWeight('w', type, N, K, N * 7 + K);
            const x = randn(M * K, M + 3);
            const xb = gpuBuffer(device, x);
            const yb = gpuBuffer(device, M * N * 4);
            await runStep(k, [await linear({ label: 'lin', w, x: xb, y: yb }, M)], M);
            expect(relErr(await readF32(device, yb, M * N), ref.matmul(W, x, M, N, K))).toBeLessThan(TOL);
          });
        }
      }
      test('f32 K not a multiple of the tile (K=172, stories260K ffn) in both kernels', async () => {
        for (const M of [1, 9]) {
          const { w, ref: W } = makeWeight('w', GgmlType.F32, 64, 172, 5);
          const x = randn(M * 172, 6);
          const xb = gpuBuffer(device, x);
          const yb = gpuBuffer(device, M * 64 * 4);
          await runStep(k, [await linear({ label: 'lin', w, x: xb, y: yb }, M)], M);
          expect(relErr(await readF32(device, yb, M * 64), ref.matmul(W, x, M, 64, 172))).toBeLessThan(TOL);
        }
      });
      test('bias, accumulate (fused residual) and out-at-position (KV cache write), both kernels', async () => {
        for (const M of [1, 6]) {
          const N = 48, K = 64, pos0 = 3, ctx = 16;
          const { w, ref: W } = makeWeight('w', GgmlType.Q8_0, N, K, 11);
          const x = randn(M * K, 12);
          const bias = randn(N, 13);
          const base = randn(ctx * N, 14);
          const xb = gpuBuffer(device, x);
          const yb = gpuBuffer(device, base);
          const d = await linear({ label: 'lin', w, x: xb, y: yb, bias: gpuBuffer(device, bias), accumulate: true, outAtPos: true }, M);
          await runStep(k, [d], M, pos0);
          const expected = base.slice();
          const prod = ref.matmul(W, x, M, N, K, bias);
          for (let i = 0; i < M * N; i++) expected[pos0 * N + i] += prod[i];
          expect(relErr(await readF32(device, yb, ctx * N), expected)).toBeLessThan(TOL);
        }
      });
      test('SwiGLU gate (y = silu(y) · result, the up projection after the gate), both kernels', async () => {
        for (const M of [1, 7]) {
          const N = 72, K = 96;
          const { w, ref: W } = makeWeight('w', GgmlType.Q4_0, N, K, 15);
          const x = randn(M * K, 16);
          const g = randn(M * N, 17, 4);
          const yb = gpuBuffer(device, g);
          await runStep(k, [await linear({ label: 'up', w, x: gpuBuffer(device, x), y: yb, gateMul: true }, M)], M);
          expect(relErr(await readF32(device, yb, M * N), ref.siluMul(g, ref.matmul(W, x, M, N, K)))).toBeLessThan(TOL);
        }
      });
    });

    describe('matvec with the fused RMSNorm and RoPE (decode)', () => {
      for (const [fname, type] of FORMATS) {
        test(`${fname}: rmsnorm of the step's last row, then the projection`, async () => {
          const N = 100, K = kFor(192, type), T = 3, eps = 1e-5;
          const { w, ref: W } = makeWeight('w', type, N, K, 91);
          const x = randn(T * K, 92, 3);
          const nw = randn(K, 93);
          const yb = gpuBuffer(device, N * 4);
          const d = await k.matvec({ label: 'out', w, x: gpuBuffer(device, x), y: yb, norm: { weight: gpuBuffer(device, nw), eps } });
          await runStep(k, [d], T);
          const xn = ref.rmsnorm(x.slice((T - 1) * K), nw, 1, K, eps);
          expect(relErr(await readF32(device, yb, N), ref.matmul(W, xn, 1, N, K))).toBeLessThan(TOL);
        });
      }
      for (const style of ['normal', 'neox'] as const) {
        test(`${style}: norm + bias + rope into q, and into the KV cache row at pos0`, async () => {
          const heads = 3, hd = 32, N = heads * hd, K = 64, pos0 = 203, ctx = 210, eps = 1e-6, theta = 10000;
          const ff = new Float32Array(hd / 2).map((_, i) => 1 + (i % 3));
          const invFreq = gpuBuffer(device, ropeInvFreq(hd, theta, ff));
          const { w, ref: W } = makeWeight('w', GgmlType.Q8_0, N, K, 94);
          const x = randn(K, 95, 2);
          const nw = randn(K, 96);
          const bias = randn(N, 97);
          const xb = gpuBuffer(device, x);
          const rope = { headDim: hd, neox: style === 'neox', invFreq };
          const norm = { weight: gpuBuffer(device, nw), eps };
          const qb = gpuBuffer(device, N * 4);
          const cache = randn(ctx * N, 98);
          const cb = gpuBuffer(device, cache);
          const dq = await k.matvec({ label: 'q', w, x: xb, y: qb, bias: gpuBuffer(device, bias), norm, rope });
          const dk = await k.matvec({ label: 'k', w, x: xb, y: cb, bias: gpuBuffer(device, bias), norm, rope, outAtPos: true });
          await runStep(k, [dq, dk], 1, pos0);
          const proj = ref.matmul(W, ref.rmsnorm(x, nw, 1, K, eps), 1, N, K, bias);
          const expected = ref.rope(proj, [pos0], heads, hd, theta, style, ff);
          expect(relErr(await readF32(device, qb, N), expected)).toBeLessThan(TOL);
          const expectedCache = cache.slice();
          expectedCache.set(expected, pos0 * N);
          expect(relErr(await readF32(device, cb, ctx * N), expectedCache)).toBeLessThan(TOL);
        });
      }
    });


    describe('rmsnorm', () => {
      test('rows to a separate output, and in place, several sizes', async () => {
        for (const [rows, dim] of [[1, 64], [7, 576], [3, 2048], [2, 100]]) {
          const x = randn(rows * dim, dim, 3);
          const wt = randn(dim, dim + 1);
          const xb = gpuBuffer(device, x);
          const out = gpuBuffer(device, x.byteLength);
          const d1 = await k.rmsnorm({ label: 'n', x: xb, out, weight: gpuBuffer(device, wt), dim, eps: 1e-5 });
          const xb2 = gpuBuffer(device, x);
          const d2 = await k.rmsnorm({ label: 'n', x: xb2, weight: gpuBuffer(device, wt), dim, eps: 1e-5 });
          await runStep(k, [d1, d2], rows);
          const expected = ref.rmsnorm(x, wt, rows, dim, 1e-5);
          expect(relErr(await readF32(device, out, rows * dim), expected)).toBeLessThan(TOL);
          expect(relErr(await readF32(device, xb2, rows * dim), expected)).toBeLessThan(TOL);
        }
      });
      test('per-head rows inside the cache at pos0', async () => {
        const hd = 16, heads = 4, ctx = 10, pos0 = 4, n = 3;
        const cache = randn(ctx * heads * hd, 33);
        const hw = randn(hd, 34);
        const cb = gpuBuffer(device, cache);
        const d = await k.rmsnorm({ label: 'kn', x: cb, weight: gpuBuffer(device, hw), dim: hd, eps: 1e-6, rowsPerToken: heads, rowsAtPos: true });
        await runStep(k, [d], n, pos0);
        const expected = cache.slice();
        const lo = pos0 * heads * hd, hi = (pos0 + n) * heads * hd;
        expected.set(ref.rmsnorm(cache.slice(lo, hi), hw, n * heads, hd, 1e-6), lo);
        expect(relErr(await readF32(device, cb, cache.length), expected)).toBeLessThan(TOL);
      });
    });

    describe('rope', () => {
      for (const style of ['normal', 'neox'] as const) {
        if (layoutFree(layout)) test(`${style}: positions pos0.., freq factors, in place and inside the cache`, async () => {
          const heads = 3, hd = 32, n = 5, pos0 = 250;
          const ff = new Float32Array(hd / 2).map((_, i) => 1 + (i % 3));
          const x = randn(n * heads * hd, 41);
          const xb = gpuBuffer(device, x);
          const positions = Array.from({ length: n }, (_, t) => pos0 + t);
          const d = await k.rope({ label: 'r', x: xb, nHeads: heads, headDim: hd, neox: style === 'neox', invFreq: gpuBuffer(device, ropeInvFreq(hd, 10000, ff)) });
          const ctx = 300;
          const cache = randn(ctx * heads * hd, 42);
          const cb = gpuBuffer(device, cache);
          const dc = await k.rope({ label: 'rc', x: cb, nHeads: heads, headDim: hd, neox: style === 'neox', atPos: true, invFreq: gpuBuffer(device, ropeInvFreq(hd, 500000, ff)) });
          await runStep(k, [d, dc], n, pos0);
          expect(relErr(await readF32(device, xb, x.length), ref.rope(x, positions, heads, hd, 10000, style, ff))).toBeLessThan(TOL);
          const expected = cache.slice();
          const lo = pos0 * heads * hd, hi = (pos0 + n) * heads * hd;
          expected.set(ref.rope(cache.slice(lo, hi), positions, heads, hd, 500000, style, ff), lo);
          expect(relErr(await readF32(device, cb, cache.length), expected)).toBeLessThan(TOL);
        });
        test(`${style}: per-head RMSNorm then RoPE in one dispatch (rmsnorm ROPE), q rows and K cache rows at pos0`, async () => {
          const heads = 3, hd = 32, n = 4, pos0 = 20, eps = 1e-6;
          const x = randn(n * heads * hd, 44);
          const wn = randn(hd, 45).map((v) => 1 + 0.1 * v);
          const inv = gpuBuffer(device, ropeInvFreq(hd, 10000));
          const xb = gpuBuffer(device, x);
          const ctx = 30;
          const cache = randn(ctx * heads * hd, 46);
          const cb = gpuBuffer(device, cache);
          const rope = { neox: style === 'neox', invFreq: inv, rotDim: hd };
          const d = await k.rmsnorm({ label: 'nr', x: xb, weight: gpuBuffer(device, wn), dim: hd, eps, rowsPerToken: heads, rope });
          const dc = await k.rmsnorm({ label: 'nrc', x: cb, weight: gpuBuffer(device, wn), dim: hd, eps, rowsPerToken: heads, rowsAtPos: true, rope });
          await runStep(k, [d, dc], n, pos0);
          const positions = Array.from({ length: n }, (_, t) => pos0 + t);
          const want = (v: Float32Array) => ref.rope(ref.rmsnorm(v, wn, n * heads, hd, eps), positions, heads, hd, 10000, style);
          expect(relErr(await readF32(device, xb, x.length), want(x))).toBeLessThan(TOL);
          const expected = cache.slice();
          const lo = pos0 * heads * hd, hi = (pos0 + n) * heads * hd;
          expected.set(want(cache.slice(lo, hi)), lo);
          expect(relErr(await readF32(device, cb, cache.length), expected)).toBeLessThan(TOL);
        });
        if (layoutFree(layout)) test(`${style}: partial rotary (24 of 32 dimensions) scaled by LongRoPE's attention factor`, async () => {
          const heads = 3, hd = 32, rot = 24, n = 4, pos0 = 40, m = 1.19;
          const ff = new Float32Array(rot / 2).map((_, i) => 1 + i);
          const x = randn(n * heads * hd, 43);
          const xb = gpuBuffer(device, x);
          const positions = Array.from({ length: n }, (_, t) => pos0 + t);
          const d = await k.rope({
            label: 'rp', x: xb, nHeads: heads, headDim: hd, rotDim: rot, mscale: m, neox: style === 'neox', invFreq: gpuBuffer(device, ropeInvFreq(rot, 10000, ff)),
          });
          await runStep(k, [d], n, pos0);
          const want = ref.rope(x, positions, heads, hd, 10000, style, ff, { rotDim: rot, scale: m });
          const got = await readF32(device, xb, x.length);
          expect(relErr(got, want)).toBeLessThan(TOL);
          // The last 8 dimensions of each head are left as they were.
          for (let r = 0; r < n * heads; r++) expect(got.subarray(r * hd + rot, (r + 1) * hd)).toEqual(x.subarray(r * hd + rot, (r + 1) * hd));
        });
      }
    });

    describe('attention', () => {
      for (const [nHeads, nKv, hd, nQ, pos0] of [[4, 2, 16, 1, 0], [8, 4, 32, 1, 77], [6, 2, 64, 13, 5], [2, 2, 128, 70, 0], [9, 3, 64, 3, 130]]) {
        test(`heads ${nHeads}/${nKv} hd ${hd}, ${nQ} queries from position ${pos0}`, async () => {
          const kvLen = pos0 + nQ;
          const ctx = kvLen + 7;
          const q = randn(nQ * nHeads * hd, 51, 2);
          const kc = randn(ctx * nKv * hd, 52, 2);
          const vc = randn(ctx * nKv * hd, 53);
          const out = gpuBuffer(device, q.byteLength);
          const d = await k.attention({ label: 'a', q: gpuBuffer(device, q), out, kCache: gpuBuffer(device, kc), vCache: gpuBuffer(device, vc), nHeads, nKvHeads: nKv, headDim: hd });
          await runStep(k, [d], nQ, pos0);
          const expected = ref.attention(q, kc.slice(0, kvLen * nKv * hd), vc.slice(0, kvLen * nKv * hd), nHeads, nKv, hd, nQ, kvLen, pos0);
          expect(relErr(await readF32(device, out, q.length), expected)).toBeLessThan(TOL);
        });
      }
    });

    describe('embedding, argmax', () => {
      if (layoutFree(layout)) for (const [fname, type] of FORMATS) {
        test(`embedding ${fname}`, async () => {
          const vocab = 50, dim = kFor(64, type);
          const { w, ref: E } = makeWeight('emb', type, vocab, dim, 71);
          const ids = [3, 49, 0, 3, 17];
          const out = gpuBuffer(device, ids.length * dim * 4);
          const d = await k.embedding({ label: 'e', table: w, ids: gpuBuffer(device, new Uint32Array(ids)), out });
          await runStep(k, [d], ids.length);
          expect(relErr(await readF32(device, out, ids.length * dim), ref.embedding(E, ids, dim))).toBe(0);
        });
      }
      test('argmax: random, ties take the lowest index, large vocab', async () => {
        for (const [n, seed] of [[512, 81], [128256, 82], [3, 83]]) {
          const logits = randn(n, seed, 10);
          const res = gpuBuffer(device, 4);
          await runStep(k, [await k.argmax({ label: 'am', logits: gpuBuffer(device, logits), result: res, n })], 1);
          expect((await readU32(device, res, 1))[0]).toBe(ref.argmax(logits));
        }
        const tied = new Float32Array(1000).fill(-1);
        tied[700] = 5; tied[300] = 5; tied[999] = 5;
        const res = gpuBuffer(device, 4);
        await runStep(k, [await k.argmax({ label: 'am', logits: gpuBuffer(device, tied), result: res, n: 1000 })], 1);
        expect((await readU32(device, res, 1))[0]).toBe(300);
        // Every logit negative (the subgroup variant compares order-preserving u32 keys), the largest one late.
        const neg = Float32Array.from(randn(777, 84, 10), (v) => -Math.abs(v) - 1);
        neg[701] = -0.5;
        await runStep(k, [await k.argmax({ label: 'am', logits: gpuBuffer(device, neg), result: res, n: 777 })], 1);
        expect((await readU32(device, res, 1))[0]).toBe(701);
      });
      test('argmax per token: one id per row of [n_tokens, vocab]', async () => {
        const rows = 7, n = 1000;
        const logits = randn(rows * n, 84, 10);
        const res = gpuBuffer(device, rows * 4);
        await runStep(k, [await k.argmax({ label: 'am', logits: gpuBuffer(device, logits), result: res, n, perToken: true })], rows);
        const expected = Array.from({ length: rows }, (_, r) => ref.argmax(logits.subarray(r * n, (r + 1) * n)));
        expect([...await readU32(device, res, rows)]).toEqual(expected);
      });
    });
  });
}
