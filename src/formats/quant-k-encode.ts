/**
 * K-quant encoders: ggml's `quantize_row_q{2..6}_K_ref` (what `ggml_quantize_chunk` runs without an importance
 * matrix) bit for bit in f32 arithmetic: every +,-,*,/ of the C code is one fround of the exact double result.
 * Block layouts are described with the decoders (quant-k.ts).
 */
import { f32ToF16, nearestInt as importedNearestInt, readF16, writeF16Bits } from './f16.ts';
import { scaleMinK4 } from './quant-k.ts';
import { signedAbsMax as importedSignedAbsMax } from './quant-legacy.ts';

// The hot loops call these through module-local constants: under Vite's SSR transform (vitest's Node project, the
// fixture server) every use of an imported name is a getter call on the module's namespace, ~5x slower here.
const f = Math.fround;
const nearestInt = importedNearestInt;
const signedAbsMax = importedSignedAbsMax;

const QK_K = 256;
const GROUP_MAX_EPS = f(1e-15);
const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));

// Scratch shared by the encoders (they never run re-entrantly): no allocation per block or sub-block.
/** make_qkx2_quants' second result (ggml's `the_min`), beside its returned scale. */
let qkx2Min = 0;
const AUX = new Uint8Array(32);
/** x[i] - min of the sub-block being fitted, for the current min (recomputed when a better fit moves it). */
const XM = new Float32Array(32);
/** x[i]² of the sub-block (make_qx_quants' and make_q3_quants' weights). */
const X2 = new Float32Array(32);
/** make_qx_quants' levels of the last trial scale. */
const LQ = new Int8Array(32);

/**
 * `make_qx_quants` with rmse_type 1 and no importance weights: a symmetric scale for x[o..o+n), L[i] in [0, 2*nmax).
 * The 19 trial scales only sum; the winner's levels are written in a second pass (as ggml re-runs the winner).
 */
function makeQxQuants(n: number, nmax: number, x: Float32Array, o: number, L: Int8Array, lo: number): number {
  const max = signedAbsMax(x, o, n);
  if (Math.abs(max) < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  for (let i = 0; i < n; i++) X2[i] = f(x[o + i] * x[o + i]);
  let bestIscale = f(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[o + i];
    const l = clamp(nearestInt(f(bestIscale * xi)), -nmax, nmax - 1);
    const w = X2[i];
    sumlx = f(sumlx + f(f(w * xi) * l));
    suml2 = f(suml2 + f(f(w * l) * l));
  }
  let scale = suml2 ? f(sumlx / suml2) : 0;
  let best = f(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    const iscale = f(-f(nmax + f(f(0.1) * is)) / max);
    let same = is !== -9;
    for (let i = 0; i < n; i++) {
      const l = clamp(nearestInt(f(iscale * x[o + i])), -nmax, nmax - 1);
      if (l !== LQ[i]) {
        LQ[i] = l;
        same = false;
      }
    }
    // The previous trial's levels again: the same sums, which did not win (or won with this very scale).
    if (same) continue;
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[o + i];
      const l = LQ[i];
      const w = X2[i];
      sumlx = f(sumlx + f(f(w * xi) * l));
      suml2 = f(suml2 + f(f(w * l) * l));
    }
    if (suml2 > 0 && f(sumlx * sumlx) > f(best * suml2)) {
      bestIscale = iscale;
      scale = f(sumlx / suml2);
      best = f(scale * sumlx);
    }
  }
  for (let i = 0; i < n; i++) L[lo + i] = clamp(nearestInt(f(bestIscale * x[o + i])), -nmax, nmax - 1) + nmax;
  return scale;
}

