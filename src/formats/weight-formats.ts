/**
 * The weight-format table: every tensor type llmo computes with, in one place. An entry says how the format is
 * named (`id`: the `quantize` option, the fixture type, and `FMT_<ID>` / `shaders/formats/<id>.wgsl` on the GPU),
 * how its bytes are laid out on the GPU, and how to decode/encode it in TypeScript. Block sizes and byte counts are
 * ggml's (ggml-types.ts). Everything else that lists formats (config checks, upload, kernels, fixtures, tests) is
 * derived from this table: a new format is one entry here plus one WGSL file.
 */
import { GgmlType } from '../model/types.ts';
import { ggmlBlockSize, ggmlTypeByteLength } from './ggml-types.ts';
import { f32ArrayToBf16, f32ArrayToF16, F16_TABLE } from './f16.ts';
import {
  dequantizeQ4_0, dequantizeQ4_1, dequantizeQ5_0, dequantizeQ5_1, dequantizeQ8_0,
  quantizeQ4_0, quantizeQ4_1, quantizeQ5_0, quantizeQ5_1, quantizeQ8_0,
} from './quant-legacy.ts';
import { dequantizeIq4Nl, dequantizeIq4Xs, quantizeIq4Nl, quantizeIq4Xs } from './quant-iq4.ts';
import { dequantizeQ2K, dequantizeQ3K, dequantizeQ4K, dequantizeQ5K, dequantizeQ6K } from './quant-k.ts';
import { quantizeQ2K, quantizeQ3K, quantizeQ4K, quantizeQ5K, quantizeQ6K } from './quant-k-encode.ts';

export interface WeightFormatSpec {
  type: GgmlType;
  /** Lower-case name: `q4_k`. */
  id: string;
  /**
   * GPU layout. `splitScaleAt`: the byte offset of an f16 in each block that goes to a separate scales buffer (one
   * f16 per block), so that the rest of the block is a whole number of u32 words and every kernel load is aligned.
   * Absent: the blocks are uploaded as they are in the file.
   */
  gpu: { splitScaleAt?: number };
  /** llama.cpp `general.file_type` (llama_ftype) of a file whose matrices are all this type. */
  fileType: number;
  /** Decodes whole blocks: `out.length` elements from `bytes` (exactly their byte length). */
  dequantize(bytes: Uint8Array, out: Float32Array): void;
  /** Encodes whole blocks as ggml's reference quantizer does; absent for formats llmo only reads. */
  quantize?(src: Float32Array): Uint8Array;
}

function alignedView<T>(bytes: Uint8Array, align: number, make: (buf: ArrayBufferLike, off: number, n: number) => T, n: number): T {
  if (bytes.byteOffset % align === 0) return make(bytes.buffer, bytes.byteOffset, n);
  return make(bytes.slice().buffer, 0, n);
}

