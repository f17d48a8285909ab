import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/model/types.ts';
import { InvalidRequestError, ModelFormatError } from '../../src/errors.ts';
import { ReferenceModel, referenceRopeFreqFactors, type WeightSource } from './llama-ref.ts';
import { argmax, matmul, rmsnorm, rope } from './ops.ts';
import { expectClose, permuteRows, randArray, rng } from './test-utils.ts';

function tinyConfig(over: Partial<ModelConfig> = {}): ModelConfig {
  return {
    arch: 'llama', vocabSize: 19, dim: 16, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 8, ffnDim: 24,
    contextLength: 32, normEps: 1e-5, ropeTheta: 10000, ropeStyle: 'neox', tiedEmbeddings: false,
    qkvBias: false, qkNorm: false, ...over,
  };
}

/** Random weights for every tensor the config needs (norm weights near 1, matrices ~U(-0.5, 0.5)). */
function randomWeights(c: ModelConfig, seed: number): Map<string, Float32Array> {
  const r = rng(seed);
  const m = new Map<string, Float32Array>();
  const mat = (name: string, rows: number, cols: number) => m.set(name, randArray(rows * cols, r, 0.5));
  const norm = (name: string, n: number) => m.set(name, Float32Array.from({ length: n }, () => 1 + 0.3 * r()));
  const qDim = c.nHeads * c.headDim, kvDim = c.nKvHeads * c.headDim;
  mat('token_embd.weight', c.vocabSize, c.dim);
  norm('output_norm.weight', c.dim);
  if (!c.tiedEmbeddings) mat('output.weight', c.vocabSize, c.dim);
  for (let i = 0; i < c.nLayers; i++) {
    const p = `blk.${i}.`;
    norm(p + 'attn_norm.weight', c.dim);
    mat(p + 'attn_q.weight', qDim, c.dim);
    mat(p + 'attn_k.weight', kvDim, c.dim);
    mat(p + 'attn_v.weight', kvDim, c.dim);
    if (c.qkvBias) {
      mat(p + 'attn_q.bias', 1, qDim);
      mat(p + 'attn_k.bias', 1, kvDim);
      mat(p + 'attn_v.bias', 1, kvDim);
    }
    if (c.qkNorm) {
      norm(p + 'attn_q_norm.weight', c.headDim);
      norm(p + 'attn_k_norm.weight', c.headDim);
    }
    mat(p + 'attn_output.weight', c.dim, qDim);
    norm(p + 'ffn_norm.weight', c.dim);
    mat(p + 'ffn_gate.weight', c.ffnDim, c.dim);
    mat(p + 'ffn_up.weight', c.ffnDim, c.dim);
    mat(p + 'ffn_down.weight', c.dim, c.ffnDim);
  }
  return m;
}

const source = (m: Map<string, Float32Array>): WeightSource => (name) => m.get(name);
const tokens = [1, 5, 9, 2, 17, 3, 3, 11];

/** Largest |a−b| relative to the largest |b|. */
function relDiff(a: Float32Array, b: Float32Array): number {
  let d = 0, s = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); s = Math.max(s, Math.abs(b[i])); }
  return d / s;
}

