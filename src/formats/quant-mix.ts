/**
 * llama.cpp's per-tensor type choice for a file type ("mix"): what `llama-quantize model.gguf out.gguf Q4_K_M` writes
 * for each tensor (src/llama-quant.cpp `llama_tensor_get_type`, no importance matrix, dense non-Falcon models).
 * A mix names a base type; attn_v / ffn_down of some layers, attn_output and the output head get more bits, and
 * a matrix whose rows are not whole blocks of the chosen type falls back to a 32-element type (SmolLM2's 576).
 * Used by quantize-on-load (`load(src, { quantize: 'q4_k_m' })`) and the fixture generator.
 */
import { GgmlType } from '../model/types.ts';
import { ggmlBlockSize } from './ggml-types.ts';

/**
 * The file types a mix can be asked for by name (llama.cpp's `--help` names, lower case): the base type of its
 * matrices and its llama_ftype (`general.file_type`).
 */
export const QUANT_MIXES = {
  q8_0: [GgmlType.Q8_0, 7], q4_0: [GgmlType.Q4_0, 2], q4_1: [GgmlType.Q4_1, 3], q5_0: [GgmlType.Q5_0, 8],
  q5_1: [GgmlType.Q5_1, 9], iq4_nl: [GgmlType.IQ4_NL, 25], iq4_xs: [GgmlType.IQ4_XS, 30],
  q2_k: [GgmlType.Q2_K, 10], q3_k_m: [GgmlType.Q3_K, 12], q4_k_s: [GgmlType.Q4_K, 14], q4_k_m: [GgmlType.Q4_K, 15],
  q5_k_s: [GgmlType.Q5_K, 16], q5_k_m: [GgmlType.Q5_K, 17], q6_k: [GgmlType.Q6_K, 18],
} as const satisfies Record<string, readonly [GgmlType, number]>;
export type QuantMixId = keyof typeof QUANT_MIXES;

export function isQuantMix(id: string): id is QuantMixId {
  return Object.hasOwn(QUANT_MIXES, id);
}

/** What the choice needs to know of the model. */
export interface MixModel {
  nLayers: number;
  /** Query heads per KV head (llama.cpp n_gqa). */
  gqa: number;
  /** The model has a separate output.weight (else token_embd doubles as the head and is chosen as one). */
  hasOutput: boolean;
}

/** llama.cpp's "give this layer more bits": the first and last eighth, and every third layer in between. */
function useMoreBits(i: number, n: number): boolean {
  return i < Math.floor(n / 8) || i >= Math.floor((7 * n) / 8) || (i - Math.floor(n / 8)) % 3 === 2;
}

/** A type that cannot take rows of `cols` elements falls back as llama.cpp's tensor_type_fallback does. */
function fallback(type: GgmlType, cols: number): GgmlType {
  if (cols % ggmlBlockSize(type) === 0) return type;
  const to = ({
    [GgmlType.IQ4_XS]: GgmlType.IQ4_NL, [GgmlType.Q2_K]: GgmlType.Q4_0, [GgmlType.Q3_K]: GgmlType.Q4_0,
    [GgmlType.Q4_K]: GgmlType.Q5_0, [GgmlType.Q5_K]: GgmlType.Q5_1, [GgmlType.Q6_K]: GgmlType.Q8_0,
  } as Partial<Record<GgmlType, GgmlType>>)[type] ?? type;
  return cols % ggmlBlockSize(to) === 0 ? to : GgmlType.F16;
}

/**
 * The type llama.cpp's quantizer gives matrix `name` ([rows, cols]) in a `mix` file, or undefined for a tensor it
 * keeps as it is (vectors, norms).
 */
export function mixTensorType(mix: QuantMixId, name: string, shape: readonly number[], m: MixModel): GgmlType | undefined {
  if (shape.length < 2 || !name.endsWith('weight') || name.includes('_norm.weight')) return undefined;
  const cols = shape[shape.length - 1];
  const base = QUANT_MIXES[mix][0];
  const layer = Number(/^blk\.(\d+)\./.exec(name)?.[1] ?? -1);
  const n = m.nLayers;
  let type: GgmlType = base;
  if (name === 'output.weight' || (!m.hasOutput && name === 'token_embd.weight')) {
    type = cols % ggmlBlockSize(base) !== 0 ? GgmlType.Q8_0 : base === GgmlType.Q8_0 ? base : GgmlType.Q6_K;
  } else if (name.includes('attn_v.weight')) {
    if (mix === 'q2_k') type = m.gqa >= 4 ? GgmlType.Q4_K : GgmlType.Q3_K;
    else if (mix === 'q3_k_m') type = layer < 2 ? GgmlType.Q5_K : GgmlType.Q4_K;
    else if ((mix === 'iq4_nl' || mix === 'iq4_xs') && m.gqa >= 4) type = GgmlType.Q5_K;
    else if ((mix === 'q4_k_m' || mix === 'q5_k_m') && useMoreBits(layer, n)) type = GgmlType.Q6_K;
    else if (mix === 'q4_k_s' && layer < 4) type = GgmlType.Q5_K;
  } else if (name.includes('ffn_down')) {
    if (mix === 'q2_k') type = GgmlType.Q3_K;
    else if (mix === 'q3_k_m') type = layer < Math.floor(n / 16) ? GgmlType.Q5_K : GgmlType.Q4_K;
    else if (mix === 'q4_k_m') { if (useMoreBits(layer, n)) type = GgmlType.Q6_K; }
    else if (layer < Math.floor(n / 8) && (mix === 'iq4_nl' || mix === 'iq4_xs')) type = GgmlType.Q5_K;
    else if (mix === 'q5_k_m' && useMoreBits(layer, n)) type = GgmlType.Q6_K;
    else if (mix === 'q4_k_s' && layer < Math.floor(n / 8)) type = GgmlType.Q5_K;
  } else if (name.includes('attn_output.weight')) {
    if (mix === 'q2_k') type = GgmlType.Q3_K;
    else if (mix === 'q3_k_m') type = GgmlType.Q4_K;
  } else if (name.includes('attn_qkv.weight')) {
    if (mix === 'q3_k_m') type = GgmlType.Q4_K;
    else if (mix === 'q4_k_m') type = GgmlType.Q5_K;
    else if (mix === 'q5_k_m') type = GgmlType.Q6_K;
  }
  return fallback(type, cols);
}
