/** Tensor lists shared by families: the embedding and head, a standard attention block and a gated FFN. */
import type { ModelConfig } from '../model/types.ts';
import type { HfNameMap, TensorSpec } from './spec.ts';

export function globalTensors(c: ModelConfig): TensorSpec[] {
  const t: TensorSpec[] = [
    { name: 'token_embd.weight', shape: [c.vocabSize, c.dim], init: 'embed' },
    { name: 'output_norm.weight', shape: [c.dim], init: 'norm' },
  ];
  if (!c.tiedEmbeddings) t.push({ name: 'output.weight', shape: [c.vocabSize, c.dim], init: 'embed' });
  return t;
}

/** attn_norm, separate q/k/v (optional biases), optional per-head q/k norms, attn_output. */
export function attentionTensors(c: ModelConfig, i: number): TensorSpec[] {
  const p = `blk.${i}.`;
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  const t: TensorSpec[] = [
    { name: `${p}attn_norm.weight`, shape: [c.dim], init: 'norm' },
    { name: `${p}attn_q.weight`, shape: [q, c.dim], init: 'matrix', ropeHeads: c.nHeads },
    { name: `${p}attn_k.weight`, shape: [kv, c.dim], init: 'matrix', ropeHeads: c.nKvHeads },
    { name: `${p}attn_v.weight`, shape: [kv, c.dim], init: 'matrix' },
  ];
  if (c.qkvBias) {
    t.push(
      { name: `${p}attn_q.bias`, shape: [q], init: 'bias', ropeHeads: c.nHeads },
      { name: `${p}attn_k.bias`, shape: [kv], init: 'bias', ropeHeads: c.nKvHeads },
      { name: `${p}attn_v.bias`, shape: [kv], init: 'bias' },
    );
  }
  if (c.qkNorm) {
    t.push(
      { name: `${p}attn_q_norm.weight`, shape: [c.headDim], init: 'norm', ropeHeads: 1 },
      { name: `${p}attn_k_norm.weight`, shape: [c.headDim], init: 'norm', ropeHeads: 1 },
    );
  }
  t.push({ name: `${p}attn_output.weight`, shape: [c.dim, q], init: 'matrix' });
  return t;
}

/** ffn_norm and a gated FFN (gate, up, down). */
export function ffnTensors(c: ModelConfig, i: number): TensorSpec[] {
  const p = `blk.${i}.`;
  return [
    { name: `${p}ffn_norm.weight`, shape: [c.dim], init: 'norm' },
    { name: `${p}ffn_gate.weight`, shape: [c.ffnDim, c.dim], init: 'matrix' },
    { name: `${p}ffn_up.weight`, shape: [c.ffnDim, c.dim], init: 'matrix' },
    { name: `${p}ffn_down.weight`, shape: [c.dim, c.ffnDim], init: 'matrix' },
  ];
}

/** RMSNorms of the attention and FFN outputs before the residual adds (gemma2/3). */
export function postNormTensors(c: ModelConfig, i: number): TensorSpec[] {
  return [
    { name: `blk.${i}.post_attention_norm.weight`, shape: [c.dim], init: 'norm' },
    { name: `blk.${i}.post_ffw_norm.weight`, shape: [c.dim], init: 'norm' },
  ];
}

/** Every layer's tensors, from a per-layer list. */
export function layerTensors(c: ModelConfig, perLayer: (i: number) => TensorSpec[]): TensorSpec[] {
  return Array.from({ length: c.nLayers }, (_, i) => perLayer(i)).flat();
}

/** HF names shared by every decoder family here (`model.embed_tokens`, `model.norm`, `lm_head`). */
export const HF_GLOBAL_NAMES: HfNameMap['global'] = {
  'model.embed_tokens.weight': 'token_embd.weight',
  'model.norm.weight': 'output_norm.weight',
  'lm_head.weight': 'output.weight',
};

/** HF per-layer names of the llama block (also qwen2, qwen3, mistral, smollm3). */
export const HF_LLAMA_LAYER_NAMES: HfNameMap['layer'] = {
  'input_layernorm.weight': 'attn_norm.weight',
  'self_attn.q_proj.weight': 'attn_q.weight',
  'self_attn.k_proj.weight': 'attn_k.weight',
  'self_attn.v_proj.weight': 'attn_v.weight',
  'self_attn.q_proj.bias': 'attn_q.bias',
  'self_attn.k_proj.bias': 'attn_k.bias',
  'self_attn.v_proj.bias': 'attn_v.bias',
  'self_attn.o_proj.weight': 'attn_output.weight',
  'self_attn.q_norm.weight': 'attn_q_norm.weight',
  'self_attn.k_norm.weight': 'attn_k_norm.weight',
  'post_attention_layernorm.weight': 'ffn_norm.weight',
  'mlp.gate_proj.weight': 'ffn_gate.weight',
  'mlp.up_proj.weight': 'ffn_up.weight',
  'mlp.down_proj.weight': 'ffn_down.weight',
};

/** HF transformers tensor name → canonical GGUF name under `map`; names the map does not know are returned unchanged. */
export function canonicalName(hfName: string, map: HfNameMap): string {
  const global = map.global[hfName];
  if (global) return global;
  const prefix = map.layerPrefix ?? 'model.layers.';
  const m = hfName.startsWith(prefix) ? /^(\d+)\.(.+)$/.exec(hfName.slice(prefix.length)) : null;
  if (m) {
    const local = map.layer[m[2]];
    if (local) return `blk.${m[1]}.${local}`;
  }
  return hfName;
}

/** Canonical GGUF name → HF name (inverse of `canonicalName`); unknown names unchanged. */
export function hfName(canonical: string, map: HfNameMap): string {
  for (const [hf, c] of Object.entries(map.global)) if (c === canonical) return hf;
  const m = /^blk\.(\d+)\.(.+)$/.exec(canonical);
  if (m) {
    for (const [hf, c] of Object.entries(map.layer)) if (c === m[2]) return `${map.layerPrefix ?? 'model.layers.'}${m[1]}.${hf}`;
  }
  return canonical;
}
