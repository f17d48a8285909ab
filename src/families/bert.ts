/**
 * BERT-family encoders (embedding models): GGUF `bert` (all-MiniLM, bge, e5, gte) and `nomic-bert`. Names as
 * llama.cpp's converter writes them (src/llama-arch.cpp) and as HF BertModel / NomicBertModel name them; one graph
 * file for both (runtime/graphs/bert.ts). Pooling comes from `{arch}.pooling_type` (llama.cpp's enum).
 */
import type { ModelConfig, Pooling } from '../model/types.ts';
import type { GgufMetadata } from '../formats/gguf.ts';
import { ggufNumber } from '../formats/gguf-metadata.ts';
import { UnsupportedModelError } from '../errors.ts';
import type { FamilySpec, TensorSpec } from './spec.ts';
import { layerTensors } from './tensors.ts';
import { bertGraph } from '../runtime/graphs/bert.ts';

/** llama.cpp's `llama_pooling_type`: 1 mean, 2 cls, 3 last (0 none and 4 rank are not sentence embeddings). */
const POOLING: Record<number, Pooling> = { 1: 'mean', 2: 'cls', 3: 'last' };

export function poolingFromGguf(meta: GgufMetadata, arch: string): Pooling | undefined {
  return POOLING[ggufNumber(meta, `${arch}.pooling_type`, -1)];
}

const ln = (name: string, dim: number): TensorSpec[] => [
  { name: `${name}.weight`, shape: [dim], init: 'norm' },
  { name: `${name}.bias`, shape: [dim], init: 'bias' },
];

function encoderTensors(c: ModelConfig, nomic: boolean): TensorSpec[] {
  const { dim, ffnDim: ffn } = c;
  const global: TensorSpec[] = [
    { name: 'token_embd.weight', shape: [c.vocabSize, dim], init: 'embed' },
    { name: 'token_types.weight', shape: [2, dim], init: 'embed' },
    ...ln('token_embd_norm', dim),
    ...(nomic ? [] : [{ name: 'position_embd.weight', shape: [c.contextLength, dim], init: 'embed' } as TensorSpec]),
  ];
  return [...global, ...layerTensors(c, (i) => {
    const p = `blk.${i}.`;
    const m = (n: string, rows: number, cols: number): TensorSpec => ({ name: `${p}${n}.weight`, shape: [rows, cols], init: 'matrix' });
    const b = (n: string, len: number): TensorSpec => ({ name: `${p}${n}.bias`, shape: [len], init: 'bias' });
    const attn = nomic
      ? [m('attn_qkv', 3 * dim, dim), m('attn_output', dim, dim)]
      : [m('attn_q', dim, dim), b('attn_q', dim), m('attn_k', dim, dim), b('attn_k', dim), m('attn_v', dim, dim), b('attn_v', dim),
         m('attn_output', dim, dim), b('attn_output', dim)];
    const ffnT = nomic
      ? [m('ffn_gate', ffn, dim), m('ffn_up', ffn, dim), m('ffn_down', dim, ffn)]
      : [m('ffn_up', ffn, dim), b('ffn_up', ffn), m('ffn_down', dim, ffn), b('ffn_down', dim)];
    return [...attn, ...ln(`${p}attn_output_norm`, dim), ...ffnT, ...ln(`${p}layer_output_norm`, dim)];
  })];
}

const config = (meta: GgufMetadata, base: ModelConfig): Partial<ModelConfig> => ({ pooling: poolingFromGguf(meta, base.arch) ?? 'mean' });

/**
 * Pooling from sentence-transformers' `1_Pooling/config.json` (beside an HF checkpoint): CLS, mean or last token;
 * undefined when the file is absent or asks for a mode llmo lacks (max, mean-sqrt-len).
 */
export function poolingFromSentenceTransformers(json: unknown): Pooling | undefined {
  const j = (json ?? {}) as Record<string, unknown>;
  if (j.pooling_mode_cls_token === true) return 'cls';
  if (j.pooling_mode_lasttoken === true) return 'last';
  if (j.pooling_mode_mean_tokens === true) return 'mean';
  return undefined;
}

