import { describe, expect, it } from 'vitest';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { GgmlType, type ModelConfig, type TensorInfo } from '../model/types.ts';
import { InvalidRequestError } from '../errors.ts';
import { tokenizerFromGguf } from '../tokenizer/gguf-tokenizer.ts';
import { parseGgufHeader, type GgufHeader } from './gguf.ts';
import { parseSafetensorsHeader } from './safetensors.ts';
import { configFromGguf, configFromHf, ropeFreqFactors, validateModel } from './model-config.ts';
import { dequantize, f32ArrayToBf16, quantize } from './quant.ts';
import { ggmlTypeByteLength } from './ggml-types.ts';
import {
  FIXTURE_SHAPES,
  fixtureTensorF32,
  makeFixture,
  makeSafetensorsFixture,
  type FixtureOptions,
  type FixtureType,
} from './fixture.ts';

const tiny = (o: Partial<FixtureOptions> = {}): FixtureOptions => ({ ...FIXTURE_SHAPES.tiny, type: 'f32', seed: 1, ...o });

function parseGguf(bytes: Uint8Array): GgufHeader {
  const h = parseGgufHeader(bytes);
  if ('needBytes' in h) throw new Error('incomplete GGUF');
  return h;
}

const count = (t: TensorInfo): number => t.shape.reduce((a, b) => a * b, 1);

/** Weights of a parsed file by name, decoded to f32. */
function weights(bytes: Uint8Array, tensors: TensorInfo[]): (name: string) => Float32Array {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const cache = new Map<string, Float32Array>();
  return (name) => {
    let w = cache.get(name);
    if (!w) {
      const t = byName.get(name);
      if (!t) throw new Error(`no tensor ${name}`);
      w = dequantize(t.type, bytes.subarray(t.offset, t.offset + t.byteLength), count(t));
      cache.set(name, w);
    }
    return w;
  };
}

/**
 * A plain f32 transformer forward pass (llama/qwen2/qwen3 decoder), written independently of the engine to
 * check that fixtures describe a sensible model. Returns the last position's logits.
 */
