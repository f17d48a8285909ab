/**
 * sotu-5m in every weight type of ../shared beyond F32/F16/Q8_0/Q4_0 (ggml-made files, K-quant "_M" mixes with
 * Q6_K heads included), through the public API on WebGPU, against
 * (1) the plain-TS f32 reference run on the same file's weights decoded by our TS dequantizer (checked against ggml's
 *     own files in src/formats/quant-types-real.test.ts), which must agree to f32 summation order:
 *     - greedy: 20 prompts (BOS + 4..23 tokens of eval.txt at spread offsets), 2 new tokens each, all equal;
 *     - perplexity (llama.cpp's windowing, engine.evaluate) of one 64-token window of eval.txt: within 0.5%
 *       (measured: equal to 4-5 digits);
 * (2) llama.cpp (wllama 3.8.1, WASM CPU) on the same file. It rounds activations to 8 bits (Q8_K / Q8_0 / Q8_1)
 *     before every quantized dot product where we keep f32, so it differs by design. Over all of eval.txt
 *     (`npm run bench:agreement`, BENCHMARKS.md) its per-token log-likelihoods differ from ours by at most ~0.21 nats
 *     (mean ~0.016) and its perplexity by 0.04-0.12%, so here:
 *     - first greedy token of the 20 prompts (the reference's, which equals ours above): llama.cpp's top token on at
 *       least 17/20, and wherever it is not, llama.cpp's own log-probabilities of the two tokens are within NEAR_TIE
 *       = 0.5 nats (two tokens whose log-probabilities each move by ≤ 0.25 can swap only if that close);
 *     - perplexity of the same window (31 scored tokens): within PPL_TOL = 2% of llama.cpp's: the ratio is
 *       exp(mean ΔNLL), and |mean ΔNLL| ≤ mean |ΔNLL| ≈ 0.016 (measured on the window: 0.35% q4_k_m, 0.51% iq4_xs).
 * Bounded (20 short prompts, one window) to keep CI fast: the reference runs on the page's thread while llmo and
 * llama.cpp work in their own workers. The whole file is `npm run bench:agreement`.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { load } from '../../src/index.ts';
import { dequantize } from '../../src/formats/quant.ts';
import { ReferenceModel } from '../reference/llama-ref.ts';
import { loadGguf, referenceConfigFromGguf } from '../reference/gguf-weights.ts';
import { perplexity, perplexityWindows } from '../reference/perplexity.ts';
import { wllamaExitAll, wllamaForcedLogprobs, wllamaForcedStep, wllamaModelInfo, type ForcedStep } from '../wllama/wllama-ref.ts';

const BOS = 1;
const TYPES = ['q4_k_m', 'q5_k_m', 'q6_k', 'q3_k_m', 'q2_k', 'q4_1', 'q5_0', 'q5_1', 'iq4_nl', 'iq4_xs', 'bf16'];
const NEAR_TIE = 0.5;
const PPL_TOL = 0.02;
const results: Record<string, unknown> = {};
let evalTokens: number[];

beforeAll(async () => {
  const engine = await load('/shared/models/sotu-5m/sotu-5m-q8_0.gguf');
  evalTokens = await engine.tokenize(await (await fetch('/shared/corpora/eval.txt')).text(), { addBos: true });
  await engine.dispose();
});

afterAll(async () => {
  await wllamaExitAll();
  console.log('sotu-5m types vs the TS reference on dequantized weights and vs llama.cpp', JSON.stringify(results));
});

describe('sotu-5m in every weight type: GPU = reference on the dequantized weights, near llama.cpp', () => {
  for (const type of TYPES) {
    test(type, async () => {
      const url = `/shared/models/sotu-5m/sotu-5m-${type}.gguf`;
      // Both engines load in their workers while the reference decodes the file here.
      const loading = Promise.all([load(url, { maxBatch: 64 }), wllamaModelInfo(url)]);
      const { header, weight } = loadGguf(new Uint8Array(await (await fetch(url)).arrayBuffer()), url,
        (t, raw) => dequantize(t.type, raw, t.shape.reduce((a, b) => a * b, 1)));
      const ref = new ReferenceModel(referenceConfigFromGguf(header), weight);
      const [engine] = await loading;
      try {
        const prompts = Array.from({ length: 20 }, (_, i) => [BOS, ...evalTokens.slice(1 + i * 97, 1 + i * 97 + 4 + i)]);
        // Pipelined: prompt i's reference runs here while prompt i-1 runs in llmo's and llama.cpp's workers.
        // (One request at a time per engine: each call starts when that engine's previous one has ended.)
        const want: number[][] = [];
        const ours: Promise<number[]>[] = [];
        const llama: Promise<ForcedStep>[] = [];
        for (const p of prompts) {
          want.push(ref.greedy(p, 2));
          const first = want[want.length - 1][0];
          const [o, l] = [ours[ours.length - 1], llama[llama.length - 1]];
          ours.push((async () => { await o; return (await engine.complete(p, { maxTokens: 2, temperature: 0, ignoreEos: true })).tokens; })());
          llama.push((async () => { await l; return wllamaForcedStep(url, p, first); })());
          await Promise.all([o, l]);
        }
        const [got, steps] = await Promise.all([Promise.all(ours), Promise.all(llama)]);
        const same = got.filter((g, i) => JSON.stringify(g) === JSON.stringify(want[i])).length;
        const llamaSame = steps.filter((s, i) => s.top.id === want[i][0]).length;
        const worstGap = Math.max(0, ...steps.map((s) => s.top.logprob - s.logprob));
        // The window: llmo and llama.cpp in their workers, the reference here.
        const window = evalTokens.slice(0, 64);
        const oursP = engine.evaluate(window, { window: 64, maxWindows: 1 });
        const theirsP = wllamaForcedLogprobs(url, [BOS, ...window.slice(1)], 32);
        const refPpl = perplexity(perplexityWindows(evalTokens, 64, BOS).slice(0, 1), ref.config.vocabSize, (w) => {
          ref.reset();
          return ref.forward(w, { allLogits: true });
        });
        const ppl = (await oursP).perplexity;
        const nll = (await theirsP).map((lp) => -lp);
        const llamaPpl = Math.exp(nll.reduce((a, b) => a + b, 0) / nll.length);
        results[type] = {
          greedyPromptsEqual: `${same}/20`, ppl: +ppl.toFixed(4), refPpl: +refPpl.toFixed(4),
          llamacpp: { firstTokenEqual: `${llamaSame}/20`, worstGap: +worstGap.toFixed(4), ppl: +llamaPpl.toFixed(4) },
        };
        expect(same).toBe(20);
        expect(Math.abs(ppl / refPpl - 1)).toBeLessThan(0.005);
        expect(llamaSame).toBeGreaterThanOrEqual(17);
        expect(worstGap).toBeLessThan(NEAR_TIE);
        expect(Math.abs(ppl / llamaPpl - 1)).toBeLessThan(PPL_TOL);
      } finally {
        await engine.dispose();
        await wllamaExitAll(url);
      }
    });
  }
});
