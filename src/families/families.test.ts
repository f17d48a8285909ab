import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../model/types.ts';
import { UnsupportedModelError } from '../errors.ts';
import { FAMILIES, familyOf, familyOfHf } from './index.ts';
import { canonicalName, hfName } from './tensors.ts';

const base: ModelConfig = {
  arch: 'llama', vocabSize: 300, dim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 16, ffnDim: 128, contextLength: 64,
  normEps: 1e-5, ropeTheta: 10000, ropeStyle: 'neox', tiedEmbeddings: false, qkvBias: true, qkNorm: true,
};

describe('family specs', () => {
  for (const f of FAMILIES) {
    it(`${f.arch}: tensor names are unique and every one has an HF name that maps back`, () => {
      const tensors = f.tensors({ ...base, arch: f.arch });
      expect(new Set(tensors.map((t) => t.name)).size).toBe(tensors.length);
      for (const t of tensors) {
        const hf = hfName(t.name, f.hfNames);
        expect(hf, t.name).not.toBe(t.name);
        expect(canonicalName(hf, f.hfNames)).toBe(t.name);
      }
      expect(familyOf(f.arch)).toBe(f);
      expect(familyOfHf(f.hf.modelType)).toBe(f);
    });
  }
  it('refuses an unknown architecture, naming the supported ones', () => {
    expect(() => familyOf('rwkv7', 'GGUF')).toThrow(UnsupportedModelError);
    expect(() => familyOf('rwkv7', 'GGUF')).toThrow(/GGUF architecture "rwkv7".*llama, qwen2, qwen3/);
    expect(() => familyOfHf('mamba')).toThrow(/model_type "mamba"/);
  });
  it('names what a close but unsupported architecture has that llmo lacks', () => {
    expect(() => familyOf('gemma3n', 'GGUF')).toThrow(/gemma3n.*per-layer embeddings/);
    expect(() => familyOfHf('gemma3')).toThrow(UnsupportedModelError);
    expect(() => familyOfHf('gemma3')).toThrow(/vision tower.*gemma3_text/);
  });
});
