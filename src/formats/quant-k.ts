/**
 * ggml's K-quants: 256-element super-blocks of 16- or 32-element sub-blocks whose scales (and mins) are themselves
 * quantized. Decoders follow `dequantize_row_q{2..6}_K`; encoders follow `quantize_row_q{2..6}_K_ref` in
 * quant-k-encode.ts.
 */
import { readF16 as importedReadF16 } from './f16.ts';

// Module-local constants, not imported names, in the hot loops: see quant-k-encode.ts.
const f = Math.fround;
const readF16 = importedReadF16;

const QK_K = 256;

/** ggml `get_scale_min_k4`: the 6-bit scale and min of sub-block j from the 12 packed bytes at q[o]. */
export function scaleMinK4(j: number, q: Uint8Array, o: number): [number, number] {
  if (j < 4) return [q[o + j] & 63, q[o + j + 4] & 63];
  return [(q[o + j + 4] & 0xf) | ((q[o + j - 4] >> 6) << 4), (q[o + j + 4] >> 4) | ((q[o + j] >> 6) << 4)];
}

// ---- decoders ------------------------------------------------------------------------------------------------

export function dequantizeQ2K(b: Uint8Array, out: Float32Array): void {
  for (let o = 0, y = 0; y < out.length; o += 84) {
    const d = readF16(b, o + 80);
    const min = readF16(b, o + 82);
    let is = 0;
    for (let n = 0; n < QK_K; n += 128) {
      const q = o + 16 + n / 4;
      for (let shift = 0; shift < 8; shift += 2) {
        for (const off of [0, 16]) {
          const sc = b[o + is++];
          const dl = f(d * (sc & 0xf));
          const ml = f(min * (sc >> 4));
          for (let l = 0; l < 16; l++) out[y++] = f(f(dl * ((b[q + off + l] >> shift) & 3)) - ml);
        }
      }
    }
  }
}

/** Q3_K's 16 6-bit scales (`scales[k] - 32` of ggml's unpacked aux array) from the 12 bytes at b[s]. */
function q3Scale(b: Uint8Array, s: number, k: number): number {
  const low = (b[s + (k & 7)] >> (4 * (k >> 3))) & 0xf;
  const high = (b[s + 8 + (k & 3)] >> (2 * (k >> 2))) & 3;
  return (low | (high << 4)) - 32;
}

export function dequantizeQ3K(b: Uint8Array, out: Float32Array): void {
  for (let o = 0, y = 0; y < out.length; o += 110) {
    const d = readF16(b, o + 108);
    let is = 0;
    let m = 1;
    for (let n = 0; n < QK_K; n += 128) {
      const q = o + 32 + n / 4;
      for (let shift = 0; shift < 8; shift += 2, m <<= 1) {
        for (const off of [0, 16]) {
          const dl = f(d * q3Scale(b, o + 96, is++));
          for (let l = 0; l < 16; l++) {
            out[y++] = f(dl * (((b[q + off + l] >> shift) & 3) - (b[o + off + l] & m ? 0 : 4)));
          }
        }
      }
    }
  }
}

/** Q4_K (`bits` 4) and Q5_K (`bits` 5, a fifth bit per element in qh). */
function dequantizeQ45K(b: Uint8Array, out: Float32Array, bits: 4 | 5): void {
  const bs = bits === 4 ? 144 : 176;
  for (let o = 0, y = 0; y < out.length; o += bs) {
    const d = readF16(b, o);
    const min = readF16(b, o + 2);
    const qh = o + 16;
    let ql = o + (bits === 4 ? 16 : 48);
    for (let is = 0; is < 8; is += 2, ql += 32) {
      const [s1, m1] = scaleMinK4(is, b, o + 4);
      const [s2, m2] = scaleMinK4(is + 1, b, o + 4);
      const d1 = f(d * s1), mm1 = f(min * m1), d2 = f(d * s2), mm2 = f(min * m2);
      for (let l = 0; l < 32; l++) {
        const h = bits === 5 && b[qh + l] & (1 << is) ? 16 : 0;
        out[y++] = f(f(d1 * ((b[ql + l] & 0xf) + h)) - mm1);
      }
      for (let l = 0; l < 32; l++) {
        const h = bits === 5 && b[qh + l] & (2 << is) ? 16 : 0;
        out[y++] = f(f(d2 * ((b[ql + l] >> 4) + h)) - mm2);
      }
    }
  }
}

export const dequantizeQ4K = (b: Uint8Array, out: Float32Array): void => dequantizeQ45K(b, out, 4);
export const dequantizeQ5K = (b: Uint8Array, out: Float32Array): void => dequantizeQ45K(b, out, 5);

export function dequantizeQ6K(b: Uint8Array, out: Float32Array): void {
  for (let o = 0, y = 0; y < out.length; o += 210) {
    const d = readF16(b, o + 208);
    for (let n = 0; n < 2; n++, y += 128) {
      const ql = o + 64 * n;
      const qh = o + 128 + 32 * n;
      const sc = o + 192 + 8 * n;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = b[qh + l];
        const q1 = ((b[ql + l] & 0xf) | ((h & 3) << 4)) - 32;
        const q2 = ((b[ql + l + 32] & 0xf) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((b[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((b[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
        const s = (k: number) => (b[sc + k] << 24) >> 24;
        out[y + l] = f(f(d * s(is)) * q1);
        out[y + l + 32] = f(f(d * s(is + 2)) * q2);
        out[y + l + 64] = f(f(d * s(is + 4)) * q3);
        out[y + l + 96] = f(f(d * s(is + 6)) * q4);
      }
    }
  }
}
