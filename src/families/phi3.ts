/**
 * Phi-3 / Phi-3.5 / Phi-4-mini (GGUF `phi3`, HF `Phi3ForCausalLM`): the llama block with q/k/v in one fused matrix
 * (`attn_qkv`, rows [q | k | v]) and gate/up in another (`ffn_up`, rows [gate | up], 2·ffn), neox RoPE, LongRoPE
 * scaling (Phi-3.5 / 4-mini: formats/model-config.ts reads it for every family, as llama.cpp does) and partial rotary
 * (Phi-4-mini: 96 of 128 dimensions). llama.cpp: src/models/phi3.cpp; hparams in llama-model.cpp (LLM_ARCH_PHI3).
 * - Sliding window: HF configs carry one (Phi-3-mini-4k: 2047; Phi-3.5 / 4-mini: 262144, never reached) and HF applies
 *   it; llama.cpp ignores the GGUF key ("Phi SWA is currently disabled", PR 13676), so a GGUF runs without it here too,
 *   to give llama.cpp's numbers for llama.cpp's files.
 * - The fused matrices run as they are, as fused projections (runtime/graphs/phi3.ts).
 */
import type { ModelConfig } from '../model/types.ts';
import { ModelFormatError } from '../errors.ts';
import type { FamilySpec, TensorSpec } from './spec.ts';
import { globalTensors, HF_GLOBAL_NAMES, layerTensors } from './tensors.ts';
import { phi3Graph } from '../runtime/graphs/phi3.ts';

const hfNames = {
  global: HF_GLOBAL_NAMES,
  layer: {
    'input_layernorm.weight': 'attn_norm.weight',
    'self_attn.qkv_proj.weight': 'attn_qkv.weight',
    'self_attn.o_proj.weight': 'attn_output.weight',
    'post_attention_layernorm.weight': 'ffn_norm.weight',
    'mlp.gate_up_proj.weight': 'ffn_up.weight',
    'mlp.down_proj.weight': 'ffn_down.weight',
  },
};

function tensors(c: ModelConfig): TensorSpec[] {
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  return [
    ...globalTensors(c),
    ...layerTensors(c, (i) => {
      const p = `blk.${i}.`;
      return [
        { name: `${p}attn_norm.weight`, shape: [c.dim], init: 'norm' },
        // q and k rows are what the fixtures' qkScale sharpens: the fused matrix has them in its first q + kv rows.
        { name: `${p}attn_qkv.weight`, shape: [q + 2 * kv, c.dim], init: 'matrix' },
        { name: `${p}attn_output.weight`, shape: [c.dim, q], init: 'matrix' },
        { name: `${p}ffn_norm.weight`, shape: [c.dim], init: 'norm' },
        { name: `${p}ffn_up.weight`, shape: [2 * c.ffnDim, c.dim], init: 'matrix' },
        { name: `${p}ffn_down.weight`, shape: [c.dim, c.ffnDim], init: 'matrix' },
      ] satisfies TensorSpec[];
    }),
  ];
}

/** HF `sliding_window` (null, absent, or as long as the context: none). */
function hfWindow(j: Record<string, unknown>, c: ModelConfig): number | undefined {
  const w = j.sliding_window;
  if (w === undefined || w === null) return undefined;
  if (typeof w !== 'number' || !Number.isSafeInteger(w) || w <= 0) throw new ModelFormatError(`config.json sliding_window is ${JSON.stringify(w)}; it must be a positive integer or null.`);
  return w >= c.contextLength ? undefined : w;
}

export const phi3: FamilySpec = {
  arch: 'phi3',
  hf: { modelType: 'phi3', architecture: 'Phi3ForCausalLM' },
  ggufRopeStyle: 'neox',
  hfNames,
  tensors,
  graph: phi3Graph,
  configFromHf: (j, c) => ({ slidingWindow: hfWindow(j, c) }),
  hfConfig: (c) => ({ sliding_window: c.slidingWindow ?? null }),
};
