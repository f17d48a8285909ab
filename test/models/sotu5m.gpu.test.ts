/**
 * sotu-5m (a real 5M-parameter llama trained on public-domain text) in F32, F16, Q8_0 and Q4_0 against llama.cpp
 * (@wllama/wllama, WASM CPU path) on the same file, in the same browser.
 * - free-running greedy: 64 tokens from BOS, both engines on their own; we report the common prefix;
 * - teacher-forced agreement: at each of llama.cpp's 64 positions, is our argmax llama.cpp's token?
 * All four must agree on every token (measured: 64/64 each). llama.cpp's CPU path rounds activations to Q8_0/F16 for
 * quantized dot products while we keep them f32, so a future near-tie could flip one token: the teacher-forced rate
 * then says whether it is a tie or a real divergence. Teacher forcing only runs when the free runs differ (when they
 * match it is the same comparison).
 */
import { afterAll, describe, expect, test } from 'vitest';
import { load } from '../../src/index.ts';
import { wllamaGreedy, wllamaExitAll } from '../wllama/wllama-ref.ts';

const N = 64;
const BOS = 1;
const rates: Record<string, unknown> = {};

afterAll(async () => {
  await wllamaExitAll();
  console.log('sotu-5m agreement with llama.cpp', JSON.stringify(rates));
});

describe('sotu-5m vs llama.cpp (wllama)', () => {
  for (const type of ['f32', 'f16', 'q8_0', 'q4_0']) {
    test(type, async () => {
      const url = `/shared/models/sotu-5m/sotu-5m-${type}.gguf`;
      const theirs = await wllamaGreedy(url, [BOS], N);
      expect(theirs).toHaveLength(N);
      const engine = await load(url);
      try {
        const ours = (await engine.complete([BOS], { maxTokens: N, temperature: 0, ignoreEos: true })).tokens;
        let prefix = 0;
        while (prefix < N && ours[prefix] === theirs[prefix]) prefix++;
        let forced = prefix === N ? N : 0;
        for (let i = 0; i < N && prefix < N; i++) {
          const r = await engine.complete([BOS, ...theirs.slice(0, i)], { maxTokens: 1, temperature: 0, ignoreEos: true });
          if (r.tokens[0] === theirs[i]) forced++;
        }
        rates[type] = { commonPrefix: prefix, teacherForced: forced / N };
        expect(ours).toEqual(theirs);
      } finally {
        await engine.dispose();
      }
    });
  }
});
