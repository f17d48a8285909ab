/**
 * Loads a model through the public API and checks it against the plain-TS f32 reference fed the same weights
 * (the file's tensors, dequantized) and a config written independently by the fixture generator.
 */
import { expect } from 'vitest';
import { load } from '../../src/index.ts';
import { parseGgufHeader } from '../../src/formats/gguf.ts';
import { parseSafetensorsHeader } from '../../src/formats/safetensors.ts';
import { dequantize } from '../../src/formats/quant.ts';
import type { ModelConfig, TensorInfo } from '../../src/model/types.ts';
import { ReferenceModel, type WeightSource } from '../reference/llama-ref.ts';
import { familyOf } from '../../src/families/index.ts';
import { relErr } from '../gpu-harness.ts';

/** The reference on the file's weights (`wrap`: changed first, e.g. LoRA adapters merged in: test/fixtures/lora-fixture.ts). */
export async function referenceFor(
  url: string, config: ModelConfig, contextLength?: number, wrap?: (w: WeightSource) => WeightSource,
): Promise<ReferenceModel> {
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const family = familyOf(config.arch);
  const gguf = url.endsWith('.gguf');
  const h = gguf ? parseGgufHeader(bytes) : parseSafetensorsHeader(bytes, { names: family.hfNames });
  if ('needBytes' in h) throw new Error('truncated fixture');
  const byName = new Map<string, TensorInfo>(h.tensors.map((t) => [t.name, t]));
  // HF norm weights of some families hold w for x·(shift + w): the reference takes the effective weights.
  const shift = gguf ? 0 : family.hfNormShift ?? 0;
  const weight = (name: string) => {
    const t = byName.get(name);
    if (!t) return undefined;
    const v = dequantize(t.type, bytes.subarray(t.offset, t.offset + t.byteLength), t.shape.reduce((a, b) => a * b, 1));
    if (shift && name.endsWith('norm.weight')) for (let i = 0; i < v.length; i++) v[i] += shift;
    return v;
  };
  return new ReferenceModel(config, wrap ? wrap(weight) : weight, { contextLength });
}

/** Relative logits error allowed between GPU and reference: f32 sums in another order, through every layer. */
export const LOGITS_TOL = 1e-4;

/** `contextLength`: what the engine is loaded with (default the model's, at most 512); LongRoPE picks its factors by it. */
export async function checkModel(
  url: string, config: ModelConfig, o: { prompt: number[]; nGreedy: number; maxBatch?: number; contextLength?: number },
): Promise<void> {
  const contextLength = o.contextLength ?? Math.min(config.contextLength, 512);
  const ref = await referenceFor(url, config, contextLength);
  const engine = await load(url, { maxBatch: o.maxBatch, contextLength });
  try {
    expect(engine.info.config).toMatchObject({ arch: config.arch, ropeStyle: config.ropeStyle, qkvBias: config.qkvBias, qkNorm: config.qkNorm, tiedEmbeddings: config.tiedEmbeddings });
    const gpuLogits = await engine.logits(o.prompt);
    const refLogits = ref.forward(o.prompt);
    const err = relErr(gpuLogits, refLogits);
    expect(err, `logits relative error ${err}`).toBeLessThan(LOGITS_TOL);
    ref.reset();
    const want = ref.greedy(o.prompt, o.nGreedy);
    const got = await engine.complete(o.prompt, { maxTokens: o.nGreedy, temperature: 0, ignoreEos: true });
    expect(got.tokens).toEqual(want);
  } finally {
    await engine.dispose();
  }
}
