/**
 * RoPE inverse frequencies, inv_freq[i] = theta^(-2i/headDim) / factor[i], computed in f64 and stored as f32.
 * `factors` are per-frequency divisors: llama3 scaling (GGUF `rope_freqs.weight`, or derived from the HF config),
 * a constant for linear scaling, absent when unscaled.
 */
export function ropeInvFreq(headDim: number, theta: number, factors?: Float32Array): Float32Array {
  const half = headDim / 2;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) out[i] = Math.pow(theta, (-2 * i) / headDim) / (factors ? factors[i] : 1);
  return out;
}
