/**
 * The encoder's kernels against the reference encoder's ops (test/reference/bert-ref.ts) on random inputs, in both
 * launch layouts: LayerNorm with bias, the GELU projection epilogue, bidirectional attention over packed sequences
 * (SEGMENTS), accumulating embedding rows, pooling. Tolerance as kernels.gpu.test.ts: relErr ≤ 2e-5.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { GgmlType } from '../model/types.ts';
import { uploadWeight } from './weights.ts';
import { defaultTuning, type Kernels } from './kernels.ts';
import * as ref from '../../test/reference/ops.ts';
import { fullAttention, gelu, layerNorm, pool } from '../../test/reference/bert-ref.ts';
import { gpuBuffer, randn, readF32, relErr, runStep, testGpu, testKernels } from '../../test/gpu-harness.ts';

const TOL = 2e-5;

/** Three packed sequences of different lengths: per-token key ranges and the pooling offsets. */
const LENS = [5, 1, 13];
const T = LENS.reduce((a, b) => a + b, 0);
const starts = LENS.map((_, i) => LENS.slice(0, i).reduce((a, b) => a + b, 0));
const tokenSegs = new Uint32Array(LENS.flatMap((n, s) => Array.from({ length: n }, () => [starts[s], starts[s] + n]).flat()));
const seqs = new Uint32Array([LENS.length, ...starts, T]);

// The subgroup layout: attention's reductions with subgroup operations, as on GPUs that have them.
for (const [layout, cpu, subgroups] of [['GPU layout', false, false], ['CPU layout', true, false], ['GPU layout, subgroups', false, true]] as const) {
  describe(layout, () => {
    let k: Kernels;
    let device: GPUDevice;
    beforeAll(async () => {
      k = await testKernels(defaultTuning({ cpu, subgroups: subgroups && (await testGpu()).caps.subgroups }));
      device = k.device;
    });

    test('layernorm (in place, with bias)', async () => {
      const dim = 96;
      const x = randn(T * dim, 1, 3).map((v, i) => v + (i % dim === 0 ? 50 : 0)); // a large mean in one column
      const w = randn(dim, 2, 0.2).map((v) => v + 1);
      const b = randn(dim, 3, 0.1);
      const xb = gpuBuffer(device, x);
      await runStep(k, [await k.layernorm({ label: 'ln', x: xb, weight: gpuBuffer(device, w), bias: gpuBuffer(device, b), dim, eps: 1e-12 })], T);
      expect(relErr(await readF32(device, xb, T * dim), layerNorm(x, w, b, dim, 1e-12))).toBeLessThan(TOL);
    });

    test('matmul + bias with the GELU epilogue', async () => {
      const [M, N, K] = [T, 72, 64];
      const wv = randn(N * K, 4, 0.5);
      const x = randn(M * K, 5, 1);
      const bias = randn(N, 6, 0.5);
      const y = gpuBuffer(device, M * N * 4);
      const w = uploadWeight(device, 'w', GgmlType.F32, [N, K], new Uint8Array(wv.buffer));
      await runStep(k, [await k.matmul({ label: 'up', w, x: gpuBuffer(device, x), y, bias: gpuBuffer(device, bias), gelu: true })], M);
      expect(relErr(await readF32(device, y, M * N), gelu(ref.matmul(wv, x, M, N, K, bias)))).toBeLessThan(TOL);
    });

    for (const hd of [16, 64]) {
      test(`attention over packed sequences (SEGMENTS), head ${hd}`, async () => {
        const nHeads = 4;
        const stride = nHeads * hd;
        const q = randn(T * stride, 7, 1), kk = randn(T * stride, 8, 1), v = randn(T * stride, 9, 1);
        const out = gpuBuffer(device, T * stride * 4);
        const d = await k.attention({
          label: 'att', q: gpuBuffer(device, q), out, kCache: gpuBuffer(device, kk), vCache: gpuBuffer(device, v),
          nHeads, nKvHeads: nHeads, headDim: hd, segments: gpuBuffer(device, tokenSegs),
        });
        await runStep(k, [d], T);
        const got = await readF32(device, out, T * stride);
        const want = new Float32Array(T * stride);
        LENS.forEach((n, s) => {
          const r = (a: Float32Array) => a.subarray(starts[s] * stride, (starts[s] + n) * stride);
          want.set(fullAttention(r(q), r(kk), r(v), n, nHeads, hd), starts[s] * stride);
        });
        expect(relErr(got, want)).toBeLessThan(TOL);
      });
    }

    test('embedding rows accumulated (token + position + type)', async () => {
      const dim = 32;
      const tok = randn(50 * dim, 10, 1), pos = randn(20 * dim, 11, 1), typ = randn(2 * dim, 12, 1);
      const ids = Uint32Array.from({ length: T }, (_, i) => (i * 7) % 50);
      const posIds = Uint32Array.from(LENS.flatMap((n) => Array.from({ length: n }, (_, i) => i)));
      const zeros = new Uint32Array(T);
      const up = (name: string, a: Float32Array, rows: number) => uploadWeight(device, name, GgmlType.F32, [rows, dim], new Uint8Array(a.buffer));
      const out = gpuBuffer(device, T * dim * 4);
      await runStep(k, [
        await k.embedding({ label: 'tok', table: up('t', tok, 50), ids: gpuBuffer(device, ids), out }),
        await k.embedding({ label: 'pos', table: up('p', pos, 20), ids: gpuBuffer(device, posIds), out, accumulate: true }),
        await k.embedding({ label: 'typ', table: up('y', typ, 2), ids: gpuBuffer(device, zeros), out, accumulate: true }),
      ], T);
      const want = new Float32Array(T * dim);
      for (let t = 0; t < T; t++) for (let i = 0; i < dim; i++) want[t * dim + i] = tok[ids[t] * dim + i] + pos[posIds[t] * dim + i] + typ[i];
      expect(relErr(await readF32(device, out, T * dim), want)).toBeLessThan(TOL);
    });

    for (const mode of ['mean', 'cls', 'last'] as const) {
      test(`pool ${mode}`, async () => {
        const dim = 40;
        const x = randn(T * dim, 13, 1);
        const out = gpuBuffer(device, LENS.length * dim * 4);
        await runStep(k, [await k.pool({ label: 'pool', x: gpuBuffer(device, x), out, seqs: gpuBuffer(device, seqs), dim, mode, maxSeqs: () => LENS.length })], T);
        const want = new Float32Array(LENS.length * dim);
        LENS.forEach((n, s) => want.set(pool(x.subarray(starts[s] * dim, (starts[s] + n) * dim), n, dim, mode), s * dim));
        expect(relErr(await readF32(device, out, LENS.length * dim), want)).toBeLessThan(TOL);
      });
    }
  });
}
