/**
 * sotu-5m in every weight type of ../shared beyond F32/F16/Q8_0/Q4_0 (ggml-made files, K-quant "_M" mixes with
 * Q6_K heads included), through the public API on WebGPU, against the plain-TS f32 reference run on the same file's
 * weights decoded by our TS dequantizer (checked against ggml's own files in src/formats/quant-types-real.test.ts):
 * - greedy: 20 prompts (BOS + 4..23 tokens of eval.txt at spread offsets), 2 new tokens each, must be equal;
 * - perplexity (llama.cpp's windowing, engine.evaluate) on one 64-token window of eval.txt: within 0.5% of the
 *   reference's (measured: equal to 4-5 digits; GPU and CPU f32 differ only in summation order).
 * Bounded (20 short prompts, one window) to keep CI fast; the whole-file perplexity is `npm run bench` territory.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { load } from '../../src/index.ts';
import { dequantize } from '../../src/formats/quant.ts';
import { ReferenceModel } from '../reference/llama-ref.ts';
import { loadGguf, referenceConfigFromGguf } from '../reference/gguf-weights.ts';
import { perplexity, perplexityWindows } from '../reference/perplexity.ts';

const BOS = 1;
const TYPES = ['q4_k_m', 'q5_k_m', 'q6_k', 'q3_k_m', 'q2_k', 'q4_1', 'q5_0', 'q5_1', 'iq4_nl', 'iq4_xs', 'bf16'];
const results: Record<string, unknown> = {};
let evalTokens: number[];

beforeAll(async () => {
  const engine = await load('/shared/models/sotu-5m/sotu-5m-q8_0.gguf');
  evalTokens = await engine.tokenize(await (await fetch('/shared/corpora/eval.txt')).text(), { addBos: true });
  await engine.dispose();
});

afterAll(() => console.log('sotu-5m types vs the TS reference on dequantized weights', JSON.stringify(results)));

describe('sotu-5m in every weight type: GPU = reference on the dequantized weights', () => {
  for (const type of TYPES) {
    test(type, async () => {
      const url = `/shared/models/sotu-5m/sotu-5m-${type}.gguf`;
      const { header, weight } = loadGguf(new Uint8Array(await (await fetch(url)).arrayBuffer()), url,
        (t, raw) => dequantize(t.type, raw, t.shape.reduce((a, b) => a * b, 1)));
      const ref = new ReferenceModel(referenceConfigFromGguf(header), weight);
      const engine = await load(url, { maxBatch: 64 });
      try {
        const prompts = Array.from({ length: 20 }, (_, i) => [BOS, ...evalTokens.slice(1 + i * 97, 1 + i * 97 + 4 + i)]);
        let same = 0;
        for (const p of prompts) {
          const want = ref.greedy(p, 2);
          const got = (await engine.complete(p, { maxTokens: 2, temperature: 0, ignoreEos: true })).tokens;
          if (JSON.stringify(got) === JSON.stringify(want)) same++;
        }
        const windows = perplexityWindows(evalTokens, 64, BOS).slice(0, 1);
        const refPpl = perplexity(windows, ref.config.vocabSize, (w) => {
          ref.reset();
          return ref.forward(w, { allLogits: true });
        });
        const ours = (await engine.evaluate(evalTokens.slice(0, 64), { window: 64, maxWindows: 1 })).perplexity;
        results[type] = { greedyPromptsEqual: `${same}/20`, ppl: +ours.toFixed(4), refPpl: +refPpl.toFixed(4) };
        expect(same).toBe(20);
        expect(Math.abs(ours / refPpl - 1)).toBeLessThan(0.005);
      } finally {
        await engine.dispose();
      }
    });
  }
});
