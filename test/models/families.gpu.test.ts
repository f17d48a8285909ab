/**
 * Model families beyond llama (families/*.ts) on the GPU against the TS reference, on random-weight fixtures with
 * Q/K scaled up (peaked attention, so window and RoPE mistakes show): last-token logits within LOGITS_TOL, and greedy
 * tokens equal to the reference's over a prompt several times the sliding window, in one prefill, in split prefills
 * (maxBatch 7), after reusing the live KV cache for a prefix that crosses the window, and from the prefix cache.
 */
import { describe, expect, test } from 'vitest';
import { load } from '../../src/index.ts';
import { fixtureConfig, fixtureOptionsForTest } from './fixture-urls.ts';
import { checkModel, referenceFor } from './model-check.ts';

/** 40 tokens: 5 windows of the tiny gemma3 fixture. */
const PROMPT = Array.from({ length: 40 }, (_, i) => (i * 7919 + 13) % 290);

const CASES: Array<[spec: string, file: 'model.gguf' | 'model.safetensors']> = [
  ['gemma3_tiny~gemma3~f32~s31~qk4', 'model.gguf'],
  ['gemma3_tiny~gemma3~f32~s33~qk4', 'model.safetensors'],
  ['gemma2_tiny~gemma2~f32~s34~qk4', 'model.gguf'],
  ['gemma2_tiny~gemma2~bf16~s35~qk4', 'model.safetensors'],
  ['smollm3_tiny~smollm3~q8_0~s36~qk2', 'model.gguf'],
  ['smollm3_tiny~smollm3~f16~s37~qk2', 'model.safetensors'],
  ['mistral_tiny~mistral~f32~s38~qk4', 'model.safetensors'],
  // LongRoPE past its original context of 32 (long factors), partial rotary with GQA (phi3_tiny), whole heads (phi35_tiny).
  ['phi3_tiny~phi3~f32~s39~qk2', 'model.gguf'],
  ['phi3_tiny~phi3~f16~s40~qk2', 'model.safetensors'],
  ['phi35_tiny~phi3~f32~s41~qk2', 'model.gguf'],
];

describe('families vs the reference', () => {
  for (const [spec, file] of CASES) {
    const format = file === 'model.gguf' ? 'gguf' : 'safetensors';
    const url = `/fixtures/${spec}/${file}`;
    test(`${spec} ${format}: logits and greedy tokens, one prefill and split prefills`, async () => {
      const config = fixtureConfig(fixtureOptionsForTest(spec), format);
      if (config.slidingWindow) expect(config.slidingWindow).toBeLessThan(PROMPT.length / 4);
      await checkModel(url, config, { prompt: PROMPT, nGreedy: 10 });
      await checkModel(url, config, { prompt: PROMPT, nGreedy: 6, maxBatch: 7 });
    });
  }

  test('LongRoPE within the original context: the short factors (loaded with a context of 32)', async () => {
    for (const spec of ['phi3_tiny~phi3~f32~s39~qk2', 'phi35_tiny~phi3~f32~s42~qk2']) {
      const config = fixtureConfig(fixtureOptionsForTest(spec), 'gguf');
      expect(config.ropeScaling).toMatchObject({ type: 'longrope', originalContextLength: 32 });
      await checkModel(`/fixtures/${spec}/model.gguf`, config, { prompt: PROMPT.slice(0, 24), nGreedy: 6, contextLength: 32 });
    }
  });

  test('gemma2: the per-row head soft-caps its logits too (evaluate = the reference, token by token)', async () => {
    const spec = 'gemma2_tiny~gemma2~f32~s34~qk4';
    const url = `/fixtures/${spec}/model.gguf`;
    const config = fixtureConfig(fixtureOptionsForTest(spec), 'gguf');
    expect(config.finalSoftcap).toBe(3);
    const ref = await referenceFor(url, config);
    const engine = await load(url, { maxBatch: 16 });
    try {
      // One window of 40 (llama.cpp's scheme: BOS first when the model has one, the second half scored).
      const r = await engine.evaluate(PROMPT, { window: 40 });
      // BOS replaces the first token only when the model adds one by default.
      const [bos] = await engine.tokenize('');
      const w = bos === undefined ? PROMPT : [bos, ...PROMPT.slice(1)];
      const logits = ref.forward(w, { allLogits: true });
      const V = config.vocabSize;
      const want: number[] = [];
      for (let j = 20; j < 39; j++) {
        const row = logits.subarray(j * V, (j + 1) * V);
        const max = Math.max(...row);
        const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
        want.push(lse - row[w[j + 1]]);
      }
      expect(r.nll).toHaveLength(want.length);
      const worst = Math.max(...want.map((v, i) => Math.abs(v - r.nll[i])));
      expect(worst, `max |Δ nll| ${worst}`).toBeLessThan(1e-3);
    } finally {
      await engine.dispose();
    }
  });

  test('prefix reuse and the prefix cache across the sliding window', async () => {
    const [spec] = CASES[0];
    const url = `/fixtures/${spec}/model.gguf`;
    const ref = await referenceFor(url, fixtureConfig(fixtureOptionsForTest(spec), 'gguf'));
    const engine = await load(url, { maxBatch: 16 });
    try {
      const run = (p: number[]) => engine.complete(p, { maxTokens: 6, temperature: 0, ignoreEos: true });
      const a = PROMPT;
      const b = [...PROMPT.slice(0, 30), 5, 6, 7, 8, 9, 10];
      const other = PROMPT.map((t) => (t + 101) % 290);
      expect((await run(a)).tokens).toEqual(ref.greedy(a, 6));
      const reused = await run(b); // live KV cache: the first 30 positions (almost 4 windows) kept
      expect(reused.stats.reusedPromptTokens).toBe(30);
      expect(reused.tokens).toEqual(ref.greedy(b, 6));
      await run(other);
      const restored = await run(a); // from the prefix cache
      expect(restored.stats.prefixCachedTokens).toBeGreaterThanOrEqual(30);
      expect(restored.tokens).toEqual(ref.greedy(a, 6));
    } finally {
      await engine.dispose();
    }
  });
});