const FORMATS = [
  {
    type: GgmlType.F32, id: 'f32', gpu: {}, fileType: 0,
    dequantize: (b, out) => out.set(alignedView(b, 4, (buf, o, n) => new Float32Array(buf, o, n), out.length)),
    quantize: (src) => new Uint8Array(src.slice().buffer),
  },
  {
    type: GgmlType.F16, id: 'f16', gpu: {}, fileType: 1,
    dequantize: (b, out) => {
      const h = alignedView(b, 2, (buf, o, n) => new Uint16Array(buf, o, n), out.length);
      for (let i = 0; i < out.length; i++) out[i] = F16_TABLE[h[i]];
    },
    quantize: (src) => new Uint8Array(f32ArrayToF16(src).buffer),
  },
  {
    type: GgmlType.BF16, id: 'bf16', gpu: {}, fileType: 32,
    dequantize: (b, out) => {
      const h = alignedView(b, 2, (buf, o, n) => new Uint16Array(buf, o, n), out.length);
      const o32 = new Uint32Array(out.buffer, out.byteOffset, out.length);
      for (let i = 0; i < out.length; i++) o32[i] = h[i] << 16;
    },
    quantize: (src) => new Uint8Array(f32ArrayToBf16(src).buffer),
  },
  { type: GgmlType.Q8_0, id: 'q8_0', gpu: { splitScaleAt: 0 }, fileType: 7, dequantize: dequantizeQ8_0, quantize: quantizeQ8_0 },
  { type: GgmlType.Q4_0, id: 'q4_0', gpu: { splitScaleAt: 0 }, fileType: 2, dequantize: dequantizeQ4_0, quantize: quantizeQ4_0 },
  { type: GgmlType.Q4_1, id: 'q4_1', gpu: {}, fileType: 3, dequantize: dequantizeQ4_1, quantize: quantizeQ4_1 },
  { type: GgmlType.Q5_0, id: 'q5_0', gpu: { splitScaleAt: 0 }, fileType: 8, dequantize: dequantizeQ5_0, quantize: quantizeQ5_0 },
  { type: GgmlType.Q5_1, id: 'q5_1', gpu: {}, fileType: 9, dequantize: dequantizeQ5_1, quantize: quantizeQ5_1 },
  { type: GgmlType.IQ4_NL, id: 'iq4_nl', gpu: { splitScaleAt: 0 }, fileType: 25, dequantize: dequantizeIq4Nl, quantize: quantizeIq4Nl },
  // K-quants (256-element super-blocks). fileType: the "_S" ftype, a file with every matrix in that type.
  { type: GgmlType.Q2_K, id: 'q2_k', gpu: {}, fileType: 10, dequantize: dequantizeQ2K, quantize: quantizeQ2K },
  { type: GgmlType.Q3_K, id: 'q3_k', gpu: { splitScaleAt: 108 }, fileType: 11, dequantize: dequantizeQ3K, quantize: quantizeQ3K },
  { type: GgmlType.Q4_K, id: 'q4_k', gpu: {}, fileType: 14, dequantize: dequantizeQ4K, quantize: quantizeQ4K },
  { type: GgmlType.Q5_K, id: 'q5_k', gpu: {}, fileType: 16, dequantize: dequantizeQ5K, quantize: quantizeQ5K },
  { type: GgmlType.Q6_K, id: 'q6_k', gpu: { splitScaleAt: 208 }, fileType: 18, dequantize: dequantizeQ6K, quantize: quantizeQ6K },
  { type: GgmlType.IQ4_XS, id: 'iq4_xs', gpu: {}, fileType: 30, dequantize: dequantizeIq4Xs, quantize: quantizeIq4Xs },
] as const satisfies readonly WeightFormatSpec[];

const BY_TYPE = new Map<GgmlType, WeightFormatSpec>(FORMATS.map((f) => [f.type, f]));
const BY_ID = new Map<string, WeightFormatSpec>(FORMATS.map((f) => [f.id, f]));

/** A format's lower-case id (`q4_k`). */
export type WeightFormatId = (typeof FORMATS)[number]['id'];

/** Every format llmo computes with, in table order. */
export const WEIGHT_FORMATS: readonly WeightFormatSpec[] = FORMATS;

/** Types the engine can compute with (every kernel has a variant for each). */
export const SUPPORTED_TENSOR_TYPES: readonly GgmlType[] = FORMATS.map((f): GgmlType => f.type);

/** The table entry of a tensor type, or undefined if llmo cannot compute with it. */
export function weightFormat(type: GgmlType): WeightFormatSpec | undefined {
  return BY_TYPE.get(type);
}

/** The table entry named `id` (`q8_0`), or undefined. */
export function weightFormatById(id: string): WeightFormatSpec | undefined {
  return BY_ID.get(id);
}

/** Ids of the formats llmo can also encode (quantize), in table order. */
export const QUANTIZABLE_FORMAT_IDS: readonly WeightFormatId[] = FORMATS.filter((f) => 'quantize' in f).map((f) => f.id);

/** Elements and bytes of one block of a format (ggml's sizes). */
export function blockShape(f: WeightFormatSpec): { elems: number; bytes: number } {
  const elems = ggmlBlockSize(f.type);
  return { elems, bytes: ggmlTypeByteLength(f.type, elems) };
}