/** `make_q3_quants` with do_rmse: symmetric scale with 5 rounds of per-element refinement (weights x²). */
function makeQ3Quants(n: number, nmax: number, x: Float32Array, o: number, L: Int8Array, lo: number): number {
  const max = signedAbsMax(x, o, n);
  if (Math.abs(max) < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  const iscale = f(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[o + i];
    const l = clamp(nearestInt(f(iscale * xi)), -nmax, nmax - 1);
    L[lo + i] = l;
    const w = f(xi * xi);
    X2[i] = w;
    sumlx = f(sumlx + f(f(w * xi) * l));
    suml2 = f(suml2 + f(f(w * l) * l));
  }
  for (let itry = 0; itry < 5; itry++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[o + i];
      const w = X2[i];
      const li = L[lo + i];
      let slx = f(sumlx - f(f(w * xi) * li));
      if (slx > 0) {
        let sl2 = f(suml2 - f(f(w * li) * li));
        const nl = clamp(nearestInt(f(f(xi * sl2) / slx)), -nmax, nmax - 1);
        if (nl !== li) {
          slx = f(slx + f(f(w * xi) * nl));
          sl2 = f(sl2 + f(f(w * nl) * nl));
          if (sl2 > 0 && f(f(slx * slx) * suml2) > f(f(sumlx * sumlx) * sl2)) {
            L[lo + i] = nl;
            sumlx = slx;
            suml2 = sl2;
            changed++;
          }
        }
      }
    }
    if (!changed) break;
  }
  for (let i = 0; i < n; i++) L[lo + i] += nmax;
  return suml2 > 0 ? f(sumlx / suml2) : 0;
}

/**
 * The weighted error of levels Q[qo..qo+n) with scale s and offset m (make_qkx2_quants' loss), summed in ggml's
 * order. Its terms are never negative, so the f32 running sum never decreases: once it reaches `bound` the fit
 * cannot win and the rest is skipped (the value returned is then only known to be >= bound).
 */
function qkx2Error(n: number, s: number, m: number, x: Float32Array, o: number, w: Float32Array, Q: Uint8Array, qo: number, useMad: boolean, bound: number): number {
  let e = 0;
  if (useMad) {
    for (let i = 0; i < n && e < bound; i++) e = f(e + f(w[i] * Math.abs(f(f(f(s * Q[qo + i]) + m) - x[o + i]))));
  } else {
    for (let i = 0; i < n && e < bound; i++) {
      const diff = f(f(f(s * Q[qo + i]) + m) - x[o + i]);
      e = f(e + f(w[i] * f(diff * diff)));
    }
  }
  return e;
}

/**
 * `make_qkx2_quants`: an asymmetric scale and min for x[o..o+n) with weights w, L[i] in [0, nmax]; returns the
 * scale and leaves -min (ggml's `the_min`) in `qkx2Min`.
 */
function makeQkx2Quants(
  n: number, nmax: number, x: Float32Array, o: number, w: Float32Array, L: Uint8Array, lo: number,
  rmin: number, rdelta: number, nstep: number, useMad: boolean,
): number {
  let min = x[o];
  let max = x[o];
  let sumW = w[0];
  let sumX = f(sumW * x[o]);
  for (let i = 1; i < n; i++) {
    const xi = x[o + i];
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    sumW = f(sumW + w[i]);
    sumX = f(sumX + f(w[i] * xi));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lo, lo + n);
    qkx2Min = -min;
    return 0;
  }
  let iscale = f(nmax / f(max - min));
  let scale = f(1 / iscale);
  for (let i = 0; i < n; i++) {
    XM[i] = f(x[o + i] - min);
    L[lo + i] = clamp(nearestInt(f(iscale * XM[i])), 0, nmax);
  }
  let bestError = qkx2Error(n, scale, min, x, o, w, L, lo, useMad, Infinity);
  for (let is = 0; is <= nstep; is++) {
    // (max - min) with the best min so far: ggml's min moves as better fits are found.
    iscale = f(f(f(rmin + f(rdelta * is)) + nmax) / f(max - min));
    let same = is > 0;
    for (let i = 0; i < n; i++) {
      const l = clamp(nearestInt(f(iscale * XM[i])), 0, nmax);
      if (l !== AUX[i]) {
        AUX[i] = l;
        same = false;
      }
    }
    // The previous trial's levels again: the same sums, fit and error, which did not beat (or became) bestError.
    if (same) continue;
    let sumL = 0, sumL2 = 0, sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = AUX[i];
      const wl = f(w[i] * l);
      sumL = f(sumL + wl);
      sumL2 = f(sumL2 + f(wl * l));
      sumXL = f(sumXL + f(wl * x[o + i]));
    }
    const D = f(f(sumW * sumL2) - f(sumL * sumL));
    if (D > 0) {
      let thisScale = f(f(f(sumW * sumXL) - f(sumX * sumL)) / D);
      let thisMin = f(f(f(sumL2 * sumX) - f(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = f(sumXL / sumL2);
      }
      const cur = qkx2Error(n, thisScale, thisMin, x, o, w, AUX, 0, useMad, bestError);
      if (cur < bestError) {
        for (let i = 0; i < n; i++) L[lo + i] = AUX[i];
        bestError = cur;
        scale = thisScale;
        if (thisMin !== min) {
          min = thisMin;
          for (let i = 0; i < n; i++) XM[i] = f(x[o + i] - min);
        }
      }
    }
  }
  qkx2Min = -min;
  return scale;
}

