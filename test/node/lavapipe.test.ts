/**
 * The f16 paths on a real WebGPU implementation that has `shader-f16`: Dawn (the `webgpu` package) on Mesa's
 * lavapipe (llvmpipe Vulkan, mesa 25: adapter "llvmpipe", shader-f16, subgroups of 8 lanes). SwiftShader (dawn.test.ts,
 * the browser suites) has no shader-f16, so without this suite CI never runs them. lavapipe is a CPU: these are
 * correctness checks, not GPU behaviour. It is a CPU adapter, so the engine's defaults there are the barrier-free
 * layouts with the f16 KV cache; the GPU layouts (tiled matmul, subgroup reductions at lavapipe's 8 lanes) are forced
 * through Tuning below, with both packed KV-cache formats and split-K decode attention.
 */
import { openAsBlob, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { attentionSplits, defaultTuning, type Kernels, type Tuning } from '../../src/gpu/kernels.ts';
import { kernelSource } from '../../src/gpu/shaders.ts';
import { uploadWeight } from '../../src/gpu/weights.ts';
import { dequantize, quantize } from '../../src/formats/quant.ts';
import { GgmlType } from '../../src/model/types.ts';
import { parseGgufHeader } from '../../src/formats/gguf.ts';
import { loadModel, type LoadedModel } from '../../src/loader/load-model.ts';
import { Transformer } from '../../src/runtime/transformer.ts';
import { kvRound } from '../reference/kv-round.ts';
import { gpuBuffer, randn, readF32, relErr, runStep, testGpu, testKernels } from '../gpu-harness.ts';
import {
  SOTU_PROMPT, STORIES, checkStoriesGreedy, installDawn, reference, requireFile, sotuPath, storiesExpected, useVulkanIcd,
} from './node-models.ts';

const LAVAPIPE_ICD = '/usr/share/vulkan/icd.d/lvp_icd.json';
requireFile(LAVAPIPE_ICD, 'install Mesa\'s lavapipe (mesa 25, for shader-f16): `bash .ci/run` does, or ' +
  '`apt-get install -t bookworm-backports mesa-vulkan-drivers` on Debian bookworm.');
useVulkanIcd(LAVAPIPE_ICD, { force: true });
// llvmpipe compiles each pipeline with LLVM at its first dispatch, which is most of this suite's time on a machine
// without Mesa's shader cache (CI): sotu-5m q4_0's pipelines took 160 s at load 16, 65 s without LLVM's optimization
// passes (BENCHMARKS.md round 7b). The kernels then run slower, which these few tokens do not feel.
process.env.GALLIVM_PERF ??= 'nopt';
await installDawn();
const { load } = await import('../../src/node.ts');

/**
 * Logits (relErr) with the f16 matmul in the prefill, against the reference whose KV cache holds f16 values: every
 * projection's inputs are rounded to f16 (2^-11 relative), which moved these logits by 2.5e-4 - 7.6e-4 (stories260K,
 * sotu-5m q4_0 / f16): 5e-3 is ten f16 roundings. An f32 path is ~1e-6 off, a wrong tile or index O(1).
 */
const F16_MATMUL_TOL = 5e-3;
/**
 * Logits (relErr) of a prompt decoded one token at a time (f32 matvec, no f16 matmul) over a packed KV cache, against
 * the reference whose cache holds that format's values. Only the values whose f32 error (~1e-7 relative) crosses one
 * of the format's rounding boundaries differ: measured 5.5e-6 (f16) and 3.1e-7 (q8_0) on sotu-5m. The whole rounding
 * of a format moves these logits by 1.9e-4 (f16: 2^-11 relative per value) and 2.6e-3 (q8_0: up to half a step,
 * its block's scale = amax / 127, per value), so a cache holding another format's values fails (the test checks it),
 * and so did q8_0 scales not rounded to f16 (6e-4, Mesa folding unpack(pack(d)), kv_store.wgsl).
 */
const KV_DECODE_TOL = 5e-5;
/** llvmpipe compiles a pipeline at its first dispatch: a model's first tokens take 15-50 s on a cold shader cache. */
const WHOLE_MODEL_TIMEOUT = 180_000;

describe('lavapipe (Dawn on llvmpipe Vulkan)', () => {
  test('the adapter is llvmpipe with shader-f16 and subgroups', async () => {
    const gpu = await testGpu();
    expect(gpu.caps.adapterInfo, 'VK_ICD_FILENAMES should give Mesa\'s llvmpipe').toMatch(/llvmpipe/);
    expect(gpu.caps.f16, `${gpu.caps.adapterInfo} has no shader-f16: mesa >= 25 is needed (bookworm-backports)`).toBe(true);
    expect(gpu.caps.subgroups).toBe(true);
    console.log(`lavapipe: ${gpu.caps.adapterInfo}, subgroup size ${gpu.caps.subgroupSize}, cpu ${gpu.caps.cpu}`);
  });

  describe('matmul F16 (tiled, x scaled per vec4 into f16, 4-product f16 dots, f32 sums) = the f64 reference within its bound', () => {
    // Each 4-product partial dot: x scaled by 2^-e into [0.5, 1) (exact), x and w rounded to f16 (2u), products and 3
    // sums in f16 (4u), one more rounding of the partial (u): |error| <= 7u * sum_k |x_k w_k| with u = 2^-11 (f16's
    // 11-bit significand). Below f16's normal range (2^-14) the 4 products, 3 sums and 4 weights round to multiples
    // of 2^-24 instead: at most 11 * 2^-25 < 2^-21, times the vec4's 2^e once scaled back.
    const U = 2 ** -11;
    /** 2^e of x_exponent (matmul.wgsl): max |v| in [2^(e-1), 2^e). */
    const scaleOf = (m: number) => (m === 0 ? 1 : 2 ** Math.max(-125, Math.floor(Math.log2(m)) + 1));
    // [format, M tokens, N rows, K, GLU, x row scale]: partial tiles in every dimension (K = 172: stories260K's ffn), a
    // block format with the GLU output of a fused gate/up projection (sotu-5m's, below), and rows of x from 2^-24 to
    // 2^20 (past f16's 65504, where unscaled f16 tiles give inf, and below its normal range, where they lose digits).
    // Few cases: each is a pipeline that llvmpipe compiles for seconds (the loaders before the f16 tiles are the f32
    // kernel's, tested per format in kernels.gpu.test.ts); one Kernels for all, so the f32 cases share theirs.
    const CASES: [string, GgmlType, number, number, number, boolean, (m: number) => number][] = [
      ['f32', GgmlType.F32, 70, 130, 172, false, () => 1],
      ['q4_0 GLU', GgmlType.Q4_0, 37, 96, 128, true, () => 1],
      ['f32, rows of x scaled by 2^-24 .. 2^20', GgmlType.F32, 45, 64, 64, false, (m) => 2 ** (((m * 7) % 45) - 24)],
    ];
    let kernels: Promise<Kernels> | undefined;
    for (const [name, type, M, N, K, glu, rowScale] of CASES) {
      test(`${name}: M=${M} N=${N} K=${K}`, async () => {
        const caps = (await testGpu()).caps;
        expect(kernelSource('matmul', ['F16'])).toMatch(/^enable f16;/);
        const k = await (kernels ??= testKernels({ ...defaultTuning({ ...caps, cpu: false }), matmulF16: true }));
        const bytes = quantize(type, randn(N * K, N + K, 0.5));
        const W = dequantize(type, bytes, N * K);
        const x = randn(M * K, M + 3).map((v, i) => v * rowScale(Math.floor(i / K)));
        const out = glu ? N / 2 : N;
        const yb = gpuBuffer(k.device, M * out * 4);
        const w = uploadWeight(k.device, 'w', type, [N, K], bytes);
        await runStep(k, [await k.matmul({ label: 'mm', w, x: gpuBuffer(k.device, x), y: yb, glu: glu ? 'silu' : undefined })], M);
        const got = await readF32(k.device, yb, M * out);
        // Per row: the exact dot (f64 from the f32 inputs) and its bound.
        const dot = (m: number, n: number) => {
          let d = 0, a = 0, sub = 0;
          for (let i = 0; i < K; i++) { const p = x[m * K + i] * W[n * K + i]; d += p; a += Math.abs(p); }
          for (let g = 0; g < K; g += 4) sub += scaleOf(Math.max(...Array.from(x.subarray(m * K + g, m * K + g + 4), Math.abs)));
          return { d, e: 7 * U * a + 2 ** -21 * sub };
        };
        let worst = 0, largest = 0;
        for (let m = 0; m < M; m++) {
          for (let n = 0; n < out; n++) {
            let want: number, allowed: number;
            if (glu) {
              // silu(g)·u: |d silu / dg| <= 1.1, so the gate's error moves it by at most 1.1·e_g·(|u| + e_u).
              const g = dot(m, n), u = dot(m, n + out);
              const silu = g.d / (1 + Math.exp(-g.d));
              want = silu * u.d;
              allowed = 1.1 * g.e * (Math.abs(u.d) + u.e) + Math.abs(silu) * u.e + 1e-6 * Math.abs(want);
            } else {
              ({ d: want, e: allowed } = dot(m, n));
              allowed += 1e-6 * Math.abs(want);
            }
            const err = Math.abs(got[m * out + n] - want);
            worst = Math.max(worst, err / allowed);
            largest = Math.max(largest, err / rowScale(m));
            if (!(err <= allowed)) expect.fail(`(${m}, ${n}): ${got[m * out + n]} vs ${want}, error ${err} > bound ${allowed}`);
          }
        }
        // The f16 variant ran: an f32 tile would be ~1e-6 off here (per unit of row scale), f16 rounding ~1e-3.
        expect(largest, 'largest error: f16 rounding expected').toBeGreaterThan(1e-5);
        console.log(`matmul F16 ${name}: largest error ${largest.toExponential(2)} (per unit of row scale), ${(100 * worst).toFixed(1)}% of its bound at most`);
      });
    }
  });

  describe('GPU layouts forced (tiled matmul in f16, subgroup reductions at 8 lanes) = the reference', () => {
    /** The GPU launch layout for this adapter's subgroups (a subgroup per matvec row), the f16 matmul on. */
    const gpuTuning = async (): Promise<Tuning> => {
      const caps = (await testGpu()).caps;
      const t = defaultTuning({ ...caps, cpu: false });
      expect(t).toMatchObject({ matmulDirect: false, matmulF16: true, subgroups: true, matvecSubgroups: true, matvecRows: 64 / caps.subgroupSize! });
      return t;
    };
    const open = async (path: string): Promise<LoadedModel> =>
      loadModel(await testGpu(), { llmoSource: [new File([await openAsBlob(path)], path.split('/').pop()!)], cache: false });

    // Decode only: a prefill would compile the tiled matmul's pipelines for f32 weights too (the kernel test above
    // covers them): with a 48-token prefill this test took 173 s on a cold shader cache (load 12), without 67 s (load 8).
    test('stories260K: 200 greedy tokens from BOS = expected-greedy-200 (layer kernel, subgroupAdd)', async () => {
      const model = await open(STORIES);
      // An f32 KV cache: the layer kernel takes only that (with the f16 default it is not used at all).
      const t = await Transformer.create(await testKernels(await gpuTuning()), model.config, model.weights, { contextLength: 256, maxBatch: 64, kvCache: 'f32' });
      try {
        // One decode_layer dispatch per layer (the first with the embedding, the last with the head, where 9 storage
        // buffers may be bound).
        expect(t.decodeDispatches).toBe(model.config.nLayers + ((await testGpu()).device.limits.maxStorageBuffersPerShaderStage >= 9 ? 0 : 2));
        const { ids } = storiesExpected();
        const t0 = performance.now();
        const got = [ids[0]];
        for (let i = 1; i < ids.length; i++) got.push((await t.forward([got[i - 1]], i - 1)).token);
        expect(got).toEqual(ids);
        const decodeMs = performance.now() - t0;
        console.log(`lavapipe stories260K, GPU layouts: ${ids.length - 1} tokens ${decodeMs.toFixed(0)} ms`);
      } finally {
        t.destroy();
      }
    }, WHOLE_MODEL_TIMEOUT);

    // One weight format: each costs its pipelines' compile (~50 s at load 12; BENCHMARKS.md round 7b). Both packed KV
    // formats, with decode attention split into chunks of 4 keys (SPLIT_K then MERGE: up to 6 chunks over these 8-24
    // keys; the default 256 never splits a context this short): the cache formats and split-K attention as a GPU with
    // shader-f16 runs them (subgroup reductions, the f16 matmul writing the prompt's K/V). The second format adds only
    // its kv_store and two attention pipelines: both tests share one Kernels, whose pipeline objects llvmpipe compiles
    // once (a second Kernels' identical pipelines are compiled again unless Mesa's disk cache has them: 37 s cold).
    let kvKernels: Promise<Kernels> | undefined;
    for (const [type, kv] of [['q4_0', 'f16'], ['q4_0', 'q8_0']] as const) {
      test(`sotu-5m ${type}, ${kv} KV cache, split-K decode: prompt logits, 16 greedy tokens, a decode step's logits, the prompt decoded`, async () => {
        const path = sotuPath(type);
        const model = await open(path);
        const k = await (kvKernels ??= gpuTuning().then((t) => testKernels({ ...t, attentionChunk: 4 })));
        const tuning = k.tuning;
        const t = await Transformer.create(k, model.config, model.weights, { contextLength: 256, maxBatch: 64, kvCache: kv });
        try {
          expect(t.kvFormat).toBe(kv);
          const prompt = model.tokenizer.encode(SOTU_PROMPT, { addBos: true });
          // The reference's cache holds what this format holds (kv-round.ts: f16 rounding, ggml's Q8_0 blocks).
          const ref = reference(path, model.config, 256);
          ref.kvStore = (rows) => kvRound(kv, rows);
          const first = await t.forward(prompt, 0, true);
          const err = relErr(first.logits!, ref.forward(prompt));
          expect(err, `logits relative error ${err}`).toBeLessThan(F16_MATMUL_TOL);
          ref.reset();
          const want = ref.greedy(prompt, 16);
          const got = [first.token];
          for (let i = 1; i < 16; i++) got.push((await t.forward([got[i - 1]], prompt.length + i - 1)).token);
          expect(got).toEqual(want);
          // Decode (matvec, split-K attention over the packed cache, rmsnorm and argmax with subgroup reductions).
          const kvLen = prompt.length + 16;
          expect(attentionSplits({ chunk: tuning.attentionChunk, maxSplits: tuning.attentionMaxSplits }, kvLen)).toBe(6);
          const decErr = relErr((await t.forward([got[15]], kvLen - 1, true)).logits!, ref.forward([got[15]]));
          expect(decErr, `decode logits relative error ${decErr}`).toBeLessThan(F16_MATMUL_TOL);
          // The prompt again, one token at a time: every cache row now comes from the f32 decode path, so the cache
          // holds the reference's values (but where a value's f32 error crosses a rounding boundary) and the
          // tolerance can be tight enough that the other formats fail it (checked below on the same logits).
          let logits: Float32Array | undefined;
          for (let i = 0; i < prompt.length; i++) logits = (await t.forward([prompt[i]], i, true)).logits;
          ref.reset();
          const tightErr = relErr(logits!, ref.forward(prompt));
          expect(tightErr, `decoded prompt: logits relative error ${tightErr}`).toBeLessThan(KV_DECODE_TOL);
          for (const other of ['f32', 'f16', 'q8_0'] as const) {
            if (other === kv) continue;
            const r = reference(path, model.config, 256);
            r.kvStore = (rows) => kvRound(other, rows);
            expect(relErr(logits!, r.forward(prompt)), `the ${other} cache's logits fail the ${kv} check`).toBeGreaterThan(KV_DECODE_TOL);
          }
          console.log(`lavapipe sotu-5m ${type} ${kv} KV, GPU layouts, split-K: prompt logits relErr ${err.toExponential(2)}, decode ${decErr.toExponential(2)}, decoded prompt ${tightErr.toExponential(2)}`);
        } finally {
          t.destroy();
        }
      }, WHOLE_MODEL_TIMEOUT);
    }

    // The F16 matmul's overflow guard in a whole model: sotu-5m q4_0 with every (normal) ffn_up block scale times 2^14
    // (exact in f16), so the gated activations, the down projection's input, pass f16's 65504 (the test checks they do). The
    // model is another function then, the same for the reference, read from the same bytes. Unscaled f16 tiles make
    // these logits NaN. The f16-KV test's Kernels and pipelines: nothing new to compile.
    test('sotu-5m q4_0 with FFN activations past 65504: prompt logits with the F16 matmul = the reference', async () => {
      const bytes = new Uint8Array(readFileSync(sotuPath('q4_0')));
      const h = parseGgufHeader(bytes);
      if ('needBytes' in h) throw new Error('truncated');
      const SHIFT = 14;
      for (const info of h.tensors.filter((i) => i.name.endsWith('ffn_up.weight'))) {
        expect(info.type).toBe(GgmlType.Q4_0);
        // A Q4_0 block is an f16 scale and 16 bytes of 4-bit weights; its exponent field (bits 10-14) goes up by SHIFT.
        const view = new DataView(bytes.buffer, bytes.byteOffset + info.offset, info.byteLength);
        for (let b = 0; b < info.byteLength; b += 18) {
          const d = view.getUint16(b, true);
          if (((d >> 10) & 31) + SHIFT >= 31) throw new Error(`scale 0x${d.toString(16)} would leave f16's range`);
          if (d & 0x7c00) view.setUint16(b, d + (SHIFT << 10), true);
        }
      }
      const model = await loadModel(await testGpu(), { llmoSource: [new File([bytes], 'sotu-5m-scaled.gguf')], cache: false });
      const k = await (kvKernels ??= gpuTuning().then((t) => testKernels({ ...t, attentionChunk: 4 })));
      const t = await Transformer.create(k, model.config, model.weights, { contextLength: 256, maxBatch: 64, kvCache: 'f16' });
      try {
        const prompt = model.tokenizer.encode(SOTU_PROMPT, { addBos: true });
        const ref = reference(bytes, model.config, 256);
        ref.kvStore = (rows) => kvRound('f16', rows);
        let largest = 0;
        const want = ref.forward(prompt, { tap: (name, _l, v) => { if (name === 'ffn_act') for (const a of v) largest = Math.max(largest, Math.abs(a)); } });
        expect(largest, 'the down projection\'s input passes f16\'s range').toBeGreaterThan(65504);
        const err = relErr((await t.forward(prompt, 0, true)).logits!, want);
        expect(err, `logits relative error ${err}`).toBeLessThan(F16_MATMUL_TOL);
        console.log(`lavapipe sotu-5m q4_0, ffn_up x 2^${SHIFT}: largest down input ${largest.toExponential(2)}, prompt logits relErr ${err.toExponential(2)}`);
      } finally {
        t.destroy();
      }
    }, WHOLE_MODEL_TIMEOUT);
  });

  // Last: the engine's device (another Dawn instance, src/node.ts) is destroyed by dispose(), after which llvmpipe
  // aborted the process when the suite's own device was used again (std::system_error; seen once, not traced).
  test('engine with the f16 KV cache: stories260K reproduces expected-greedy-200', async () => {
    // Asked for: by default a cache this small stays f32 (kv-format.ts SMALL_KV_BYTES).
    const engine = await load(STORIES, { kvCache: 'f16' });
    try {
      expect(engine.info.gpu.f16).toBe(true);
      // A CPU adapter: its layouts (DIRECT matmul) have no f16 arithmetic, whatever LoadOptions.f16Compute says.
      expect(engine.info.gpu.f16Compute).toBe(false);
      expect(engine.info.kvCache).toBe('f16');
      const tps = await checkStoriesGreedy(engine);
      console.log(`lavapipe stories260K (f16 KV): decode ${tps.toFixed(0)} tok/s`);
    } finally {
      await engine.dispose();
    }
  }, WHOLE_MODEL_TIMEOUT);
});
