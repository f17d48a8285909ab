/**
 * Gemma 2 and Gemma 3 (text): the llama block with GEGLU (tanh GELU) instead of SwiGLU, embeddings scaled by √dim,
 * RMSNorms after the attention and FFN blocks as well as before, a query scale from `query_pre_attn_scalar`, sliding-
 * window attention on some layers, tied output, and HF's (1 + w) RMSNorm weights (GGUF stores 1 + w).
 * - gemma2: every other layer slides (layer 0 first); attention logits and final logits are soft-capped.
 * - gemma3: five sliding layers, then one global (5:1); per-head q/k RMSNorm; sliding layers use RoPE base 10000 and no
 *   scaling, global ones the model's base with its linear scaling; no soft-capping.
 * llama.cpp: src/models/gemma2-iswa.cpp, gemma3.cpp; hparams in llama-model.cpp (LLM_ARCH_GEMMA2 / GEMMA3).
 */
import type { ModelConfig } from '../model/types.ts';
import { ModelFormatError } from '../errors.ts';
import { ggufNumber } from '../formats/gguf-metadata.ts';
import type { FamilySpec } from './spec.ts';
import { attentionTensors, ffnTensors, globalTensors, HF_GLOBAL_NAMES, HF_LLAMA_LAYER_NAMES, layerTensors, postNormTensors } from './tensors.ts';
import { gemmaGraph } from '../runtime/graphs/gemma.ts';

const hfNames = {
  global: HF_GLOBAL_NAMES,
  layer: {
    ...HF_LLAMA_LAYER_NAMES,
    // Gemma's post_attention_layernorm is the attention *output* norm; its pre-FFN norm has its own name.
    'post_attention_layernorm.weight': 'post_attention_norm.weight',
    'pre_feedforward_layernorm.weight': 'ffn_norm.weight',
    'post_feedforward_layernorm.weight': 'post_ffw_norm.weight',
  },
};

const tensors = (c: ModelConfig) => [
  ...globalTensors(c),
  ...layerTensors(c, (i) => [...attentionTensors(c, i), ...ffnTensors(c, i), ...postNormTensors(c, i)]),
];

/** What every gemma computes the same way. */
const common = (c: ModelConfig): Partial<ModelConfig> => ({ embedScale: Math.sqrt(c.dim), ffnAct: 'gelu', postNorms: true });

/** Sliding layers of a pattern of n: the first n − 1 of every n slide (llama.cpp `set_swa_pattern`). */
const pattern = (nLayers: number, n: number) => Array.from({ length: nLayers }, (_, i) => i % n < n - 1);

function positive(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ModelFormatError(`${what} is ${JSON.stringify(v)}; it must be a positive number.`);
  return v;
}

/** HF `layer_types` (newer configs) or the sliding pattern (older ones). */
function hfSliding(j: Record<string, unknown>, nLayers: number, n: number): boolean[] {
  const types = j.layer_types;
  if (Array.isArray(types) && types.length === nLayers) return types.map((t) => t === 'sliding_attention');
  return pattern(nLayers, typeof j.sliding_window_pattern === 'number' ? j.sliding_window_pattern : n);
}

/**
 * llama.cpp ignores query_pre_attn_scalar in GGUF and derives the query scale as gemma_pytorch does: 1/√headDim,
 * except the 27B models (dim / heads); real configs agree (query_pre_attn_scalar = head_dim, or 144 = 4608/32 at 27B).
 */
const ggufAttnScale = (c: ModelConfig, layers27b: number) => 1 / Math.sqrt(c.nLayers === layers27b ? c.dim / c.nHeads : c.headDim);

