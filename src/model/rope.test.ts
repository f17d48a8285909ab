import { describe, expect, it } from 'vitest';
import { ropeFreqFactors } from './rope.ts';

describe('ropeFreqFactors', () => {
  const llama32 = {
    headDim: 64,
    ropeTheta: 500000,
    ropeScaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 8192 } as const,
  };

  it('is all ones without scaling and the factor everywhere for linear', () => {
    expect(Array.from(ropeFreqFactors({ headDim: 8, ropeTheta: 10000 }))).toEqual([1, 1, 1, 1]);
    expect(Array.from(ropeFreqFactors({ headDim: 8, ropeTheta: 10000, ropeScaling: { type: 'linear', factor: 4 } }))).toEqual([4, 4, 4, 4]);
  });

  it('matches hand-computed llama3 values for Llama 3.2 (high band 1, low band 32, smooth middle)', () => {
    const f = ropeFreqFactors(llama32);
    expect(f.length).toBe(32);
    // wavelen_i = 2*pi*500000^(i/32): < 2048 (i <= 14) keeps 1, > 8192 (i >= 18) divides by 32.
    for (let i = 0; i <= 14; i++) expect(f[i]).toBe(1);
    for (let i = 18; i < 32; i++) expect(f[i]).toBe(32);
    // i = 16: wavelen = 2*pi*sqrt(500000) = 4442.883; smooth = (8192/4442.883 - 1)/3 = 0.281280;
    // divisor = 1/((1 - smooth)/32 + smooth) = 3.29230.
    expect(f[16]).toBeCloseTo(3.2923, 3);
    for (let i = 15; i <= 17; i++) expect(f[i] > 1 && f[i] < 32).toBe(true);
    for (let i = 1; i < 32; i++) expect(f[i]).toBeGreaterThanOrEqual(f[i - 1]);
  });

  it('equals inv_freq / inv_freq_llama as HF computes it (where/where form)', () => {
    const { headDim, ropeTheta } = llama32;
    const { factor, lowFreqFactor, highFreqFactor, originalContextLength: old } = llama32.ropeScaling;
    const f = ropeFreqFactors(llama32);
    for (let i = 0; i < headDim / 2; i++) {
      const invFreq = 1 / ropeTheta ** ((2 * i) / headDim);
      const wavelen = (2 * Math.PI) / invFreq;
      let llama = wavelen > old / lowFreqFactor ? invFreq / factor : invFreq;
      const smooth = (old / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      const smoothed = ((1 - smooth) * llama) / factor + smooth * llama;
      const medium = !(wavelen < old / highFreqFactor) && !(wavelen > old / lowFreqFactor);
      if (medium) llama = smoothed;
      expect(f[i]).toBeCloseTo(invFreq / llama, 4);
    }
  });
});