/** Q4_K (nmax 15) / Q5_K (nmax 31): 8 sub-blocks of 32 with 6-bit scales and mins (`quantize_row_q{4,5}_K_ref`). */
function quantizeQ45K(src: Float32Array, bits: 4 | 5): Uint8Array {
  const nmax = bits === 4 ? 15 : 31;
  const bs = bits === 4 ? 144 : 176;
  const nb = src.length / QK_K;
  const out = new Uint8Array(nb * bs);
  const L = new Uint8Array(QK_K);
  const w = new Float32Array(32);
  const scales = new Float32Array(8);
  const mins = new Float32Array(8);
  for (let i = 0; i < nb; i++) {
    const x0 = i * QK_K;
    const o = i * bs;
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 8; j++) {
      const xo = x0 + 32 * j;
      let sumX2 = 0;
      for (let l = 0; l < 32; l++) sumX2 = f(sumX2 + f(src[xo + l] * src[xo + l]));
      const avX = f(Math.sqrt(f(sumX2 / 32)));
      for (let l = 0; l < 32; l++) w[l] = f(avX + Math.abs(src[xo + l]));
      const s = bits === 4
        ? makeQkx2Quants(32, nmax, src, xo, w, L, 32 * j, -1, f(0.1), 20, false)
        : makeQkx2Quants(32, nmax, src, xo, w, L, 32 * j, -0.5, f(0.1), 15, false);
      const m = qkx2Min;
      scales[j] = s;
      mins[j] = m;
      if (s > maxScale) maxScale = s;
      if (m > maxMin) maxMin = m;
    }
    const invScale = maxScale > 0 ? f(63 / maxScale) : 0;
    const invMin = maxMin > 0 ? f(63 / maxMin) : 0;
    const sc = o + 4;
    for (let j = 0; j < 8; j++) {
      const ls = Math.min(63, nearestInt(f(invScale * scales[j])) & 0xff);
      const lm = Math.min(63, nearestInt(f(invMin * mins[j])) & 0xff);
      if (j < 4) {
        out[sc + j] = ls;
        out[sc + j + 4] = lm;
      } else {
        out[sc + j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
        out[sc + j - 4] |= (ls >> 4) << 6;
        out[sc + j] |= (lm >> 4) << 6;
      }
    }
    writeF16Bits(out, o, f32ToF16(f(maxScale / 63)));
    writeF16Bits(out, o + 2, f32ToF16(f(maxMin / 63)));
    const d16 = readF16(out, o);
    const m16 = readF16(out, o + 2);
    for (let j = 0; j < 8; j++) {
      const [s, m] = scaleMinK4(j, out, sc);
      const d = f(d16 * s);
      if (!d) continue;
      const dm = f(m16 * m);
      for (let ii = 0; ii < 32; ii++) L[32 * j + ii] = clamp(nearestInt(f(f(src[x0 + 32 * j + ii] + dm) / d)), 0, nmax);
    }
    if (bits === 4) {
      for (let j = 0, q = o + 16; j < QK_K; j += 64, q += 32) {
        for (let l = 0; l < 32; l++) out[q + l] = L[j + l] | (L[j + l + 32] << 4);
      }
    } else {
      const qh = o + 16;
      let m1 = 1, m2 = 2;
      for (let n = 0, ql = o + 48; n < QK_K; n += 64, ql += 32, m1 <<= 2, m2 <<= 2) {
        for (let j = 0; j < 32; j++) {
          let l1 = L[n + j];
          if (l1 > 15) { l1 -= 16; out[qh + j] |= m1; }
          let l2 = L[n + j + 32];
          if (l2 > 15) { l2 -= 16; out[qh + j] |= m2; }
          out[ql + j] = l1 | (l2 << 4);
        }
      }
    }
  }
  return out;
}

