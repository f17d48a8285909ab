import type { ModelConfig } from './types.ts';

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

/**
 * Per-frequency divisor of the RoPE inverse frequencies (length ropeDim/2): frequency i rotates by
 * `pos * theta^(-2i/ropeDim) / factors[i]`. All ones without scaling; `factor` everywhere for linear; for
 * llama3, 1 for high frequencies, `factor` for low ones and a smooth blend between (HF
 * `_compute_llama3_parameters`, llama.cpp's `rope_freqs` tensor); for LongRoPE the long factors when the model runs
 * with a context (`contextLength`, default the model's) beyond the original one, else the short ones.
 */
export function ropeFreqFactors(
  config: Pick<ModelConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'> & Partial<Pick<ModelConfig, 'ropeDim' | 'contextLength'>>,
  contextLength = config.contextLength ?? 0,
): Float32Array {
  const dim = config.ropeDim ?? config.headDim;
  const half = dim / 2;
  const out = new Float32Array(half).fill(1);
  const s = config.ropeScaling;
  if (!s) return out;
  if (s.type === 'linear') return out.fill(s.factor);
  if (s.type === 'longrope') {
    const f = contextLength > s.originalContextLength ? s.long : s.short;
    // A GGUF's LongRoPE factors are tensors (the runtime reads rope_factors_long/short.weight).
    if (!f) throw new Error('LongRoPE factors of a GGUF model are tensors, not config values');
    return Float32Array.from(f);
  }
  const lowFreqWavelen = s.originalContextLength / s.lowFreqFactor;
  const highFreqWavelen = s.originalContextLength / s.highFreqFactor;
  for (let i = 0; i < half; i++) {
    const invFreq = config.ropeTheta ** ((-2 * i) / dim);
    const wavelen = (2 * Math.PI) / invFreq;
    if (wavelen < highFreqWavelen) out[i] = 1;
    else if (wavelen > lowFreqWavelen) out[i] = s.factor;
    else {
      const smooth = (s.originalContextLength / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      out[i] = 1 / ((1 - smooth) / s.factor + smooth);
    }
  }
  return out;
}

/**
 * The RoPE divisors a model runs with at `contextLength`: a GGUF's `rope_freqs.weight` (llama3) or its LongRoPE
 * tensor (`rope_factors_long` beyond the original context, else `rope_factors_short`), else what the config says;
 * undefined when unscaled.
 */
export function ropeFactorsFor(
  config: ModelConfig, contextLength: number, tensor: (name: string) => Float32Array | undefined,
): Float32Array | undefined {
  const s = config.ropeScaling;
  const fromFile = s?.type === 'longrope' && !s.long
    ? tensor(contextLength > s.originalContextLength ? 'rope_factors_long.weight' : 'rope_factors_short.weight')
    : undefined;
  return tensor('rope_freqs.weight') ?? fromFile ?? (s ? ropeFreqFactors(config, contextLength) : undefined);
}
