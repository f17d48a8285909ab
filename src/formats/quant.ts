/**
 * Tensor bytes <-> f32 for every format in the weight-format table (weight-formats.ts), bit-exact with ggml's
 * reference code. Multi-byte values are little endian as in GGUF; typed-array views assume a little-endian host,
 * which every browser engine and Node platform llmo targets is.
 */
import { GgmlType } from '../model/types.ts';
import { ModelFormatError, UnsupportedModelError } from '../errors.ts';
import { ggmlTypeByteLength, ggmlTypeName } from './ggml-types.ts';
import { SUPPORTED_TENSOR_TYPES, weightFormat } from './weight-formats.ts';

export { bf16ToF32, f16ToF32, f32ArrayToBf16, f32ArrayToF16, f32BitsToBf16Bits, f32BitsToF16Bits, f32ToBf16, f32ToF16 } from './f16.ts';

const supportedNames = () => SUPPORTED_TENSOR_TYPES.map(ggmlTypeName).join(', ');

/** Decode `nElements` elements of a tensor of `type` stored in `bytes` to f32. */
export function dequantize(type: GgmlType, bytes: Uint8Array, nElements: number): Float32Array {
  const need = ggmlTypeByteLength(type, nElements);
  if (bytes.byteLength < need) {
    throw new ModelFormatError(
      `A ${ggmlTypeName(type)} tensor of ${nElements} elements needs ${need} bytes but only ${bytes.byteLength} were given: the file is truncated.`,
    );
  }
  const f = weightFormat(type);
  if (!f) {
    throw new UnsupportedModelError(
      `Cannot decode tensors of type ${ggmlTypeName(type)}: llmo supports ${supportedNames()}. Re-quantize the model to one of those.`,
    );
  }
  const out = new Float32Array(nElements);
  f.dequantize(bytes.subarray(0, need), out);
  return out;
}

/** Encode f32 values as the bytes of a tensor of `type` (ggml's reference quantizer). */
export function quantize(type: GgmlType, src: Float32Array): Uint8Array {
  const f = weightFormat(type);
  if (!f?.quantize) {
    throw new UnsupportedModelError(
      `Cannot encode tensors as ${ggmlTypeName(type)}: llmo quantizes to ${SUPPORTED_TENSOR_TYPES.filter((t) => weightFormat(t)?.quantize).map(ggmlTypeName).join(', ')}.`,
    );
  }
  ggmlTypeByteLength(type, src.length); // whole blocks, or ModelFormatError
  return f.quantize(src);
}

export const quantizeQ8_0 = (src: Float32Array): Uint8Array => quantize(GgmlType.Q8_0, src);
export const quantizeQ4_0 = (src: Float32Array): Uint8Array => quantize(GgmlType.Q4_0, src);
