/**
 * Element conversions between f32 and the stored tensor types, bit-exact with ggml's reference code:
 * f16/bf16 conversion with round-to-nearest-even, and the Q8_0 / Q4_0 block formats
 * (`quantize_row_q8_0_ref`, `quantize_row_q4_0_ref`, `dequantize_row_q*_0`).
 *
 * Multi-byte values are little endian as in GGUF; typed-array views assume a little-endian host, which every
 * browser engine and Node platform llmo targets is.
 */
import { GgmlType } from '../model/types.ts';
import { ModelFormatError, UnsupportedModelError } from '../errors.ts';
import { ggmlTypeByteLength, ggmlTypeName } from './ggml-types.ts';

export const QK8_0 = 32;
export const QK4_0 = 32;
/** Bytes of one Q8_0 block: f16 scale + 32 int8. */
export const Q8_0_BLOCK_BYTES = 34;
/** Bytes of one Q4_0 block: f16 scale + 16 bytes of packed nibbles. */
export const Q4_0_BLOCK_BYTES = 18;

// Scratch views for bit casts of single values.
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** f32 bits -> f16 bits, round to nearest even; overflow to inf, gradual underflow to subnormals, NaN kept NaN. */
export function f32BitsToF16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e >= 1) {
    let h = (e << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    // Round half to even; a carry out of the mantissa correctly bumps the exponent (up to inf).
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) !== 0)) h++;
    return sign | h;
  }
  if (e < -10) return sign; // below half the smallest subnormal (2^-25): rounds to zero
  const m = mant | 0x800000;
  const shift = 14 - e; // 14..24: f16 subnormal units are 2^-24
  let h = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (h & 1) !== 0)) h++;
  return sign | h;
}

/** One f32 value to f16 bits (RNE). */
export function f32ToF16(x: number): number {
  scratchF32[0] = x;
  return f32BitsToF16Bits(scratchU32[0]);
}

/** Every f16 bit pattern decoded once: 256 KiB, and then decoding is a table lookup. */
const F16_TABLE: Float32Array = (() => {
  const t = new Float32Array(65536);
  const u = new Uint32Array(t.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0x1f) {
      u[h] = sign | 0x7f800000 | (mant << 13);
    } else if (exp !== 0) {
      u[h] = sign | ((exp + 112) << 23) | (mant << 13);
    } else {
      // Zero or subnormal: mant * 2^-24 is exact in f32.
      t[h] = (sign ? -1 : 1) * mant * 2 ** -24;
    }
  }
  return t;
})();

/** f16 bits to its (exact) f32 value. */
export function f16ToF32(h: number): number {
  return F16_TABLE[h & 0xffff];
}

/** bf16 bits to f32 value (exact: bf16 is the top half of an f32). */
export function bf16ToF32(h: number): number {
  scratchU32[0] = (h & 0xffff) << 16;
  return scratchF32[0];
}

/** f32 bits -> bf16 bits, round to nearest even; NaN stays NaN (quiet), as ggml's `ggml_compute_fp32_to_bf16`. */
export function f32BitsToBf16Bits(bits: number): number {
  if ((bits & 0x7fffffff) >>> 0 > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** One f32 value to bf16 bits (RNE). */
export function f32ToBf16(x: number): number {
  scratchF32[0] = x;
  return f32BitsToBf16Bits(scratchU32[0]);
}

/** Whole array f32 -> f16 bits. */
export function f32ArrayToF16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < bits.length; i++) out[i] = f32BitsToF16Bits(bits[i]);
  return out;
}

/** Whole array f32 -> bf16 bits. */
export function f32ArrayToBf16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < bits.length; i++) out[i] = f32BitsToBf16Bits(bits[i]);
  return out;
}

/** `bytes` viewed as an aligned typed array of `n` elements, copying only when the view would be misaligned. */
function alignedBuffer(bytes: Uint8Array, byteLength: number, align: number): { buffer: ArrayBufferLike; offset: number } {
  if (bytes.byteOffset % align === 0) return { buffer: bytes.buffer, offset: bytes.byteOffset };
  return { buffer: bytes.slice(0, byteLength).buffer, offset: 0 };
}

function readF16Scale(bytes: Uint8Array, at: number): number {
  return F16_TABLE[bytes[at] | (bytes[at + 1] << 8)];
}

/**
 * Decode `nElements` elements of a tensor of `type` stored in `bytes` to f32.
 * Supports F32, F16, BF16, Q8_0 and Q4_0 (the types the engine computes with).
 */
