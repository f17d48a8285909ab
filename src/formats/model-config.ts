/**
 * ModelConfig from GGUF metadata or an HF `config.json`. The check that a model's tensors are what the engine can
 * run is model-checks.ts's; the RoPE divisors the config implies are model/rope.ts's.
 */
import type { ModelConfig, RopeScaling, TensorInfo } from '../model/types.ts';
import { ModelFormatError, UnsupportedModelError } from '../errors.ts';
import type { GgufHeader } from './gguf.ts';
import { ggufNumber, ggufString } from './gguf-metadata.ts';
import { familyOf, familyOfHf } from '../families/index.ts';

function positiveInt(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new ModelFormatError(`${what} is ${JSON.stringify(v)}; it must be a positive integer.`);
  }
  return v;
}

function positiveNumber(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new ModelFormatError(`${what} is ${JSON.stringify(v)}; it must be a positive number.`);
  }
  return v;
}

function vocabFromEmbedding(tensors: readonly TensorInfo[]): number {
  const embd = tensors.find((t) => t.name === 'token_embd.weight');
  if (!embd) throw new ModelFormatError('The model has no token embedding tensor (token_embd.weight / model.embed_tokens.weight).');
  if (embd.shape.length !== 2) {
    throw new ModelFormatError(`token_embd.weight has shape [${embd.shape.join(', ')}]; expected [vocab, dim].`);
  }
  return embd.shape[0];
}

function hasTensor(tensors: readonly TensorInfo[], name: string): boolean {
  return tensors.some((t) => t.name === name);
}

/**
 * Config of a GGUF model. RoPE scaling comes only from `{arch}.rope.scaling.*` (linear); llama3-style scaling
 * is carried by the `rope_freqs.weight` tensor instead, which stays a tensor for the runtime to use.
 */
export function configFromGguf(header: GgufHeader): ModelConfig {
  const meta = header.metadata;
  const family = familyOf(ggufString(meta, 'general.architecture'), 'GGUF');
  const arch = family.arch;
  const key = (k: string): string => `${arch}.${k}`;
  const int = (k: string, fallback?: number): number => {
    const v = fallback === undefined ? ggufNumber(meta, key(k)) : ggufNumber(meta, key(k), fallback);
    return positiveInt(v, `GGUF ${key(k)}`);
  };

  const dim = int('embedding_length');
  const nHeads = int('attention.head_count');
  const nKvHeads = int('attention.head_count_kv', nHeads);
  if (!meta.has(key('attention.key_length')) && dim % nHeads !== 0) {
    throw new ModelFormatError(`GGUF ${key('embedding_length')} ${dim} is not a multiple of ${key('attention.head_count')} ${nHeads}: the header is corrupt.`);
  }
  const headDim = int('attention.key_length', dim / nHeads);
  const valueDim = int('attention.value_length', headDim);
  if (valueDim !== headDim) {
    throw new UnsupportedModelError(`GGUF ${key('attention.value_length')} ${valueDim} differs from key_length ${headDim}; llmo needs equal K and V head sizes.`);
  }
  // Partial rotary (Phi-4-mini): RoPE turns the first ropeDim dimensions of each head.
  const ropeDim = int('rope.dimension_count', headDim);
  if (ropeDim > headDim || ropeDim % 2 !== 0) {
    throw new ModelFormatError(`GGUF ${key('rope.dimension_count')} is ${ropeDim}; it must be even and at most the head size ${headDim}.`);
  }

  let ropeScaling: RopeScaling | undefined;
  const scalingType = ggufString(meta, key('rope.scaling.type'), 'none');
  if (scalingType === 'linear') {
    const factor = positiveNumber(ggufNumber(meta, key('rope.scaling.factor')), `GGUF ${key('rope.scaling.factor')}`);
    if (factor !== 1) ropeScaling = { type: 'linear', factor };
  } else if (hasTensor(header.tensors, 'rope_factors_long.weight') || hasTensor(header.tensors, 'rope_factors_short.weight')) {
    // LongRoPE: the factors are tensors (validateModel wants both); llama.cpp reads no scaling type for them.
    ropeScaling = {
      type: 'longrope',
      originalContextLength: int('rope.scaling.original_context_length', int('context_length')),
      attnFactor: positiveNumber(ggufNumber(meta, key('rope.scaling.attn_factor'), 1), `GGUF ${key('rope.scaling.attn_factor')}`),
    };
  } else if (scalingType !== 'none') {
    throw new UnsupportedModelError(`GGUF ${key('rope.scaling.type')} "${scalingType}" is not supported; llmo supports linear and llama3 RoPE scaling.`);
  }

  const tensors = header.tensors;
  const config: ModelConfig = {
    arch,
    vocabSize: vocabFromEmbedding(tensors),
    dim,
    nLayers: int('block_count'),
    nHeads,
    nKvHeads,
    headDim,
    ffnDim: int('feed_forward_length'),
    contextLength: int('context_length'),
    // RMSNorm families store `layer_norm_rms_epsilon`, LayerNorm ones (BERT) `layer_norm_epsilon`.
    normEps: positiveNumber(
      ggufNumber(meta, key('attention.layer_norm_rms_epsilon'), ggufNumber(meta, key('attention.layer_norm_epsilon'), undefined)),
      `GGUF ${key('attention.layer_norm_rms_epsilon')}`,
    ),
    ropeTheta: positiveNumber(ggufNumber(meta, key('rope.freq_base'), 10000), `GGUF ${key('rope.freq_base')}`),
    ropeStyle: family.ggufRopeStyle,
    tiedEmbeddings: !hasTensor(tensors, 'output.weight'),
    qkvBias: hasTensor(tensors, 'blk.0.attn_q.bias'),
    qkNorm: hasTensor(tensors, 'blk.0.attn_q_norm.weight'),
  };
  if (ropeScaling) config.ropeScaling = ropeScaling;
  if (ropeDim !== headDim) config.ropeDim = ropeDim;
  const tokens = meta.get('tokenizer.ggml.tokens');
  if (Array.isArray(tokens) && tokens.length > config.vocabSize) {
    throw new ModelFormatError(
      `The tokenizer has ${tokens.length} tokens but token_embd.weight has only ${config.vocabSize} rows: the header is corrupt or the vocabulary does not belong to these weights.`,
    );
  }
  return { ...config, ...family.configFromGguf?.(meta, config) };
}

