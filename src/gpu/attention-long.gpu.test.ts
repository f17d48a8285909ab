/**
 * Long-context attention: split-K decode (attention SPLIT_K + MERGE) and the f16 / q8_0 KV-cache formats (kv_store
 * writes, attention reads), against the plain-TS reference (test/reference/ops.ts attention), in both launch layouts.
 * Tolerance 2e-5 relative to the largest reference value (kernels.gpu.test.ts). For the formats, the reference
 * attends over the values the cache holds (its words decoded here in TS), and the cache's values are checked
 * against an independent TS quantizer (test/reference/kv-round.ts: f16 = round to nearest, q8_0 = ggml's
 * quantize_row_q8_0_ref).
 */
import { describe, test, expect, beforeAll } from 'vitest';
import { attentionSplits, defaultTuning, type KvFormat, type Kernels, type Tuning } from './kernels.ts';
import { F16_TABLE } from '../formats/f16.ts';
import * as ref from '../../test/reference/ops.ts';
import { kvRound } from '../../test/reference/kv-round.ts';
import { testGpu, testKernels, gpuBuffer, readF32, readU32, runStep, randn, relErr } from '../../test/gpu-harness.ts';

const TOL = 2e-5;
const LAYOUTS: [string, Tuning][] = [['GPU layout', defaultTuning({ cpu: false })], ['CPU layout', defaultTuning({ cpu: true })]];
const heads = 4, kvHeads = 2, hd = 32, kvDim = kvHeads * hd;

/** Words per cache row (shaders/kv.wgsl). */
const rowWords = (f: KvFormat) => (f === 'q8_0' ? kvDim / 4 + kvDim / 32 : f === 'f16' ? kvDim / 2 : kvDim);

/** The values a cache of `rows` rows holds, decoded from its words. */
function decodeCache(f: KvFormat, words: Uint32Array, rows: number): Float32Array {
  if (f === 'f32') return new Float32Array(words.buffer, 0, rows * kvDim);
  const out = new Float32Array(rows * kvDim);
  const rw = rowWords(f);
  const f32 = new Float32Array(words.buffer);
  for (let j = 0; j < rows; j++) {
    for (let e = 0; e < kvDim; e++) {
      if (f === 'f16') out[j * kvDim + e] = F16_TABLE[(words[j * rw + (e >> 1)] >>> (16 * (e & 1))) & 0xffff];
      else out[j * kvDim + e] = (((words[j * rw + (e >> 2)] >>> (8 * (e & 3))) << 24) >> 24) * f32[j * rw + kvDim / 4 + (e >> 5)];
    }
  }
  return out;
}

let k: Kernels;
let device: GPUDevice;

for (const [layout, tuning] of LAYOUTS) {
  describe(layout, () => {
    beforeAll(async () => {
      device = (await testGpu()).device;
      k = await testKernels(tuning);
    });

    test('split-K decode = one pass, at 1 to 8 chunks, with a window, soft-capping and GQA', async () => {
      const ctx = 1000;
      const kc = randn(ctx * kvDim, 1), vc = randn(ctx * kvDim, 2);
      const split = { part: gpuBuffer(device, heads * 8 * (hd + 2) * 4), chunk: 128, maxSplits: 8 };
      const kb = gpuBuffer(device, kc), vb = gpuBuffer(device, vc);
      for (const [pos0, o] of [[999, {}], [999, { window: 300, softcap: 5 }], [200, {}], [60, {}]] as const) {
        const q = randn(heads * hd, pos0 + 3);
        const out = gpuBuffer(device, heads * hd * 4);
        const a = { label: 'a', q: gpuBuffer(device, q), out, kCache: kb, vCache: vb, nHeads: heads, nKvHeads: kvHeads, headDim: hd, ...o, split };
        await runStep(k, [await k.attention(a), await k.attentionMerge(a)], 1, pos0);
        const kvLen = pos0 + 1;
        expect(attentionSplits(split, kvLen)).toBe(pos0 === 60 ? 1 : pos0 === 200 ? 2 : 8);
        const expected = ref.attention(q, kc.slice(0, kvLen * kvDim), vc.slice(0, kvLen * kvDim), heads, kvHeads, hd, 1, kvLen, pos0, o);
        expect(relErr(await readF32(device, out, heads * hd), expected)).toBeLessThan(TOL);
      }
    });

    for (const f of ['f16', 'q8_0'] as const) {
      test(`${f} KV cache: kv_store holds the format's values; prefill and split-K decode attend over them`, async () => {
        const ctx = 300, pos0 = 290, M = 5;
        // K rows 0-9 at 2^-12: their q8_0 scales (amax / 127 < 2^-14) are f16 subnormals, and their f16 values too.
        const kNew = randn(ctx * kvDim, 11).map((v, i) => (i < 10 * kvDim ? v * 2 ** -12 : v)), vNew = randn(ctx * kvDim, 12, 3);
        const kc = gpuBuffer(device, ctx * rowWords(f) * 4), vc = gpuBuffer(device, ctx * rowWords(f) * 4);
        const store = await k.kvStore({ label: 's', kNew: gpuBuffer(device, kNew), vNew: gpuBuffer(device, vNew), kCache: kc, vCache: vc, kvDim, format: f });
        await runStep(k, [store], ctx, 0);
        const kv = decodeCache(f, await readU32(device, kc, ctx * rowWords(f)), ctx);
        const vv = decodeCache(f, await readU32(device, vc, ctx * rowWords(f)), ctx);
        // Exactly: every stored value is the independent quantizer's (relErr, not toEqual: -0 and 0 are equal here).
        expect(relErr(kv, kvRound(f, kNew))).toBe(0);
        expect(relErr(vv, kvRound(f, vNew))).toBe(0);
        const split = { part: gpuBuffer(device, heads * 4 * (hd + 2) * 4), chunk: 64, maxSplits: 4 };
        for (const [n, p0] of [[M, pos0], [1, ctx - 1]]) {
          const q = randn(n * heads * hd, n + 20);
          const out = gpuBuffer(device, n * heads * hd * 4);
          const a = { label: 'a', q: gpuBuffer(device, q), out, kCache: kc, vCache: vc, nHeads: heads, nKvHeads: kvHeads, headDim: hd, kvFormat: f };
          const ds = n === 1 ? [await k.attention({ ...a, split }), await k.attentionMerge({ ...a, split })] : [await k.attention(a)];
          await runStep(k, ds, n, p0);
          const kvLen = p0 + n;
          const expected = ref.attention(q, kv.slice(0, kvLen * kvDim), vv.slice(0, kvLen * kvDim), heads, kvHeads, hd, n, kvLen, p0);
          expect(relErr(await readF32(device, out, n * heads * hd), expected)).toBeLessThan(TOL);
        }
      });
    }
  });
}