export const quantizeQ4K = (src: Float32Array): Uint8Array => quantizeQ45K(src, 4);
export const quantizeQ5K = (src: Float32Array): Uint8Array => quantizeQ45K(src, 5);

/** Q6_K: 16 sub-blocks of 16 with int8 scales (`quantize_row_q6_K_ref`). */
export function quantizeQ6K(src: Float32Array): Uint8Array {
  const nb = src.length / QK_K;
  const out = new Uint8Array(nb * 210);
  const L = new Int8Array(QK_K);
  const scales = new Float32Array(16);
  for (let i = 0; i < nb; i++) {
    const x0 = i * QK_K;
    const o = i * 210;
    let maxScale = 0;
    let maxAbs = 0;
    for (let ib = 0; ib < 16; ib++) {
      const s = makeQxQuants(16, 32, src, x0 + 16 * ib, L, 16 * ib);
      scales[ib] = s;
      if (Math.abs(s) > maxAbs) {
        maxAbs = Math.abs(s);
        maxScale = s;
      }
    }
    if (maxAbs < GROUP_MAX_EPS) continue; // an all-zero block (d = 0)
    const iscale = f(-128 / maxScale);
    writeF16Bits(out, o + 208, f32ToF16(f(1 / iscale)));
    const d16 = readF16(out, o + 208);
    for (let ib = 0; ib < 16; ib++) out[o + 192 + ib] = Math.min(127, nearestInt(f(iscale * scales[ib]))) & 0xff;
    for (let j = 0; j < 16; j++) {
      const d = f(d16 * ((out[o + 192 + j] << 24) >> 24));
      if (!d) continue;
      for (let ii = 0; ii < 16; ii++) L[16 * j + ii] = clamp(nearestInt(f(src[x0 + 16 * j + ii] / d)), -32, 31) + 32;
    }
    for (let j = 0, ql = o, qh = o + 128; j < QK_K; j += 128, ql += 64, qh += 32) {
      for (let l = 0; l < 32; l++) {
        const q1 = L[j + l] & 0xf, q2 = L[j + l + 32] & 0xf, q3 = L[j + l + 64] & 0xf, q4 = L[j + l + 96] & 0xf;
        out[ql + l] = q1 | (q3 << 4);
        out[ql + l + 32] = q2 | (q4 << 4);
        out[qh + l] = (L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6);
      }
    }
  }
  return out;
}

