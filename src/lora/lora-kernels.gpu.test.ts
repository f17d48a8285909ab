/**
 * The LoRA projection (lora-kernels.ts view → u = A·x, then the projection's LORA epilogue) against plain TS on
 * random inputs: y = W·x + s·B·(A·x), in the decode kernel (matvec, with the fused input RMSNorm) and the prefill
 * kernel (matmul), for F32 and block-format bases, in both launch layouts, through the gate-product epilogue too
 * (the low-rank term must enter before the epilogue). Stacked pairs (two adapters, one of them on a row range as a
 * pair on v inside a fused q/k/v weight) add up.
 * Tolerance as the kernel tests: relErr 2e-5.
 */
import { describe, expect, test } from 'vitest';
import { GgmlType } from '../model/types.ts';
import { dequantize, quantize } from '../formats/quant.ts';
import { uploadWeight } from '../gpu/weights.ts';
import { defaultTuning } from '../gpu/kernels.ts';
import * as ref from '../../test/reference/ops.ts';
import { testKernels, gpuBuffer, readF32, runStep, randn, relErr } from '../../test/gpu-harness.ts';
import { loraKernels } from './lora-kernels.ts';
import { stackPairs, uploadPair, writeScales } from './lora-buffers.ts';

const TOL = 2e-5;
const U_ROWS = 8;

/** y[m] = W·x[m] + Σ_pairs s·B·(A·x[m]) on the CPU (f64 sums); a pair adapts rows row0 .. row0 + its rows. */
function expected(
  w: Float32Array, x: Float32Array, M: number, N: number, K: number,
  lora: { a: Float32Array; b: Float32Array; r: number; s: number; row0: number; rows: number }[],
): Float32Array {
  const y = ref.matmul(w, x, M, N, K);
  for (const { a, b, r, s, row0, rows } of lora) {
    for (let m = 0; m < M; m++) {
      const u = Array.from({ length: r }, (_, j) => { let d = 0; for (let c = 0; c < K; c++) d += a[j * K + c] * x[m * K + c]; return d; });
      for (let n = 0; n < rows; n++) { let d = 0; for (let j = 0; j < r; j++) d += b[n * r + j] * u[j]; y[m * N + row0 + n] += s * d; }
    }
  }
  return y;
}

describe('LoRA projection = W·x + s·B·A·x', () => {
  // The GPU layout's tiled matmul costs SwiftShader ~12 s to compile per format: F32 only there (the epilogue is the
  // same code for every format); the CPU layout (what SwiftShader runs) for a float, a legacy and a K-quant base.
  for (const [layout, cpu] of [['GPU layout', false], ['CPU layout', true]] as const) {
    for (const [type, id] of [[GgmlType.F32, 'f32'], [GgmlType.Q8_0, 'q8_0'], [GgmlType.Q4_K, 'q4_k']] as const) {
      if (!cpu && type !== GgmlType.F32) continue;
      for (const M of [1, 5]) {
        test(`${layout} ${id} M=${M}`, async () => {
          const k = await testKernels(defaultTuning({ cpu }));
          const device = k.device;
          // Pair 1 adapts all 70 rows, pair 2 only rows 40..69 (as a pair on v inside a fused q/k/v weight).
          const N = 70, K = 256, r1 = 3, r2 = 5, N2 = 30, R2 = 40;
          const bytes = quantize(type, randn(N * K, 1, 0.5));
          const w = uploadWeight(device, 'blk.0.attn_q.weight', type, [N, K], bytes);
          const wRef = dequantize(type, bytes, N * K);
          const x = randn(M * K, 2);
          const pa = { a: randn(r1 * K, 3, 0.2), b: randn(N * r1, 4, 0.2), rank: r1, rows: N, cols: K, scale: 1 };
          const pb = { a: randn(r2 * K, 5, 0.2), b: randn(N2 * r2, 6, 0.2), rank: r2, rows: N2, cols: K, scale: 1 };
          const g1 = uploadPair(device, w.name, pa, U_ROWS);
          const g2 = uploadPair(device, w.name, pb, U_ROWS);
          const both = stackPairs(device, w, [{ pair: g1, row0: 0 }, { pair: g2, row0: R2 }], U_ROWS);
          writeScales(device, both, [{ rank: r1, scale: 0.7 }, { rank: r2, scale: -1.3 }]);
          const view = loraKernels(k, new Map([[w.name, both]]));
          const xb = gpuBuffer(device, x);
          const y = gpuBuffer(device, M * N * 4);
          const d = M === 1 ? await view.kernels.matvec({ label: 'q', w, x: xb, y }) : await view.kernels.matmul({ label: 'q', w, x: xb, y });
          expect(view.used.has(w.name)).toBe(true);
          await runStep(k, [d], M);
          const want = expected(wRef, x, M, N, K, [{ a: pa.a, b: pa.b, r: r1, s: 0.7, row0: 0, rows: N }, { a: pb.a, b: pb.b, r: r2, s: -1.3, row0: R2, rows: N2 }]);
          const plain = ref.matmul(wRef, x, M, N, K);
          expect(relErr(plain, want)).toBeGreaterThan(100 * TOL);
          expect(relErr(await readF32(device, y, M * N), want)).toBeLessThan(TOL);

          // Gate product with the fused input norm (decode) / prefilled gate (prefill): the term enters before it.
          const gate = randn(M * N, 7);
          const yg = gpuBuffer(device, gate);
          const norm = { weight: gpuBuffer(device, randn(K, 8)), eps: 1e-5 };
          const nw = new Float32Array(await readF32(device, norm.weight, K));
          const d2 = M === 1
            ? await view.kernels.matvec({ label: 'up', w, x: xb, y: yg, gateMul: true, norm })
            : await view.kernels.matmul({ label: 'up', w, x: xb, y: yg, gateMul: true });
          await runStep(k, [d2], M);
          const xin = M === 1 ? ref.rmsnorm(x, nw, 1, K, 1e-5) : x;
          const up = expected(wRef, xin, M, N, K, [{ a: pa.a, b: pa.b, r: r1, s: 0.7, row0: 0, rows: N }, { a: pb.a, b: pb.b, r: r2, s: -1.3, row0: R2, rows: N2 }]);
          const want2 = ref.siluMul(gate, up);
          expect(relErr(await readF32(device, yg, M * N), want2)).toBeLessThan(TOL);
        });
      }
    }
  }
});
