/**
 * Reference BERT-family encoder in plain TypeScript (f64 sums, f32 storage): GGUF `bert` (all-MiniLM, bge, e5, gte)
 * and `nomic-bert`, written from HF transformers' modeling_bert and nomic's NomicBertModel (llama.cpp's
 * src/models/bert.cpp computes the same graph), never from our WGSL or src/ code. Its config is read from the GGUF
 * metadata here, apart from src/formats.
 *
 *   x = LayerNorm(tok_embd[id] + pos_embd[p] (bert only) + token_types[0])
 *   per layer (post-norm):
 *     q, k, v = x Wq + bq, x Wk + bk, x Wv + bv          (nomic-bert: one fused Wqkv, no bias, then RoPE neox on q, k)
 *     x = LayerNorm(x + softmax(q kᵀ / √hd) v Wo + bo)     (bidirectional: every token sees its whole sequence)
 *     x = LayerNorm(x + gelu(x Wup + bup) Wdown + bdown)  (nomic-bert: silu(x Wgate) · (x Wup), no bias)
 *   pooled = mean over tokens | the first token (CLS) | the last token; then optionally L2-normalised.
 * GELU is the exact one, 0.5·x·(1 + erf(x/√2)) (HF "gelu").
 */
import type { GgufHeader } from '../../src/formats/gguf.ts';
import { ModelFormatError, UnsupportedModelError } from '../../src/errors.ts';
import { add, matmul, rope, siluMul } from './ops.ts';
import type { WeightSource } from './llama-ref.ts';

export type RefPooling = 'mean' | 'cls' | 'last';

export interface EncoderRefConfig {
  arch: 'bert' | 'nomic-bert';
  dim: number;
  nLayers: number;
  nHeads: number;
  ffnDim: number;
  eps: number;
  /** RoPE base (nomic-bert). */
  ropeTheta: number;
  /** As the GGUF says (`{arch}.pooling_type`: 1 mean, 2 cls, 3 last). */
  pooling: RefPooling;
}

const POOLING: Record<number, RefPooling> = { 1: 'mean', 2: 'cls', 3: 'last' };

export function referenceEncoderConfig(header: GgufHeader): EncoderRefConfig {
  const m = header.metadata;
  const arch = m.get('general.architecture');
  if (arch !== 'bert' && arch !== 'nomic-bert') throw new UnsupportedModelError(`Reference encoder reads bert/nomic-bert GGUFs, got ${String(arch)}.`);
  const num = (k: string, fallback?: number): number => {
    const v = m.get(`${arch}.${k}`) ?? fallback;
    if (typeof v !== 'number') throw new ModelFormatError(`GGUF ${arch}.${k} is ${String(v)}, expected a number.`);
    return v;
  };
  return {
    arch,
    dim: num('embedding_length'),
    nLayers: num('block_count'),
    nHeads: num('attention.head_count'),
    ffnDim: num('feed_forward_length'),
    eps: num('attention.layer_norm_epsilon'),
    ropeTheta: num('rope.freq_base', 10000),
    pooling: POOLING[num('pooling_type', 1)] ?? 'mean',
  };
}

/** Error function, |error| < 1.2e-7 (Numerical Recipes' Chebyshev erfc). */
export function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const erfc = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - erfc : erfc - 1;
}

export function gelu(x: Float32Array): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = 0.5 * x[i] * (1 + erf(x[i] / Math.SQRT2));
  return y;
}

/** LayerNorm of each row: (x − mean) / sqrt(var + eps) · weight + bias (biased variance, as torch). */
export function layerNorm(x: Float32Array, weight: Float32Array, bias: Float32Array, dim: number, eps: number): Float32Array {
  if (x.length % dim !== 0 || weight.length !== dim || bias.length !== dim) throw new RangeError('layerNorm: shapes do not match');
  const y = new Float32Array(x.length);
  for (let o = 0; o < x.length; o += dim) {
    let mean = 0;
    for (let i = 0; i < dim; i++) mean += x[o + i];
    mean /= dim;
    let v = 0;
    for (let i = 0; i < dim; i++) v += (x[o + i] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / dim + eps);
    for (let i = 0; i < dim; i++) y[o + i] = (x[o + i] - mean) * inv * weight[i] + bias[i];
  }
  return y;
}

/** Bidirectional attention within one sequence: q, k, v [n, nHeads·hd]; every query sees all n keys. */
export function fullAttention(q: Float32Array, k: Float32Array, v: Float32Array, n: number, nHeads: number, hd: number): Float32Array {
  const stride = nHeads * hd;
  const out = new Float32Array(n * stride);
  const s = new Float64Array(n);
  const scale = 1 / Math.sqrt(hd);
  for (let t = 0; t < n; t++) {
    for (let h = 0; h < nHeads; h++) {
      const qo = t * stride + h * hd;
      let max = -Infinity;
      for (let j = 0; j < n; j++) {
        let d = 0;
        for (let i = 0; i < hd; i++) d += q[qo + i] * k[j * stride + h * hd + i];
        s[j] = d * scale;
        if (s[j] > max) max = s[j];
      }
      let sum = 0;
      for (let j = 0; j < n; j++) sum += (s[j] = Math.exp(s[j] - max));
      for (let i = 0; i < hd; i++) {
        let acc = 0;
        for (let j = 0; j < n; j++) acc += s[j] * v[j * stride + h * hd + i];
        out[qo + i] = acc / sum;
      }
    }
  }
  return out;
}

