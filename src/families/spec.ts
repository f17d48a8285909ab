/**
 * What llmo knows about one model family, in one place (llama.cpp keeps the same facts in src/llama-arch.cpp and one
 * src/models/*.cpp per family): its names in GGUF and HF files, the tensors a config implies, the config keys only
 * it has, and the graph that runs it. The loader (formats/model-config.ts and model-checks.ts, the safetensors name
 * map), the runtime (runtime/body-lists.ts), the test fixture generator and the reference all read a family from here.
 */
import type { ModelConfig, RopeStyle } from '../model/types.ts';
import type { GgufMetadata } from '../formats/gguf.ts';
import type { Graph } from '../runtime/layers.ts';
import type { EncoderGraph } from '../runtime/encoder-layers.ts';

/** How the fixture generator fills a tensor with random values (and what kind of tensor it is). */
export type TensorInit = 'matrix' | 'embed' | 'norm' | 'bias';

export interface TensorSpec {
  /** Canonical GGUF name, e.g. `blk.3.attn_q.weight`. */
  name: string;
  /** Row-major shape. */
  shape: number[];
  init: TensorInit;
  /**
   * Q/K rows (or per-head norm weights) laid out by RoPE pair: number of heads the rows span. GGUF files of a
   * family whose `ggufRopeStyle` is `normal` hold these rows permuted to adjacent pairs (llama.cpp's converter).
   */
  ropeHeads?: number;
}

/** HF transformers tensor names → canonical GGUF names: whole names, and the part after `model.layers.N.`. */
export interface HfNameMap {
  global: Readonly<Record<string, string>>;
  layer: Readonly<Record<string, string>>;
  /** What precedes the layer number in HF names (default `model.layers.`; BERT: `encoder.layer.`). */
  layerPrefix?: string;
}

export interface FamilySpec {
  /** GGUF `general.architecture`, also `ModelConfig.arch`. */
  arch: string;
  /** HF `config.json` `model_type` and the class name in `architectures`. */
  hf: { modelType: string; architecture: string };
  /** RoPE pairing of Q/K rows in GGUF files (llama.cpp's converter permutes them only for some families). */
  ggufRopeStyle: RopeStyle;
  hfNames: HfNameMap;
  /** What every model of the family has (e.g. qwen2's Q/K/V biases); writers such as the test fixtures default to it. */
  defaults?: { qkvBias?: boolean; qkNorm?: boolean; tied?: boolean };
  /** Family-only fields of the config from GGUF metadata (keys are `${arch}.…`). */
  configFromGguf?(meta: GgufMetadata, base: ModelConfig): Partial<ModelConfig>;
  /**
   * The family's own spelling of standard `config.json` fields (nomic-bert's GPT-2-style `n_embd`, `n_layer`, …):
   * standard name → the family's; the standard name wins when a file has both.
   */
  hfConfigNames?: Readonly<Record<string, string>>;
  /** Family-only fields of the config from an HF `config.json` (standard names already filled from `hfConfigNames`). */
  configFromHf?(json: Record<string, unknown>, base: ModelConfig): Partial<ModelConfig>;
  /** The inverse of configFromGguf (for writers: the test fixtures): the family-only GGUF keys of `config`. */
  ggufMetadata?(config: ModelConfig): Array<[string, number, 'u32' | 'f32']>;
  /** The inverse of configFromHf: the family-only `config.json` fields of `config`. */
  hfConfig?(config: ModelConfig): Record<string, unknown>;
  /**
   * HF checkpoints store RMSNorm weights as w with the norm computing x·(shift + w); GGUF files (llama.cpp's
   * converter) store shift + w. Gemma: 1. The loader adds it to every `*norm.weight` of a safetensors model.
   */
  hfNormShift?: number;
  /** Every tensor the graph reads, with its shape (the loader checks files against this; fixtures are made from it). */
  tensors(config: ModelConfig): TensorSpec[];
  /** A decoder's forward pass as recorded dispatches, built from runtime/layers.ts pieces. */
  graph?: Graph;
  /**
   * An encoder's (embedding model's) forward pass over packed sequences, built from runtime/encoder-layers.ts pieces.
   * A family has `graph` or `encoder`.
   */
  encoder?: EncoderGraph;
  /** Tensors a file may carry that the graph does not need (BERT's pooler / classifier head): not an error. */
  ignoredTensors?: RegExp;
}