export const bert: FamilySpec = {
  arch: 'bert',
  hf: { modelType: 'bert', architecture: 'BertModel' },
  ggufRopeStyle: 'neox',
  hfNames: {
    global: {
      'embeddings.word_embeddings.weight': 'token_embd.weight',
      'embeddings.position_embeddings.weight': 'position_embd.weight',
      'embeddings.token_type_embeddings.weight': 'token_types.weight',
      'embeddings.LayerNorm.weight': 'token_embd_norm.weight',
      'embeddings.LayerNorm.bias': 'token_embd_norm.bias',
    },
    layerPrefix: 'encoder.layer.',
    layer: {
      'attention.self.query.weight': 'attn_q.weight',
      'attention.self.query.bias': 'attn_q.bias',
      'attention.self.key.weight': 'attn_k.weight',
      'attention.self.key.bias': 'attn_k.bias',
      'attention.self.value.weight': 'attn_v.weight',
      'attention.self.value.bias': 'attn_v.bias',
      'attention.output.dense.weight': 'attn_output.weight',
      'attention.output.dense.bias': 'attn_output.bias',
      'attention.output.LayerNorm.weight': 'attn_output_norm.weight',
      'attention.output.LayerNorm.bias': 'attn_output_norm.bias',
      'intermediate.dense.weight': 'ffn_up.weight',
      'intermediate.dense.bias': 'ffn_up.bias',
      'output.dense.weight': 'ffn_down.weight',
      'output.dense.bias': 'ffn_down.bias',
      'output.LayerNorm.weight': 'layer_output_norm.weight',
      'output.LayerNorm.bias': 'layer_output_norm.bias',
    },
  },
  configFromGguf: config,
  // HF BertModel: mean unless sentence-transformers' 1_Pooling/config.json says otherwise (the loader reads it).
  configFromHf: () => ({ pooling: 'mean' }),
  tensors: (c) => encoderTensors(c, false),
  encoder: bertGraph,
  // The pooler dense layer (HF) / `cls.*` head (GGUF) serve classification, not sentence embeddings.
  ignoredTensors: /^(pooler\.|cls\.)/,
};

/**
 * NomicBertModel's config.json (contrastors' GPT-2-style fields): the settings llama.cpp's converter also insists on,
 * since each would change the math without changing the tensor list. Its context is the trained length
 * (`max_trained_positions`, 2048 for nomic-embed-text-v1/v1.5), not `n_positions` (8192), as llama.cpp takes it.
 */
function nomicConfigFromHf(j: Record<string, unknown>, base: ModelConfig): Partial<ModelConfig> {
  const want: Array<[string, unknown]> = [
    ['activation_function', 'swiglu'], ['prenorm', false], ['causal', false], ['rotary_emb_fraction', 1], ['rotary_emb_interleaved', false],
    ['rotary_emb_scale_base', null], ['moe_every_n_layers', undefined],
  ];
  for (const [k, v] of want) {
    if (k in j && j[k] !== v && !(v === undefined && !j[k])) {
      throw new UnsupportedModelError(`config.json ${k} is ${JSON.stringify(j[k])}; llmo runs nomic-bert models with ${k} ${JSON.stringify(v ?? null)} only (nomic-embed-text v1/v1.5).`);
    }
  }
  const trained = typeof j.max_trained_positions === 'number' && j.max_trained_positions > 0 ? j.max_trained_positions : base.contextLength;
  return { pooling: 'mean', contextLength: Math.min(base.contextLength, trained) };
}

export const nomicBert: FamilySpec = {
  arch: 'nomic-bert',
  hf: { modelType: 'nomic_bert', architecture: 'NomicBertModel' },
  ggufRopeStyle: 'neox',
  hfNames: {
    global: {
      'embeddings.word_embeddings.weight': 'token_embd.weight',
      'embeddings.token_type_embeddings.weight': 'token_types.weight',
      'emb_ln.weight': 'token_embd_norm.weight',
      'emb_ln.bias': 'token_embd_norm.bias',
    },
    layerPrefix: 'encoder.layers.',
    layer: {
      'attn.Wqkv.weight': 'attn_qkv.weight',
      'attn.out_proj.weight': 'attn_output.weight',
      'norm1.weight': 'attn_output_norm.weight',
      'norm1.bias': 'attn_output_norm.bias',
      'mlp.fc11.weight': 'ffn_up.weight',
      'mlp.fc12.weight': 'ffn_gate.weight',
      'mlp.fc2.weight': 'ffn_down.weight',
      'norm2.weight': 'layer_output_norm.weight',
      'norm2.bias': 'layer_output_norm.bias',
    },
  },
  configFromGguf: config,
  hfConfigNames: {
    hidden_size: 'n_embd', num_hidden_layers: 'n_layer', num_attention_heads: 'n_head', intermediate_size: 'n_inner',
    max_position_embeddings: 'n_positions', layer_norm_eps: 'layer_norm_epsilon', rope_theta: 'rotary_emb_base',
  },
  configFromHf: nomicConfigFromHf,
  tensors: (c) => encoderTensors(c, true),
  encoder: bertGraph,
};
