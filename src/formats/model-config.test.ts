import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GgmlType, type ModelConfig, type TensorInfo } from '../model/types.ts';
import { ModelFormatError, UnsupportedModelError } from '../errors.ts';
import { parseGgufHeader, type GgufHeader } from './gguf.ts';
import { configFromGguf, configFromHf } from './model-config.ts';
import { expectedTensorShapes, validateModel } from './model-checks.ts';
import { ropeFreqFactors } from '../model/rope.ts';

const SHARED = resolve(import.meta.dirname, '../../..', 'shared');

/** Header of a GGUF file, reading only as much of it as the parser asks for. */
function header(rel: string): GgufHeader {
  const fd = openSync(resolve(SHARED, rel), 'r');
  try {
    let buf = new Uint8Array(1 << 16);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, 0);
      const h = parseGgufHeader(buf.subarray(0, n));
      if (!('needBytes' in h)) return h;
      if (n < buf.length) throw new Error(`${rel}: truncated`);
      buf = new Uint8Array(h.needBytes);
    }
  } finally {
    closeSync(fd);
  }
}

const f32 = Math.fround;

describe('configFromGguf on the real GGUF files', () => {
  const sotu: ModelConfig = {
    arch: 'llama',
    vocabSize: 4096,
    dim: 256,
    nLayers: 4,
    nHeads: 8,
    nKvHeads: 4,
    headDim: 32,
    ffnDim: 768,
    contextLength: 256,
    normEps: f32(1e-5),
    ropeTheta: 10000,
    ropeStyle: 'normal',
    tiedEmbeddings: false,
    qkvBias: false,
    qkNorm: false,
  };
  const cases: Array<[string, ModelConfig]> = [
    ...['f32', 'f16', 'q8_0', 'q4_0'].map((v): [string, ModelConfig] => [`models/sotu-5m/sotu-5m-${v}.gguf`, sotu]),
    [
      'models/stories260K/stories260K.gguf',
      { ...sotu, vocabSize: 512, dim: 64, nLayers: 5, nHeads: 8, nKvHeads: 4, headDim: 8, ffnDim: 172, contextLength: 512 },
    ],
    [
      'models/llama-2-tiny-random/llama-2-tiny-random.gguf',
      { ...sotu, vocabSize: 32000, dim: 8, nLayers: 1, nHeads: 2, nKvHeads: 2, headDim: 4, ffnDim: 32, contextLength: 4096 },
    ],
  ];
  for (const [file, expected] of cases) {
    it(`${file}: config as documented, and the tensors validate`, () => {
      const h = header(file);
      const c = configFromGguf(h);
      expect(c).toEqual(expected);
      expect(() => validateModel(c, h.tensors)).not.toThrow();
    });
  }

  it('refuses vocab-only files of unsupported architectures, naming the supported ones', () => {
    const h = header('tokenizers/ggml-vocab-gpt-2.gguf');
    expect(() => configFromGguf(h)).toThrow(UnsupportedModelError);
    expect(() => configFromGguf(h)).toThrow(/llama, qwen2, qwen3/);
    // A supported architecture without weights is a format problem, not an unsupported model.
    for (const name of ['qwen2', 'phi-3']) expect(() => configFromGguf(header(`tokenizers/ggml-vocab-${name}.gguf`))).toThrow(ModelFormatError);
  });

  it('reads linear RoPE scaling and refuses others', () => {
    const h = header('models/sotu-5m/sotu-5m-q8_0.gguf');
    const with_ = (entries: Array<[string, string | number]>): GgufHeader => ({
      ...h,
      metadata: new Map([...h.metadata, ...entries]),
    });
    expect(configFromGguf(with_([['llama.rope.scaling.type', 'linear'], ['llama.rope.scaling.factor', 4]])).ropeScaling).toEqual({
      type: 'linear',
      factor: 4,
    });
    expect(configFromGguf(with_([['llama.rope.scaling.type', 'none']])).ropeScaling).toBeUndefined();
    expect(() => configFromGguf(with_([['llama.rope.scaling.type', 'yarn']]))).toThrow(UnsupportedModelError);
    // Partial rotary: fewer rotated dimensions than the head has (Phi-4-mini); more, or an odd count, is corrupt.
    const headDim = configFromGguf(h).headDim;
    expect(configFromGguf(with_([['llama.rope.dimension_count', headDim - 2]])).ropeDim).toBe(headDim - 2);
    expect(() => configFromGguf(with_([['llama.rope.dimension_count', headDim + 2]]))).toThrow(ModelFormatError);
    expect(() => configFromGguf(with_([['llama.rope.dimension_count', headDim - 1]]))).toThrow(/even/);
    expect(() => configFromGguf(with_([['llama.block_count', 0]]))).toThrow(ModelFormatError);
    const noEps = new Map(h.metadata);
    noEps.delete('llama.attention.layer_norm_rms_epsilon');
    expect(() => configFromGguf({ ...h, metadata: noEps })).toThrow(/layer_norm_rms_epsilon/);
  });
});

