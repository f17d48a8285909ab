/**
 * Reference forward pass of the `llama`, `qwen2` and `qwen3` architectures in plain TypeScript (f32 storage,
 * f64 sums), written from HF transformers' modeling_llama / modeling_qwen2 / modeling_qwen3:
 *
 *   x = embed(tokens)
 *   per layer:  h = rmsnorm(x)·attn_norm
 *               q, k, v = h·Wqᵀ (+bq), h·Wkᵀ (+bk), h·Wvᵀ (+bv)        biases: qwen2
 *               q, k = rmsnorm per head (q_norm, k_norm)              qwen3, before RoPE
 *               q, k = rope(q), rope(k); k, v appended to the cache
 *               x += attention(q, kcache, vcache)·Woᵀ
 *               h = rmsnorm(x)·ffn_norm;  x += (silu(h·Wgᵀ) · h·Wuᵀ)·Wdᵀ
 *   logits = rmsnorm(x)·output_norm · Woutᵀ                          Wout = token_embd when tied
 *
 * gemma2 / gemma3 (modeling_gemma2 / modeling_gemma3), from the config's family fields: x = embed·√dim; q·k scaled by
 * query_pre_attn_scalar^-½ and (gemma2) soft-capped; sliding layers see the last `slidingWindow` positions and
 * (gemma3) rotate with their own base, unscaled; each block's output is RMSNormed (post_attention_norm,
 * post_ffw_norm) before its residual add; the FFN gate is GELU (tanh); gemma2 soft-caps the final logits. Norm weights
 * are the effective ones (GGUF's stored 1 + w).
 *
 * smollm3 skips RoPE on the layers config.ropeLayers marks false; mistral (HF) slides every layer's window.
 *
 * phi3 (modeling_phi3): q, k, v are row ranges of one qkv_proj output and gate, up the two halves of gate_up_proj's
 * (`attn_qkv`, `ffn_up` with 2·ffn rows); only the first ropeDim dimensions of a head rotate (partial_rotary_factor);
 * LongRoPE divides the frequencies by the long factors when the context the model runs with exceeds the original one
 * (llama.cpp's rule; HF switches per call by sequence length), else by the short ones, and multiplies the rotated
 * part of q and k by the attention factor.
 *
 * Independent of src/: only the shared types are imported; RoPE scaling factors are computed here too.
 */
import type { ModelConfig } from '../../src/model/types.ts';
import { ModelFormatError, InvalidRequestError } from '../../src/errors.ts';
import { add, argmax, attention, embedding, geluMul, matmul, rmsnorm, rope, siluMul } from './ops.ts';

/** Canonical-GGUF-name → dequantized row-major data (undefined when the file has no such tensor). */
export type WeightSource = (name: string) => Float32Array | undefined;

/** Called with intermediate activations (all rows of the fed batch) so GPU code can be compared stage by stage. */
export type TensorTap = (name: string, layer: number, data: Float32Array) => void;

export interface ForwardOptions {
  /** Return logits of every fed token ([n, vocab]) instead of only the last ([vocab]). */
  allLogits?: boolean;
  /**
   * Compute GELU as llama.cpp's CPU backend does (input and result rounded to f16: ops.geluMul `f16Table`), to hold
   * the reference to llama.cpp's numbers; HF computes it in full precision (the default).
   */
  llamacppGelu?: boolean;
  /** Receives intermediates: per layer `attn_norm q k v q_rope k_rope attn attn_out ffn_norm ffn_act ffn_out layer_out` (`ffn_act`: the gated activation, the down projection's input); then `output_norm` and `logits` with layer −1. */
  tap?: TensorTap;
}

/**
 * Per-pair RoPE frequency divisors from the config's scaling (llama3 as in HF `_compute_llama3_parameters`,
 * linear = factor everywhere), or undefined when unscaled. Pair i has base frequency theta^(−2i/headDim).
 */