/** Pools [n, dim] rows into one vector. */
export function pool(x: Float32Array, n: number, dim: number, pooling: RefPooling): Float32Array {
  if (pooling === 'cls') return x.slice(0, dim);
  if (pooling === 'last') return x.slice((n - 1) * dim, n * dim);
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) {
    let s = 0;
    for (let t = 0; t < n; t++) s += x[t * dim + i];
    out[i] = s / n;
  }
  return out;
}

export function l2normalize(v: Float32Array): Float32Array {
  let ss = 0;
  for (const x of v) ss += x * x;
  const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
  return Float32Array.from(v, (x) => x * inv);
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

export class ReferenceEncoder {
  constructor(
    readonly config: EncoderRefConfig,
    private readonly weight: WeightSource,
  ) {}

  private w(name: string): Float32Array {
    const v = this.weight(name);
    if (!v) throw new ModelFormatError(`Reference encoder: tensor ${name} is missing.`);
    return v;
  }

  /** Final hidden states [tokens.length, dim] of one sequence. */
  hidden(tokens: readonly number[]): Float32Array {
    const c = this.config;
    const { dim, nHeads } = c;
    const hd = dim / nHeads;
    const n = tokens.length;
    const tok = this.w('token_embd.weight');
    const types = this.w('token_types.weight');
    const pos = c.arch === 'bert' ? this.w('position_embd.weight') : undefined;
    let x: Float32Array = new Float32Array(n * dim);
    for (let t = 0; t < n; t++) {
      for (let i = 0; i < dim; i++) {
        x[t * dim + i] = tok[tokens[t] * dim + i] + types[i] + (pos ? pos[t * dim + i] : 0);
      }
    }
    x = layerNorm(x, this.w('token_embd_norm.weight'), this.w('token_embd_norm.bias'), dim, c.eps);
    const positions = tokens.map((_, i) => i);
    for (let l = 0; l < c.nLayers; l++) {
      const p = `blk.${l}.`;
      let q: Float32Array, k: Float32Array, v: Float32Array;
      if (c.arch === 'nomic-bert') {
        const qkv = matmul(this.w(p + 'attn_qkv.weight'), x, n, 3 * dim, dim);
        q = new Float32Array(n * dim);
        k = new Float32Array(n * dim);
        v = new Float32Array(n * dim);
        for (let t = 0; t < n; t++) {
          q.set(qkv.subarray(t * 3 * dim, t * 3 * dim + dim), t * dim);
          k.set(qkv.subarray(t * 3 * dim + dim, t * 3 * dim + 2 * dim), t * dim);
          v.set(qkv.subarray(t * 3 * dim + 2 * dim, t * 3 * dim + 3 * dim), t * dim);
        }
        q = rope(q, positions, nHeads, hd, c.ropeTheta, 'neox');
        k = rope(k, positions, nHeads, hd, c.ropeTheta, 'neox');
      } else {
        q = matmul(this.w(p + 'attn_q.weight'), x, n, dim, dim, this.w(p + 'attn_q.bias'));
        k = matmul(this.w(p + 'attn_k.weight'), x, n, dim, dim, this.w(p + 'attn_k.bias'));
        v = matmul(this.w(p + 'attn_v.weight'), x, n, dim, dim, this.w(p + 'attn_v.bias'));
      }
      const att = fullAttention(q, k, v, n, nHeads, hd);
      const o = matmul(this.w(p + 'attn_output.weight'), att, n, dim, dim, this.weight(p + 'attn_output.bias'));
      x = layerNorm(add(x, o), this.w(p + 'attn_output_norm.weight'), this.w(p + 'attn_output_norm.bias'), dim, c.eps);
      let f: Float32Array;
      if (c.arch === 'nomic-bert') {
        const g = matmul(this.w(p + 'ffn_gate.weight'), x, n, c.ffnDim, dim);
        const u = matmul(this.w(p + 'ffn_up.weight'), x, n, c.ffnDim, dim);
        f = matmul(this.w(p + 'ffn_down.weight'), siluMul(g, u), n, dim, c.ffnDim);
      } else {
        const u = gelu(matmul(this.w(p + 'ffn_up.weight'), x, n, c.ffnDim, dim, this.w(p + 'ffn_up.bias')));
        f = matmul(this.w(p + 'ffn_down.weight'), u, n, dim, c.ffnDim, this.w(p + 'ffn_down.bias'));
      }
      x = layerNorm(add(x, f), this.w(p + 'layer_output_norm.weight'), this.w(p + 'layer_output_norm.bias'), dim, c.eps);
    }
    return x;
  }

  /** The pooled (and, by default, L2-normalised) embedding of one sequence of token ids. */
  embed(tokens: readonly number[], options: { pooling?: RefPooling; normalize?: boolean } = {}): Float32Array {
    if (tokens.length === 0) throw new RangeError('embed: no tokens');
    const v = pool(this.hidden(tokens), tokens.length, this.config.dim, options.pooling ?? this.config.pooling);
    return options.normalize === false ? v : l2normalize(v);
  }
}