describe('validateModel', () => {
  const h = header('models/sotu-5m/sotu-5m-q4_0.gguf');
  const config = configFromGguf(h);
  const edit = (fn: (ts: TensorInfo[]) => TensorInfo[]) => fn(h.tensors.map((t) => ({ ...t, shape: [...t.shape] })));

  it('names a tensor of an unsupported type and lists the supported ones', () => {
    const ts = edit((ts) => ts.map((t) => (t.name === 'blk.2.ffn_up.weight' ? { ...t, type: GgmlType.Q8_K } : t)));
    expect(() => validateModel(config, ts)).toThrow(UnsupportedModelError);
    expect(() => validateModel(config, ts)).toThrow(/blk\.2\.ffn_up\.weight.*Q8_K.*F32, F16, BF16, Q8_0, Q4_0, Q4_1.*Q4_K.*IQ4_XS/);
  });

  it('names a missing tensor and a wrongly shaped one', () => {
    const missing = edit((ts) => ts.filter((t) => t.name !== 'blk.3.attn_v.weight'));
    expect(() => validateModel(config, missing)).toThrow(ModelFormatError);
    expect(() => validateModel(config, missing)).toThrow(/blk\.3\.attn_v\.weight/);
    const wrong = edit((ts) => ts.map((t) => (t.name === 'blk.0.ffn_down.weight' ? { ...t, shape: [768, 256] } : t)));
    expect(() => validateModel(config, wrong)).toThrow(/blk\.0\.ffn_down\.weight.*\[768, 256\].*\[256, 768\]/);
    // An untied config needs output.weight.
    expect(() => validateModel(config, edit((ts) => ts.filter((t) => t.name !== 'output.weight')))).toThrow(/output\.weight/);
  });

  it('rejects an unsupported architecture and inconsistent head counts', () => {
    expect(() => validateModel({ ...config, arch: 'gemma' as ModelConfig['arch'] }, h.tensors)).toThrow(UnsupportedModelError);
    expect(() => validateModel({ ...config, nKvHeads: 3 }, h.tensors)).toThrow(ModelFormatError);
  });

  it('checks every count against the tensor table before building per-layer tables', () => {
    // block_count 4 -> 1 would run one layer and ignore three; 2^32-1 used to build a 40-billion-entry table.
    for (const nLayers of [1, 5, 0xffffffff]) {
      const t0 = performance.now();
      expect(() => validateModel({ ...config, nLayers }, h.tensors)).toThrow(ModelFormatError);
      expect(() => validateModel({ ...config, nLayers }, h.tensors)).toThrow(`says the model has ${nLayers} layers`);
      expect(performance.now() - t0).toBeLessThan(100);
    }
    expect(() => validateModel({ ...config, contextLength: 2 ** 40 }, h.tensors)).toThrow(/context is .* the header is corrupt/);
    const meta = (k: string, v: number) => ({ ...h, metadata: new Map([...h.metadata, [k, v]]) });
    expect(() => configFromGguf(meta('llama.attention.head_count', 7))).toThrow(/embedding_length 256 is not a multiple of .*head_count 7/);
    const tokens = h.metadata.get('tokenizer.ggml.tokens') as string[];
    const bigVocab = { ...h, metadata: new Map([...h.metadata, ['tokenizer.ggml.tokens', [...tokens, 'extra']]]) };
    expect(() => configFromGguf(bigVocab)).toThrow(/4097 tokens but token_embd\.weight has only 4096 rows/);
  });

  it('refuses tensors the graph would not use, and quantized norm vectors, naming them', () => {
    const extra = edit((ts) => [...ts, { ...ts[0], name: 'blk.0.ffn_gate_inp.weight' }]);
    expect(() => validateModel(config, extra)).toThrow(UnsupportedModelError);
    expect(() => validateModel(config, extra)).toThrow(/"blk\.0\.ffn_gate_inp\.weight"/);
    const q8Norm = edit((ts) => ts.map((t) => (t.name === 'blk.1.ffn_norm.weight' ? { ...t, type: GgmlType.Q8_0 } : t)));
    expect(() => validateModel(config, q8Norm)).toThrow(UnsupportedModelError);
    expect(() => validateModel(config, q8Norm)).toThrow(/"blk\.1\.ffn_norm\.weight" is a vector .* Q8_0/);
    // lm_head stored beside tied embeddings is a copy: ignoring it is right.
    expect(() => validateModel({ ...config, tiedEmbeddings: true }, h.tensors)).not.toThrow();
  });

  it('expects bias and Q/K-norm tensors when the config says so', () => {
    const shapes = expectedTensorShapes({ ...config, qkvBias: true, qkNorm: true });
    expect(shapes.get('blk.1.attn_k.bias')).toEqual([128]);
    expect(shapes.get('blk.1.attn_q_norm.weight')).toEqual([32]);
    expect(() => validateModel({ ...config, qkvBias: true }, h.tensors)).toThrow(/attn_q\.bias/);
  });
});

