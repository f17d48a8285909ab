/**
 * Whole forward passes of random-weight fixtures (every architecture x tensor type, GGUF and safetensors) against
 * the TS reference: last-token logits within LOGITS_TOL and identical greedy tokens.
 */
import { describe, test } from 'vitest';
import { fixtureConfig, fixtureOptionsForTest } from './fixture-urls.ts';
import { checkModel } from './model-check.ts';

const PROMPT = [1, 17, 42, 7, 99, 250, 3, 64, 128, 5, 77, 200];

const GGUF_CASES = [
  'tiny~llama~f32~s1', 'tiny~llama~f16~s2', 'tiny~llama~q8_0~s3', 'tiny~llama~q4_0~s4',
  'tiny~llama~q8_0~s5~tied', 'tiny~llama~q4_0~s6~llama3',
  'tiny~qwen2~q8_0~s7', 'tiny~qwen2~f16~s8',
  'tiny~qwen3~q4_0~s9', 'tiny~qwen3~f32~s10~tied',
];
const SAFETENSORS_CASES = ['tiny~llama~bf16~s11', 'tiny~qwen2~f16~s12', 'tiny~qwen3~f32~s13', 'tiny~llama~f32~s15~llama3'];

describe('GGUF fixtures', () => {
  for (const spec of GGUF_CASES) {
    test(spec, async () => {
      await checkModel(`/fixtures/${spec}/model.gguf`, fixtureConfig(fixtureOptionsForTest(spec), 'gguf'), { prompt: PROMPT, nGreedy: 12 });
    });
  }
  test('prefill split into several submissions (maxBatch 5) matches one pass', async () => {
    const spec = 'tiny~qwen2~q4_0~s14';
    await checkModel(`/fixtures/${spec}/model.gguf`, fixtureConfig(fixtureOptionsForTest(spec), 'gguf'), { prompt: PROMPT, nGreedy: 8, maxBatch: 5 });
  });
});

describe('safetensors fixtures (config.json + tokenizer.json beside the weights)', () => {
  for (const spec of SAFETENSORS_CASES) {
    test(spec, async () => {
      await checkModel(`/fixtures/${spec}/model.safetensors`, fixtureConfig(fixtureOptionsForTest(spec), 'safetensors'), { prompt: PROMPT, nGreedy: 12 });
    });
  }
});
