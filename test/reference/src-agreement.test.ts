/**
 * The reference's own small helpers agree with the engine's config code (src/formats/model-config.ts, and the RoPE
 * divisors of src/model/rope.ts): a cheap cross-check of both, since they were written independently.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromGguf } from '../../src/formats/model-config.ts';
import { ropeFreqFactors } from '../../src/model/rope.ts';
import { parseGgufHeader } from '../../src/formats/gguf.ts';
import { makeFixture } from '../fixtures/fixture.ts';
import { fixtureOptions } from '../fixture-server.ts';
import type { ModelConfig, RopeScaling } from '../../src/model/types.ts';
import { referenceConfigFromGguf, loadGguf } from './gguf-weights.ts';
import { referenceRopeFreqFactors } from './llama-ref.ts';

const shared = resolve(import.meta.dirname, '../../..', 'shared');
const read = (...parts: string[]): Uint8Array => readFileSync(resolve(...parts));

describe('reference helpers vs src/formats/model-config.ts', () => {
  it.each(['stories260K/stories260K.gguf', 'sotu-5m/sotu-5m-f32.gguf'])('config of %s', (file) => {
    const { header } = loadGguf(read(shared, 'models', file));
    expect(configFromGguf(header)).toEqual(referenceConfigFromGguf(header));
  });

  it.each(['tiny~qwen2~f32~s22', 'tiny~qwen3~f32~s23~tied', 'tiny~llama~f32~s24~llama3'])('config of fixture %s', (spec) => {
    const header = parseGgufHeader(makeFixture(fixtureOptions(spec)).gguf);
    if ('needBytes' in header) throw new Error('fixture header incomplete');
    expect(configFromGguf(header)).toEqual(referenceConfigFromGguf(header));
  });

  const base: ModelConfig = {
    arch: 'llama', vocabSize: 8, dim: 64, nLayers: 1, nHeads: 1, nKvHeads: 1, headDim: 64, ffnDim: 8,
    contextLength: 8, normEps: 1e-5, ropeTheta: 500000, ropeStyle: 'neox', tiedEmbeddings: true, qkvBias: false, qkNorm: false,
  };
  const cases: RopeScaling[] = [
    // Llama 3.2's rope_scaling
    { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 8192 },
    // Llama 3.1's
    { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 8192 },
    { type: 'linear', factor: 4 },
  ];
  it.each(cases)('RoPE frequency factors for %o', (ropeScaling) => {
    const config = { ...base, ropeScaling };
    const ours = referenceRopeFreqFactors(config)!;
    expect(Array.from(ropeFreqFactors(config))).toEqual(Array.from(ours));
    // llama3 spans all three regimes at these settings
    if (ropeScaling.type === 'llama3') {
      expect(ours[0]).toBe(1);
      expect(ours[ours.length - 1]).toBe(ropeScaling.factor);
      expect(ours.some((f) => f > 1 && f < ropeScaling.factor)).toBe(true);
    }
  });
});