export const gemma3: FamilySpec = {
  arch: 'gemma3',
  hf: { modelType: 'gemma3_text', architecture: 'Gemma3ForCausalLM' },
  ggufRopeStyle: 'neox',
  hfNames,
  defaults: { qkNorm: true, tied: true },
  hfNormShift: 1,
  tensors,
  graph: gemmaGraph,
  configFromGguf: (meta, c) => ({
    ...common(c),
    slidingWindow: positive(ggufNumber(meta, 'gemma3.attention.sliding_window'), 'GGUF gemma3.attention.sliding_window'),
    slidingLayers: pattern(c.nLayers, 6),
    ropeThetaLocal: 10000,
    attnScale: ggufAttnScale(c, 62),
  }),
  configFromHf: (j, c) => ({
    ...common(c),
    slidingWindow: positive(j.sliding_window, 'config.json sliding_window'),
    slidingLayers: hfSliding(j, c.nLayers, 6),
    ropeThetaLocal: typeof j.rope_local_base_freq === 'number' ? j.rope_local_base_freq : 10000,
    attnScale: 1 / Math.sqrt(positive(j.query_pre_attn_scalar ?? c.headDim, 'config.json query_pre_attn_scalar')),
  }),
  ggufMetadata: (c) => [['gemma3.attention.sliding_window', c.slidingWindow ?? 0, 'u32']],
  hfConfig: (c) => ({
    sliding_window: c.slidingWindow,
    layer_types: c.slidingLayers?.map((s) => (s ? 'sliding_attention' : 'full_attention')),
    rope_local_base_freq: c.ropeThetaLocal,
    query_pre_attn_scalar: c.attnScale ? 1 / c.attnScale ** 2 : c.headDim,
    hidden_activation: 'gelu_pytorch_tanh',
    final_logit_softcapping: null,
    attn_logit_softcapping: null,
  }),
};

/** An optional positive number (absent or null: undefined). */
function optionalPositive(v: unknown, what: string): number | undefined {
  return v === undefined || v === null ? undefined : positive(v, what);
}

export const gemma2: FamilySpec = {
  arch: 'gemma2',
  hf: { modelType: 'gemma2', architecture: 'Gemma2ForCausalLM' },
  ggufRopeStyle: 'neox',
  hfNames,
  defaults: { tied: true },
  hfNormShift: 1,
  tensors,
  graph: gemmaGraph,
  configFromGguf: (meta, c) => ({
    ...common(c),
    // llama.cpp: the window defaults to Gemma 2's 4096 when the key is absent.
    slidingWindow: positive(ggufNumber(meta, 'gemma2.attention.sliding_window', 4096), 'GGUF gemma2.attention.sliding_window'),
    slidingLayers: pattern(c.nLayers, 2),
    attnScale: ggufAttnScale(c, 46),
    attnSoftcap: optionalPositive(ggufNumber(meta, 'gemma2.attn_logit_softcapping', undefined), 'GGUF gemma2.attn_logit_softcapping'),
    finalSoftcap: optionalPositive(ggufNumber(meta, 'gemma2.final_logit_softcapping', undefined), 'GGUF gemma2.final_logit_softcapping'),
  }),
  configFromHf: (j, c) => ({
    ...common(c),
    slidingWindow: positive(j.sliding_window ?? 4096, 'config.json sliding_window'),
    slidingLayers: hfSliding(j, c.nLayers, 2),
    attnScale: 1 / Math.sqrt(positive(j.query_pre_attn_scalar ?? c.headDim, 'config.json query_pre_attn_scalar')),
    attnSoftcap: optionalPositive(j.attn_logit_softcapping, 'config.json attn_logit_softcapping'),
    finalSoftcap: optionalPositive(j.final_logit_softcapping, 'config.json final_logit_softcapping'),
  }),
  ggufMetadata: (c) => [
    ['gemma2.attention.sliding_window', c.slidingWindow ?? 4096, 'u32'],
    ...(c.attnSoftcap ? [['gemma2.attn_logit_softcapping', c.attnSoftcap, 'f32'] as [string, number, 'f32']] : []),
    ...(c.finalSoftcap ? [['gemma2.final_logit_softcapping', c.finalSoftcap, 'f32'] as [string, number, 'f32']] : []),
  ],
  hfConfig: (c) => ({
    sliding_window: c.slidingWindow,
    query_pre_attn_scalar: c.attnScale ? 1 / c.attnScale ** 2 : c.headDim,
    hidden_activation: 'gelu_pytorch_tanh',
    attn_logit_softcapping: c.attnSoftcap ?? null,
    final_logit_softcapping: c.finalSoftcap ?? null,
  }),
};
