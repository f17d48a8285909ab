/**
 * The layer kernel (runtime/layer-kernel.ts, shaders/decode_layer.wgsl: one dispatch per decoded layer) against the
 * plain-TS reference, decoded token by token after a prompt: every step's logits within LOGITS_TOL (f32 sums in
 * another order), for f32 (stories260K, real weights) and f16 weights (a random fixture), with its reductions in
 * workgroup memory and with subgroupAdd (SwiftShader has `subgroups`), next to the separate dispatches it replaces.
 */
import { test, expect } from 'vitest';
import { loadModel } from '../../src/loader/load-model.ts';
import { defaultTuning, type Tuning } from '../../src/gpu/kernels.ts';
import { Transformer } from '../../src/runtime/transformer.ts';
import { testGpu, testKernels, relErr } from '../gpu-harness.ts';
import { referenceFor, LOGITS_TOL } from './model-check.ts';
import { kvRound } from '../reference/kv-round.ts';

const MODELS = ['/shared/models/stories260K/stories260K.gguf', '/fixtures/tiny~llama~f16~s2/model.gguf', '/fixtures/tiny_hd32~llama~f32~s3/model.gguf'];
// stories260K (head_dim 8) and the tiny fixture (16) run attention with the head in registers, tiny_hd32 the loop
// over head_dim (decode_layer.wgsl HEAD_REGS): for that one only the attention differs, so only the default layout.
const ATTENTION_ONLY = /tiny_hd32/;
const PROMPT = [1, 17, 42, 7, 99, 250, 3];

for (const url of MODELS) {
  test(`${url}: decode logits = reference with and without the layer kernel`, async () => {
    const gpu = await testGpu();
    const model = await loadModel(gpu, new URL(url, location.href).href);
    const c = model.config;
    const base = defaultTuning({ cpu: true });
    // Layer kernels only: the first does the embedding, the last the head (logits + argmax) where the device binds
    // the 9 storage buffers that takes; else the head's output projection and argmax follow.
    const fused = c.nLayers + (gpu.device.limits.maxStorageBuffersPerShaderStage >= 9 ? 0 : 2);
    const variants: [string, Tuning, number][] = [
      // Separate: 5 a layer + the split-K merge (listed, skipped at short contexts).
      ['separate dispatches', { ...base, layerKernelMaxWeights: 0 }, 6 * c.nLayers + 3],
      ['layer kernel', { ...base, layerKernelMaxWeights: 1 << 20, layerWG: 4, subgroups: false }, fused],
      ['layer kernel, 64 threads', { ...base, layerKernelMaxWeights: 1 << 20, layerWG: 64, subgroups: false }, fused],
      ...(gpu.caps.subgroups ? [['layer kernel, subgroupAdd, 64 threads', { ...base, layerKernelMaxWeights: 1 << 20, layerWG: 64, subgroups: true }, fused] as [string, Tuning, number]] : []),
    ];
    if (ATTENTION_ONLY.test(url)) variants.splice(0, variants.length, variants[1]);
    const ref = await referenceFor(url, c, 64);
    const want = [ref.forward(PROMPT)];
    let tok = PROMPT.at(-1)!;
    const feed: number[] = [];
    for (let s = 0; s < 6; s++) {
      tok = (tok * 31 + 7) % c.vocabSize;
      feed.push(tok);
      want.push(ref.forward([tok]));
    }
    for (const [name, tuning, dispatches] of variants) {
      const t = await Transformer.create(await testKernels(tuning), c, model.weights, { contextLength: 64, maxBatch: 16 });
      try {
        expect(t.decodeDispatches, name).toBe(dispatches);
        const got = [(await t.forward(PROMPT, 0, true)).logits!];
        for (let s = 0; s < feed.length; s++) got.push((await t.forward([feed[s]], PROMPT.length + s, true)).logits!);
        for (let s = 0; s < got.length; s++) {
          const err = relErr(got[s], want[s]);
          expect(err, `${name}, step ${s}: logits relative error ${err}`).toBeLessThan(LOGITS_TOL);
        }
      } finally {
        t.destroy();
      }
    }
  });
}

// The layer kernel writes and reads the packed KV formats itself (kv.wgsl's functions; no kv_store dispatch), so a
// tiny model keeps its one dispatch per layer with `kvCache: 'f16' | 'q8_0'`. stories260K (kv_dim 32: one Q8_0 block a
// row; head_dim 8: the head in registers) in both formats, and tiny_hd32 (the loop over head_dim) in f16, every token
// decoded one at a time from position 0 so that every cache row is the kernel's, against the reference whose cache
// holds that format's values (kv-round.ts); the current position's K/V must be the rounded ones too, as the separate
// dispatches read them back from the cache. KV_TOL is tight enough that the other formats' references fail it on the
// same logits (asserted), so a kernel that kept f32 values would not pass. Not tiny_hd32 in q8_0: its random weights
// put a K/V value on an int8 rounding boundary at position 13, where the f32 sums' order moves it one step (3e-4).
const KV_TOL = 2e-5;
for (const [url, kv] of [[MODELS[0], 'f16'], [MODELS[0], 'q8_0'], [MODELS[2], 'f16']] as const) {
  test(`${url}: the layer kernel with a ${kv} KV cache = reference holding ${kv} values`, async () => {
    const gpu = await testGpu();
    const model = await loadModel(gpu, new URL(url, location.href).href);
    const c = model.config;
    const tuning = { ...defaultTuning({ cpu: true }), layerKernelMaxWeights: 1 << 20, layerWG: 4, subgroups: false };
    const t = await Transformer.create(await testKernels(tuning), c, model.weights, { contextLength: 64, maxBatch: 16, kvCache: kv });
    try {
      expect(t.kvFormat).toBe(kv);
      expect(t.decodeDispatches, 'one dispatch per layer').toBe(c.nLayers + (gpu.device.limits.maxStorageBuffersPerShaderStage >= 9 ? 0 : 2));
      const tokens = [...PROMPT, 5, 77, 123, 300, 8, 64, 21, 400, 2].map((x) => x % c.vocabSize);
      const refs = Object.fromEntries(await Promise.all((['f32', 'f16', 'q8_0'] as const).map(async (f) => {
        const r = await referenceFor(url, c, 64);
        r.kvStore = (rows) => kvRound(f, rows);
        return [f, r] as const;
      })));
      let worst = 0;
      const others: Record<string, number> = {};
      for (let i = 0; i < tokens.length; i++) {
        const got = (await t.forward([tokens[i]], i, true)).logits!;
        for (const [f, r] of Object.entries(refs)) {
          const err = relErr(got, r.forward([tokens[i]]));
          if (f === kv) {
            expect(err, `${kv}, position ${i}: logits relative error ${err}`).toBeLessThan(KV_TOL);
            worst = Math.max(worst, err);
          } else others[f] = Math.max(others[f] ?? 0, err);
        }
      }
      for (const [f, err] of Object.entries(others)) expect(err, `the ${f} cache's logits fail the ${kv} check`).toBeGreaterThan(KV_TOL);
      console.log(`${url}, layer kernel, ${kv} KV: worst logits relErr ${worst.toExponential(2)}; other formats' references ${JSON.stringify(Object.fromEntries(Object.entries(others).map(([f, e]) => [f, e.toExponential(2)])))}`);
    } finally {
      t.destroy();
    }
  });
}