describe('ReferenceModel wiring', () => {
  it('with all block weights zero, logits = Wout · (rmsnorm(embedding) · output_norm)', () => {
    const c = tinyConfig({ nLayers: 1 });
    const w = randomWeights(c, 1);
    for (const [name, t] of w) if (name.startsWith('blk.') && !name.includes('norm')) t.fill(0);
    const logits = new ReferenceModel(c, source(w)).forward([4]);
    // written out by hand, without the ops module
    const e = w.get('token_embd.weight')!.subarray(4 * c.dim, 5 * c.dim);
    const rms = Math.sqrt(e.reduce((s, v) => s + v * v, 0) / c.dim + c.normEps);
    const g = w.get('output_norm.weight')!;
    const out = w.get('output.weight')!;
    const expected = Array.from({ length: c.vocabSize }, (_, n) => {
      let s = 0;
      for (let k = 0; k < c.dim; k++) s += out[n * c.dim + k] * (e[k] / rms) * g[k];
      return s;
    });
    expectClose(logits, expected, 1e-5);
  });

  it('one token, token-by-token, or in chunks: same logits (KV cache = recompute)', () => {
    const c = tinyConfig();
    const m = new ReferenceModel(c, source(randomWeights(c, 2)));
    const all = m.forward(tokens, { allLogits: true });
    expect(all.length).toBe(tokens.length * c.vocabSize);
    m.reset();
    tokens.forEach((t, i) => {
      const l = m.forward([t]);
      expectClose(l, all.subarray(i * c.vocabSize, (i + 1) * c.vocabSize), 1e-5);
    });
    m.reset();
    m.forward(tokens.slice(0, 3));
    const rest = m.forward(tokens.slice(3), { allLogits: true });
    expectClose(rest, all.subarray(3 * c.vocabSize), 1e-5);
    expect(m.position).toBe(tokens.length);
    m.reset();
    expectClose(m.forward(tokens), all.subarray((tokens.length - 1) * c.vocabSize), 1e-5);
  });

  it('is causal: a later token does not change earlier logits', () => {
    const c = tinyConfig();
    const m = new ReferenceModel(c, source(randomWeights(c, 3)));
    const a = m.forward(tokens, { allLogits: true });
    m.reset();
    const changed = tokens.slice();
    changed[5] = 0;
    const b = m.forward(changed, { allLogits: true });
    expectClose(b.subarray(0, 5 * c.vocabSize), a.subarray(0, 5 * c.vocabSize), 0);
    expect(relDiff(b.subarray(5 * c.vocabSize), a.subarray(5 * c.vocabSize))).toBeGreaterThan(1e-3);
  });

  it('GGUF normal-layout RoPE on permuted Q/K weights gives the same logits as neox on HF weights', () => {
    const neoxCfg = tinyConfig({ ropeStyle: 'neox' });
    const w = randomWeights(neoxCfg, 4);
    const permuted = new Map(w);
    for (let i = 0; i < neoxCfg.nLayers; i++) {
      const q = `blk.${i}.attn_q.weight`, k = `blk.${i}.attn_k.weight`;
      permuted.set(q, permuteRows(w.get(q)!, neoxCfg.nHeads, neoxCfg.headDim, neoxCfg.dim));
      permuted.set(k, permuteRows(w.get(k)!, neoxCfg.nKvHeads, neoxCfg.headDim, neoxCfg.dim));
    }
    const a = new ReferenceModel(neoxCfg, source(w)).forward(tokens, { allLogits: true });
    const b = new ReferenceModel({ ...neoxCfg, ropeStyle: 'normal' }, source(permuted)).forward(tokens, { allLogits: true });
    expect(relDiff(b, a)).toBeLessThan(1e-5);
    // and the mismatch (normal RoPE on unpermuted weights) really differs, so the check has teeth
    const wrong = new ReferenceModel({ ...neoxCfg, ropeStyle: 'normal' }, source(w)).forward(tokens, { allLogits: true });
    expect(relDiff(wrong, a)).toBeGreaterThan(1e-3);
  });

  it('tied embeddings use token_embd as the output matrix', () => {
    const c = tinyConfig({ tiedEmbeddings: true });
    const w = randomWeights(c, 5);
    expect(w.has('output.weight')).toBe(false);
    const tied = new ReferenceModel(c, source(w)).forward(tokens);
    const untied = new Map(w).set('output.weight', w.get('token_embd.weight')!);
    const b = new ReferenceModel({ ...c, tiedEmbeddings: false }, source(untied)).forward(tokens);
    expectClose(tied, b, 0);
  });

  it('greedy() appends argmax tokens one at a time', () => {
    const c = tinyConfig();
    const m = new ReferenceModel(c, source(randomWeights(c, 6)));
    const out = m.greedy([1, 2], 6);
    expect(out.length).toBe(6);
    m.reset();
    const seq = [1, 2];
    for (let i = 0; i < 6; i++) {
      m.reset();
      seq.push(argmax(m.forward(seq)));
    }
    expect(out).toEqual(seq.slice(2));
  });

  it('reports missing or mis-sized tensors and context overflow with typed errors', () => {
    const c = tinyConfig();
    const w = randomWeights(c, 7);
    const missing = new Map(w);
    missing.delete('blk.1.ffn_up.weight');
    expect(() => new ReferenceModel(c, source(missing))).toThrow(ModelFormatError);
    const wrong = new Map(w).set('blk.0.attn_k.weight', new Float32Array(3));
    expect(() => new ReferenceModel(c, source(wrong))).toThrow(/attn_k.weight has 3 elements/);
    const m = new ReferenceModel(c, source(w));
    m.forward(new Array(30).fill(1));
    expect(() => m.forward([1, 1, 1])).toThrow(InvalidRequestError);
  });
});

