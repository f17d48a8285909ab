/**
 * llmo/node: the same engine in Node on Dawn (the `webgpu` package), here on SwiftShader's Vulkan ICD (Chromium's),
 * with the whole-model checks of the browser suite: stories260K's reference text, and sotu-5m (Q4_0, Q8_0) against
 * the plain-TS f32 reference (logits and greedy tokens). Needs the Vulkan loader (libvulkan.so.1; .ci/run installs it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseGgufHeader } from '../../src/formats/gguf.ts';
import { dequantize } from '../../src/formats/quant.ts';
import type { ModelConfig, TensorInfo } from '../../src/model/types.ts';
import { ReferenceModel } from '../reference/llama-ref.ts';
import { relErr } from '../gpu-harness.ts';
import { LOGITS_TOL } from '../models/model-check.ts';

const SHARED = '../shared/models';
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
// The Vulkan loader reads this when Dawn creates its instance (first load()), so setting it here is in time.
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;

// Imported after the environment is set (the package loads Dawn on first use anyway).
const { load } = await import('../../src/node.ts');

function reference(path: string, engineConfig: ModelConfig): ReferenceModel {
  const bytes = new Uint8Array(readFileSync(path));
  const h = parseGgufHeader(bytes);
  if ('needBytes' in h) throw new Error(`${path} is truncated`);
  const byName = new Map<string, TensorInfo>(h.tensors.map((t) => [t.name, t]));
  return new ReferenceModel(engineConfig, (name) => {
    const t = byName.get(name);
    return t && dequantize(t.type, bytes.subarray(t.offset, t.offset + t.byteLength), t.shape.reduce((a, b) => a * b, 1));
  });
}

describe('llmo/node on Dawn', () => {
  test('stories260K: greedy from BOS reproduces expected-greedy-200 (ids and streamed text)', async () => {
    const ids = readFileSync(`${SHARED}/stories260K/expected-greedy-200.ids.txt`, 'utf8').trim().split(/\s+/).map(Number);
    const text = readFileSync(`${SHARED}/stories260K/expected-greedy-200.txt`, 'utf8');
    const engine = await load(`${SHARED}/stories260K/stories260K.gguf`);
    try {
      expect(engine.info.gpu.adapter).not.toBe('');
      let streamed = '';
      const stream = engine.generate([ids[0]], { maxTokens: ids.length - 1, temperature: 0, ignoreEos: true });
      for await (const c of stream) streamed += c.text;
      const r = await stream.result;
      expect([ids[0], ...r.tokens]).toEqual(ids);
      expect(streamed).toBe(r.text);
      expect(r.text.trim()).toBe(text.trim());
      console.log(`node/dawn stories260K on ${engine.info.gpu.adapter}: decode ${r.stats.decodeTokensPerSec.toFixed(0)} tok/s`);
    } finally {
      await engine.dispose();
    }
  });

  for (const type of ['q4_0', 'q8_0']) {
    test(`sotu-5m ${type}: logits and 16 greedy tokens match the f32 reference`, async () => {
      const path = `${SHARED}/sotu-5m/sotu-5m-${type}.gguf`;
      const engine = await load(path, { contextLength: 256 });
      try {
        // The shape the shared README gives for this model (independent of our config parser).
        expect(engine.info.config).toMatchObject({ arch: 'llama', dim: 256, ffnDim: 768, nLayers: 4, nHeads: 8, nKvHeads: 4, headDim: 32, ropeStyle: 'normal' });
        const ref = reference(path, engine.info.config);
        const prompt = await engine.tokenize('The Congress of the United States', { addBos: true });
        const err = relErr(await engine.logits(prompt), ref.forward(prompt));
        expect(err, `logits relative error ${err}`).toBeLessThan(LOGITS_TOL);
        ref.reset();
        const want = ref.greedy(prompt, 16);
        const got = await engine.complete(prompt, { maxTokens: 16, temperature: 0, ignoreEos: true });
        expect(got.tokens).toEqual(want);
      } finally {
        await engine.dispose();
      }
    });
  }

  test('a missing file is a typed error naming the path', async () => {
    await expect(load(`${SHARED}/no-such-model.gguf`)).rejects.toThrow(/no-such-model\.gguf.*ENOENT/);
  });
});
