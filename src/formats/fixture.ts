/**
 * Random-weight model fixtures in real file formats (GGUF, safetensors + config.json + tokenizer.json), with
 * the shapes of real models, for tests and benchmarks where real weights cannot be had.
 *
 * Weights are a pure function of (seed, canonical tensor name): each tensor has its own seeded PRNG stream, so
 * a GGUF and a safetensors fixture with the same seed hold the same model (GGUF llama Q/K rows are permuted to
 * llama.cpp's adjacent-pair RoPE layout, exactly as llama.cpp's converter does), whatever the element type.
 * Scales keep activations O(1): matrices uniform(-1,1)*sqrt(3/cols) (unit-variance outputs), embeddings twice
 * that (logits of std ~2 through a tied head), norm weights 1 +- 0.1, biases +-0.1.
 */
import { GgmlType, type Architecture, type ModelConfig, type RopeScaling } from '../model/types.ts';
import { InvalidRequestError } from '../errors.ts';
import { writeGguf, type GgufKind, type GgufTensorInput, type GgufWriteValue } from './gguf-writer.ts';
import { hfTensorName, writeSafetensors, type SafetensorsTensorInput } from './safetensors.ts';
import { ropeFreqFactors } from './model-config.ts';
import { quantize } from './quant.ts';
import {
  ggufTokenizerMetadata,
  hfTokenizerConfigJson,
  hfTokenizerJson,
  makeFixtureVocab,
  type FixturePreTokenizer,
  type FixtureVocab,
} from './fixture-tokenizer.ts';

export type FixtureType = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0';

export interface FixtureDims {
  vocab: number;
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  /** Default dim / nHeads. */
  headDim?: number;
  ffn: number;
  ctx: number;
}

export interface Llama3RopeParams {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalContextLength: number;
}

/** A model shape: everything but element type and seed. */
export interface FixtureShape {
  arch: Architecture;
  dims: FixtureDims;
  tied: boolean;
  ropeTheta: number;
  normEps: number;
  ropeScaling?: Llama3RopeParams;
}

export interface FixtureOptions {
  arch: Architecture;
  type: FixtureType;
  seed: number;
  dims: FixtureDims;
  /** Output head shares token_embd (default false). */
  tied?: boolean;
  /** llama3 RoPE scaling: GGUF gets a `rope_freqs.weight` tensor, safetensors a `rope_scaling` entry. */
  ropeScaling?: Llama3RopeParams;
  ropeTheta?: number;
  normEps?: number;
  /** Q/K/V biases; default true for qwen2 only. */
  qkvBias?: boolean;
  /** Per-head Q/K RMSNorm; default true for qwen3 only. */
  qkNorm?: boolean;
  /** Element type of token_embd/output (default: `type`). 1-D tensors are always F32 in GGUF. */
  embeddingType?: FixtureType;
  /** GGUF `tokenizer.ggml.pre`; default 'gpt-2' for llama, 'qwen2' for qwen. */
  tokenizerPre?: FixturePreTokenizer;
  name?: string;
}

