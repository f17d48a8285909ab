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
    // One workgroup unless a variant says otherwise (the CPU default may split).
    const base = { ...defaultTuning({ cpu: true }), layerSplit: 1, layerSplitMaxKv: 0 };
    // Layer kernels only: the first does the embedding, the last the head (logits + argmax) where the device binds
    // the 9 storage buffers that takes; else the head's output projection and argmax follow.
    const fused = c.nLayers + (gpu.device.limits.maxStorageBuffersPerShaderStage >= 9 ? 0 : 2);
    // Split in n workgroups (Tuning.layerSplit): 2 dispatches a layer, the head's logits and argmax; a model whose
    // n_kv_heads n does not divide keeps one workgroup (tiny_hd32: 1 KV head).
    const split = (n: number, heads = true) => (c.nKvHeads % n === 0 ? (heads ? 2 : 1) * c.nLayers + 2 : fused);
    const variants: [string, Tuning, number][] = [
      // Separate: 5 a layer + the split-K merge (listed, skipped at short contexts).
      ['separate dispatches', { ...base, layerKernelMaxWeights: 0 }, 6 * c.nLayers + 3],
      ['layer kernel', { ...base, layerKernelMaxWeights: 1 << 20, layerWG: 4, subgroups: false }, fused],
      ['layer kernel, 64 threads', { ...base, layerKernelMaxWeights: 1 << 20, layerWG: 64, subgroups: false }, fused],
      ...(gpu.caps.subgroups ? [['layer kernel, subgroupAdd, 64 threads', { ...base, layerKernelMaxWeights: 1 << 20, layerWG: 64, subgroups: true }, fused] as [string, Tuning, number]] : []),
      ['layer kernel split in 2', { ...base, layerKernelMaxWeights: 1 << 20, layerWG: 4, layerSplit: 2, layerSplitHeads: true, subgroups: false }, split(2)],
      ['layer kernel split in 4, 8 threads', { ...base, layerKernelMaxWeights: 1 << 20, layerWG: 8, layerSplit: 4, layerSplitHeads: true, subgroups: false }, split(4)],
      ['layer kernel split in 2, attention repeated', { ...base, layerKernelMaxWeights: 1 << 20, layerWG: 4, layerSplit: 2, layerSplitHeads: false, subgroups: false }, split(2, false)],
      // Split up to 10 cache rows, one workgroup after (both lists recorded): the decode steps below run at cache
      // lengths 8 .. 13, so the switch happens mid-run, the one-workgroup path reading KV rows the split one wrote.
      ['layer kernel split in 2 up to 10 cache rows', { ...base, layerKernelMaxWeights: 1 << 20, layerWG: 4, layerSplit: 2, layerSplitHeads: false, layerSplitMaxKv: 10, subgroups: false },
        c.nKvHeads % 2 === 0 ? split(2, false) + c.nLayers : fused],
    ];
    // 4 workgroups only where they apply (a fallback would repeat the one-workgroup variant at 8 threads).
    if (c.nKvHeads % 4) variants.splice(variants.findIndex(([n]) => n.includes('split in 4')), 1);
    // tiny_hd32 (1 KV head): one workgroup, and the split variant's fallback to it.
    if (ATTENTION_ONLY.test(url)) variants.splice(0, variants.length, variants[1], variants.find(([n]) => n === 'layer kernel split in 2')!);
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

// The split layer kernel sums in another order than one workgroup (partial sums per workgroup): greedy tokens must
// still be the one-workgroup path's, over 48 steps decoded as the engine does (16 per submission).
test('stories260K: greedy tokens of the split layer kernel = one workgroup', async () => {
  const gpu = await testGpu();
  const model = await loadModel(gpu, new URL(MODELS[0], location.href).href);
  const base = { ...defaultTuning({ cpu: true }), layerKernelMaxWeights: 1 << 20, layerWG: 4, subgroups: false, layerSplitMaxKv: 0 };
  const runs: number[][] = [];
  const variants = [
    { ...base, layerSplit: 1 }, { ...base, layerSplit: 2, layerSplitHeads: true }, { ...base, layerSplit: 2, layerSplitHeads: false },
    { ...base, layerSplit: 2, layerSplitHeads: false, layerSplitMaxKv: 24 },
  ];
  for (const tuning of variants) {
    const t = await Transformer.create(await testKernels(tuning), model.config, model.weights, { contextLength: 64, maxBatch: 16 });
    try {
      const got: number[] = [];
      let tok = 1;
      for (let pos = 0; pos < 48; pos += 16) {
        const out = (await t.decodeSteps([tok], pos, 16)).tokens;
        got.push(...out);
        tok = out[15];
      }
      runs.push(got);
    } finally {
      t.destroy();
    }
  }
  expect(new Set(runs[0]).size, 'the greedy run is not one repeated token').toBeGreaterThan(4);
  expect(runs[1], 'split heads').toEqual(runs[0]);
  expect(runs[2], 'attention repeated').toEqual(runs[0]);
  expect(runs[3], 'split up to 24 cache rows, then one workgroup').toEqual(runs[0]);
});
