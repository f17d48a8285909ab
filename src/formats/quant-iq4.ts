/**
 * IQ4_NL (32-element blocks) and IQ4_XS (256-element super-blocks of eight 32-element blocks with 6-bit scales):
 * 4-bit indices into a fixed non-linear grid. Decoders follow ggml's `dequantize_row_iq4_*`; the encoder follows
 * `quantize_row_iq4_nl_impl` without an importance matrix (weights x², 7 scale trials each side), bit for bit in
 * f32 arithmetic.
 */
import { f32ToF16, nearestInt, readF16 as importedReadF16, writeF16Bits } from './f16.ts';
import { signedAbsMax as importedSignedAbsMax } from './quant-legacy.ts';

// Module-local constants, not imported names, in the hot loops: see quant-k-encode.ts.
const fround = Math.fround;
const readF16 = importedReadF16;
const signedAbsMax = importedSignedAbsMax;

/** ggml's `kvalues_iq4nl`. */
export const IQ4NL_VALUES = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113] as const;
const V: readonly number[] = IQ4NL_VALUES;
const GROUP_MAX_EPS = fround(1e-15);

export function dequantizeIq4Nl(bytes: Uint8Array, out: Float32Array): void {
  for (let src = 0, dst = 0; dst < out.length; src += 18, dst += 32) {
    const d = readF16(bytes, src);
    for (let j = 0; j < 16; j++) {
      const v = bytes[src + 2 + j];
      out[dst + j] = V[v & 0x0f] * d;
      out[dst + j + 16] = V[v >>> 4] * d;
    }
  }
}

export function dequantizeIq4Xs(bytes: Uint8Array, out: Float32Array): void {
  for (let src = 0, dst = 0; dst < out.length; src += 136) {
    const d = readF16(bytes, src);
    const sh = bytes[src + 2] | (bytes[src + 3] << 8);
    for (let ib = 0; ib < 8; ib++, dst += 32) {
      const ls = ((bytes[src + 4 + (ib >> 1)] >> (4 * (ib & 1))) & 0xf) | (((sh >> (2 * ib)) & 3) << 4);
      const dl = fround(d * (ls - 32));
      const q = src + 8 + 16 * ib;
      for (let j = 0; j < 16; j++) {
        out[dst + j] = fround(dl * V[bytes[q + j] & 0xf]);
        out[dst + j + 16] = fround(dl * V[bytes[q + j] >> 4]);
      }
    }
  }
}

/** For each integer k in [V[0], V[15]): the largest grid index i with V[i] <= k (the grid values are integers). */
const LOWER = (() => {
  const t = new Uint8Array(V[15] - V[0]);
  for (let k = V[0], i = 0; k < V[15]; k++) {
    while (V[i + 1] <= k) i++;
    t[k - V[0]] = i;
  }
  return t;
})();

/**
 * ggml `best_index_int8`: the grid index nearest x (the lower one on ties). ggml's binary search ends with
 * V[ml] <= x < V[ml + 1]; with integer grid values that ml is a table lookup at floor(x).
 */
function bestIndex(x: number): number {
  if (x <= V[0]) return 0;
  if (x >= V[15]) return 15;
  const mu = LOWER[Math.floor(x) - V[0]] + 1;
  return fround(x - V[mu - 1]) < fround(V[mu] - x) ? mu - 1 : mu;
}

/** `sumqx` and `sumq2` of one scale trial, in ggml's order (weights x²). */
let trialQ2 = 0;
function trialSums(x: Float32Array, base: number, id: number): number {
  let sumqx = 0;
  let sumq2 = 0;
  for (let j = 0; j < 32; j++) {
    const xj = x[base + j];
    const w = fround(xj * xj);
    const q = V[bestIndex(fround(id * xj))];
    sumqx = fround(sumqx + fround(fround(w * q) * xj));
    sumq2 = fround(sumq2 + fround(fround(w * q) * q));
  }
  trialQ2 = sumq2;
  return sumqx;
}

/** The best scale of one 32-element block (weights x²), as `quantize_row_iq4_nl_impl`'s per-block search. */
function blockScale(x: Float32Array, base: number): number {
  const max = signedAbsMax(x, base, 32);
  if (Math.abs(max) < GROUP_MAX_EPS) return 0;
  let d = fround(-max / V[0]);
  let sumqx = trialSums(x, base, fround(1 / d));
  d = fround(sumqx / trialQ2);
  let best = fround(d * sumqx);
  for (let itry = -7; itry <= 7; itry++) {
    sumqx = trialSums(x, base, fround((itry + V[0]) / max));
    const sumq2 = trialQ2;
    if (sumq2 > 0 && fround(sumqx * sumqx) > fround(best * sumq2)) {
      d = fround(sumqx / sumq2);
      best = fround(d * sumqx);
    }
  }
  return d;
}

function packNibbles(out: Uint8Array, o: number, x: Float32Array, base: number, id: number): void {
  for (let j = 0; j < 16; j++) {
    out[o + j] = bestIndex(fround(id * x[base + j])) | (bestIndex(fround(id * x[base + 16 + j])) << 4);
  }
}

export function quantizeIq4Nl(src: Float32Array): Uint8Array {
  const nb = src.length / 32;
  const out = new Uint8Array(nb * 18);
  for (let b = 0; b < nb; b++) {
    const d = blockScale(src, b * 32);
    writeF16Bits(out, b * 18, f32ToF16(d));
    packNibbles(out, b * 18 + 2, src, b * 32, d !== 0 ? fround(1 / d) : 0);
  }
  return out;
}

export function quantizeIq4Xs(src: Float32Array): Uint8Array {
  const nb = src.length / 256;
  const out = new Uint8Array(nb * 136);
  const scales = new Float32Array(8);
  for (let b = 0; b < nb; b++) {
    const o = b * 136;
    let maxScale = 0;
    let amaxScale = 0;
    for (let ib = 0; ib < 8; ib++) {
      const s = blockScale(src, b * 256 + ib * 32);
      scales[ib] = s;
      if (Math.abs(s) > amaxScale) {
        amaxScale = Math.abs(s);
        maxScale = s;
      }
    }
    const d = fround(-maxScale / 32);
    writeF16Bits(out, o, f32ToF16(d));
    const id = d !== 0 ? fround(1 / d) : 0;
    let sh = 0;
    for (let ib = 0; ib < 8; ib++) {
      const l = Math.max(-32, Math.min(31, nearestInt(fround(id * scales[ib]))));
      const dl = fround(d * l);
      packNibbles(out, o + 8 + 16 * ib, src, b * 256 + ib * 32, dl !== 0 ? fround(1 / dl) : 0);
      const lu = l + 32;
      out[o + 4 + (ib >> 1)] |= (lu & 0xf) << (4 * (ib & 1));
      sh |= (lu >> 4) << (2 * ib);
    }
    out[o + 2] = sh & 0xff;
    out[o + 3] = sh >> 8;
  }
  return out;
}