function forward(c: ModelConfig, W: (n: string) => Float32Array, tokens: number[], freqFactors: Float32Array): Float32Array {
  const { dim, headDim: hd, nHeads, nKvHeads, ffnDim } = c;
  const matvec = (w: Float32Array, x: Float32Array, rows: number): Float32Array => {
    const cols = x.length;
    const y = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let k = 0; k < cols; k++) s += w[r * cols + k] * x[k];
      y[r] = s;
    }
    return y;
  };
  const rmsnorm = (x: Float32Array, w: Float32Array, at = 0, n = x.length): void => {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += x[at + i] * x[at + i];
    const k = 1 / Math.sqrt(ss / n + c.normEps);
    for (let i = 0; i < n; i++) x[at + i] = x[at + i] * k * w[i];
  };
  const rope = (v: Float32Array, at: number, pos: number): void => {
    for (let i = 0; i < hd / 2; i++) {
      const angle = (pos * c.ropeTheta ** ((-2 * i) / hd)) / freqFactors[i];
      const [a, b] = c.ropeStyle === 'normal' ? [at + 2 * i, at + 2 * i + 1] : [at + i, at + i + hd / 2];
      const x0 = v[a];
      const x1 = v[b];
      v[a] = x0 * Math.cos(angle) - x1 * Math.sin(angle);
      v[b] = x0 * Math.sin(angle) + x1 * Math.cos(angle);
    }
  };
  const embd = W('token_embd.weight');
  const xs = tokens.map((t) => embd.slice(t * dim, (t + 1) * dim));
  for (let l = 0; l < c.nLayers; l++) {
    const p = `blk.${l}.`;
    const ks: Float32Array[] = [];
    const vs: Float32Array[] = [];
    const qs: Float32Array[] = [];
    xs.forEach((x, pos) => {
      const h = x.slice();
      rmsnorm(h, W(`${p}attn_norm.weight`));
      const q = matvec(W(`${p}attn_q.weight`), h, nHeads * hd);
      const k = matvec(W(`${p}attn_k.weight`), h, nKvHeads * hd);
      const v = matvec(W(`${p}attn_v.weight`), h, nKvHeads * hd);
      if (c.qkvBias) {
        for (const [t, b] of [[q, 'q'], [k, 'k'], [v, 'v']] as const) {
          const bias = W(`${p}attn_${b}.bias`);
          for (let i = 0; i < t.length; i++) t[i] += bias[i];
        }
      }
      for (let hh = 0; hh < nHeads; hh++) {
        if (c.qkNorm) rmsnorm(q, W(`${p}attn_q_norm.weight`), hh * hd, hd);
        rope(q, hh * hd, pos);
      }
      for (let hh = 0; hh < nKvHeads; hh++) {
        if (c.qkNorm) rmsnorm(k, W(`${p}attn_k_norm.weight`), hh * hd, hd);
        rope(k, hh * hd, pos);
      }
      qs.push(q);
      ks.push(k);
      vs.push(v);
    });
    xs.forEach((x, pos) => {
      const att = new Float32Array(nHeads * hd);
      for (let hh = 0; hh < nHeads; hh++) {
        const kvh = Math.floor(hh / (nHeads / nKvHeads));
        const scores = new Float64Array(pos + 1);
        for (let j = 0; j <= pos; j++) {
          let s = 0;
          for (let i = 0; i < hd; i++) s += qs[pos][hh * hd + i] * ks[j][kvh * hd + i];
          scores[j] = s / Math.sqrt(hd);
        }
        const m = Math.max(...scores);
        let z = 0;
        for (let j = 0; j <= pos; j++) z += scores[j] = Math.exp(scores[j] - m);
        for (let j = 0; j <= pos; j++) for (let i = 0; i < hd; i++) att[hh * hd + i] += (scores[j] / z) * vs[j][kvh * hd + i];
      }
      const o = matvec(W(`${p}attn_output.weight`), att, dim);
      for (let i = 0; i < dim; i++) x[i] += o[i];
      const h = x.slice();
      rmsnorm(h, W(`${p}ffn_norm.weight`));
      const g = matvec(W(`${p}ffn_gate.weight`), h, ffnDim);
      const u = matvec(W(`${p}ffn_up.weight`), h, ffnDim);
      for (let i = 0; i < ffnDim; i++) g[i] = (g[i] / (1 + Math.exp(-g[i]))) * u[i];
      const d = matvec(W(`${p}ffn_down.weight`), g, dim);
      for (let i = 0; i < dim; i++) x[i] += d[i];
    });
  }
  const last = xs[xs.length - 1].slice();
  rmsnorm(last, W('output_norm.weight'));
  return matvec(W(c.tiedEmbeddings ? 'token_embd.weight' : 'output.weight'), last, c.vocabSize);
}

const argmax = (v: Float32Array): number => v.reduce((best, x, i) => (x > v[best] ? i : best), 0);

function greedy(c: ModelConfig, W: (n: string) => Float32Array, start: number, steps: number, factors: Float32Array): number[] {
  const ids = [start];
  for (let s = 0; s < steps; s++) ids.push(argmax(forward(c, W, ids, factors)));
  return ids;
}

