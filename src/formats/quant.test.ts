import { describe, expect, it } from 'vitest';
import { GgmlType } from '../model/types.ts';
import { ModelFormatError, UnsupportedModelError } from '../errors.ts';
import { mulberry32 } from '../util/random.ts';
import {
  bf16ToF32,
  dequantize,
  f16ToF32,
  f32ArrayToF16,
  f32ToBf16,
  f32ToF16,
  quantize,
  quantizeQ4_0,
  quantizeQ8_0,
} from './quant.ts';

const bitsToF32 = (u: number): number => new Float32Array(new Uint32Array([u]).buffer)[0];

const rng = mulberry32;

describe('f16', () => {
  it('encodes hand-picked values with round-to-nearest-even', () => {
    const cases: Array<[number, number]> = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff], // max finite
      [65519.99, 0x7bff], // just below the rounding boundary to inf
      [65520, 0x7c00], // halfway between 65504 and 2^16: ties to even = inf
      [1e6, 0x7c00],
      [-Infinity, 0xfc00],
      [Infinity, 0x7c00],
      [1 + 2 ** -11, 0x3c00], // tie, even is down
      [1 + 3 * 2 ** -11, 0x3c02], // tie, even is up
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
      [2 ** -14, 0x0400], // min normal
      [2 ** -24, 0x0001], // min subnormal
      [2 ** -25, 0x0000], // tie between 0 and min subnormal -> 0
      [1.5 * 2 ** -25, 0x0001],
      [3 * 2 ** -25, 0x0002], // 1.5 subnormal units, tie -> even (2)
      [5 * 2 ** -25, 0x0002], // 2.5 units, tie -> even (2)
      [2 ** -14 - 2 ** -25, 0x0400], // 1023.5 units rounds up into the min normal
      [2 ** -26, 0x0000],
      [-(2 ** -24), 0x8001],
      [0.1, 0x2e66],
      [Math.PI, 0x4248],
    ];
    for (const [x, h] of cases) expect(f32ToF16(x), `f32ToF16(${x})`).toBe(h);
  });

  it('keeps NaN a NaN', () => {
    const h = f32ToF16(NaN);
    expect(h & 0x7c00).toBe(0x7c00);
    expect(h & 0x3ff).not.toBe(0);
    expect(Number.isNaN(f16ToF32(h))).toBe(true);
  });

  it('decodes every non-NaN f16 and re-encodes it to the same bits', () => {
    for (let h = 0; h < 65536; h++) {
      const x = f16ToF32(h);
      if (Number.isNaN(x)) {
        expect((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0).toBe(true);
        continue;
      }
      expect(f32ToF16(x)).toBe(h);
    }
    expect(f16ToF32(0x3c00)).toBe(1);
    expect(f16ToF32(0x0001)).toBe(2 ** -24);
    expect(f16ToF32(0x7bff)).toBe(65504);
    expect(f16ToF32(0xfc00)).toBe(-Infinity);
  });

  it('matches a nearest-value search over all f16 values on random f32 bit patterns', () => {
    // Independent reference: the sorted list of non-negative finite f16 values, binary-searched.
    const values: number[] = [];
    for (let h = 0; h <= 0x7bff; h++) values.push(f16ToF32(h));
    const reference = (x: number): number => {
      const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
      const a = Math.abs(x);
      if (a >= 65520) return sign | 0x7c00;
      let lo = 0;
      let hi = values.length - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (values[mid] <= a) lo = mid;
        else hi = mid;
      }
      if (a >= values[hi]) return sign | hi;
      const dLo = a - values[lo];
      const dHi = values[hi] - a;
      if (dLo < dHi) return sign | lo;
      if (dHi < dLo) return sign | hi;
      return sign | (lo % 2 === 0 ? lo : hi);
    };
    const r = rng(1);
    const xs = new Float32Array(20000);
    const u = new Uint32Array(xs.buffer);
    for (let i = 0; i < xs.length; i++) {
      // Bias exponents towards the f16 range so subnormals/normals/overflow all get hit.
      const exp = 100 + Math.floor(r() * 48);
      u[i] = ((r() < 0.5 ? 1 : 0) << 31) | (exp << 23) | Math.floor(r() * 0x800000);
    }
    const encoded = f32ArrayToF16(xs);
    for (let i = 0; i < xs.length; i++) {
      if (encoded[i] !== reference(xs[i])) expect(encoded[i], `x=${xs[i]}`).toBe(reference(xs[i]));
    }
  });
});