export function dequantize(type: GgmlType, bytes: Uint8Array, nElements: number): Float32Array {
  const need = ggmlTypeByteLength(type, nElements);
  if (bytes.byteLength < need) {
    throw new ModelFormatError(
      `A ${ggmlTypeName(type)} tensor of ${nElements} elements needs ${need} bytes but only ${bytes.byteLength} were given: the file is truncated.`,
    );
  }
  const out = new Float32Array(nElements);
  switch (type) {
    case GgmlType.F32: {
      const { buffer, offset } = alignedBuffer(bytes, need, 4);
      out.set(new Float32Array(buffer, offset, nElements));
      return out;
    }
    case GgmlType.F16: {
      const { buffer, offset } = alignedBuffer(bytes, need, 2);
      const h = new Uint16Array(buffer, offset, nElements);
      for (let i = 0; i < nElements; i++) out[i] = F16_TABLE[h[i]];
      return out;
    }
    case GgmlType.BF16: {
      const { buffer, offset } = alignedBuffer(bytes, need, 2);
      const h = new Uint16Array(buffer, offset, nElements);
      const o = new Uint32Array(out.buffer);
      for (let i = 0; i < nElements; i++) o[i] = h[i] << 16;
      return out;
    }
    case GgmlType.Q8_0: {
      const q = new Int8Array(bytes.buffer, bytes.byteOffset, need);
      for (let b = 0, src = 0, dst = 0; dst < nElements; b++, src += Q8_0_BLOCK_BYTES) {
        const d = readF16Scale(bytes, src);
        for (let j = 0; j < QK8_0; j++) out[dst++] = q[src + 2 + j] * d;
      }
      return out;
    }
    case GgmlType.Q4_0: {
      for (let src = 0, dst = 0; dst < nElements; src += Q4_0_BLOCK_BYTES, dst += QK4_0) {
        const d = readF16Scale(bytes, src);
        for (let j = 0; j < 16; j++) {
          const v = bytes[src + 2 + j];
          out[dst + j] = ((v & 0x0f) - 8) * d;
          out[dst + j + 16] = ((v >>> 4) - 8) * d;
        }
      }
      return out;
    }
    default:
      throw new UnsupportedModelError(
        `Cannot decode tensors of type ${ggmlTypeName(type)}: llmo supports F32, F16, BF16, Q8_0 and Q4_0. Re-quantize the model to one of those.`,
      );
  }
}

function checkBlocks(src: Float32Array, what: string): number {
  if (src.length % 32 !== 0) {
    throw new ModelFormatError(`${what} quantizes whole 32-element blocks; got ${src.length} elements (rows must be a multiple of 32 long).`);
  }
  return src.length / 32;
}

const fround = Math.fround;

/**
 * Round half away from zero, as C `roundf`. Math.round rounds halves up, so only negative ties need fixing;
 * testing for the (rare) tie first keeps the common path free of sign-dependent branches.
 */
function roundHalfAway(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && x < 0 ? r - 1 : r;
}

/**
 * Quantize to Q8_0 exactly as ggml's `quantize_row_q8_0_ref`: per block d = amax/127 (f32), id = 1/d,
 * q = roundf(x*id), d stored as f16. All arithmetic is f32 (doubles rounded with fround are exact here:
 * one rounding of an exact or correctly-rounded double result of +,*,/ on f32 inputs equals the f32 operation).
 */
export function quantizeQ8_0(src: Float32Array): Uint8Array {
  const nb = checkBlocks(src, 'Q8_0');
  const out = new Uint8Array(nb * Q8_0_BLOCK_BYTES);
  const q = new Int8Array(out.buffer);
  for (let b = 0; b < nb; b++) {
    const base = b * QK8_0;
    let amax = 0;
    for (let j = 0; j < QK8_0; j++) amax = Math.max(amax, Math.abs(src[base + j]));
    const d = fround(amax / 127);
    const id = d !== 0 ? fround(1 / d) : 0;
    const dh = f32ToF16(d);
    const o = b * Q8_0_BLOCK_BYTES;
    out[o] = dh & 0xff;
    out[o + 1] = dh >>> 8;
    for (let j = 0; j < QK8_0; j++) q[o + 2 + j] = roundHalfAway(fround(src[base + j] * id));
  }
  return out;
}

/**
 * Quantize to Q4_0 exactly as ggml's `quantize_row_q4_0_ref`: `max` is the signed value of largest magnitude
 * (first one on ties), d = max / -8, id = 1/d, q = min(15, trunc(x*id + 8.5)), d stored as f16.
 */
export function quantizeQ4_0(src: Float32Array): Uint8Array {
  const nb = checkBlocks(src, 'Q4_0');
  const out = new Uint8Array(nb * Q4_0_BLOCK_BYTES);
  for (let b = 0; b < nb; b++) {
    const base = b * QK4_0;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK4_0; j++) {
      const v = src[base + j];
      const a = Math.abs(v);
      if (amax < a) {
        amax = a;
        max = v;
      }
    }
    const d = fround(max / -8);
    const id = d !== 0 ? fround(1 / d) : 0;
    const dh = f32ToF16(d);
    const o = b * Q4_0_BLOCK_BYTES;
    out[o] = dh & 0xff;
    out[o + 1] = dh >>> 8;
    for (let j = 0; j < 16; j++) {
      // (int8_t) truncates toward zero; x*id is in [-8, 8] so the sum is non-negative.
      const x0 = Math.min(15, Math.trunc(fround(fround(src[base + j] * id) + 8.5)));
      const x1 = Math.min(15, Math.trunc(fround(fround(src[base + 16 + j] * id) + 8.5)));
      out[o + 2 + j] = x0 | (x1 << 4);
    }
  }
  return out;
}

/** Encode f32 values as the bytes of a tensor of `type` (F32, F16, BF16, Q8_0, Q4_0). */
export function quantize(type: GgmlType, src: Float32Array): Uint8Array {
  switch (type) {
    case GgmlType.F32:
      return new Uint8Array(src.slice().buffer);
    case GgmlType.F16:
      return new Uint8Array(f32ArrayToF16(src).buffer);
    case GgmlType.BF16:
      return new Uint8Array(f32ArrayToBf16(src).buffer);
    case GgmlType.Q8_0:
      return quantizeQ8_0(src);
    case GgmlType.Q4_0:
      return quantizeQ4_0(src);
    default:
      throw new UnsupportedModelError(`Cannot encode tensors as ${ggmlTypeName(type)}: supported are F32, F16, BF16, Q8_0 and Q4_0.`);
  }
}
