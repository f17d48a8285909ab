/**
 * Realistic shapes: random-weight fixtures with SmolLM2-135M's exact dimensions (30 layers, 9/3 heads, vocab 49152,
 * tied head) in Q8_0 and Q4_0, checked end to end against the TS reference (logits within LOGITS_TOL, same greedy
 * tokens). Short prompts keep the JS reference affordable on 2 cores. Gemma 3 1B's layer shapes (6 layers, a small
 * vocabulary) over a prompt twice its test window.
 */
import { test } from 'vitest';
import { fixtureConfig, fixtureOptionsForTest } from './fixture-urls.ts';
import { checkModel } from './model-check.ts';

for (const spec of ['smollm2_135m~llama~q8_0~s21', 'smollm2_135m~llama~q4_0~s22']) {
  test(spec, async () => {
    await checkModel(`/fixtures/${spec}/model.gguf`, fixtureConfig(fixtureOptionsForTest(spec), 'gguf'), { prompt: [1, 900, 31000, 77, 4242], nGreedy: 3 });
  });
}

test('gemma3_1b_6l~gemma3~q8_0~s23', async () => {
  const spec = 'gemma3_1b_6l~gemma3~q8_0~s23';
  await checkModel(`/fixtures/${spec}/model.gguf`, fixtureConfig(fixtureOptionsForTest(spec), 'gguf'), { prompt: [2, 900, 3100, 77, 4042, 5, 61, 700], nGreedy: 3 });
});