/** The HF `config.json` fields this module reads. */
export interface HfConfigJson {
  model_type?: string;
  hidden_size?: number;
  intermediate_size?: number;
  num_hidden_layers?: number;
  num_attention_heads?: number;
  num_key_value_heads?: number;
  head_dim?: number;
  max_position_embeddings?: number;
  rms_norm_eps?: number;
  /** LayerNorm families (BERT). */
  layer_norm_eps?: number;
  rope_theta?: number;
  rope_scaling?: {
    rope_type?: string;
    type?: string;
    factor?: number;
    low_freq_factor?: number;
    high_freq_factor?: number;
    original_max_position_embeddings?: number;
    long_factor?: number[];
    short_factor?: number[];
    attention_factor?: number;
  } | null;
  /** LongRoPE models (Phi-3) keep the pretraining context here. */
  original_max_position_embeddings?: number;
  /** Share of each head RoPE rotates (Phi-4-mini: 0.75). */
  partial_rotary_factor?: number;
  tie_word_embeddings?: boolean;
  [key: string]: unknown;
}

/** HF `_compute_longrope_parameters`: factors per rotated pair, attention factor from the context extension. */
function hfLongRope(c: HfConfigJson, ropeDim: number): RopeScaling {
  const s = c.rope_scaling ?? {};
  const maxPos = positiveInt(c.max_position_embeddings, 'config.json max_position_embeddings');
  const original = positiveInt(
    c.original_max_position_embeddings ?? s.original_max_position_embeddings ?? maxPos, 'config.json original_max_position_embeddings',
  );
  const factors = (v: unknown, what: string): number[] => {
    if (!Array.isArray(v) || v.length !== ropeDim / 2) {
      throw new ModelFormatError(`config.json rope_scaling.${what} must list ${ropeDim / 2} numbers (one per rotated pair); got ${Array.isArray(v) ? v.length : JSON.stringify(v)}.`);
    }
    return v.map((x, i) => positiveNumber(x, `config.json rope_scaling.${what}[${i}]`));
  };
  const factor = maxPos / original;
  const attnFactor = s.attention_factor ?? (factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(original)));
  return {
    type: 'longrope', originalContextLength: original, attnFactor: positiveNumber(attnFactor, 'config.json rope_scaling.attention_factor'),
    long: factors(s.long_factor, 'long_factor'), short: factors(s.short_factor, 'short_factor'),
  };
}

