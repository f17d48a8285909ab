/**
 * f16 / bf16 <-> f32 element conversions, bit-exact with ggml (round to nearest even), and the small rounding helpers
 * the block quantizers share.
 */

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
export const F16_TABLE: Float32Array = (() => {
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

/** The f16 stored little endian at `bytes[at]`, as f32. */
export function readF16(bytes: Uint8Array, at: number): number {
  return F16_TABLE[bytes[at] | (bytes[at + 1] << 8)];
}

/** Stores f16 bits little endian at `bytes[at]`. */
export function writeF16Bits(bytes: Uint8Array, at: number, h: number): void {
  bytes[at] = h & 0xff;
  bytes[at + 1] = h >>> 8;
}

/** f32 value -> f16 bits -> f32: what a stored f16 scale reads back as. */
export function roundTripF16(x: number): number {
  return F16_TABLE[f32ToF16(x)];
}

export const fround = Math.fround;

/**
 * Round half away from zero, as C `roundf`. Math.round rounds halves up, so only negative ties need fixing;
 * testing for the (rare) tie first keeps the common path free of sign-dependent branches.
 */
export function roundHalfAway(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && x < 0 ? r - 1 : r;
}

/** C `nearest_int` of ggml-quants.c (round half to even via the 1.5*2^23 trick, |x| < 2^22). */
export function nearestInt(x: number): number {
  const v = fround(x + 12582912);
  return v - 12582912;
}