describe('makeFixture (GGUF)', () => {
  const types: FixtureType[] = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0'];
  for (const arch of ['llama', 'qwen2', 'qwen3'] as const) {
    for (const type of types) {
      it(`${arch} ${type}: parses, loads as the promised config, validates, types as asked`, () => {
        const opts = tiny({ arch, type });
        const { gguf, config } = makeFixture(opts);
        const h = parseGguf(gguf);
        const c = configFromGguf(h);
        expect(c).toEqual(config);
        expect(c.qkvBias).toBe(arch === 'qwen2');
        expect(c.qkNorm).toBe(arch === 'qwen3');
        expect(c.ropeStyle).toBe(arch === 'llama' ? 'normal' : 'neox');
        validateModel(c, h.tensors);
        const want = { f32: GgmlType.F32, f16: GgmlType.F16, bf16: GgmlType.BF16, q8_0: GgmlType.Q8_0, q4_0: GgmlType.Q4_0 }[type];
        for (const t of h.tensors) expect(t.type, t.name).toBe(t.shape.length === 1 ? GgmlType.F32 : want);
        // Stored bytes are exactly the generated f32 weights encoded with our (ggml-exact) converters.
        for (const t of h.tensors) {
          const expected = quantize(t.type, fixtureTensorF32(opts, t.name, 'gguf'));
          expect(Buffer.compare(gguf.subarray(t.offset, t.offset + t.byteLength), expected), t.name).toBe(0);
        }
      });
    }
  }

  it('is deterministic: same seed, same bytes; another seed, other weights but the same header', () => {
    const a = makeFixture(tiny({ type: 'q4_0', seed: 7 })).gguf;
    const b = makeFixture(tiny({ type: 'q4_0', seed: 7 })).gguf;
    const c = makeFixture(tiny({ type: 'q4_0', seed: 8 })).gguf;
    expect(Buffer.compare(a, b)).toBe(0);
    expect(c.length).toBe(a.length);
    expect(Buffer.compare(a, c)).not.toBe(0);
    const h = parseGguf(a);
    expect(Buffer.compare(a.subarray(0, h.dataOffset), c.subarray(0, h.dataOffset))).toBe(0);
    // Golden values recorded from the generator: the PRNG is integer math plus one f32 rounding, so these hold on
    // every platform; a change here means every fixture (and any golden output derived from one) changed.
    const w = fixtureTensorF32(tiny({ seed: 7 }), 'blk.0.attn_v.weight', 'gguf');
    expect(Array.from(w.subarray(0, 4))).toEqual([-0.14066216349601746, 0.12877948582172394, 0.08677597343921661, 0.0081022372469306]);
  });

  it('keeps embeddings in another type when asked, and writes llama3 rope_freqs', () => {
    const opts = tiny({
      type: 'q4_0',
      embeddingType: 'q8_0',
      tied: true,
      ropeTheta: 500000,
      ropeScaling: { factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 64 },
    });
    const { gguf, config } = makeFixture(opts);
    const h = parseGguf(gguf);
    const byName = new Map(h.tensors.map((t) => [t.name, t]));
    expect(byName.get('token_embd.weight')!.type).toBe(GgmlType.Q8_0);
    expect(byName.has('output.weight')).toBe(false);
    expect(byName.get('blk.1.ffn_up.weight')!.type).toBe(GgmlType.Q4_0);
    const rf = byName.get('rope_freqs.weight')!;
    expect(rf.shape).toEqual([8]);
    const st = makeSafetensorsFixture({ ...opts, type: 'f32', embeddingType: 'f32' });
    const freqs = dequantize(GgmlType.F32, gguf.subarray(rf.offset, rf.offset + rf.byteLength), 8);
    expect(freqs).toEqual(ropeFreqFactors(st.config));
    expect(new Set(freqs).size).toBeGreaterThan(2); // some band is actually scaled
    expect(configFromGguf(h)).toEqual(config);
    validateModel(config, h.tensors);
  });

  it('rejects impossible shapes and a quantized row length that is not whole blocks', () => {
    expect(() => makeFixture(tiny({ dims: { ...FIXTURE_SHAPES.tiny.dims, nKvHeads: 3 } }))).toThrow(InvalidRequestError);
    expect(() => makeFixture(tiny({ dims: { ...FIXTURE_SHAPES.tiny.dims, vocab: 100 } }))).toThrow(InvalidRequestError);
    expect(() => makeFixture(tiny({ type: 'q8_0', dims: { ...FIXTURE_SHAPES.tiny.dims, ffn: 100 } }))).toThrow(/block/);
  });
});