describe('qwen2: QKV biases', () => {
  const c = tinyConfig({ arch: 'qwen2', qkvBias: true, nKvHeads: 1 });
  const w = randomWeights(c, 8);
  const logits = (m: Map<string, Float32Array>, toks: number[]) => new ReferenceModel(c, source(m)).forward(toks, { allLogits: true });

  it('requires the biases', () => {
    const m = new Map(w);
    m.delete('blk.0.attn_v.bias');
    expect(() => new ReferenceModel(c, source(m))).toThrow(/attn_v.bias is missing/);
  });
  it('for a lone token only the V bias matters (softmax over one key is 1)', () => {
    const base = logits(w, [3]);
    const qk = new Map(w).set('blk.0.attn_q.bias', randArray(c.nHeads * c.headDim, rng(9)))
      .set('blk.1.attn_k.bias', randArray(c.nKvHeads * c.headDim, rng(10)));
    expect(relDiff(logits(qk, [3]), base)).toBeLessThan(1e-6);
    const vb = new Map(w).set('blk.0.attn_v.bias', randArray(c.nKvHeads * c.headDim, rng(11)));
    expect(relDiff(logits(vb, [3]), base)).toBeGreaterThan(1e-3);
  });
  it('with several tokens the Q bias changes the attention pattern', () => {
    const base = logits(w, tokens);
    const qb = new Map(w).set('blk.0.attn_q.bias', randArray(c.nHeads * c.headDim, rng(12), 3));
    expect(relDiff(logits(qb, tokens), base)).toBeGreaterThan(1e-3);
  });
});

describe('qwen3: per-head RMSNorm on Q and K before RoPE', () => {
  const c = tinyConfig({ arch: 'qwen3', qkNorm: true, normEps: 1e-6 });
  const w = randomWeights(c, 13);
  const scaledQK = (m: Map<string, Float32Array>) => {
    const s = new Map(m);
    for (let i = 0; i < c.nLayers; i++) {
      for (const t of ['attn_q', 'attn_k']) s.set(`blk.${i}.${t}.weight`, m.get(`blk.${i}.${t}.weight`)!.map((v) => v * 7));
    }
    return s;
  };

  it('makes logits (almost) independent of the scale of Wq and Wk, unlike llama', () => {
    const run = (cfg: ModelConfig, m: Map<string, Float32Array>) => new ReferenceModel(cfg, source(m)).forward(tokens, { allLogits: true });
    expect(relDiff(run(c, scaledQK(w)), run(c, w))).toBeLessThan(1e-4);
    const llama = { ...c, arch: 'llama' as const, qkNorm: false };
    expect(relDiff(run(llama, scaledQK(w)), run(llama, w))).toBeGreaterThan(1e-3);
  });
  it('normalizes each head with attn_q_norm / attn_k_norm and then rotates', () => {
    const seen = new Map<string, Float32Array>();
    new ReferenceModel(c, source(w)).forward(tokens.slice(0, 3), { tap: (name, layer, data) => { if (layer === 1) seen.set(name, data); } });
    const positions = [0, 1, 2];
    const h = seen.get('attn_norm')!;
    // recompute from layer 1's normed input with the ops, in the stated order
    const q = matmul(w.get('blk.1.attn_q.weight')!, h, 3, c.nHeads * c.headDim, c.dim);
    const qn = rmsnorm(q, w.get('blk.1.attn_q_norm.weight')!, 3 * c.nHeads, c.headDim, c.normEps);
    expectClose(seen.get('q_rope')!, rope(qn, positions, c.nHeads, c.headDim, c.ropeTheta, 'neox'), 1e-6);
    const k = matmul(w.get('blk.1.attn_k.weight')!, h, 3, c.nKvHeads * c.headDim, c.dim);
    const kn = rmsnorm(k, w.get('blk.1.attn_k_norm.weight')!, 3 * c.nKvHeads, c.headDim, c.normEps);
    expectClose(seen.get('k_rope')!, rope(kn, positions, c.nKvHeads, c.headDim, c.ropeTheta, 'neox'), 1e-6);
    // rotating first and normalizing after would differ (the norm weight is not uniform)
    const wrong = rmsnorm(rope(q, positions, c.nHeads, c.headDim, c.ropeTheta, 'neox'), w.get('blk.1.attn_q_norm.weight')!, 3 * c.nHeads, c.headDim, c.normEps);
    expect(relDiff(wrong, seen.get('q_rope')!)).toBeGreaterThan(1e-3);
  });
});

