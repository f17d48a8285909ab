/**
 * The f16 paths on a real WebGPU implementation that has `shader-f16`: Dawn (the `webgpu` package) on Mesa's
 * lavapipe (llvmpipe Vulkan, mesa 25: adapter "llvmpipe", shader-f16, subgroups of 8 lanes). SwiftShader (dawn.test.ts,
 * the browser suites) has no shader-f16, so without this suite CI never runs them. lavapipe is a CPU: these are
 * correctness checks, not GPU behaviour. It is a CPU adapter, so the engine's defaults there are the barrier-free
 * layouts with the f16 KV cache; the GPU layouts (tiled matmul, subgroup reductions at lavapipe's 8 lanes) are forced
 * through Tuning below.
 */
import { openAsBlob } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { defaultTuning, type Tuning } from '../../src/gpu/kernels.ts';
import { loadModel, type LoadedModel } from '../../src/loader/load-model.ts';
import { Transformer } from '../../src/runtime/transformer.ts';
import { kvRound } from '../reference/kv-round.ts';
import { LOGITS_TOL } from '../models/model-check.ts';
import { relErr, testGpu, testKernels } from '../gpu-harness.ts';
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
 * Logits (relErr) with an f16 KV cache against the reference whose cache holds the same f16 values: the browser
 * suite's (models/kv-cache.gpu.test.ts: the GPU's K/V differ from the reference's by ~1e-6, which flips the f16
 * rounding of some values, so the two caches differ by up to one f16 ulp per value).
 */
const KV_F16_TOL = 2e-3;
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

  describe('GPU layouts forced (tiled matmul, subgroup reductions at 8 lanes) = the reference', () => {
    /** The GPU launch layout for this adapter's subgroups (a subgroup per matvec row). */
    const gpuTuning = async (): Promise<Tuning> => {
      const caps = (await testGpu()).caps;
      const t = defaultTuning({ ...caps, cpu: false });
      expect(t).toMatchObject({ matmulDirect: false, subgroups: true, matvecSubgroups: true, matvecRows: 64 / caps.subgroupSize! });
      return t;
    };
    const open = async (path: string): Promise<LoadedModel> =>
      loadModel(await testGpu(), { llmoSource: [new File([await openAsBlob(path)], path.split('/').pop()!)], cache: false });

    test('stories260K: 200 greedy tokens from BOS = expected-greedy-200 (layer kernel, subgroupAdd), prefill logits', async () => {
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
        // A 48-token prefill through the tiled matmul (K = 64 and 172), then its logits.
        const ref = reference(STORIES, model.config, 256);
        const prompt = ids.slice(0, 48);
        const err = relErr((await t.forward(prompt, 0, true)).logits!, ref.forward(prompt));
        expect(err, `logits relative error ${err}`).toBeLessThan(LOGITS_TOL);
        console.log(`lavapipe stories260K, GPU layouts: ${ids.length - 1} tokens ${decodeMs.toFixed(0)} ms, prefill logits relErr ${err.toExponential(2)}`);
      } finally {
        t.destroy();
      }
    }, WHOLE_MODEL_TIMEOUT);

    // One weight format: each costs its pipelines' compile (~50 s at load 12; BENCHMARKS.md round 7b).
    for (const type of ['q4_0']) {
      test(`sotu-5m ${type}: prompt logits, 16 greedy tokens, then a decode step's logits`, async () => {
        const path = sotuPath(type);
        const model = await open(path);
        const t = await Transformer.create(await testKernels(await gpuTuning()), model.config, model.weights, { contextLength: 256, maxBatch: 64 });
        try {
          const prompt = model.tokenizer.encode(SOTU_PROMPT, { addBos: true });
          const ref = reference(path, model.config, 256);
          ref.kvStore = (rows) => kvRound('f16', rows);
          const first = await t.forward(prompt, 0, true);
          const err = relErr(first.logits!, ref.forward(prompt));
          expect(err, `logits relative error ${err}`).toBeLessThan(KV_F16_TOL);
          ref.reset();
          const want = ref.greedy(prompt, 16);
          const got = [first.token];
          for (let i = 1; i < 16; i++) got.push((await t.forward([got[i - 1]], prompt.length + i - 1)).token);
          expect(got).toEqual(want);
          // Decode (matvec, attention, rmsnorm and argmax with subgroup reductions) over the f16 cache the prefill wrote.
          const decErr = relErr((await t.forward([got[15]], prompt.length + 15, true)).logits!, ref.forward([got[15]]));
          expect(decErr, `decode logits relative error ${decErr}`).toBeLessThan(KV_F16_TOL);
          console.log(`lavapipe sotu-5m ${type}, GPU layouts: prompt logits relErr ${err.toExponential(2)}, decode ${decErr.toExponential(2)}`);
        } finally {
          t.destroy();
        }
      }, WHOLE_MODEL_TIMEOUT);
    }
  });

  // Last: the engine's device (another Dawn instance, src/node.ts) is destroyed by dispose(), after which llvmpipe
  // aborted the process when the suite's own device was used again (std::system_error; seen once, not traced).
  test('engine defaults (f16 KV cache): stories260K reproduces expected-greedy-200', async () => {
    const engine = await load(STORIES);
    try {
      expect(engine.info.gpu.f16).toBe(true);
      expect(engine.info.kvCache).toBe('f16');
      const tps = await checkStoriesGreedy(engine);
      console.log(`lavapipe stories260K (defaults, f16 KV): decode ${tps.toFixed(0)} tok/s`);
    } finally {
      await engine.dispose();
    }
  }, WHOLE_MODEL_TIMEOUT);
});
