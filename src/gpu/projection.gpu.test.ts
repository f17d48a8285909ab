/**
 * Fused projections (gpu/projection.ts, kernels.ts `split` / `glu`) against the plain-TS reference of the separate
 * projections: q/k/v rows concatenated at load and written by one dispatch into q and the KV cache rows (decode with
 * the fused RMSNorm, bias and RoPE of q and k only; prefill over several tokens), and [gate; up] rows with the
 * SwiGLU / GEGLU product in the epilogue. Every launch layout, float, legacy and K-quant formats (split-scale and
 * in-place layouts). Tolerance as kernels.gpu.test.ts: 2e-5 relative to the largest reference value.
 */
import { describe, test, expect, beforeAll } from 'vitest';
import { GgmlType } from '../model/types.ts';
import { dequantize, quantize } from '../formats/quant.ts';
import { WeightStore } from './weights.ts';
import { fuseRows } from './projection.ts';
import { defaultTuning, type Kernels, type Tuning } from './kernels.ts';
import type { GpuCaps } from './device.ts';
import { ropeInvFreq } from '../model/rope.ts';
import * as ref from '../../test/reference/ops.ts';
import { testGpu, testKernels, gpuBuffer, readF32, runStep, randn, relErr } from '../../test/gpu-harness.ts';

const TOL = 2e-5;
const LAYOUTS: [string, (caps: GpuCaps) => Tuning][] = [
  ['GPU layout', () => defaultTuning({ cpu: false })],
  ['CPU layout', () => defaultTuning({ cpu: true })],
  ['subgroup layout', (caps) => defaultTuning({ cpu: false, subgroupSize: caps.subgroupSize })],
];
/** A float, the split-scale legacy formats, an in-place K-quant and a split-scale K-quant. */
const TYPES: [string, GgmlType, number][] = [
  ['f32', GgmlType.F32, 64], ['f16', GgmlType.F16, 96], ['q8_0', GgmlType.Q8_0, 64], ['q4_0', GgmlType.Q4_0, 96],
  ['q4_k', GgmlType.Q4_K, 256], ['q6_k', GgmlType.Q6_K, 256],
];

let k: Kernels;
let device: GPUDevice;

/** A store holding random matrices (name → [rows, type]) and their dequantized values. */
function storeWith(K: number, mats: [string, number, GgmlType][], seed: number) {
  const store = new WeightStore(device, 1 << 30, () => new Float32Array(0));
  const values = new Map<string, Float32Array>();
  mats.forEach(([name, rows, type], i) => {
    const bytes = quantize(type, randn(rows * K, seed + i, 0.5));
    store.add({ name, type, shape: [rows, K], bytes });
    values.set(name, dequantize(type, bytes, rows * K));
  });
  return { store, values };
}