describe('bf16', () => {
  it('encodes with round-to-nearest-even and decodes exactly', () => {
    expect(f32ToBf16(1)).toBe(0x3f80);
    expect(f32ToBf16(-2)).toBe(0xc000);
    expect(f32ToBf16(bitsToF32(0x3f808000))).toBe(0x3f80); // tie, even down
    expect(f32ToBf16(bitsToF32(0x3f818000))).toBe(0x3f82); // tie, even up
    expect(f32ToBf16(bitsToF32(0x3f808001))).toBe(0x3f81);
    expect(f32ToBf16(bitsToF32(0x7f7fffff))).toBe(0x7f80); // rounds to inf
    expect(f32ToBf16(Infinity)).toBe(0x7f80);
    const nan = f32ToBf16(bitsToF32(0x7f800001)); // signalling NaN with a low payload must stay NaN
    expect(Number.isNaN(bf16ToF32(nan))).toBe(true);
    expect(bf16ToF32(0x3f80)).toBe(1);
    expect(bf16ToF32(0x4049)).toBe(bitsToF32(0x40490000));
    for (let h = 0; h < 65536; h += 7) {
      const x = bf16ToF32(h);
      if (!Number.isNaN(x)) expect(f32ToBf16(x)).toBe(h);
    }
  });
});

describe('Q8_0', () => {
  it('quantizes a hand-computed block (d = amax/127, roundf half away from zero)', () => {
    const x = new Float32Array(32);
    x.set([127, -63.5, 0.5, -0.5, 1.5, 2.5, -2.5, 0.49, 126.5]);
    const b = quantizeQ8_0(x);
    expect(b.length).toBe(34);
    expect(b[0] | (b[1] << 8)).toBe(0x3c00); // d = 1.0
    const q = Array.from(new Int8Array(b.buffer, 2, 32));
    expect(q.slice(0, 10)).toEqual([127, -64, 1, -1, 2, 3, -3, 0, 127, 0]);
    expect(Array.from(dequantize(GgmlType.Q8_0, b, 32).slice(0, 9))).toEqual([127, -64, 1, -1, 2, 3, -3, 0, 127]);
  });

  it('scales by an f16-rounded d and handles an all-zero block', () => {
    const x = new Float32Array(64);
    x[0] = 1; // d = 1/127 -> f16 0x2008 (1/127 = 0.007874..., f16 nearest 0.0078735...)
    x[1] = -0.5;
    const b = quantizeQ8_0(x);
    const d = f16ToF32(b[0] | (b[1] << 8));
    expect(b[0] | (b[1] << 8)).toBe(f32ToF16(Math.fround(1 / 127)));
    expect(new Int8Array(b.buffer, 2, 2)[0]).toBe(127);
    expect(new Int8Array(b.buffer, 2, 2)[1]).toBe(-64); // -0.5*127 = -63.5 -> -64
    const y = dequantize(GgmlType.Q8_0, b, 64);
    expect(y[0]).toBe(Math.fround(127 * d));
    expect(Array.from(b.subarray(34))).toEqual(new Array(34).fill(0)); // zero block: d=0, q=0
    expect(Array.from(y.subarray(32))).toEqual(new Array(32).fill(0));
  });
});