/** Shapes of real models (from their HF config.json) plus a tiny one for fast tests. */
export const FIXTURE_SHAPES = {
  tiny: {
    arch: 'llama',
    dims: { vocab: 300, dim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, ffn: 128, ctx: 128 },
    tied: false,
    ropeTheta: 10000,
    normEps: 1e-5,
  },
  // HuggingFaceTB/SmolLM2-135M (max_position_embeddings 8192 in the current config.json; 2048 in early ones).
  smollm2_135m: {
    arch: 'llama',
    dims: { vocab: 49152, dim: 576, nLayers: 30, nHeads: 9, nKvHeads: 3, headDim: 64, ffn: 1536, ctx: 8192 },
    tied: true,
    ropeTheta: 100000,
    normEps: 1e-5,
  },
  // meta-llama/Llama-3.2-1B
  llama32_1b: {
    arch: 'llama',
    dims: { vocab: 128256, dim: 2048, nLayers: 16, nHeads: 32, nKvHeads: 8, headDim: 64, ffn: 8192, ctx: 131072 },
    tied: true,
    ropeTheta: 500000,
    normEps: 1e-5,
    ropeScaling: { factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 8192 },
  },
  // Qwen/Qwen2.5-0.5B (Q/K/V biases)
  qwen25_05b: {
    arch: 'qwen2',
    dims: { vocab: 151936, dim: 896, nLayers: 24, nHeads: 14, nKvHeads: 2, headDim: 64, ffn: 4864, ctx: 32768 },
    tied: true,
    ropeTheta: 1000000,
    normEps: 1e-6,
  },
  // Qwen/Qwen3-0.6B (Q/K norms, head_dim 128 != hidden/heads)
  qwen3_06b: {
    arch: 'qwen3',
    dims: { vocab: 151936, dim: 1024, nLayers: 28, nHeads: 16, nKvHeads: 8, headDim: 128, ffn: 3072, ctx: 40960 },
    tied: true,
    ropeTheta: 1000000,
    normEps: 1e-6,
  },
} as const satisfies Record<string, FixtureShape>;

const GGML_TYPE: Record<FixtureType, GgmlType> = {
  f32: GgmlType.F32,
  f16: GgmlType.F16,
  bf16: GgmlType.BF16,
  q8_0: GgmlType.Q8_0,
  q4_0: GgmlType.Q4_0,
};

/** llama.cpp `general.file_type` (llama_ftype) of a fixture whose matrices are all `type`. */
const FILE_TYPE: Record<FixtureType, number> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7, bf16: 32 };

interface Resolved {
  arch: Architecture;
  dims: Required<FixtureDims>;
  tied: boolean;
  ropeTheta: number;
  normEps: number;
  ropeScaling?: Llama3RopeParams;
  qkvBias: boolean;
  qkNorm: boolean;
  type: FixtureType;
  embeddingType: FixtureType;
  seed: number;
  pre: FixturePreTokenizer;
  name: string;
}

function resolve(o: FixtureOptions): Resolved {
  const d = o.dims;
  const headDim = d.headDim ?? d.dim / d.nHeads;
  for (const [k, v] of Object.entries({ ...d, headDim })) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new InvalidRequestError(`Fixture dims.${k} is ${v}; it must be a positive integer.`);
  }
  if (d.nHeads % d.nKvHeads !== 0) throw new InvalidRequestError(`Fixture nHeads ${d.nHeads} is not a multiple of nKvHeads ${d.nKvHeads}.`);
  if (headDim % 2 !== 0) throw new InvalidRequestError(`Fixture head size ${headDim} must be even for RoPE.`);
  if (o.ropeScaling && o.arch !== 'llama') throw new InvalidRequestError('Fixture llama3 RoPE scaling only applies to arch llama.');
  return {
    arch: o.arch,
    dims: { ...d, headDim },
    tied: o.tied ?? false,
    ropeTheta: o.ropeTheta ?? 10000,
    normEps: o.normEps ?? 1e-5,
    ropeScaling: o.ropeScaling,
    qkvBias: o.qkvBias ?? o.arch === 'qwen2',
    qkNorm: o.qkNorm ?? o.arch === 'qwen3',
    type: o.type,
    embeddingType: o.embeddingType ?? o.type,
    seed: o.seed,
    pre: o.tokenizerPre ?? (o.arch === 'llama' ? 'gpt-2' : 'qwen2'),
    name: o.name ?? `llmo-fixture-${o.arch}-${o.type}`,
  };
}

type Init = 'matrix' | 'embed' | 'norm' | 'bias';

interface TensorSpec {
  name: string;
  shape: number[];
  init: Init;
  /** Heads to permute rows over for GGUF llama (Q and K), else 0. */
  ropeHeads: number;
}

