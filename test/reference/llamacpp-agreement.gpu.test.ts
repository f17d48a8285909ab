/**
 * The TS reference against llama.cpp (wllama, WASM CPU) on the same GGUF files: every architecture path the
 * reference has (llama adjacent-pair RoPE, qwen2 Q/K/V biases, qwen3 Q/K norms, llama3 `rope_freqs`, tied output,
 * GQA; gemma3's sliding window, local/global RoPE bases, q/k norms, post-norms and GEGLU, on a prompt 5x its window;
 * gemma2's alternating window and attention / final soft-capping; smollm3's NoPE layers; phi3's fused q/k/v and
 * gate/up, partial rotary and LongRoPE past its original context of 32: long factors and attention factor)
 * on random-weight fixtures, plus both real models. Compared: log-softmax over the whole vocabulary after
 * prompts of 1, 9 and 40 tokens (llama.cpp reports log-probabilities, not raw logits).
 *
 * Tolerance: llama.cpp runs with flash attention off and an f32 KV cache (wllama-ref.ts); the comparison then
 * measured <= 1e-5 on every model here (f32 vs f64 rounding), so 2e-5 is allowed. (With flash attention on, its CPU
 * kernel rounds V to f16: 2e-3 after one token, 1.3e-2 after 40.) Deliberate
 * mistakes in the reference moved log-probs far past the tolerance (measured after 9 / 40 tokens): ignoring
 * rope_freqs 1.4 / 5.1, neox instead of normal RoPE on llama 2.6 / 5.8, normal instead of neox on qwen3 3.2 / 2.9,
 * zeroing qwen2's Q bias 0.29 / 0.45.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { ReferenceModel } from './llama-ref.ts';
import { loadGguf, referenceConfigFromGguf } from './gguf-weights.ts';
import { wllamaExitAll, wllamaLogits } from '../wllama/wllama-ref.ts';

const LOGPROB_TOL = 2e-5;
/**
 * GELU families (gemma): llama.cpp's CPU backend computes GELU from a table over f16 inputs (GGML_GELU_FP16), so its
 * GEGLU differs from the exact function by up to an f16 step (~5e-4 relative) per element. The reference emulates the
 * table (`llamacppGelu`), which took the gemma3 fixture from 2.5e-3 to 4e-6 after one token; beyond that, an input a
 * rounding away from an f16 boundary can still land in the other table entry, which measured up to 3.1e-4 (gemma3) and
 * 4.4e-4 (gemma2) over 40 tokens with Q/K ×4. Deliberate mistakes measured 0.04 … 4.7 on the gemma3 file (no sliding
 * window, window ±1, one RoPE base for all layers, every layer sliding) and 5.8 / 3.0 on gemma2 (no final / no
 * attention soft-capping), so 1e-3 still separates right from wrong by two orders of magnitude.
 * (smollm3 runs at the llama tolerance: 1.6e-5 after 40 tokens with Q/K ×2; RoPE on its NoPE layers measures 1.2. With
 * Q/K ×4 its f32-vs-f64 rounding, amplified by the peaked attention, reached 3.1e-5.)
 * (phi3 at the llama tolerance: ≤ 9.2e-6 after 40 tokens with Q/K ×2; mistakes measured after 9 tokens: no LongRoPE
 * attention factor 4.4 (phi3_tiny) / 0.77 (phi35_tiny), short factors instead of long 0.62 / 0.93.)
 */
const GELU_LOGPROB_TOL = 1e-3;

afterAll(async () => {
  await wllamaExitAll();
});

function logSoftmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(row, (v) => v - lse);
}

const MODELS = [
  '/fixtures/tiny~llama~f32~s21/model.gguf',
  '/fixtures/tiny~qwen2~f32~s22/model.gguf',
  '/fixtures/tiny~qwen3~f32~s23/model.gguf',
  '/fixtures/tiny~llama~f32~s24~llama3/model.gguf',
  '/fixtures/tiny~qwen3~f32~s25~tied/model.gguf',
  '/fixtures/gemma3_tiny~gemma3~f32~s26~qk4/model.gguf',
  '/fixtures/gemma2_tiny~gemma2~f32~s27~qk4/model.gguf',
  '/fixtures/smollm3_tiny~smollm3~f32~s28~qk2/model.gguf',
  '/fixtures/phi3_tiny~phi3~f32~s29~qk2/model.gguf',
  '/fixtures/phi35_tiny~phi3~f32~s30~qk2/model.gguf',
  '/shared/models/sotu-5m/sotu-5m-f32.gguf',
  '/shared/models/stories260K/stories260K.gguf',
];

describe('reference vs llama.cpp log-probabilities', () => {
  test.each(MODELS)('%s', async (url) => {
    const res = await fetch(url);
    expect(res.ok, `${url}: HTTP ${res.status}`).toBe(true);
    const { header, weight } = loadGguf(new Uint8Array(await res.arrayBuffer()), url);
    const config = referenceConfigFromGguf(header);
    const prompt = Array.from({ length: 40 }, (_, i) => (i === 0 ? 1 : (i * 7919 + 13) % config.vocabSize));
    const logits = new ReferenceModel(config, weight).forward(prompt, { allLogits: true, llamacppGelu: true });
    if (url.includes('llama3')) expect(weight('rope_freqs.weight')).toBeDefined();
    for (const n of [1, 9, 40]) {
      const ours = logSoftmax(logits.subarray((n - 1) * config.vocabSize, n * config.vocabSize));
      const theirs = await wllamaLogits(url, prompt.slice(0, n));
      let worst = 0;
      for (let i = 0; i < config.vocabSize; i++) worst = Math.max(worst, Math.abs(theirs[i] - ours[i]));
      console.log(`${url} after ${n} tokens: max |Δ log-prob| ${worst.toExponential(2)}`);
      expect(worst, `after ${n} tokens`).toBeLessThan(config.ffnAct === 'gelu' ? GELU_LOGPROB_TOL : LOGPROB_TOL);
    }
  });
});
