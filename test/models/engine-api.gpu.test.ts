/** The public API's behaviour around generation and failure: typed errors across the worker, abort, sampling. */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  load, ModelFetchError, ModelFormatError, UnsupportedModelError, InvalidRequestError, EngineStateError, type Engine,
} from '../../src/index.ts';

describe('load failures are typed and say what is wrong', () => {
  test('HTTP 404 → ModelFetchError with url and status', async () => {
    const err = await load('/shared/models/does-not-exist.gguf').catch((e) => e);
    expect(err).toBeInstanceOf(ModelFetchError);
    expect(err.status).toBe(404);
    expect(err.url).toContain('does-not-exist.gguf');
    expect(err.message).toMatch(/404/);
  });
  test('a file that is not a model → UnsupportedModelError', async () => {
    const err = await load('/shared/README.md').catch((e) => e);
    expect(err).toBeInstanceOf(UnsupportedModelError);
    expect(err.message).toMatch(/GGUF/);
  });
  test('an architecture we do not run → UnsupportedModelError naming it', async () => {
    const err = await load('/shared/tokenizers/ggml-vocab-gpt-2.gguf').catch((e) => e);
    expect(err).toBeInstanceOf(UnsupportedModelError);
    expect(err.message).toMatch(/gpt2/);
    expect(err.message).toMatch(/llama/);
  });
  test('a truncated file (as a Blob) → ModelFormatError saying it is truncated', async () => {
    const bytes = await (await fetch('/shared/models/sotu-5m/sotu-5m-q4_0.gguf')).arrayBuffer();
    const err = await load(new Blob([bytes.slice(0, bytes.byteLength - 1000)])).catch((e) => e);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect(err.message).toMatch(/truncated/);
  });
  test('a File picked by the user loads like a URL', async () => {
    const bytes = await (await fetch('/shared/models/stories260K/stories260K.gguf')).arrayBuffer();
    const engine = await load(new File([bytes], 'stories260K.gguf'));
    const r = await engine.complete([1], { maxTokens: 5, temperature: 0 });
    expect(r.tokens).toEqual([403, 407, 261, 378, 432]);
    await engine.dispose();
  });
});

describe('dispose', () => {
  test('dispose during a generation ends its stream with EngineStateError instead of leaving it pending', async () => {
    const engine = await load('/shared/models/stories260K/stories260K.gguf');
    const s = engine.generate('Once upon a time', { maxTokens: 100_000, ignoreEos: true, temperature: 0 });
    const it = s[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false); // it is running
    await engine.dispose();
    const err = await s.result.catch((e) => e);
    expect(err).toBeInstanceOf(EngineStateError);
    expect(err.message).toMatch(/disposed/);
    expect(() => engine.generate('again')).toThrow(EngineStateError);
  });
});

describe('generation', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await load('/shared/models/sotu-5m/sotu-5m-q8_0.gguf');
  });
  afterAll(() => engine.dispose());

  test('a text prompt is tokenized with BOS and streams text equal to the final text', async () => {
    const ids = await engine.tokenize('Fellow citizens');
    expect(ids[0]).toBe(1);
    let streamed = '';
    const s = engine.generate('Fellow citizens', { maxTokens: 20, temperature: 0 });
    for await (const c of s) streamed += c.text;
    const r = await s.result;
    expect(streamed).toBe(r.text);
    expect(r.stats.promptTokens).toBe(ids.length);
    expect(r.text).toBe(await engine.detokenize(r.tokens));
  });

  test('same seed → same tokens; different seeds → (almost surely) different; topK 1 = greedy', async () => {
    const a = await engine.complete('The Congress', { maxTokens: 24, temperature: 1, seed: 7 });
    const b = await engine.complete('The Congress', { maxTokens: 24, temperature: 1, seed: 7 });
    const c = await engine.complete('The Congress', { maxTokens: 24, temperature: 1, seed: 8 });
    expect(b.tokens).toEqual(a.tokens);
    expect(c.tokens).not.toEqual(a.tokens);
    const g = await engine.complete('The Congress', { maxTokens: 24, temperature: 0 });
    const k1 = await engine.complete('The Congress', { maxTokens: 24, temperature: 1, topK: 1, seed: 3 });
    expect(k1.tokens).toEqual(g.tokens);
  });

  test('a follow-up prompt that extends the last one reuses its KV prefix and gives the same tokens as a cold run', async () => {
    const first = await engine.complete('We have the duty', { maxTokens: 8, temperature: 0 });
    const ids = [...(await engine.tokenize('We have the duty')), ...first.tokens, ...(await engine.tokenize(' to', { addBos: false }))];
    const warm = await engine.complete(ids, { maxTokens: 12, temperature: 0 });
    expect(warm.stats.reusedPromptTokens).toBeGreaterThan(0);
    await engine.complete([1, 5], { maxTokens: 1, temperature: 0 }); // evict: shares only BOS
    const cold = await engine.complete(ids, { maxTokens: 12, temperature: 0 });
    expect(cold.stats.reusedPromptTokens).toBe(1);
    expect(warm.tokens).toEqual(cold.tokens);
  });

  test('abort stops promptly with finishReason "abort" and the engine keeps working', async () => {
    const ac = new AbortController();
    const s = engine.generate([1], { maxTokens: 200, temperature: 0, ignoreEos: true, signal: ac.signal });
    let n = 0;
    for await (const _ of s) if (++n === 3) ac.abort();
    const r = await s.result;
    expect(r.finishReason).toBe('abort');
    expect(r.tokens.length).toBeLessThan(20);
    const after = await engine.complete([1], { maxTokens: 5, temperature: 0 });
    expect(after.tokens).toHaveLength(5);
  });

  test('stop strings end generation and are not returned; EOS ends with finishReason "stop"', async () => {
    const full = await engine.complete([1], { maxTokens: 40, temperature: 0, ignoreEos: true });
    const word = full.text.trim().split(/\s+/)[3];
    const r = await engine.complete([1], { maxTokens: 40, temperature: 0, ignoreEos: true, stop: [word] });
    expect(r.finishReason).toBe('stop');
    expect(r.text).toBe(full.text.slice(0, full.text.indexOf(word)));
  });

  test('token ids outside the vocabulary → InvalidRequestError naming the id, for generate, logits and evaluate', async () => {
    const vocab = engine.info.config.vocabSize;
    for (const call of [
      () => engine.complete([1, vocab, 5], { maxTokens: 2 }),
      () => engine.logits([1, -1]),
      () => engine.evaluate([1, 2, 3, 4, 1.5]),
    ]) {
      const err = await call().catch((e) => e);
      expect(err).toBeInstanceOf(InvalidRequestError);
      expect(err.message).toMatch(/outside the vocabulary/);
    }
    expect((await engine.complete([1, vocab - 1], { maxTokens: 1, temperature: 0 })).tokens).toHaveLength(1);
  });

  test('a prompt longer than the context → InvalidRequestError', async () => {
    const err = await engine.complete(new Array(engine.info.contextLength + 1).fill(5)).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect(err.message).toMatch(/context/);
  });
});