function tensorSpecs(r: Resolved): TensorSpec[] {
  const { vocab, dim, nLayers, nHeads, nKvHeads, headDim, ffn } = r.dims;
  const q = nHeads * headDim;
  const kv = nKvHeads * headDim;
  const specs: TensorSpec[] = [
    { name: 'token_embd.weight', shape: [vocab, dim], init: 'embed', ropeHeads: 0 },
    { name: 'output_norm.weight', shape: [dim], init: 'norm', ropeHeads: 0 },
  ];
  if (!r.tied) specs.push({ name: 'output.weight', shape: [vocab, dim], init: 'embed', ropeHeads: 0 });
  for (let i = 0; i < nLayers; i++) {
    const p = `blk.${i}.`;
    const add = (name: string, shape: number[], init: Init, ropeHeads = 0) => specs.push({ name: p + name, shape, init, ropeHeads });
    add('attn_norm.weight', [dim], 'norm');
    add('attn_q.weight', [q, dim], 'matrix', nHeads);
    add('attn_k.weight', [kv, dim], 'matrix', nKvHeads);
    add('attn_v.weight', [kv, dim], 'matrix');
    if (r.qkvBias) {
      add('attn_q.bias', [q], 'bias', nHeads);
      add('attn_k.bias', [kv], 'bias', nKvHeads);
      add('attn_v.bias', [kv], 'bias');
    }
    if (r.qkNorm) {
      add('attn_q_norm.weight', [headDim], 'norm', 1);
      add('attn_k_norm.weight', [headDim], 'norm', 1);
    }
    add('attn_output.weight', [dim, q], 'matrix');
    add('ffn_norm.weight', [dim], 'norm');
    add('ffn_gate.weight', [ffn, dim], 'matrix');
    add('ffn_up.weight', [ffn, dim], 'matrix');
    add('ffn_down.weight', [dim, ffn], 'matrix');
  }
  return specs;
}

/** FNV-1a of a string: a tensor's stream id. */
function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Fill `out` with offset + scale * uniform(-1, 1) from a mulberry32 stream seeded by (seed, name). Only
 * 32-bit integer ops and correctly rounded IEEE double ops (then f32 storage): the same values on every platform.
 */
function fillUniform(out: Float32Array, seed: number, name: string, scale: number, offset: number): void {
  let a = (hashName(name) ^ Math.imul(seed | 0, 0x9e3779b9)) >>> 0;
  const k = (2 * scale) / 4294967296;
  const c = offset - scale;
  for (let i = 0; i < out.length; i++) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = ((t ^ (t >>> 14)) >>> 0) * k + c;
  }
}

/** The f32 values of one tensor in HF layout (before any RoPE permutation or type conversion). */
function tensorValues(r: Resolved, spec: TensorSpec): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  let scale: number;
  let offset = 0;
  switch (spec.init) {
    case 'matrix':
      scale = Math.sqrt(3 / spec.shape[1]);
      break;
    case 'embed':
      scale = 2 * Math.sqrt(3 / spec.shape[1]);
      break;
    case 'norm':
      scale = 0.1;
      offset = 1;
      break;
    case 'bias':
      scale = 0.1;
      break;
  }
  fillUniform(out, r.seed, spec.name, scale, offset);
  return out;
}

/**
 * llama.cpp's converter permutation for llama Q/K: within each head, HF's rotate-half pairs (j, j + d/2)
 * become adjacent rows (2j, 2j+1), so ggml's adjacent-pair RoPE computes the same function.
 */
