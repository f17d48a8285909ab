import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../model/types.ts';
import { UnsupportedModelError } from '../errors.ts';
import { FAMILIES, familyOf, familyOfHf } from './index.ts';
import { canonicalName, hfName } from './tensors.ts';
import { configFromHf } from '../formats/model-config.ts';
import { GgmlType } from '../model/types.ts';

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
    expect(() => familyOf('phimoe', 'GGUF')).toThrow(/mixture-of-experts/);
    expect(() => familyOf('phi2', 'GGUF')).toThrow(/Phi-2.*phi3/);
    expect(() => familyOfHf('phi4mm')).toThrow(/vision and audio/);
  });
});

describe('nomic-bert config.json (NomicBertModel)', () => {
  // nomic-embed-text-v1.5's config.json fields (GPT-2-style names); its context is the trained 2048, not n_positions.
  const json = {
    model_type: 'nomic_bert', architectures: ['NomicBertModel'], activation_function: 'swiglu', n_embd: 768, n_inner: 3072, n_layer: 12,
    n_head: 12, n_positions: 8192, max_trained_positions: 2048, layer_norm_epsilon: 1e-12, rotary_emb_base: 1000, rotary_emb_fraction: 1.0,
    rotary_emb_interleaved: false, rotary_emb_scale_base: null, causal: false, prenorm: false, vocab_size: 30528, type_vocab_size: 2,
  };
  const tensors = [{ name: 'token_embd.weight', type: GgmlType.F32, shape: [30528, 768], offset: 0, byteLength: 0 }];
  it('reads the GPT-2-style field names into the standard config', () => {
    expect(configFromHf(json, tensors)).toMatchObject({
      arch: 'nomic-bert', dim: 768, ffnDim: 3072, nLayers: 12, nHeads: 12, headDim: 64, contextLength: 2048, normEps: 1e-12, ropeTheta: 1000, pooling: 'mean',
    });
  });
  it('refuses settings that change the math without changing the tensors', () => {
    for (const [k, v] of [['rotary_emb_fraction', 0.5], ['rotary_emb_interleaved', true], ['prenorm', true], ['activation_function', 'gelu'], ['moe_every_n_layers', 2]] as const) {
      expect(() => configFromHf({ ...json, [k]: v }, tensors), k).toThrow(UnsupportedModelError);
    }
  });
});
