/**
 * The llama block and its close relatives: llama (adjacent-pair RoPE in GGUF), qwen2 (Q/K/V biases), qwen3 (per-head
 * Q/K RMSNorm before RoPE), smollm3 (no RoPE on every 4th layer), mistral (HF MistralForCausalLM: a sliding window
 * when its config has one; llama.cpp converts Mistral to GGUF `llama`, without the window). Biases and q/k norms are found by tensor presence (ModelConfig.qkvBias / qkNorm), so the
 * three share one tensor list and one graph (runtime/graphs/llama.ts), as llama.cpp's llama.cpp / qwen2.cpp /
 * qwen3.cpp differ only in those two details.
 */
import type { ModelConfig } from '../model/types.ts';
import { ModelFormatError } from '../errors.ts';
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

/** SmolLM3: layer i rotates q/k unless (i + 1) is a multiple of 4 (llama.cpp n_no_rope_layer_step; HF no_rope_layers). */
const smollm3RopeLayers = (n: number) => Array.from({ length: n }, (_, i) => (i + 1) % 4 !== 0);

export const smollm3: FamilySpec = {
  arch: 'smollm3',
  hf: { modelType: 'smollm3', architecture: 'SmolLM3ForCausalLM' },
  // llama.cpp's converter treats SmolLM3 as llama: Q/K rows permuted to adjacent pairs.
  ggufRopeStyle: 'normal',
  hfNames,
  defaults: { tied: true },
  tensors,
  graph: llamaGraph,
  configFromGguf: (_meta, c) => ({ ropeLayers: smollm3RopeLayers(c.nLayers) }),
  configFromHf: (j, c) => {
    const flags = j.no_rope_layers;
    // HF: no_rope_layers[i] = 1 means layer i *uses* RoPE (the name reads backwards).
    const ropeLayers = Array.isArray(flags) && flags.length === c.nLayers ? flags.map((f) => Boolean(f)) : smollm3RopeLayers(c.nLayers);
    return { ropeLayers };
  },
  hfConfig: (c) => ({ no_rope_layers: (c.ropeLayers ?? smollm3RopeLayers(c.nLayers)).map((r) => (r ? 1 : 0)), no_rope_layer_interval: 4 }),
};

/** HF `sliding_window` (null or absent: none). */
function hfWindow(j: Record<string, unknown>): number | undefined {
  const w = j.sliding_window;
  if (w === undefined || w === null) return undefined;
  if (typeof w !== 'number' || !Number.isSafeInteger(w) || w <= 0) throw new ModelFormatError(`config.json sliding_window is ${JSON.stringify(w)}; it must be a positive integer or null.`);
  return w;
}

export const mistral: FamilySpec = {
  arch: 'mistral',
  hf: { modelType: 'mistral', architecture: 'MistralForCausalLM' },
  ggufRopeStyle: 'normal',
  hfNames,
  tensors,
  graph: llamaGraph,
  // Every layer slides (ModelConfig.slidingLayers absent).
  configFromHf: (j) => ({ slidingWindow: hfWindow(j) }),
  hfConfig: (c) => ({ sliding_window: c.slidingWindow ?? null }),
};