describe('RoPE scaling factors', () => {
  it('llama3: keeps high frequencies, divides low ones by factor, blends in between as HF does', () => {
    // theta 10000, headDim 4: pair 0 has wavelength 2π, pair 1 has 2π/0.01 ≈ 628.3.
    // originalContextLength 1000, low 1, high 4 → low-freq wavelength 1000, high-freq wavelength 250.
    const base = tinyConfig({ headDim: 4, ropeTheta: 10000 });
    const s = { type: 'llama3' as const, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 1000 };
    const f = referenceRopeFreqFactors({ ...base, ropeScaling: s })!;
    expect(f[0]).toBe(1);
    // HF: smooth = (old_ctx / wavelen − low) / (high − low); inv' = (1 − smooth)·inv/factor + smooth·inv
    const inv = 0.01, wavelen = 2 * Math.PI / inv;
    const smooth = (1000 / wavelen - 1) / 3;
    const invScaled = (1 - smooth) * inv / 8 + smooth * inv;
    expect(f[1]).toBeCloseTo(inv / invScaled, 6); // stored as f32
    // a longer context pushes pair 1 past the low-frequency wavelength: divided by the whole factor
    const f2 = referenceRopeFreqFactors({ ...base, ropeScaling: { ...s, originalContextLength: 500 } })!;
    expect(Array.from(f2)).toEqual([1, 8]);
  });
  it('linear: every frequency divided by factor; none without scaling', () => {
    expect(Array.from(referenceRopeFreqFactors(tinyConfig({ ropeScaling: { type: 'linear', factor: 2.5 } }))!)).toEqual([2.5, 2.5, 2.5, 2.5]);
    expect(referenceRopeFreqFactors(tinyConfig())).toBeUndefined();
  });
  it('a rope_freqs.weight tensor takes the place of the config-derived factors', () => {
    const s = { type: 'llama3' as const, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 8 };
    const scaled = tinyConfig({ ropeScaling: s });
    const w = randomWeights(scaled, 14);
    const fromConfig = new ReferenceModel(scaled, source(w)).forward(tokens);
    const withTensor = new Map(w).set('rope_freqs.weight', referenceRopeFreqFactors(scaled)!);
    const fromTensor = new ReferenceModel(tinyConfig(), source(withTensor)).forward(tokens);
    expectClose(fromTensor, fromConfig, 0);
    const unscaled = new ReferenceModel(tinyConfig(), source(w)).forward(tokens);
    expect(relDiff(unscaled, fromConfig)).toBeGreaterThan(1e-4);
  });
});
