/**
 * Shared vocabulary of the engine: tensor element types, tensor descriptions and the model config.
 * Tensor names are canonical GGUF names (`blk.3.attn_q.weight`); safetensors names are mapped to them.
 */

/** Element types a tensor can have. Values are ggml's `ggml_type` ids, as stored in GGUF. */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ4_NL = 20,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  BF16 = 30,
}

/* Which types the engine computes with is the weight-format table's business (src/formats/weight-formats.ts). */

/** One tensor in a model file. */
export interface TensorInfo {
  /** Canonical GGUF-style name, e.g. `blk.0.attn_q.weight`. */
  name: string;
  type: GgmlType;
  /**
   * Row-major logical shape, outermost first: a weight matrix that maps `cols` inputs to `rows` outputs is
   * `[rows, cols]`. (GGUF stores `ne` innermost first, so this is `ne` reversed.)
   */
  shape: number[];
  /** Absolute byte offset of the tensor's data within its file. */
  offset: number;
  /** Bytes of data. */
  byteLength: number;
  /** Which file of a multi-file model holds it (0 for single-file models). */
  fileIndex?: number;
}

/** A model family's GGUF architecture name (`llama`, `qwen2`, …): src/families/index.ts lists the ones llmo runs. */
export type Architecture = string;

/**
 * How RoPE pairs dimensions within a head:
 * - `normal`: adjacent pairs (x[2i], x[2i+1]) — ggml rope mode 0, what llama.cpp uses for GGUF `llama`
 *   (the converter permutes Q/K rows so this matches HF's rotate-half);
 * - `neox`: halves (x[i], x[i + d/2]) — HF rotate-half; GGUF `qwen2`/`qwen3`, and every safetensors model.
 */
export type RopeStyle = 'normal' | 'neox';

export type RopeScaling =
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalContextLength: number }
  | { type: 'linear'; factor: number }
  /**
   * LongRoPE (Phi-3/3.5/4-mini; HF `longrope`, older `su`): per-frequency divisors, the `long` set when the context the
   * model runs with exceeds `originalContextLength`, else `short` (llama.cpp's rule, decided once per loaded context so
   * every cached key was rotated like the query reading it); rotated q/k are multiplied by `attnFactor`. An HF config
   * carries `long`/`short`; a GGUF keeps them in the `rope_factors_long/short.weight` tensors instead.
   */
  | { type: 'longrope'; originalContextLength: number; attnFactor: number; long?: number[]; short?: number[] };

export interface ModelConfig {
  arch: Architecture;
  vocabSize: number;
  /** Hidden size (n_embd). */
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  ffnDim: number;
  /** Context length the model was trained for. */
  contextLength: number;
  normEps: number;
  ropeTheta: number;
  ropeStyle: RopeStyle;
  ropeScaling?: RopeScaling;
  /** Dimensions of each q/k head that RoPE rotates (the first ropeDim; partial rotary, Phi-4-mini); absent: headDim. */
  ropeDim?: number;
  /** No separate `output.weight`: logits use `token_embd.weight`. */
  tiedEmbeddings: boolean;
  /** Q/K/V projections have biases (qwen2). */
  qkvBias: boolean;
  /** Per-head RMSNorm on Q and K before RoPE (qwen3, gemma3). */
  qkNorm: boolean;
  /**
   * How hidden states become one embedding per text, as the model says (GGUF `{arch}.pooling_type`, sentence-
   * transformers' 1_Pooling/config.json) or the `pooling` load option; undefined for a chat model.
   */
  pooling?: Pooling;
  // Family details (src/families/*.ts sets them; absent means the llama behaviour).
  /** Token embeddings are multiplied by this (gemma: √dim). */
  embedScale?: number;
  /** Activation of the FFN gate: silu (SwiGLU, the default) or gelu, tanh approximation (GEGLU: gemma). */
  ffnAct?: 'silu' | 'gelu';
  /** RMSNorm of each block's output before the residual add (gemma2/3: attn_post_norm, ffn_post_norm). */
  postNorms?: boolean;
  /** Multiplier of q·k; default 1/√headDim (gemma: query_pre_attn_scalar^-½). */
  attnScale?: number;
  /** Attention logit soft-capping s → cap·tanh(s/cap) (gemma2). */
  attnSoftcap?: number;
  /** Final logit soft-capping (gemma2). */
  finalSoftcap?: number;
  /** Sliding-window attention: on a sliding layer a query at position p sees keys p−window+1 … p. */
  slidingWindow?: number;
  /** Per layer, whether it is a sliding-window layer; absent with slidingWindow set: every layer (mistral). */
  slidingLayers?: boolean[];
  /** RoPE base of sliding layers, when it differs (gemma3: 10000); those layers then run without RoPE scaling. */
  ropeThetaLocal?: number;
  /** Per layer, whether it rotates q/k; false: no positional encoding (SmolLM3's NoPE layers). Absent: every layer. */
  ropeLayers?: boolean[];
}

/** Pooling of an embedding model: the mean of all tokens' hidden states, the first ([CLS]) or the last token's. */
export type Pooling = 'mean' | 'cls' | 'last';