/** Q3_K: 16 sub-blocks of 16, 3-bit values (2 low bits + hmask), 6-bit scales (`quantize_row_q3_K_ref`). */
export function quantizeQ3K(src: Float32Array): Uint8Array {
  const nb = src.length / QK_K;
  const out = new Uint8Array(nb * 110);
  const L = new Int8Array(QK_K);
  const scales = new Float32Array(16);
  for (let i = 0; i < nb; i++) {
    const x0 = i * QK_K;
    const o = i * 110;
    const sc = o + 96;
    let maxScale = 0;
    let amax = 0;
    for (let j = 0; j < 16; j++) {
      const s = makeQ3Quants(16, 4, src, x0 + 16 * j, L, 16 * j);
      scales[j] = s;
      if (Math.abs(s) > amax) {
        amax = Math.abs(s);
        maxScale = s;
      }
    }
    if (maxScale) {
      const iscale = f(-32 / maxScale);
      for (let j = 0; j < 16; j++) {
        const l = clamp((nearestInt(f(iscale * scales[j])) << 24) >> 24, -32, 31) + 32;
        if (j < 8) out[sc + j] = l & 0xf;
        else out[sc + j - 8] |= (l & 0xf) << 4;
        out[sc + 8 + (j % 4)] |= (l >> 4) << (2 * (j >> 2));
      }
      writeF16Bits(out, o + 108, f32ToF16(f(1 / iscale)));
    }
    const d16 = readF16(out, o + 108);
    for (let j = 0; j < 16; j++) {
      const lowb = j < 8 ? out[sc + j] & 0xf : out[sc + j - 8] >> 4;
      const s = (lowb | (((out[sc + 8 + (j % 4)] >> (2 * (j >> 2))) & 3) << 4)) - 32;
      const d = f(d16 * s);
      if (!d) continue;
      for (let ii = 0; ii < 16; ii++) L[16 * j + ii] = clamp(nearestInt(f(src[x0 + 16 * j + ii] / d)), -4, 3) + 4;
    }
    for (let j = 0; j < QK_K; j++) {
      if (L[j] > 3) {
        out[o + (j % 32)] |= 1 << (j >> 5);
        L[j] -= 4;
      }
    }
    for (let j = 0, q = o + 32; j < QK_K; j += 128, q += 32) {
      for (let l = 0; l < 32; l++) out[q + l] = L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6);
    }
  }
  return out;
}

/** Q2_K: 16 sub-blocks of 16, 2-bit values, 4-bit scales and mins (`quantize_row_q2_K_ref`). */
export function quantizeQ2K(src: Float32Array): Uint8Array {
  const nb = src.length / QK_K;
  const out = new Uint8Array(nb * 84);
  const L = new Uint8Array(QK_K);
  const w = new Float32Array(16);
  const scales = new Float32Array(16);
  const mins = new Float32Array(16);
  for (let i = 0; i < nb; i++) {
    const x0 = i * QK_K;
    const o = i * 84;
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 16; j++) {
      for (let l = 0; l < 16; l++) w[l] = Math.abs(src[x0 + 16 * j + l]);
      const s = makeQkx2Quants(16, 3, src, x0 + 16 * j, w, L, 16 * j, -0.5, f(0.1), 15, true);
      const m = qkx2Min;
      scales[j] = s;
      mins[j] = m;
      if (s > maxScale) maxScale = s;
      if (m > maxMin) maxMin = m;
    }
    if (maxScale > 0) {
      const iscale = f(15 / maxScale);
      for (let j = 0; j < 16; j++) out[o + j] = nearestInt(f(iscale * scales[j])) & 0xff;
      writeF16Bits(out, o + 80, f32ToF16(f(maxScale / 15)));
    }
    if (maxMin > 0) {
      const iscale = f(15 / maxMin);
      for (let j = 0; j < 16; j++) out[o + j] |= (nearestInt(f(iscale * mins[j])) << 4) & 0xff;
      writeF16Bits(out, o + 82, f32ToF16(f(maxMin / 15)));
    }
    const d16 = readF16(out, o + 80);
    const m16 = readF16(out, o + 82);
    for (let j = 0; j < 16; j++) {
      const d = f(d16 * (out[o + j] & 0xf));
      if (!d) continue;
      const dm = f(m16 * (out[o + j] >> 4));
      for (let ii = 0; ii < 16; ii++) L[16 * j + ii] = clamp(nearestInt(f(f(src[x0 + 16 * j + ii] + dm) / d)), 0, 3);
    }
    for (let j = 0, q = o + 16; j < QK_K; j += 128, q += 32) {
      for (let l = 0; l < 32; l++) out[q + l] = L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6);
    }
  }
  return out;
}
