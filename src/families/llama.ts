/**
 * The llama block and its close relatives: llama (adjacent-pair RoPE in GGUF), qwen2 (Q/K/V biases), qwen3 (per-head
 * Q/K RMSNorm before RoPE). Biases and q/k norms are found by tensor presence (ModelConfig.qkvBias / qkNorm), so the
 * three share one tensor list and one graph (runtime/graphs/llama.ts), as llama.cpp's llama.cpp / qwen2.cpp /
 * qwen3.cpp differ only in those two details.
 */
import type { ModelConfig } from '../model/types.ts';
import type { FamilySpec } from './spec.ts';
import { attentionTensors, ffnTensors, globalTensors, HF_GLOBAL_NAMES, HF_LLAMA_LAYER_NAMES, layerTensors } from './tensors.ts';
import { llamaGraph } from '../runtime/graphs/llama.ts';

const hfNames = { global: HF_GLOBAL_NAMES, layer: HF_LLAMA_LAYER_NAMES };
const tensors = (c: ModelConfig) => [...globalTensors(c), ...layerTensors(c, (i) => [...attentionTensors(c, i), ...ffnTensors(c, i)])];

export const llama: FamilySpec = {
  arch: 'llama',
  hf: { modelType: 'llama', architecture: 'LlamaForCausalLM' },
  // llama.cpp's converter permutes llama Q/K rows to adjacent pairs; the other families keep HF's halves layout.
  ggufRopeStyle: 'normal',
  hfNames,
  tensors,
  graph: llamaGraph,
};

export const qwen2: FamilySpec = {
  arch: 'qwen2',
  hf: { modelType: 'qwen2', architecture: 'Qwen2ForCausalLM' },
  ggufRopeStyle: 'neox',
  hfNames,
  defaults: { qkvBias: true },
  tensors,
  graph: llamaGraph,
};

export const qwen3: FamilySpec = {
  arch: 'qwen3',
  hf: { modelType: 'qwen3', architecture: 'Qwen3ForCausalLM' },
  ggufRopeStyle: 'neox',
  hfNames,
  defaults: { qkNorm: true },
  tensors,
  graph: llamaGraph,
};