function hfRopeScaling(c: HfConfigJson, ropeDim: number): RopeScaling | undefined {
  const s = c.rope_scaling;
  if (s === undefined || s === null) return undefined;
  const kind = s.rope_type ?? s.type ?? 'default';
  if (kind === 'default') return undefined;
  if (kind === 'longrope' || kind === 'su') return hfLongRope(c, ropeDim);
  const factor = positiveNumber(s.factor, 'config.json rope_scaling.factor');
  if (kind === 'linear') return factor === 1 ? undefined : { type: 'linear', factor };
  if (kind === 'llama3') {
    const lowFreqFactor = positiveNumber(s.low_freq_factor, 'config.json rope_scaling.low_freq_factor');
    const highFreqFactor = positiveNumber(s.high_freq_factor, 'config.json rope_scaling.high_freq_factor');
    if (highFreqFactor <= lowFreqFactor) {
      throw new ModelFormatError(`config.json rope_scaling.high_freq_factor (${highFreqFactor}) must exceed low_freq_factor (${lowFreqFactor}).`);
    }
    return {
      type: 'llama3',
      factor,
      lowFreqFactor,
      highFreqFactor,
      originalContextLength: positiveInt(s.original_max_position_embeddings, 'config.json rope_scaling.original_max_position_embeddings'),
    };
  }
  throw new UnsupportedModelError(`config.json rope_scaling type "${kind}" is not supported; llmo supports linear, llama3 and longrope RoPE scaling.`);
}

/**
 * Config of an HF safetensors model from its `config.json` and its tensors (canonical names). HF weights use
 * the rotate-half RoPE layout for every architecture, so ropeStyle is always `neox`.
 */
export function configFromHf(configJson: object, tensors: readonly TensorInfo[]): ModelConfig {
  const family = familyOfHf(String((configJson as HfConfigJson).model_type));
  const c: HfConfigJson = { ...configJson };
  for (const [standard, own] of Object.entries(family.hfConfigNames ?? {})) c[standard] ??= c[own];
  const arch = family.arch;
  const dim = positiveInt(c.hidden_size, 'config.json hidden_size');
  const nHeads = positiveInt(c.num_attention_heads, 'config.json num_attention_heads');
  const hasOutput = hasTensor(tensors, 'output.weight');
  const config: ModelConfig = {
    arch,
    vocabSize: vocabFromEmbedding(tensors),
    dim,
    nLayers: positiveInt(c.num_hidden_layers, 'config.json num_hidden_layers'),
    nHeads,
    nKvHeads: positiveInt(c.num_key_value_heads ?? nHeads, 'config.json num_key_value_heads'),
    headDim: positiveInt(c.head_dim ?? dim / nHeads, 'config.json head_dim'),
    ffnDim: positiveInt(c.intermediate_size, 'config.json intermediate_size'),
    contextLength: positiveInt(c.max_position_embeddings, 'config.json max_position_embeddings'),
    normEps: positiveNumber(c.rms_norm_eps ?? c.layer_norm_eps, 'config.json rms_norm_eps'),
    ropeTheta: positiveNumber(c.rope_theta ?? 10000, 'config.json rope_theta'),
    ropeStyle: 'neox',
    // A checkpoint may store lm_head even when tied (a copy); without the flag, a missing lm_head means tied.
    tiedEmbeddings: c.tie_word_embeddings ?? !hasOutput,
    qkvBias: hasTensor(tensors, 'blk.0.attn_q.bias'),
    qkNorm: hasTensor(tensors, 'blk.0.attn_q_norm.weight'),
  };
  const rotary = c.partial_rotary_factor ?? 1;
  const ropeDim = Math.floor(config.headDim * positiveNumber(rotary, 'config.json partial_rotary_factor'));
  if (rotary > 1 || ropeDim % 2 !== 0) throw new ModelFormatError(`config.json partial_rotary_factor ${rotary} gives ${ropeDim} rotated dimensions of ${config.headDim}; it must be an even count.`);
  if (ropeDim !== config.headDim) config.ropeDim = ropeDim;
  const scaling = hfRopeScaling(c, ropeDim);
  if (scaling) config.ropeScaling = scaling;
  return { ...config, ...family.configFromHf?.(c, config) };
}