export function referenceRopeFreqFactors(config: ModelConfig, contextLength = config.contextLength): Float32Array | undefined {
  const s = config.ropeScaling;
  if (!s) return undefined;
  const rotDim = config.ropeDim ?? config.headDim;
  const half = rotDim / 2;
  const out = new Float32Array(half);
  if (s.type === 'linear') return out.fill(s.factor);
  if (s.type === 'longrope') {
    const f = contextLength > s.originalContextLength ? s.long : s.short;
    return f ? Float32Array.from(f) : undefined;
  }
  const lowFreqWavelen = s.originalContextLength / s.lowFreqFactor;
  const highFreqWavelen = s.originalContextLength / s.highFreqFactor;
  for (let i = 0; i < half; i++) {
    const invFreq = Math.pow(config.ropeTheta, (-2 * i) / rotDim);
    const wavelen = (2 * Math.PI) / invFreq;
    if (wavelen < highFreqWavelen) out[i] = 1; // high frequencies kept
    else if (wavelen > lowFreqWavelen) out[i] = s.factor; // low frequencies divided by factor
    else {
      // in between: HF blends invFreq/factor and invFreq; as a divisor that is 1 / ((1−smooth)/factor + smooth)
      const smooth = (s.originalContextLength / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      out[i] = 1 / ((1 - smooth) / s.factor + smooth);
    }
  }
  return out;
}

interface LayerWeights {
  attnNorm: Float32Array;
  wq: Float32Array;
  wk: Float32Array;
  wv: Float32Array;
  bq?: Float32Array;
  bk?: Float32Array;
  bv?: Float32Array;
  qNorm?: Float32Array;
  kNorm?: Float32Array;
  wo: Float32Array;
  ffnNorm: Float32Array;
  wGate: Float32Array;
  wUp: Float32Array;
  wDown: Float32Array;
  postAttnNorm?: Float32Array;
  postFfnNorm?: Float32Array;
}

export interface ReferenceOptions {
  /** The context the model runs with (llama.cpp's n_ctx; picks LongRoPE's factors); default config.contextLength. */
  contextLength?: number;
}

/** Row ranges of a fused matrix [Σ rows, cols], in order. */
function splitRows(w: Float32Array, cols: number, rows: number[]): Float32Array[] {
  let r = 0;
  return rows.map((n) => {
    const part = w.subarray(r * cols, (r + n) * cols);
    r += n;
    return part;
  });
}

export class ReferenceModel {
  readonly config: ModelConfig;
  private readonly tokenEmbd: Float32Array;
  private readonly outputNorm: Float32Array;
  private readonly output: Float32Array;
  private readonly layers: LayerWeights[] = [];
  private readonly freqFactors: Float32Array | undefined;
  /** Multiplier of the rotated part of q and k (LongRoPE's attention factor). */
  private readonly ropeScale: number;
  /** Per layer: post-RoPE keys and values of every fed position, [contextLength, nKvHeads·headDim]. */
  private readonly kCache: Float32Array[] = [];
  private readonly vCache: Float32Array[] = [];
  private pos = 0;
  /** What the cache keeps of new K/V rows [T, kvDim] (default: them; a packed KV format: kv-round.ts). */
  kvStore: (rows: Float32Array) => Float32Array = (rows) => rows;

  constructor(config: ModelConfig, weight: WeightSource, opts: ReferenceOptions = {}) {
    this.config = config;
    const { dim, vocabSize, nHeads, nKvHeads, headDim, ffnDim } = config;
    const get = (name: string, n: number, required = true): Float32Array | undefined => {
      const w = weight(name);
      if (!w) {
        if (required) throw new ModelFormatError(`Reference model: tensor ${name} is missing; the config (${config.arch}) needs it.`);
        return undefined;
      }
      if (w.length !== n) throw new ModelFormatError(`Reference model: tensor ${name} has ${w.length} elements, expected ${n}.`);
      return w;
    };
    const req = (name: string, n: number): Float32Array => get(name, n) as Float32Array;
    const qDim = nHeads * headDim;
    const kvDim = nKvHeads * headDim;
    this.tokenEmbd = req('token_embd.weight', vocabSize * dim);
    this.outputNorm = req('output_norm.weight', dim);
    this.output = config.tiedEmbeddings
      ? (get('output.weight', vocabSize * dim, false) ?? this.tokenEmbd)
      : req('output.weight', vocabSize * dim);
    for (let i = 0; i < config.nLayers; i++) {
      const p = `blk.${i}.`;
      // phi3: one qkv_proj and one gate_up_proj.
      const qkv = weight(p + 'attn_qkv.weight') ? splitRows(req(p + 'attn_qkv.weight', (qDim + 2 * kvDim) * dim), dim, [qDim, kvDim, kvDim]) : undefined;
      const gateUp = weight(p + 'ffn_gate.weight') ? undefined : splitRows(req(p + 'ffn_up.weight', 2 * ffnDim * dim), dim, [ffnDim, ffnDim]);
      this.layers.push({
        attnNorm: req(p + 'attn_norm.weight', dim),
        wq: qkv?.[0] ?? req(p + 'attn_q.weight', qDim * dim),
        wk: qkv?.[1] ?? req(p + 'attn_k.weight', kvDim * dim),
        wv: qkv?.[2] ?? req(p + 'attn_v.weight', kvDim * dim),
        bq: config.qkvBias ? req(p + 'attn_q.bias', qDim) : undefined,
        bk: config.qkvBias ? req(p + 'attn_k.bias', kvDim) : undefined,
        bv: config.qkvBias ? req(p + 'attn_v.bias', kvDim) : undefined,
        qNorm: config.qkNorm ? req(p + 'attn_q_norm.weight', headDim) : undefined,
        kNorm: config.qkNorm ? req(p + 'attn_k_norm.weight', headDim) : undefined,
        wo: req(p + 'attn_output.weight', dim * qDim),
        ffnNorm: req(p + 'ffn_norm.weight', dim),
        wGate: gateUp?.[0] ?? req(p + 'ffn_gate.weight', ffnDim * dim),
        wUp: gateUp?.[1] ?? req(p + 'ffn_up.weight', ffnDim * dim),
        wDown: req(p + 'ffn_down.weight', dim * ffnDim),
        postAttnNorm: config.postNorms ? req(p + 'post_attention_norm.weight', dim) : undefined,
        postFfnNorm: config.postNorms ? req(p + 'post_ffw_norm.weight', dim) : undefined,
      });
      this.kCache.push(new Float32Array(config.contextLength * kvDim));
      this.vCache.push(new Float32Array(config.contextLength * kvDim));
    }
    // A llama3-scaled GGUF carries its factors, a LongRoPE one both sets; otherwise derive them from the config.
    const pairs = (config.ropeDim ?? headDim) / 2;
    const ctx = opts.contextLength ?? config.contextLength;
    const s = config.ropeScaling;
    const longrope = s?.type === 'longrope' ? s : undefined;
    const fileLongRope = longrope && get(ctx > longrope.originalContextLength ? 'rope_factors_long.weight' : 'rope_factors_short.weight', pairs, false);
    this.freqFactors = get('rope_freqs.weight', pairs, false) ?? fileLongRope ?? referenceRopeFreqFactors(config, ctx);
    this.ropeScale = longrope?.attnFactor ?? 1;
  }

  /** Number of positions already in the KV cache. */
  get position(): number {
    return this.pos;
  }

  /** Forgets the KV cache: the next token goes to position 0. */
  reset(): void {
    this.pos = 0;
  }

  /** Feeds tokens at the next positions; returns logits [n, vocab] (allLogits) or of the last token [vocab]. */
  forward(tokens: readonly number[], opts: ForwardOptions = {}): Float32Array {
    const c = this.config;
    const T = tokens.length;
    if (T === 0) throw new InvalidRequestError('Reference model: forward() needs at least one token.');
    if (this.pos + T > c.contextLength) {
      throw new InvalidRequestError(`Reference model: ${this.pos} + ${T} tokens exceed the context of ${c.contextLength}; call reset().`);
    }
    const tap = opts.tap ?? (() => {});
    const { dim, nHeads, nKvHeads, headDim, ffnDim, normEps: eps } = c;
    const qDim = nHeads * headDim;
    const kvDim = nKvHeads * headDim;
    const pos0 = this.pos;
    const positions = tokens.map((_, t) => pos0 + t);

    let x = embedding(this.tokenEmbd, tokens, dim);
    if (c.embedScale !== undefined) x = x.map((v) => v * (c.embedScale as number));
    this.layers.forEach((L, l) => {
      const sliding = c.slidingWindow !== undefined && (c.slidingLayers?.[l] ?? true);
      const window = sliding ? c.slidingWindow : undefined;
      // gemma3: sliding layers rotate with their own base and no scaling.
      const local = sliding && c.ropeThetaLocal !== undefined;
      const theta = local ? (c.ropeThetaLocal as number) : c.ropeTheta;
      const factors = local ? undefined : this.freqFactors;
      const h = rmsnorm(x, L.attnNorm, T, dim, eps);
      tap('attn_norm', l, h);
      let q = matmul(L.wq, h, T, qDim, dim, L.bq);
      let k = matmul(L.wk, h, T, kvDim, dim, L.bk);
      const v = matmul(L.wv, h, T, kvDim, dim, L.bv);
      tap('q', l, q);
      tap('k', l, k);
      tap('v', l, v);
      if (L.qNorm && L.kNorm) {
        // qwen3: every head vector is its own RMSNorm row
        q = rmsnorm(q, L.qNorm, T * nHeads, headDim, eps);
        k = rmsnorm(k, L.kNorm, T * nKvHeads, headDim, eps);
      }
      // smollm3: some layers have no positional encoding at all.
      if (c.ropeLayers?.[l] !== false) {
        const partial = { rotDim: c.ropeDim, scale: this.ropeScale };
        q = rope(q, positions, nHeads, headDim, theta, c.ropeStyle, factors, partial);
        k = rope(k, positions, nKvHeads, headDim, theta, c.ropeStyle, factors, partial);
      }
      tap('q_rope', l, q);
      tap('k_rope', l, k);
      this.kCache[l].set(this.kvStore(k), pos0 * kvDim);
      this.vCache[l].set(this.kvStore(v), pos0 * kvDim);
      const kvLen = pos0 + T;
      const a = attention(
        q, this.kCache[l].subarray(0, kvLen * kvDim), this.vCache[l].subarray(0, kvLen * kvDim),
        nHeads, nKvHeads, headDim, T, kvLen, pos0, { scale: c.attnScale, softcap: c.attnSoftcap, window },
      );
      tap('attn', l, a);
      let ao = matmul(L.wo, a, T, dim, qDim);
      if (L.postAttnNorm) ao = rmsnorm(ao, L.postAttnNorm, T, dim, eps);
      tap('attn_out', l, ao);
      x = add(x, ao);
      const h2 = rmsnorm(x, L.ffnNorm, T, dim, eps);
      tap('ffn_norm', l, h2);
      const g = matmul(L.wGate, h2, T, ffnDim, dim);
      const u = matmul(L.wUp, h2, T, ffnDim, dim);
      const act = c.ffnAct === 'gelu' ? geluMul(g, u, { f16Table: opts.llamacppGelu }) : siluMul(g, u);
      tap('ffn_act', l, act);
      let f = matmul(L.wDown, act, T, dim, ffnDim);
      if (L.postFfnNorm) f = rmsnorm(f, L.postFfnNorm, T, dim, eps);
      tap('ffn_out', l, f);
      x = add(x, f);
      tap('layer_out', l, x);
    });
    this.pos += T;

    // Only the rows whose logits are wanted go through the (vocab-sized) output projection.
    const rows = opts.allLogits ? T : 1;
    const last = x.subarray((T - rows) * dim);
    const xn = rmsnorm(last, this.outputNorm, rows, dim, eps);
    tap('output_norm', -1, xn);
    let logits = matmul(this.output, xn, rows, c.vocabSize, dim);
    const cap = c.finalSoftcap;
    if (cap !== undefined) logits = logits.map((v) => cap * Math.tanh(v / cap));
    tap('logits', -1, logits);
    return logits;
  }

  /** Greedy decoding: resets, feeds the prompt, then appends nNew argmax tokens. Returns only the new tokens. */
  greedy(promptTokens: readonly number[], nNew: number): number[] {
    this.reset();
    const out: number[] = [];
    let logits = this.forward(promptTokens);
    for (let i = 0; i < nNew; i++) {
      const next = argmax(logits);
      out.push(next);
      if (i + 1 < nNew) logits = this.forward([next]);
    }
    return out;
  }
}
