/**
 * Greedy decoding runs several steps per GPU submission (EngineCore `decodeBatch`, Transformer `decodeSteps`); every
 * way a generation can end inside a batch must give exactly what one step at a time gives. The one-step answer is
 * llama2.c's reference output for stories260K (expected-greedy-200), so these checks do not lean on our own
 * single-step path: maxTokens, stop strings, EOS (a copy of the model whose EOS id is a token the text reaches
 * mid-batch), abort, and the KV cache rolled back to the kept tokens (the next request reuses it).
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { load, type Engine } from '../../src/index.ts';
import { decodeBatch } from '../../src/runtime/generation-helpers.ts';

const MODEL = '/shared/models/stories260K/stories260K.gguf';
let engine: Engine;
let ids: number[]; // BOS + 200 reference tokens
let full: { tokens: number[]; text: string };

beforeAll(async () => {
  ids = (await (await fetch('/shared/models/stories260K/expected-greedy-200.ids.txt')).text()).trim().split(/\s+/).map(Number);
  engine = await load(MODEL);
  const r = await engine.complete([1], { maxTokens: 200, temperature: 0, ignoreEos: true });
  full = { tokens: r.tokens, text: r.text };
});
afterAll(() => engine.dispose());

test('the batch policy: 1, 1, 2, 4, 8, then 16 per submission, never past maxTokens', () => {
  const sizes: number[] = [];
  for (let made = 1; made < 60;) made += sizes[sizes.push(decodeBatch(made, 60 - made)) - 1];
  expect(sizes).toEqual([1, 2, 4, 8, 16, 16, 12]);
  expect(decodeBatch(0, 100)).toBe(1);
  expect(decodeBatch(40, 3)).toBe(3);
});

test('200 tokens equal the reference; every maxTokens cut is its prefix', async () => {
  expect([1, ...full.tokens]).toEqual(ids);
  for (const n of [1, 2, 3, 5, 7, 12, 17, 31, 33, 47]) {
    const r = await engine.complete([1], { maxTokens: n, temperature: 0, ignoreEos: true });
    expect(r.tokens, `maxTokens ${n}`).toEqual(full.tokens.slice(0, n));
    expect(r.finishReason).toBe('length');
  }
});

test('a stop string inside a batch ends the text before it, and the next request reuses exactly the kept KV', async () => {
  // Stops that first appear at various offsets, so the cut falls at different places inside the 16-token batches.
  for (const stop of ['girl', 'park.', 'ball', 'mom said', 'sorry']) {
    const at = full.text.indexOf(stop);
    expect(at, stop).toBeGreaterThan(0);
    const r = await engine.complete([1], { maxTokens: 200, temperature: 0, ignoreEos: true, stop: [stop] });
    expect(r.text, stop).toBe(full.text.slice(0, at));
    expect(r.finishReason).toBe('stop');
    expect(r.tokens).toEqual(full.tokens.slice(0, r.tokens.length));
    // The cache holds BOS and every kept token but the last: a request continuing from there prefills one token,
    // then must go on exactly as the reference does (a KV row counted wrongly would change the text).
    const next = await engine.complete([1, ...r.tokens], { maxTokens: 20, temperature: 0, ignoreEos: true });
    expect(next.stats.reusedPromptTokens, stop).toBe(r.tokens.length);
    expect(next.tokens, stop).toEqual(full.tokens.slice(r.tokens.length, r.tokens.length + 20));
  }
});

test('EOS inside a batch ends generation before it', async () => {
  // The same weights with tokenizer.ggml.eos_token_id set to a token the reference text first reaches at index k.
  const bytes = new Uint8Array(await (await fetch(MODEL)).arrayBuffer());
  const key = new TextEncoder().encode('tokenizer.ggml.eos_token_id');
  let off = -1;
  for (let i = 0; i < 1 << 16 && off < 0; i++) if (key.every((b, j) => bytes[i + j] === b)) off = i + key.length;
  const view = new DataView(bytes.buffer);
  expect(view.getUint32(off, true)).toBe(4); // GGUF value type u32, then the value
  for (const k of [9, 38]) {
    const eos = full.tokens[k];
    const first = full.tokens.indexOf(eos);
    view.setUint32(off + 4, eos, true);
    const e = await load(new File([bytes], 'stories260K-eos.gguf'), { worker: false });
    try {
      const r = await e.complete([1], { maxTokens: 200, temperature: 0 });
      expect(r.finishReason).toBe('stop');
      expect(r.tokens, `eos ${eos}`).toEqual(full.tokens.slice(0, first));
    } finally {
      await e.dispose();
    }
  }
});

test('abort while a batch runs: the tokens kept are the reference prefix, finishReason abort', async () => {
  const ac = new AbortController();
  const seen: number[] = [];
  const s = engine.generate([1], { maxTokens: 200, temperature: 0, ignoreEos: true, signal: ac.signal });
  for await (const c of s) {
    seen.push(c.token);
    if (seen.length === 20) ac.abort();
  }
  const r = await s.result;
  expect(r.finishReason).toBe('abort');
  expect(r.tokens.length).toBeGreaterThanOrEqual(20);
  expect(r.tokens.length).toBeLessThan(200);
  expect(r.tokens).toEqual(full.tokens.slice(0, r.tokens.length));
  // And the engine goes on from a consistent cache.
  const again = await engine.complete([1], { maxTokens: 40, temperature: 0, ignoreEos: true });
  expect(again.tokens).toEqual(full.tokens.slice(0, 40));
});