describe('makeSafetensorsFixture', () => {
  for (const arch of ['llama', 'qwen2', 'qwen3'] as const) {
    it(`${arch} bf16: parses with HF names, loads as the promised config, validates`, () => {
      const opts = tiny({ arch, type: 'bf16' });
      const st = makeSafetensorsFixture(opts);
      const h = parseSafetensorsHeader(st.safetensors, { fileSize: st.safetensors.length });
      if ('needBytes' in h) throw new Error('incomplete');
      const c = configFromHf(st.configJson, h.tensors);
      expect(c).toEqual(st.config);
      validateModel(c, h.tensors);
      for (const t of h.tensors) {
        expect(t.type).toBe(GgmlType.BF16);
        const expected = new Uint8Array(f32ArrayToBf16(fixtureTensorF32(opts, t.name, 'safetensors')).buffer);
        expect(Buffer.compare(st.safetensors.subarray(t.offset, t.offset + t.byteLength), expected), t.name).toBe(0);
      }
    });
  }

  it('is deterministic and refuses quantized types', () => {
    const a = makeSafetensorsFixture(tiny({ type: 'f16', seed: 3 }));
    const b = makeSafetensorsFixture(tiny({ type: 'f16', seed: 3 }));
    expect(Buffer.compare(a.safetensors, b.safetensors)).toBe(0);
    expect(a.tokenizerJson).toEqual(b.tokenizerJson);
    expect(() => makeSafetensorsFixture(tiny({ type: 'q8_0' }))).toThrow(InvalidRequestError);
  });
});

describe('fixture models compute something sensible', () => {
  it('GGUF llama (permuted Q/K, adjacent-pair RoPE) and safetensors llama (rotate-half) are the same function', () => {
    const opts = tiny({ ropeScaling: { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 32 } });
    const g = makeFixture(opts);
    const gh = parseGguf(g.gguf);
    const s = makeSafetensorsFixture(opts);
    const sh = parseSafetensorsHeader(s.safetensors);
    if ('needBytes' in sh) throw new Error('incomplete');
    const Wg = weights(g.gguf, gh.tensors);
    const Ws = weights(s.safetensors, sh.tensors);
    const tokens = [299, 5, 77, 200, 13, 42];
    const lg = forward(g.config, Wg, tokens, Wg('rope_freqs.weight'));
    const ls = forward(s.config, Ws, tokens, ropeFreqFactors(s.config));
    let maxDiff = 0;
    for (let i = 0; i < lg.length; i++) maxDiff = Math.max(maxDiff, Math.abs(lg[i] - ls[i]));
    expect(maxDiff).toBeLessThan(1e-4);
    // ...and the permutation matters: the unpermuted weights with adjacent-pair RoPE give other logits.
    const wrong = forward({ ...g.config }, Ws, tokens, ropeFreqFactors(s.config));
    expect(Math.max(...wrong.map((x, i) => Math.abs(x - ls[i])))).toBeGreaterThan(1e-2);
  });

  for (const arch of ['llama', 'qwen2', 'qwen3'] as const) {
    it(`${arch}: O(1) logits and greedy decoding that does not collapse`, () => {
      const { gguf, config } = makeFixture(tiny({ arch, type: 'q8_0', seed: 11 }));
      const h = parseGguf(gguf);
      const W = weights(gguf, h.tensors);
      const ones = ropeFreqFactors(config);
      const logits = forward(config, W, [1, 2, 3], ones);
      const mean = logits.reduce((a, b) => a + b, 0) / logits.length;
      const std = Math.sqrt(logits.reduce((a, b) => a + (b - mean) ** 2, 0) / logits.length);
      expect(std).toBeGreaterThan(0.5);
      expect(std).toBeLessThan(10);
      const ids = greedy(config, W, 1, 24, ones);
      expect(new Set(ids.slice(1)).size).toBeGreaterThanOrEqual(6);
    });
  }
});

