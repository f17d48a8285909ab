/**
 * engine.evaluate() (perplexity, llama.cpp's windowing) on sotu-5m-f32 over ../shared/corpora/eval.txt, against
 * - the TS reference (test/reference/perplexity.ts on ReferenceModel logits): same value to 4 significant digits,
 *   per-token NLL within 1e-3 (f32 GPU vs f32 CPU summation order);
 * - llama.cpp (wllama, WASM CPU): within 0.5% on one window (its per-position log-probabilities, summed the same way;
 *   measured: equal to 5 digits).
 * Windows are bounded (first 2 of 256 tokens; stride mode: 3 windows of 64) to keep CI fast; `npm run bench`
 * territory is the whole file. maxBatch 64 makes each window run in several fill and per-row-head submissions.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { load, type Engine } from '../../src/index.ts';
import { ReferenceModel } from '../reference/llama-ref.ts';
import { loadGguf, referenceConfigFromGguf } from '../reference/gguf-weights.ts';
import { perplexity, perplexityWindows } from '../reference/perplexity.ts';
import { wllamaExitAll, wllamaNextTokenLogprobs } from '../wllama/wllama-ref.ts';

const URL_F32 = '/shared/models/sotu-5m/sotu-5m-f32.gguf';
const BOS = 1;
let engine: Engine;
let text: string;
let tokens: number[];
let model: ReferenceModel;
let vocab: number;

beforeAll(async () => {
  engine = await load(URL_F32, { maxBatch: 64 });
  text = await (await fetch('/shared/corpora/eval.txt')).text();
  tokens = await engine.tokenize(text, { addBos: true });
  const { header, weight } = loadGguf(new Uint8Array(await (await fetch(URL_F32)).arrayBuffer()), URL_F32);
  const config = referenceConfigFromGguf(header);
  vocab = config.vocabSize;
  model = new ReferenceModel(config, weight);
});

afterAll(async () => {
  await engine?.dispose();
  await wllamaExitAll();
});

/** The reference's logits [W, vocab] of each window, from an empty cache. */
function referenceLogits(windows: number[][]): Float32Array[] {
  return windows.map((w) => {
    model.reset();
    return model.forward(w, { allLogits: true });
  });
}

/** Per-token NLL over the rows [from, W−2] of each window (f64 log-softmax of the reference's logits). */
function rowsNll(windows: number[][], logits: Float32Array[], from: number): number[] {
  const out: number[] = [];
  windows.forEach((w, i) => {
    for (let j = from; j < w.length - 1; j++) {
      const row = logits[i].subarray(j * vocab, (j + 1) * vocab);
      let max = -Infinity;
      for (const v of row) max = Math.max(max, v);
      let sum = 0;
      for (const v of row) sum += Math.exp(v - max);
      out.push(-(row[w[j + 1]] - max - Math.log(sum)));
    }
  });
  return out;
}

const ppl = (nll: number[]) => Math.exp(nll.reduce((a, b) => a + b, 0) / nll.length);

describe('evaluate (perplexity) on sotu-5m-f32, eval.txt', () => {
  test('consecutive windows of 256: equals the reference to 4 significant digits, llama.cpp within 0.5%', async () => {
    const r = await engine.evaluate(text, { window: 256, maxWindows: 2 });
    const windows = perplexityWindows(tokens, 256, BOS).slice(0, 2);
    expect(r.windows).toBe(2);
    expect(r.tokens).toEqual(windows.flatMap((w) => w.slice(129)));
    expect(r.nll).toHaveLength(2 * 127);

    const refLogits = referenceLogits(windows);
    const ref = rowsNll(windows, refLogits, 128);
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(r.nll[i] - ref[i]));
    const refPpl = ppl(ref);
    // The reference's own windowed perplexity (llama.cpp's scheme, test/reference/perplexity.ts) agrees with the rows.
    expect(perplexity(windows, vocab, (w) => refLogits[windows.indexOf(w)]).toPrecision(6)).toBe(refPpl.toPrecision(6));
    console.log(`sotu-5m-f32 eval.txt, 2 windows of 256: llmo ${r.perplexity.toFixed(4)}, reference ${refPpl.toFixed(4)}, max |Δ nll| ${worst.toExponential(2)}; ${r.tokensPerSec.toFixed(0)} tok/s (SwiftShader = CPU)`);
    expect(worst).toBeLessThan(1e-3);
    expect(r.perplexity.toPrecision(4)).toBe(refPpl.toPrecision(4));

    // llama.cpp costs one completion per scored token: the second window only (127 tokens).
    const theirPpl = ppl((await wllamaNextTokenLogprobs(URL_F32, windows[1], 128)).map((lp) => -lp));
    const ours = ppl(r.nll.slice(127));
    console.log(`second window: llmo ${ours.toFixed(4)}, llama.cpp (wllama) ${theirPpl.toFixed(4)} (ratio ${(ours / theirPpl).toFixed(5)})`);
    expect(Math.abs(ours / theirPpl - 1)).toBeLessThan(0.005);
  });

  test('stride windows (llama.cpp --ppl-stride): window 64, stride 16, 3 windows equal the reference', async () => {
    const r = await engine.evaluate(tokens, { window: 64, stride: 16, maxWindows: 3 });
    const windows = [0, 16, 32].map((s) => [BOS, ...tokens.slice(s + 1, s + 64)]);
    expect(r.positions).toEqual([0, 16, 32].flatMap((s) => Array.from({ length: 16 }, (_, i) => s + 48 + i)));
    const ref = rowsNll(windows, referenceLogits(windows), 47);
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(r.nll[i] - ref[i]));
    expect(worst).toBeLessThan(1e-3);
    expect(r.perplexity.toPrecision(4)).toBe(ppl(ref).toPrecision(4));
  });

  test('the KV cache is usable after evaluate: greedy output unchanged', async () => {
    const before = (await engine.complete([BOS], { maxTokens: 8, temperature: 0, ignoreEos: true })).tokens;
    await engine.evaluate(tokens.slice(0, 80), { window: 64 });
    const after = (await engine.complete([BOS], { maxTokens: 8, temperature: 0, ignoreEos: true })).tokens;
    expect(after).toEqual(before);
  });
});
