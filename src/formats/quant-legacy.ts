/**
 * The 32-element block formats (ggml's "legacy" quants): Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 and IQ4_NL. Decoders follow
 * ggml's `dequantize_row_*`; encoders follow the `quantize_row_*_ref` reference code bit for bit (all arithmetic
 * in f32: a double result of +,-,*,/ on f32 inputs rounded once with fround equals the f32 operation).
 * Every function takes/gives whole blocks; the format table (weight-formats.ts) checks sizes.
 */
import { f32ToF16, fround, readF16, roundHalfAway, writeF16Bits } from './f16.ts';

const QK = 32;

export function dequantizeQ8_0(bytes: Uint8Array, out: Float32Array): void {
  const q = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let src = 0, dst = 0; dst < out.length; src += 34) {
    const d = readF16(bytes, src);
    for (let j = 0; j < QK; j++) out[dst++] = q[src + 2 + j] * d;
  }
}

/** ggml `quantize_row_q8_0_ref`: d = amax/127, q = roundf(x/d). */
export function quantizeQ8_0(src: Float32Array): Uint8Array {
  const nb = src.length / QK;
  const out = new Uint8Array(nb * 34);
  const q = new Int8Array(out.buffer);
  for (let b = 0; b < nb; b++) {
    const base = b * QK;
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(src[base + j]));
    const d = fround(amax / 127);
    const id = d !== 0 ? fround(1 / d) : 0;
    const o = b * 34;
    writeF16Bits(out, o, f32ToF16(d));
    for (let j = 0; j < QK; j++) q[o + 2 + j] = roundHalfAway(fround(src[base + j] * id));
  }
  return out;
}

export function dequantizeQ4_0(bytes: Uint8Array, out: Float32Array): void {
  for (let src = 0, dst = 0; dst < out.length; src += 18, dst += QK) {
    const d = readF16(bytes, src);
    for (let j = 0; j < 16; j++) {
      const v = bytes[src + 2 + j];
      out[dst + j] = ((v & 0x0f) - 8) * d;
      out[dst + j + 16] = ((v >>> 4) - 8) * d;
    }
  }
}

/** The signed value of largest magnitude in x[base .. base+n) (the first on ties), as ggml's q4_0/q5_0 pick `max`. */
function signedAbsMax(src: Float32Array, base: number, n: number): number {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < n; j++) {
    const v = src[base + j];
    const a = Math.abs(v);
    if (amax < a) {
      amax = a;
      max = v;
    }
  }
  return max;
}

/** ggml `quantize_row_q4_0_ref`: d = max / -8, q = min(15, trunc(x/d + 8.5)). */
export function quantizeQ4_0(src: Float32Array): Uint8Array {
  const nb = src.length / QK;
  const out = new Uint8Array(nb * 18);
  for (let b = 0; b < nb; b++) {
    const base = b * QK;
    const d = fround(signedAbsMax(src, base, QK) / -8);
    const id = d !== 0 ? fround(1 / d) : 0;
    const o = b * 18;
    writeF16Bits(out, o, f32ToF16(d));
    for (let j = 0; j < 16; j++) {
      // (int8_t) truncates toward zero; x*id is in [-8, 8] so the sum is non-negative.
      const x0 = Math.min(15, Math.trunc(fround(fround(src[base + j] * id) + 8.5)));
      const x1 = Math.min(15, Math.trunc(fround(fround(src[base + 16 + j] * id) + 8.5)));
      out[o + 2 + j] = x0 | (x1 << 4);
    }
  }
  return out;
}