describe('fixture tokenizers', () => {
  const TEXTS = [
    'Hello world! The user asks a question.',
    "It's 2024, and they'd say: what is the capital of France?\n\nParis.",
    '<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n',
    'naïve café — 日本語 🙂 tabs\tand  double  spaces',
  ];

  for (const arch of ['llama', 'qwen2'] as const) {
    it(`${arch}: GGUF vocabulary is consistent and both tokenizers agree on every text`, async () => {
      const opts = tiny({ arch, dims: { ...FIXTURE_SHAPES.tiny.dims, vocab: 1000 } });
      const meta = parseGguf(makeFixture(opts).gguf).metadata;
      const tokens = meta.get('tokenizer.ggml.tokens') as string[];
      const types = meta.get('tokenizer.ggml.token_type') as Int32Array;
      const merges = meta.get('tokenizer.ggml.merges') as string[];
      expect(tokens.length).toBe(1000);
      expect(new Set(tokens).size).toBe(1000);
      const set = new Set(tokens);
      for (const m of merges) {
        const [a, b, ...rest] = m.split(' ');
        expect(rest).toEqual([]);
        expect(set.has(a) && set.has(b) && set.has(a + b), m).toBe(true);
      }
      expect(merges.length).toBeGreaterThan(300);
      const specials = tokens.flatMap((t, i) => (types[i] === 3 ? [t] : []));
      expect(specials).toEqual(
        arch === 'llama' ? ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|begin_of_text|>'] : ['<|endoftext|>', '<|im_start|>', '<|im_end|>'],
      );

      const gg = tokenizerFromGguf(meta);
      const st = makeSafetensorsFixture(opts);
      const hf = new HfTokenizer(st.tokenizerJson, st.tokenizerConfigJson);
      expect(gg.vocabSize).toBe(1000);
      expect(gg.addBosByDefault).toBe(arch === 'llama');
      expect(gg.eosIds).toContain(tokens.indexOf('<|im_end|>'));
      for (const text of TEXTS) {
        const ids = gg.encode(text, { addBos: false });
        expect(hf.encode(text, { add_special_tokens: false }).ids, JSON.stringify(text)).toEqual(ids);
        expect(gg.decode(ids, { keepSpecial: true })).toBe(text);
        expect(hf.decode(ids, { skip_special_tokens: false })).toBe(text);
      }
      expect(gg.encode('Hello')[0] === gg.bosId).toBe(arch === 'llama');
    });
  }

  it('decodes filler tokens to readable pseudo-words', () => {
    const st = makeSafetensorsFixture(tiny({ type: 'f32', dims: { ...FIXTURE_SHAPES.tiny.dims, vocab: 2000 } }));
    const hf = new HfTokenizer(st.tokenizerJson, st.tokenizerConfigJson);
    const text = hf.decode([1500, 1501, 1502, 1503]);
    expect(text).toMatch(/^[a-z ]+$/);
  });
});

describe('full-size fixture', () => {
  it('generates the SmolLM2-135M shape in Q8_0 in seconds, with the exact expected size', () => {
    const t0 = performance.now();
    const { gguf, config } = makeFixture({ ...FIXTURE_SHAPES.smollm2_135m, type: 'q8_0', seed: 1 });
    const seconds = (performance.now() - t0) / 1000;
    const h = parseGguf(gguf);
    validateModel(configFromGguf(h), h.tensors);
    expect(config).toMatchObject({ vocabSize: 49152, dim: 576, nLayers: 30, nHeads: 9, nKvHeads: 3, headDim: 64, tiedEmbeddings: true });
    let dataBytes = 0;
    for (const t of h.tensors) {
      expect(t.byteLength).toBe(ggmlTypeByteLength(t.type, count(t)));
      dataBytes += t.byteLength;
    }
    expect(dataBytes).toBe(ggmlTypeByteLength(GgmlType.Q8_0, 134_515_008 - 576 * 61) + 576 * 61 * 4); // 134.5M params, 61 norms
    expect(seconds).toBeLessThan(60); // ~4 s on a loaded 2-core machine; guards against accidental O(n^2) work
  });
});