describe('configFromHf', () => {
  const tensors = (vocab: number, dim: number, extra: string[] = []): TensorInfo[] =>
    ['token_embd.weight', ...extra].map((name) => ({ name, type: GgmlType.BF16, shape: [vocab, dim], offset: 0, byteLength: 0 }));

  it('reads a Llama 3.2 1B config.json (llama3 RoPE scaling, tied)', () => {
    const json = {
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      hidden_size: 2048,
      intermediate_size: 8192,
      num_hidden_layers: 16,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      head_dim: 64,
      max_position_embeddings: 131072,
      rms_norm_eps: 1e-5,
      rope_theta: 500000.0,
      rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
      tie_word_embeddings: true,
      vocab_size: 128256,
    };
    expect(configFromHf(json, tensors(128256, 2048))).toEqual({
      arch: 'llama',
      vocabSize: 128256,
      dim: 2048,
      nLayers: 16,
      nHeads: 32,
      nKvHeads: 8,
      headDim: 64,
      ffnDim: 8192,
      contextLength: 131072,
      normEps: 1e-5,
      ropeTheta: 500000,
      ropeStyle: 'neox',
      ropeScaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 8192 },
      tiedEmbeddings: true,
      qkvBias: false,
      qkNorm: false,
    });
  });

  it('defaults head_dim, KV heads and rope_theta; detects biases/norms/untied head from tensors', () => {
    const json = {
      model_type: 'qwen2',
      hidden_size: 896,
      intermediate_size: 4864,
      num_hidden_layers: 24,
      num_attention_heads: 14,
      max_position_embeddings: 32768,
      rms_norm_eps: 1e-6,
      rope_scaling: null,
    };
    const c = configFromHf(json, tensors(151936, 896, ['output.weight', 'blk.0.attn_q.bias']));
    expect(c).toMatchObject({ headDim: 64, nKvHeads: 14, ropeTheta: 10000, qkvBias: true, qkNorm: false, tiedEmbeddings: false });
    expect(c.ropeScaling).toBeUndefined();
    expect(configFromHf({ ...json, model_type: 'qwen3', head_dim: 128 }, tensors(10, 896, ['blk.0.attn_q_norm.weight']))).toMatchObject({
      arch: 'qwen3',
      headDim: 128,
      qkNorm: true,
      tiedEmbeddings: true,
    });
    expect(configFromHf({ ...json, rope_scaling: { type: 'linear', factor: 2 } }, tensors(10, 896)).ropeScaling).toEqual({ type: 'linear', factor: 2 });
    expect(() => configFromHf({ ...json, rope_scaling: { rope_type: 'yarn', factor: 4 } }, tensors(10, 896))).toThrow(UnsupportedModelError);
    expect(() => configFromHf({ ...json, hidden_size: undefined }, tensors(10, 896))).toThrow(/hidden_size/);
  });

  it('reads Phi-4-mini-style LongRoPE and partial rotary; picks the long factors past the original context', () => {
    const long = Array.from({ length: 48 }, (_, i) => 1 + i);
    const short = Array.from({ length: 48 }, () => 1);
    const json = {
      model_type: 'phi3', hidden_size: 3072, intermediate_size: 8192, num_hidden_layers: 32, num_attention_heads: 24, num_key_value_heads: 8,
      max_position_embeddings: 131072, original_max_position_embeddings: 4096, rms_norm_eps: 1e-5, rope_theta: 10000,
      partial_rotary_factor: 0.75, sliding_window: 262144, rope_scaling: { type: 'longrope', long_factor: long, short_factor: short },
    };
    const c = configFromHf(json, tensors(200064, 3072));
    expect(c).toMatchObject({ arch: 'phi3', headDim: 128, ropeDim: 96, slidingWindow: undefined });
    // HF's default attention factor: √(1 + ln(131072/4096) / ln(4096)).
    expect(c.ropeScaling).toEqual({ type: 'longrope', originalContextLength: 4096, attnFactor: Math.sqrt(1 + Math.log(32) / Math.log(4096)), long, short });
    expect(Array.from(ropeFreqFactors(c, 4097))).toEqual(long);
    expect(Array.from(ropeFreqFactors(c, 4096))).toEqual(short);
    expect(configFromHf({ ...json, sliding_window: 2047 }, tensors(200064, 3072)).slidingWindow).toBe(2047);
    expect(() => configFromHf({ ...json, rope_scaling: { type: 'longrope', long_factor: long.slice(1), short_factor: short } }, tensors(200064, 3072)))
      .toThrow(/long_factor must list 48/);
  });

  it('reads the MiniLM (bert) config.json: LayerNorm eps, 12 heads of 32', () => {
    const json = JSON.parse(readFileSync(resolve(SHARED, 'models/all-MiniLM-L6-v2-tokenizer/config.json'), 'utf8')) as object;
    const c = configFromHf(json, tensors(30522, 384));
    expect(c).toMatchObject({ arch: 'bert', dim: 384, nLayers: 6, nHeads: 12, headDim: 32, ffnDim: 1536, contextLength: 512, normEps: 1e-12 });
    expect(() => configFromHf({ ...json, model_type: 'roberta' }, tensors(30522, 384))).toThrow(/"roberta".*llama, qwen2, qwen3/);
  });
});
