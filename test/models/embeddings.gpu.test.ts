/**
 * embed() and embeddings.create() on random-weight encoder fixtures (test/fixtures/bert-fixture.ts, served at
 * /encoder-fixtures/): GPU vectors against the reference encoder (test/reference/bert-ref.ts, itself checked against
 * llama.cpp in encoder-agreement.gpu.test.ts) within 1e-4 per value; batched equal to one-by-one within 1e-5; a
 * vector independent of its batch-mates; the OpenAI shape (fields, usage, base64, dimensions) and the typed errors.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { load, base64ToVector, AbortError, InvalidRequestError, UnsupportedModelError, type Engine } from '../../src/index.ts';
import { loadGguf } from '../reference/gguf-weights.ts';
import { ReferenceEncoder, referenceEncoderConfig, l2normalize } from '../reference/bert-ref.ts';
import { ReferenceModel } from '../reference/llama-ref.ts';
import { referenceConfigFromGguf } from '../reference/gguf-weights.ts';
import { tokenizerFromGguf } from '../../src/tokenizer/gguf-tokenizer.ts';
import { dequantize } from '../../src/formats/quant.ts';

const TEXTS = ['a cat sat on the mat', 'a dog', 'Embeddings turn sentences into vectors; similar meanings land close together.', 'x'];

async function reference(url: string) {
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const g = loadGguf(bytes, url, (info, raw) => dequantize(info.type, raw, info.shape.reduce((a, b) => a * b, 1)));
  return { ref: new ReferenceEncoder(referenceEncoderConfig(g.header), g.weight), tok: tokenizerFromGguf(g.header.metadata) };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe.each([
  ['/encoder-fixtures/tiny~f32~s31~mean/model.gguf'],
  ['/encoder-fixtures/tiny~f16~s32~cls/model.gguf'],
  ['/encoder-fixtures/nomic_tiny~f32~s33~mean/model.gguf'],
])('%s', (url) => {
  let engine: Engine;
  let r: Awaited<ReturnType<typeof reference>>;
  beforeAll(async () => {
    [engine, r] = await Promise.all([load(url, { cache: false }), reference(url)]);
  });
  afterAll(() => engine?.dispose());

  test('GPU vectors match the reference within 1e-4 (texts, tokenized by llmo)', async () => {
    const vecs = await engine.embed(TEXTS);
    expect(vecs).toHaveLength(TEXTS.length);
    TEXTS.forEach((t, i) => {
      const want = r.ref.embed(r.tok.encode(t));
      const d = maxDiff(vecs[i], want);
      console.log(`${url} "${t.slice(0, 20)}": max |gpu - ref| ${d.toExponential(2)}`);
      expect(d).toBeLessThan(1e-4);
    });
    expect(engine.info.embedding).toMatchObject({ dim: r.ref.config.dim, pooling: r.ref.config.pooling });
  });

  test('batched equals one by one (1e-5), whatever the batch-mates', async () => {
    const together = await engine.embed(TEXTS);
    for (const [i, t] of TEXTS.entries()) {
      expect(maxDiff((await engine.embed(t))[0], together[i])).toBeLessThan(1e-5);
    }
    // The same text beside a long one and beside many short ones.
    const long = 'word '.repeat(60);
    const a = (await engine.embed([long, TEXTS[1]]))[1];
    const b = (await engine.embed([...Array(20).fill('hi'), TEXTS[1]]))[20];
    expect(maxDiff(a, together[1])).toBeLessThan(1e-5);
    expect(maxDiff(b, together[1])).toBeLessThan(1e-5);
  });
});

describe('OpenAI shape and errors', () => {
  const url = '/encoder-fixtures/tiny~f32~s31~mean/model.gguf';
  let engine: Engine;
  beforeAll(async () => {
    engine = await load(url, { cache: false, contextLength: 32 });
  });
  afterAll(() => engine?.dispose());

  test('fields, usage, base64 round trip, dimensions', async () => {
    const f = await engine.embeddings.create({ input: TEXTS.slice(0, 2) });
    expect(f.object).toBe('list');
    expect(f.model).toBe(engine.info.name);
    expect(f.data.map((d) => [d.object, d.index])).toEqual([['embedding', 0], ['embedding', 1]]);
    const ids = await Promise.all(TEXTS.slice(0, 2).map((t) => engine.tokenize(t)));
    expect(f.usage).toEqual({ prompt_tokens: ids[0].length + ids[1].length, total_tokens: ids[0].length + ids[1].length });
    const v0 = f.data[0].embedding as number[];
    expect(v0).toHaveLength(64);
    expect(Math.hypot(...v0)).toBeCloseTo(1, 5);

    const b = await engine.embeddings.create({ input: TEXTS.slice(0, 2), encoding_format: 'base64' });
    expect(typeof b.data[0].embedding).toBe('string');
    expect(Array.from(base64ToVector(b.data[0].embedding as string))).toEqual(Array.from(Float32Array.from(v0)));

    const d = await engine.embeddings.create({ input: TEXTS[0], dimensions: 16 });
    const v16 = d.data[0].embedding as number[];
    expect(v16).toHaveLength(16);
    expect(Math.hypot(...v16)).toBeCloseTo(1, 5);
    const n = Math.hypot(...v0.slice(0, 16));
    expect(maxDiff(v16, v0.slice(0, 16).map((x) => x / n))).toBeLessThan(1e-6);

    // Token ids go in as given.
    const t = await engine.embeddings.create({ input: [ids[0], ids[1]] });
    expect(maxDiff(t.data[0].embedding as number[], v0)).toBeLessThan(1e-6);
    expect((await engine.embeddings.create({ input: ids[0] })).data).toHaveLength(1);
  });

  test('bad inputs give typed errors; truncate cuts to the context', async () => {
    await expect(engine.embeddings.create({ input: [] })).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(engine.embed([])).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(engine.embed(['ok', ''])).rejects.toThrow(/input\[1\] is an empty string/);
    await expect(engine.embeddings.create({ input: 'x', dimensions: 65 })).rejects.toBeInstanceOf(InvalidRequestError);
    const long = 'word '.repeat(40);
    const err = await engine.embed(long).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect(err.message).toMatch(/at most 32.*truncate/);
    const cut = await engine.embeddings.create({ input: long, truncate: true });
    expect(cut.usage.prompt_tokens).toBe(32);
    await expect(engine.generate('hi').text()).rejects.toBeInstanceOf(UnsupportedModelError);
    const ac = new AbortController();
    ac.abort();
    await expect(engine.embed('x', { signal: ac.signal })).rejects.toBeInstanceOf(AbortError);
  });

  test('a chat model asked for embeddings → UnsupportedModelError', async () => {
    const chat = await load('/shared/models/stories260K/stories260K.gguf', { cache: false });
    try {
      const err = await chat.embed('hello').catch((e) => e);
      expect(err).toBeInstanceOf(UnsupportedModelError);
      expect(err.message).toMatch(/text generator/);
    } finally {
      await chat.dispose();
    }
  });
});

describe('HF safetensors checkpoints (sentence-transformers layout)', () => {
  // BertModel (with the int64 embeddings.position_ids buffer real checkpoints carry) and NomicBertModel (GPT-2-style
  // config.json names, fused attn.Wqkv, SwiGLU fc11/fc12/fc2).
  test.each([['tiny~f32~s36~cls', 'cls'], ['nomic_tiny~f32~s37~mean', 'mean']])(
    '%s: same vectors as the GGUF of the same weights and as the reference; pooling from 1_Pooling/config.json; real MiniLM tokenizer.json',
    async (spec, pooling) => {
      const [st, gg, r] = await Promise.all([
        load(`/encoder-fixtures/${spec}/model.safetensors`, { cache: false }),
        load(`/encoder-fixtures/${spec}/model.gguf`, { cache: false }),
        reference(`/encoder-fixtures/${spec}/model.gguf`),
      ]);
      try {
        expect(st.info.format).toBe('safetensors');
        expect(st.info.embedding).toMatchObject({ dim: 64, pooling });
        const fields = ['arch', 'vocabSize', 'dim', 'nLayers', 'nHeads', 'headDim', 'ffnDim', 'contextLength', 'ropeTheta', 'pooling'] as const;
        for (const k of fields) expect(st.info.config[k], k).toEqual(gg.info.config[k]);
        expect(st.info.config.normEps).toBeCloseTo(gg.info.config.normEps, 18);
        // tokenizer.json (HF WordPiece) and the GGUF vocabulary (llmo's WordPiece) frame and split texts alike.
        for (const t of TEXTS) expect(await st.tokenize(t)).toEqual(await gg.tokenize(t));
        const [a, b] = await Promise.all([st.embed(TEXTS), gg.embed(TEXTS)]);
        TEXTS.forEach((t, i) => {
          expect(maxDiff(a[i], b[i])).toBeLessThan(1e-6);
          expect(maxDiff(a[i], r.ref.embed(r.tok.encode(t)))).toBeLessThan(1e-4);
        });
      } finally {
        await Promise.all([st.dispose(), gg.dispose()]);
      }
    },
  );

  test('the MiniLM-shaped fixture config.json is all-MiniLM-L6-v2\'s on every field llmo reads', async () => {
    const [ours, real] = await Promise.all([
      fetch('/encoder-fixtures/minilm~f32~s1~mean/config.json').then((r) => r.json()),
      fetch('/shared/models/all-MiniLM-L6-v2-tokenizer/config.json').then((r) => r.json()),
    ]);
    for (const k of ['model_type', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'max_position_embeddings', 'layer_norm_eps', 'vocab_size', 'type_vocab_size', 'hidden_act']) {
      expect(ours[k], k).toEqual(real[k]);
    }
  });
});

describe('decoder embedding model (qwen3 graph, last-token pooling)', () => {
  const url = '/fixtures/tiny~qwen3~f32~s23/model.gguf';
  test("load(src, { pooling: 'last' }): packed texts match the reference (1e-4) and one-by-one (1e-5), end token appended; the chat KV cache is left alone", async () => {
    const engine = await load(url, { cache: false, pooling: 'last' });
    try {
      const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
      const g = loadGguf(bytes, url);
      const ref = (ids: number[]) => {
        let normed: Float32Array | undefined;
        new ReferenceModel(referenceConfigFromGguf(g.header), g.weight).forward(ids, { tap: (name, _l, d) => { if (name === 'output_norm') normed = d.slice(); } });
        return l2normalize(normed!);
      };
      // A conversation first: its KV cache must survive the embeddings.
      const prompt = [1, 40, 41, 42, 43, 44, 45, 46];
      const chat1 = await engine.complete(prompt, { maxTokens: 6, temperature: 0 });

      const eos = g.header.metadata.get('tokenizer.ggml.eos_token_id') as number;
      const texts = ['hello world', 'a b c d e'];
      const ids = [[1, 17, 42, 99], [1, 5], Array.from({ length: 40 }, (_, i) => 1 + ((i * 37) % 250))];
      const [rt, ri] = [await engine.embeddings.create({ input: texts }), await engine.embeddings.create({ input: ids })];
      // Texts get the end-of-text token; token ids go in as given.
      const textIds = await Promise.all(texts.map(async (t) => [...await engine.tokenize(t), eos]));
      expect(rt.usage.prompt_tokens).toBe(textIds.reduce((a, x) => a + x.length, 0));
      const cases: Array<[number[], number[], string | number[]]> = [
        ...textIds.map((w, i) => [w, rt.data[i].embedding as number[], texts[i]] as [number[], number[], string]),
        ...ids.map((w, i) => [w, ri.data[i].embedding as number[], w] as [number[], number[], number[]]),
      ];
      for (const [w, got, input] of cases) {
        const d = maxDiff(got, ref(w));
        console.log(`qwen3 decoder embedding, ${w.length} tokens (packed): max |gpu - ref| ${d.toExponential(2)}`);
        expect(d).toBeLessThan(1e-4);
        const alone = typeof input === 'string' ? await engine.embed(input) : [(await engine.embeddings.create({ input })).data[0].embedding as number[]];
        expect(maxDiff(alone[0], got)).toBeLessThan(1e-5);
      }
      // The text already ending with the end token is not given a second one.
      const withEnd = await engine.embeddings.create({ input: [textIds[0]] });
      expect(maxDiff(withEnd.data[0].embedding as number[], rt.data[0].embedding as number[])).toBeLessThan(1e-6);

      // The conversation continues from its live KV cache (not the prefix cache) and decodes as without the embeddings.
      const next = [...prompt, ...chat1.tokens.slice(0, 4)];
      const chat2 = await engine.complete(next, { maxTokens: 4, temperature: 0 });
      expect(chat2.stats.reusedPromptTokens).toBeGreaterThanOrEqual(next.length - 1);
      expect(chat2.stats.prefixCachedTokens).toBe(0);
      expect(chat2.tokens).toEqual(chat1.tokens.slice(4, 6).concat(chat2.tokens.slice(2)));
      expect(engine.info.memory.cacheBytes).toBeGreaterThan(0);
    } finally {
      await engine.dispose();
    }
  });
});
