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