for (const [layout, tuning] of LAYOUTS) {
  describe(layout, () => {
    beforeAll(async () => {
      const gpu = await testGpu();
      device = gpu.device;
      k = await testKernels(tuning(gpu.caps));
    });

    for (const [fname, type, K] of TYPES) {
      // Subgroups change only the matvec reduction: one format there is enough. The GPU layout (workgroup barriers,
      // slow on a CPU adapter) gets a float, a legacy and both K-quant layouts.
      if (layout === 'subgroup layout' && fname !== 'q4_k') continue;
      if (layout === 'GPU layout' && (fname === 'f16' || fname === 'q4_0')) continue;
      test(`${fname}: q/k/v in one projection — decode (norm, bias, RoPE of q and k) and prefill`, async () => {
        const heads = 4, kvHeads = 2, hd = 16, qR = heads * hd, kvR = kvHeads * hd, ctx = 12, eps = 1e-5, theta = 10000;
        const { store, values } = storeWith(K, [['q', qR, type], ['k', kvR, type], ['v', kvR, type]], 31);
        const qkv = fuseRows(store, ['q', 'k', 'v']);
        expect(qkv.map((p) => p.parts.map((x) => [x.name, x.row0, x.rows]))).toEqual([[['q', 0, qR], ['k', qR, kvR], ['v', qR + kvR, kvR]]]);
        expect(store.matrices.has('q')).toBe(false);
        const bias = randn(qR + 2 * kvR, 32);
        const nw = randn(K, 33);
        const invFreq = gpuBuffer(device, ropeInvFreq(hd, theta));
        for (const [M, pos0] of [[1, 7], [5, 2]]) {
          const x = randn(M * K, 34 + M, 2);
          const qb = gpuBuffer(device, M * qR * 4);
          const kc = randn(ctx * kvR, 35), vc = randn(ctx * kvR, 36);
          const kb = gpuBuffer(device, kc), vb = gpuBuffer(device, vc);
          const o = {
            label: 'qkv', w: qkv[0].w, x: gpuBuffer(device, x), y: qb, bias: gpuBuffer(device, bias),
            split: [{ at: qR, y: kb, outAtPos: true }, { at: qR + kvR, y: vb, outAtPos: true }],
          };
          const d = M === 1
            ? await k.matvec({ ...o, norm: { weight: gpuBuffer(device, nw), eps }, rope: { headDim: hd, neox: true, invFreq }, ropeRows: qR + kvR })
            : await k.matmul(o);
          await runStep(k, [d], M, pos0);
          const xin = M === 1 ? ref.rmsnorm(x, nw, 1, K, eps) : x;
          const positions = Array.from({ length: M }, (_, t) => pos0 + t);
          const part = (name: string, rows: number, b0: number, nh: number) => {
            const y = ref.matmul(values.get(name)!, xin, M, rows, K, bias.slice(b0, b0 + rows));
            return M === 1 && name !== 'v' ? ref.rope(y, positions, nh, hd, theta, 'neox') : y;
          };
          expect(relErr(await readF32(device, qb, M * qR), part('q', qR, 0, heads))).toBeLessThan(TOL);
          const ek = kc.slice(), ev = vc.slice();
          ek.set(part('k', kvR, qR, kvHeads), pos0 * kvR);
          ev.set(part('v', kvR, qR + kvR, kvHeads), pos0 * kvR);
          expect(relErr(await readF32(device, kb, ctx * kvR), ek)).toBeLessThan(TOL);
          expect(relErr(await readF32(device, vb, ctx * kvR), ev)).toBeLessThan(TOL);
        }
      });

      test(`${fname}: [gate; up] in one projection with the SwiGLU / GEGLU epilogue, decode and prefill`, async () => {
        // 70 pairs: not a whole number of 4-row blocks' pairs, of 32-pair tiles, or of ROWS4 workgroups.
        const F = 70;
        const { store, values } = storeWith(K, [['gate', F, type], ['up', F, type]], 41);
        const gu = fuseRows(store, ['gate', 'up']);
        expect(gu).toHaveLength(1);
        for (const [M, act] of [[1, 'silu'], [3, 'gelu']] as const) {
          const x = randn(M * K, 42 + M);
          const yb = gpuBuffer(device, M * F * 4);
          const o = { label: 'gate_up', w: gu[0].w, x: gpuBuffer(device, x), y: yb, glu: act };
          await runStep(k, [M === 1 ? await k.matvec(o) : await k.matmul(o)], M);
          const g = ref.matmul(values.get('gate')!, x, M, F, K);
          const u = ref.matmul(values.get('up')!, x, M, F, K);
          const expected = act === 'silu' ? ref.siluMul(g, u) : ref.geluMul(g, u);
          expect(relErr(await readF32(device, yb, M * F), expected)).toBeLessThan(TOL);
        }
      });
    }
  });
}

describe('fuseRows grouping', () => {
  beforeAll(async () => {
    device = (await testGpu()).device;
  });
  test('neighbours of one format share a weight; another format, or a part ending on a half word, starts a new one', async () => {
    // Q4_K_M-like: q, k in Q4_K, v in Q6_K.
    const a = storeWith(256, [['q', 64, GgmlType.Q4_K], ['k', 32, GgmlType.Q4_K], ['v', 32, GgmlType.Q6_K]], 51).store;
    expect(fuseRows(a, ['q', 'k', 'v']).map((p) => p.parts.map((x) => x.name))).toEqual([['q', 'k'], ['v']]);
    // Q6_K keeps one f16 per block apart: 37 one-block rows end on a half word, so the next part cannot follow.
    const b = storeWith(256, [['g', 37, GgmlType.Q6_K], ['u', 37, GgmlType.Q6_K]], 52).store;
    expect(fuseRows(b, ['g', 'u'])).toHaveLength(2);
    // Memoized: a second graph build on the same store gets the same weights.
    expect(fuseRows(a, ['q', 'k', 'v'])).toBe(fuseRows(a, ['q', 'k', 'v']));
  });
});