describe('Q4_0', () => {
  it('quantizes a hand-computed block (signed max, d = max/-8, trunc(x*id + 8.5) clamped to 15)', () => {
    const x = new Float32Array(32);
    // max magnitude is -8 (negative) -> d = 1, id = 1, q = min(15, trunc(x + 8.5))
    x.set([-8, 7, 7.6, 0, 0.49, 0.5, -0.5, -0.51]);
    x[16] = 3;
    x[17] = -3.5;
    x[31] = 1.25;
    const b = quantizeQ4_0(x);
    expect(b.length).toBe(18);
    expect(b[0] | (b[1] << 8)).toBe(0x3c00);
    const lo = [0, 15, 15, 8, 8, 9, 8, 7];
    const hi: number[] = new Array(16).fill(8);
    hi[0] = 11; // trunc(11.5)
    hi[1] = 5; // trunc(5.0)
    hi[15] = 9; // trunc(9.75)
    for (let j = 0; j < 16; j++) expect(b[2 + j], `byte ${j}`).toBe((lo[j] ?? 8) | (hi[j] << 4));
    const y = dequantize(GgmlType.Q4_0, b, 32);
    expect(Array.from(y.subarray(0, 8))).toEqual([-8, 7, 7, 0, 0, 1, 0, -1]);
    expect([y[16], y[17], y[31]]).toEqual([3, -3, 1]);
  });

  it('uses the first of equal-magnitude maxima and handles zero blocks', () => {
    const x = new Float32Array(64);
    x[0] = 8; // first of |8| -> max = 8, d = -1, id = -1
    x[1] = -8;
    const b = quantizeQ4_0(x);
    expect(b[0] | (b[1] << 8)).toBe(0xbc00); // -1.0
    expect(b[2]).toBe(0 | (8 << 4)); // q(8) = trunc(-8 + 8.5) = 0; x[16] = 0 -> 8
    expect(b[3] & 0xf).toBe(15); // q(-8) = trunc(16.5) = 16 -> clamped to 15
    const y = dequantize(GgmlType.Q4_0, b, 64);
    expect(y[0]).toBe(8);
    expect(y[1]).toBe(-7); // the clamp costs one step on the far side
    expect(Array.from(b.subarray(18 + 2, 36))).toEqual(new Array(16).fill(0x88)); // zero block: q = 8
    expect(b[18] | (b[19] << 8)).toBe(0x8000); // d = 0 / -8 = -0 in C too
    expect(Array.from(y.subarray(32)).every((v) => v === 0)).toBe(true);
  });
});

describe('dequantize', () => {
  it('reads F32/F16/BF16 from unaligned byte offsets', () => {
    const vals = new Float32Array([1, -2.5, 0.25, 65504]);
    const raw = new Uint8Array(1 + 16);
    raw.set(new Uint8Array(vals.buffer), 1);
    expect(Array.from(dequantize(GgmlType.F32, raw.subarray(1), 4))).toEqual(Array.from(vals));
    const f16 = quantize(GgmlType.F16, vals);
    const raw16 = new Uint8Array(1 + 8);
    raw16.set(f16, 1);
    expect(Array.from(dequantize(GgmlType.F16, raw16.subarray(1), 4))).toEqual([1, -2.5, 0.25, 65504]);
    const bf = quantize(GgmlType.BF16, vals);
    expect(Array.from(dequantize(GgmlType.BF16, bf, 4))).toEqual([1, -2.5, 0.25, 65536]);
  });

  it('round-trips random data within the per-block bound', () => {
    const r = rng(7);
    const x = new Float32Array(32 * 200);
    for (let i = 0; i < x.length; i++) x[i] = (r() * 2 - 1) * (1 + (i >> 5));
    const q8 = dequantize(GgmlType.Q8_0, quantizeQ8_0(x), x.length);
    const q4 = dequantize(GgmlType.Q4_0, quantizeQ4_0(x), x.length);
    for (let b = 0; b < 200; b++) {
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
      for (let j = 0; j < 32; j++) {
        const i = b * 32 + j;
        // q8: half a step of d plus f16 rounding of d (rel 2^-11) times |q| <= 127 steps.
        const d8 = amax / 127;
        expect(Math.abs(q8[i] - x[i])).toBeLessThanOrEqual(d8 / 2 + 127 * d8 * 2 ** -11 + 1e-6);
        // q4: a step of d (clamp side) plus f16 rounding of d times |q-8| <= 8.
        const d4 = amax / 8;
        expect(Math.abs(q4[i] - x[i])).toBeLessThanOrEqual(d4 + 8 * d4 * 2 ** -11 + 1e-6);
      }
    }
  });

  it('rejects short buffers, partial blocks and unsupported types', () => {
    expect(() => dequantize(GgmlType.Q8_0, new Uint8Array(33), 32)).toThrow(ModelFormatError);
    expect(() => dequantize(GgmlType.Q4_0, new Uint8Array(18), 31)).toThrow(ModelFormatError);
    expect(() => dequantize(GgmlType.Q8_1, new Uint8Array(36), 32)).toThrow(UnsupportedModelError);
    expect(() => quantizeQ8_0(new Float32Array(33))).toThrow(ModelFormatError);
  });
});