function permuteForGgufRope(values: Float32Array, rows: number, nHeads: number): Float32Array {
  const cols = values.length / rows;
  const hd = rows / nHeads;
  const half = hd / 2;
  const out = new Float32Array(values.length);
  for (let h = 0; h < nHeads; h++) {
    for (let j = 0; j < half; j++) {
      for (let t = 0; t < 2; t++) {
        const src = (h * hd + t * half + j) * cols;
        const dst = (h * hd + 2 * j + t) * cols;
        out.set(values.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

/** The model config a fixture loads as (GGUF: llama RoPE is 'normal' and llama3 scaling lives in `rope_freqs`). */
export function fixtureConfig(opts: FixtureOptions, format: 'gguf' | 'safetensors'): ModelConfig {
  const r = resolve(opts);
  const config: ModelConfig = {
    arch: r.arch,
    vocabSize: r.dims.vocab,
    dim: r.dims.dim,
    nLayers: r.dims.nLayers,
    nHeads: r.dims.nHeads,
    nKvHeads: r.dims.nKvHeads,
    headDim: r.dims.headDim,
    ffnDim: r.dims.ffn,
    contextLength: r.dims.ctx,
    // GGUF stores these as f32.
    normEps: format === 'gguf' ? Math.fround(r.normEps) : r.normEps,
    ropeTheta: format === 'gguf' ? Math.fround(r.ropeTheta) : r.ropeTheta,
    ropeStyle: format === 'gguf' && r.arch === 'llama' ? 'normal' : 'neox',
    tiedEmbeddings: r.tied,
    qkvBias: r.qkvBias,
    qkNorm: r.qkNorm,
  };
  if (r.ropeScaling && format === 'safetensors') {
    const s: RopeScaling = { type: 'llama3', ...r.ropeScaling };
    config.ropeScaling = s;
  }
  return config;
}

/**
 * The f32 weights of a fixture tensor by canonical name, in the layout of `format` (GGUF llama Q/K permuted),
 * before conversion to the fixture's element type: what a reference implementation can compare against.
 */
export function fixtureTensorF32(opts: FixtureOptions, name: string, format: 'gguf' | 'safetensors'): Float32Array {
  const r = resolve(opts);
  const spec = tensorSpecs(r).find((s) => s.name === name);
  if (!spec) throw new InvalidRequestError(`The fixture has no tensor "${name}".`);
  return layoutValues(r, spec, format);
}

function layoutValues(r: Resolved, spec: TensorSpec, format: 'gguf' | 'safetensors'): Float32Array {
  const v = tensorValues(r, spec);
  return format === 'gguf' && r.arch === 'llama' && spec.ropeHeads > 0 ? permuteForGgufRope(v, spec.shape[0], spec.ropeHeads) : v;
}

function vocabFor(r: Resolved): FixtureVocab {
  return makeFixtureVocab(r.dims.vocab, r.pre, r.arch === 'llama');
}

/** A GGUF v3 model file with a byte-level BPE tokenizer. */
export function makeFixture(opts: FixtureOptions): { gguf: Uint8Array; config: ModelConfig } {
  const r = resolve(opts);
  const d = r.dims;
  const a = r.arch;
  const metadata: Array<[string, GgufWriteValue, GgufKind]> = [
    ['general.architecture', a, 'string'],
    ['general.name', r.name, 'string'],
    ['general.file_type', FILE_TYPE[r.type], 'u32'],
    ['general.quantization_version', 2, 'u32'],
    [`${a}.vocab_size`, d.vocab, 'u32'],
    [`${a}.context_length`, d.ctx, 'u32'],
    [`${a}.embedding_length`, d.dim, 'u32'],
    [`${a}.block_count`, d.nLayers, 'u32'],
    [`${a}.feed_forward_length`, d.ffn, 'u32'],
    [`${a}.attention.head_count`, d.nHeads, 'u32'],
    [`${a}.attention.head_count_kv`, d.nKvHeads, 'u32'],
    [`${a}.attention.key_length`, d.headDim, 'u32'],
    [`${a}.attention.value_length`, d.headDim, 'u32'],
    [`${a}.rope.dimension_count`, d.headDim, 'u32'],
    [`${a}.rope.freq_base`, r.ropeTheta, 'f32'],
    [`${a}.attention.layer_norm_rms_epsilon`, r.normEps, 'f32'],
    ...ggufTokenizerMetadata(vocabFor(r)),
  ];

  const tensors: GgufTensorInput[] = [];
  if (r.ropeScaling) {
    const factors = ropeFreqFactors({ headDim: d.headDim, ropeTheta: r.ropeTheta, ropeScaling: { type: 'llama3', ...r.ropeScaling } });
    tensors.push({ name: 'rope_freqs.weight', type: GgmlType.F32, shape: [d.headDim / 2], data: new Uint8Array(factors.buffer) });
  }
  for (const spec of tensorSpecs(r)) {
    const fixtureType = spec.shape.length === 1 ? 'f32' : spec.init === 'embed' ? r.embeddingType : r.type;
    const type = GGML_TYPE[fixtureType];
    tensors.push({
      name: spec.name,
      type,
      shape: spec.shape,
      // Generated straight into the output buffer, one tensor at a time.
      data: (dst) => dst.set(quantize(type, layoutValues(r, spec, 'gguf'))),
    });
  }
  return { gguf: writeGguf({ metadata, tensors }), config: fixtureConfig(opts, 'gguf') };
}

const HF_ARCH: Record<Architecture, string> = { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM' };
const HF_DTYPE = { f32: 'F32', f16: 'F16', bf16: 'BF16' } as const;
const TORCH_DTYPE = { f32: 'float32', f16: 'float16', bf16: 'bfloat16' } as const;

/** An HF-style model: `model.safetensors` bytes, `config.json`, `tokenizer.json` and `tokenizer_config.json`. */
export function makeSafetensorsFixture(opts: FixtureOptions): {
  safetensors: Uint8Array;
  configJson: Record<string, unknown>;
  tokenizerJson: Record<string, unknown>;
  tokenizerConfigJson: Record<string, unknown>;
  config: ModelConfig;
} {
  const r = resolve(opts);
  if (r.type !== 'f32' && r.type !== 'f16' && r.type !== 'bf16') {
    throw new InvalidRequestError(`safetensors fixtures are f32, f16 or bf16; got ${r.type}.`);
  }
  if (r.embeddingType !== r.type) throw new InvalidRequestError('safetensors fixtures use one dtype for every tensor.');
  const dtype = HF_DTYPE[r.type];
  const type = GGML_TYPE[r.type];
  const tensors: SafetensorsTensorInput[] = tensorSpecs(r).map((spec) => ({
    name: hfTensorName(spec.name),
    dtype,
    shape: spec.shape,
    data: quantize(type, layoutValues(r, spec, 'safetensors')),
  }));
  const d = r.dims;
  const vocab = vocabFor(r);
  const configJson: Record<string, unknown> = {
    architectures: [HF_ARCH[r.arch]],
    model_type: r.arch,
    vocab_size: d.vocab,
    hidden_size: d.dim,
    intermediate_size: d.ffn,
    num_hidden_layers: d.nLayers,
    num_attention_heads: d.nHeads,
    num_key_value_heads: d.nKvHeads,
    head_dim: d.headDim,
    max_position_embeddings: d.ctx,
    rms_norm_eps: r.normEps,
    rope_theta: r.ropeTheta,
    rope_scaling: r.ropeScaling
      ? {
          rope_type: 'llama3',
          factor: r.ropeScaling.factor,
          low_freq_factor: r.ropeScaling.lowFreqFactor,
          high_freq_factor: r.ropeScaling.highFreqFactor,
          original_max_position_embeddings: r.ropeScaling.originalContextLength,
        }
      : null,
    tie_word_embeddings: r.tied,
    attention_bias: r.qkvBias,
    hidden_act: 'silu',
    bos_token_id: vocab.bosId,
    eos_token_id: vocab.eosId,
    torch_dtype: TORCH_DTYPE[r.type],
  };
  return {
    safetensors: writeSafetensors(tensors, { format: 'pt' }),
    configJson,
    tokenizerJson: hfTokenizerJson(vocab),
    tokenizerConfigJson: hfTokenizerConfigJson(vocab),
    config: fixtureConfig(opts, 'safetensors'),
  };
}
