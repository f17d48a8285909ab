/**
 * The 32-element block formats (ggml's "legacy" quants): Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 and IQ4_NL. Decoders follow
 * ggml's `dequantize_row_*`; encoders follow the `quantize_row_*_ref` reference code bit for bit (all arithmetic
 * in f32: a double result of +,-,*,/ on f32 inputs rounded once with fround equals the f32 operation).
 * Every function takes/gives whole blocks; the format table (weight-formats.ts) checks sizes.
 */
import { f32ToF16, readF16 as importedReadF16, roundHalfAway as importedRoundHalfAway, writeF16Bits } from './f16.ts';

// Module-local constants, not imported names, in the hot loops: see quant-k-encode.ts.
const fround = Math.fround;
const readF16 = importedReadF16;
const roundHalfAway = importedRoundHalfAway;

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
export function signedAbsMax(src: Float32Array, base: number, n: number): number {
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


/** min and max of x[base .. base+n), as ggml's q4_1/q5_1 scan (FLT_MAX / -FLT_MAX start). */
function minMax(src: Float32Array, base: number, n: number): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = src[base + j];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

export function dequantizeQ4_1(bytes: Uint8Array, out: Float32Array): void {
  for (let src = 0, dst = 0; dst < out.length; src += 20, dst += QK) {
    const d = readF16(bytes, src);
    const m = readF16(bytes, src + 2);
    for (let j = 0; j < 16; j++) {
      const v = bytes[src + 4 + j];
      out[dst + j] = fround((v & 0x0f) * d + m);
      out[dst + j + 16] = fround((v >>> 4) * d + m);
    }
  }
}

/** ggml `quantize_row_q4_1_ref`: d = (max - min)/15, m = min, q = min(15, trunc((x - min)/d + 0.5)). */
export function quantizeQ4_1(src: Float32Array): Uint8Array {
  const nb = src.length / QK;
  const out = new Uint8Array(nb * 20);
  for (let b = 0; b < nb; b++) {
    const base = b * QK;
    const [min, max] = minMax(src, base, QK);
    const d = fround(fround(max - min) / 15);
    const id = d !== 0 ? fround(1 / d) : 0;
    const o = b * 20;
    writeF16Bits(out, o, f32ToF16(d));
    writeF16Bits(out, o + 2, f32ToF16(min));
    for (let j = 0; j < 16; j++) {
      const x0 = fround(fround(src[base + j] - min) * id);
      const x1 = fround(fround(src[base + 16 + j] - min) * id);
      out[o + 4 + j] = Math.min(15, Math.trunc(fround(x0 + 0.5))) | (Math.min(15, Math.trunc(fround(x1 + 0.5))) << 4);
    }
  }
  return out;
}

/** Q5_0 / Q5_1: the fifth bits of elements j and j+16 are bits j and j+16 of the block's 32-bit `qh`. */
function dequantize5(bytes: Uint8Array, out: Float32Array, withMin: boolean): void {
  const bs = withMin ? 24 : 22;
  const qo = withMin ? 8 : 6;
  for (let src = 0, dst = 0; dst < out.length; src += bs, dst += QK) {
    const d = readF16(bytes, src);
    const m = withMin ? readF16(bytes, src + 2) : 0;
    const h = qo - 4;
    const qh = (bytes[src + h] | (bytes[src + h + 1] << 8) | (bytes[src + h + 2] << 16) | (bytes[src + h + 3] << 24)) >>> 0;
    for (let j = 0; j < 16; j++) {
      const v = bytes[src + qo + j];
      const x0 = (v & 0x0f) | (((qh >>> j) << 4) & 0x10);
      const x1 = (v >>> 4) | ((qh >>> (j + 12)) & 0x10);
      if (withMin) {
        out[dst + j] = fround(x0 * d + m);
        out[dst + j + 16] = fround(x1 * d + m);
      } else {
        out[dst + j] = (x0 - 16) * d;
        out[dst + j + 16] = (x1 - 16) * d;
      }
    }
  }
}

export const dequantizeQ5_0 = (bytes: Uint8Array, out: Float32Array): void => dequantize5(bytes, out, false);
export const dequantizeQ5_1 = (bytes: Uint8Array, out: Float32Array): void => dequantize5(bytes, out, true);

function pack5(out: Uint8Array, o: number, qo: number, xi: (j: number) => number): void {
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    const a = xi(j);
    const b = xi(j + 16);
    out[o + qo + j] = (a & 0x0f) | ((b & 0x0f) << 4);
    qh |= ((a & 0x10) >>> 4) << j;
    qh |= ((b & 0x10) >>> 4) << (j + 16);
  }
  for (let i = 0; i < 4; i++) out[o + qo - 4 + i] = (qh >>> (8 * i)) & 0xff;
}

/** ggml `quantize_row_q5_0_ref`: d = max / -16, q = min(31, trunc(x/d + 16.5)). */
export function quantizeQ5_0(src: Float32Array): Uint8Array {
  const nb = src.length / QK;
  const out = new Uint8Array(nb * 22);
  for (let b = 0; b < nb; b++) {
    const base = b * QK;
    const d = fround(signedAbsMax(src, base, QK) / -16);
    const id = d !== 0 ? fround(1 / d) : 0;
    const o = b * 22;
    writeF16Bits(out, o, f32ToF16(d));
    pack5(out, o, 6, (j) => Math.min(31, Math.trunc(fround(fround(src[base + j] * id) + 16.5))));
  }
  return out;
}

/** ggml `quantize_row_q5_1_ref`: d = (max - min)/31, m = min, q = trunc((x - min)/d + 0.5) (no clamp, as ggml). */
export function quantizeQ5_1(src: Float32Array): Uint8Array {
  const nb = src.length / QK;
  const out = new Uint8Array(nb * 24);
  for (let b = 0; b < nb; b++) {
    const base = b * QK;
    const [min, max] = minMax(src, base, QK);
    const d = fround(fround(max - min) / 31);
    const id = d !== 0 ? fround(1 / d) : 0;
    const o = b * 24;
    writeF16Bits(out, o, f32ToF16(d));
    writeF16Bits(out, o + 2, f32ToF16(min));
    pack5(out, o, 8, (j) => Math.trunc(fround(fround(fround(src[base + j] - min) * id) + 0.5)) & 0xff);
  }
  return out;
}
