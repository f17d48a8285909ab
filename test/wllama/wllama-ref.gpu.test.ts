/**
 * Validates the llama.cpp (wllama) reference engine against independent expectations: stories260K's golden greedy
 * ids, llama.cpp's golden tokenizer vectors, and invariants tying greedy decoding to the log-probabilities. Also
 * prints sotu-5m greedy ids (all four tensor types) for later comparison with our engine.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { WebGPUUnavailableError } from '../../src/errors.ts';
import {
  AmbiguousTokenizationError, wllamaExitAll, wllamaGreedy, wllamaLoadLog, wllamaLogits, wllamaModelInfo, wllamaTokenize,
} from './wllama-ref.ts';

const STORIES = '/shared/models/stories260K/stories260K.gguf';
const TINY_LLAMA2 = '/shared/models/llama-2-tiny-random/llama-2-tiny-random.gguf';
const sotu = (type: string): string => `/shared/models/sotu-5m/sotu-5m-${type}.gguf`;

async function fetchText(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return await res.text();
}
const parseIds = (line: string): number[] => (line.trim() ? line.trim().split(/\s+/).map(Number) : []);
const expectedStories = async (): Promise<number[]> => parseIds(await fetchText('/shared/models/stories260K/expected-greedy-200.ids.txt'));

function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}
const ms = (t0: number): string => `${(performance.now() - t0).toFixed(0)} ms`;

afterAll(async () => {
  await wllamaExitAll();
});

describe('stories260K on llama.cpp', () => {
  test('CPU greedy from BOS reproduces expected-greedy-200 (f32 and f16 KV cache)', async () => {
    const expected = await expectedStories();
    expect(expected[0]).toBe(1); // the file starts with BOS
    for (const kvCache of ['f32', 'f16'] as const) {
      let t0 = performance.now();
      await wllamaModelInfo(STORIES); // load outside the timed decode
      const loadMs = ms(t0);
      t0 = performance.now();
      const got = await wllamaGreedy(STORIES, [1], expected.length - 1, { kvCache });
      console.log(`stories260K CPU (KV ${kvCache}): load ${loadMs}, ${expected.length - 1} greedy tokens in ${ms(t0)}`);
      expect([1, ...got]).toEqual(expected);
      const kvLine = (await wllamaLoadLog(STORIES, { kvCache })).find((l) => l.includes('llama_kv_cache: size'));
      expect(kvLine).toContain(`K (${kvCache})`);
    }
  });

  test('decoding goes on past end-of-generation tokens (EOS moved to ",", 11 of which are in the golden ids)', async () => {
    const expected = await expectedStories();
    const comma = 432;
    expect(expected.filter((t) => t === comma).length).toBe(11);
    // llama-server stops at every EOG; each stop resubmits the sequence so far as one batched prompt.
    const t0 = performance.now();
    const got = await wllamaGreedy(STORIES, [1], expected.length - 1, { eosId: comma });
    console.log(`stories260K with EOS = ",": ${expected.length - 1} greedy tokens in ${ms(t0)}`);
    expect([1, ...got]).toEqual(expected);
  });

  test('log-probs are normalized and agree with greedy decoding, also for a 100-token batched prompt', async () => {
    const expected = await expectedStories();
    const afterBos = await wllamaLogits(STORIES, [1]);
    expect(afterBos.length).toBe(512);
    const total = afterBos.reduce((s, x) => s + Math.exp(x), 0);
    expect(Math.abs(total - 1)).toBeLessThan(1e-5);
    expect(argmax(afterBos)).toBe(expected[1]);
    // 100 prompt ids go through the id-marker vocabulary and are evaluated as one batch; the prediction must be
    // the token that step-by-step greedy decoding produced next.
    const t0 = performance.now();
    const after100 = await wllamaLogits(STORIES, expected.slice(0, 100));
    console.log(`stories260K log-probs after a 100-token prompt: ${ms(t0)}`);
    expect(argmax(after100)).toBe(expected[100]);
  });

  test('WebGPU path: reproduces the golden ids where the adapter has shader-f16, else refuses clearly', async () => {
    const expected = await expectedStories();
    const adapter = await navigator.gpu?.requestAdapter();
    if (!adapter?.features.has('shader-f16')) {
      // wllama's ggml-webgpu needs shader-f16 (SwiftShader has none) and would silently compute on the CPU.
      await expect(wllamaGreedy(STORIES, [1], 8, { backend: 'webgpu' })).rejects.toThrow(WebGPUUnavailableError);
      console.log('stories260K WebGPU: adapter lacks shader-f16, wllama cannot use WebGPU here (CPU path only)');
      return;
    }
    const t0 = performance.now();
    const got = await wllamaGreedy(STORIES, [1], expected.length - 1, { backend: 'webgpu' });
    console.log(`stories260K WebGPU: ${expected.length - 1} greedy tokens in ${ms(t0)}; ` +
      (await wllamaLoadLog(STORIES, { backend: 'webgpu' })).filter((l) => /offloaded/.test(l)).join(' '));
    expect([1, ...got]).toEqual(expected);
  });
});

describe('llama.cpp tokenizer readout', () => {
  test('llama-2-tiny-random (Llama-2 SentencePiece vocab) gives llama.cpp\'s golden ids for ggml-vocab-llama-spm', async () => {
    const inputs = (await fetchText('/shared/tokenizers/ggml-vocab-llama-spm.gguf.inp')).split('\n__ggml_vocab_test__\n');
    inputs.pop(); // the text after the last separator is not a case
    const outputs = (await fetchText('/shared/tokenizers/ggml-vocab-llama-spm.gguf.out')).split('\n');
    expect(inputs.length).toBeGreaterThan(40);
    const t0 = performance.now();
    let ambiguous = 0;
    for (let i = 0; i < inputs.length; i++) {
      const expected = parseIds(outputs[i]);
      try {
        expect(await wllamaTokenize(TINY_LLAMA2, inputs[i]), `case ${i}: ${JSON.stringify(inputs[i])}`).toEqual(expected);
      } catch (e) {
        if (!(e instanceof AmbiguousTokenizationError)) throw e;
        // The multiset was read back but spells the text in several orders: the golden order must be one of them.
        ambiguous++;
        expect(e.candidates, `case ${i}: ${JSON.stringify(inputs[i])}`).toContainEqual(expected);
      }
    }
    console.log(`tokenizer golden: ${inputs.length} cases in ${ms(t0)}, ${ambiguous} ambiguous (golden among candidates)`);
    expect(ambiguous).toBeLessThanOrEqual(2); // "!!!!!!" and the long mixed case; more would mean a regression
  });
});

describe('sotu-5m on llama.cpp (CPU)', () => {
  test.each(['f32', 'f16', 'q8_0', 'q4_0'])('%s: greedy 64 tokens from BOS', async (type) => {
    const url = sotu(type);
    const info = await wllamaModelInfo(url);
    expect(info.nVocab).toBe(4096);
    expect(info.nCtxTrain).toBe(256);
    const t0 = performance.now();
    const ids = await wllamaGreedy(url, [info.bos], 64);
    const took = ms(t0);
    console.log(`sotu-5m-${type} greedy from BOS ${info.bos} (64 tokens, ${took}): ${ids.join(' ')}`);
    expect(ids).toHaveLength(64);
    const afterBos = await wllamaLogits(url, [info.bos]);
    expect(argmax(afterBos)).toBe(ids[0]);
    await wllamaExitAll(url);
  });
});
