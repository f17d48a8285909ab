/**
 * `rag.ask` and the response cache on a real model in Chromium/WebGPU: sotu-5m (5M parameters, trained on State of
 * the Union addresses and Moby-Dick, plain `User:/Assistant:` template, context 256). It is a weak model that was
 * never taught to cite, which is the point: pushed towards brackets and digits and sampled over many seeds it writes
 * bracketed numbers at random, and every marker left in `answer` must still name a returned citation. Keyword store
 * (no embedder).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { load, store, deleteStore, rag, openResponseCache, ResponseCache, type Engine, type DocumentStore, type ChatMessage } from '../index.ts';

const SOTU = '/shared/models/sotu-5m/sotu-5m-q8_0.gguf';
let engine: Engine;
let kb: DocumentStore;

beforeAll(async () => {
  engine = await load(SOTU);
  const text = await (await fetch('/shared/corpora/eval.txt')).text();
  const paras = text.split(/\n\s*\n/).filter((p) => p.trim());
  await deleteStore('ask-test');
  kb = await store('ask-test', { chunk: { maxTokens: 48, overlapTokens: 8 } });
  // The two speeches and 40 Moby-Dick paragraphs; one source that itself shows bracketed numbers to copy.
  await kb.add([
    { id: 'sotu-2019', text: paras[0], meta: { title: 'State of the Union 2019' } },
    { id: 'sotu-2020', text: paras[1], meta: { title: 'State of the Union 2020' } },
    ...paras.slice(2, 42).map((p, i) => ({ id: `moby-${i}`, text: p, meta: { title: 'Moby-Dick' } })),
    { id: 'notes', text: 'See notes [3], [7] and [12] on the budget of the Navy [9]. The budget [4] grew [15].', meta: { title: 'Notes' } },
  ]);
});
afterAll(async () => {
  kb?.close();
  await engine?.dispose();
});

describe('rag.ask on sotu-5m', () => {
  test('citations: over 16 seeds every marker in the answer names a returned citation, streamed or not', async () => {
    // sotu-5m never learnt to cite: left alone it writes no [n] at all. A logit bias towards "[", digits and "]"
    // makes it write bracketed numbers at random (most naming sources it was not given), which is the hard case.
    // Even so it rarely follows "[" with a number ("[Laughter]", "[Applause]" are what it saw in training); digits
    // pushed hardest give digit soup with some bracketed numbers: "]1he]]] 2 help [4] we31]ased [11]".
    const id = async (s: string) => (await engine.tokenize(s, { addBos: false })).at(-1)!;
    const logit_bias: Record<string, number> = { [await id('[')]: 7, [await id(']')]: 8 };
    for (const d of '123456789') logit_bias[await id(d)] = 9;
    const r = rag(engine, kb);
    let markers = 0;
    let dropped = 0;
    const questions = ['What did the President say about the budget of the Navy?', 'What happened to the whale and Ahab?', 'What about jobs and the economy?'];
    const invalid = (text: string, n: number) => [...text.matchAll(/\[([\d,\s]+)\]/g)].some((m) => m[1].split(',').some((x) => !(+x >= 1 && +x <= n)));
    for (let seed = 0; seed < 16; seed++) {
      const opts = { k: 3, maxTokens: 48, temperature: 1, seed, request: { logit_bias } };
      let a;
      if (seed % 2) {
        const s = r.ask(questions[seed % 3], { ...opts, stream: true });
        let text = '';
        for await (const p of s) text += p.text;
        a = await s.result;
        expect(text).toBe(a.answer);
        expect(invalid(text, a.citations.length)).toBe(false);
      } else a = await r.ask(questions[seed % 3], opts);
      expect(a.citations.length).toBeGreaterThan(0);
      expect(a.citations.map((c) => c.n)).toEqual(a.citations.map((_, i) => i + 1));
      for (const m of a.answer.matchAll(/\[([\d,\s]+)\]/g)) {
        for (const n of m[1].split(',').map((x) => parseInt(x, 10))) {
          markers++;
          expect(a.citations.some((c) => c.n === n && c.cited)).toBe(true);
        }
      }
      dropped += a.droppedMarkers;
    }
    console.log(`citation markers kept ${markers}, dropped (named no given source) ${dropped}`);
    // Markers were written (kept or removed): otherwise this test would show nothing.
    expect(markers + dropped).toBeGreaterThan(0);
  });

  test('constrained: with the same push towards brackets, the engine writes only markers of given sources', async () => {
    const id = async (s: string) => (await engine.tokenize(s, { addBos: false })).at(-1)!;
    const logit_bias: Record<string, number> = { [await id('[')]: 7, [await id(']')]: 8 };
    for (const d of '123456789') logit_bias[await id(d)] = 9;
    let markers = 0;
    // The engine's raw output (no page-side filter): every '[' opens a marker of sources 1..3.
    for (let seed = 0; seed < 3; seed++) {
      const c = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Sources: [1] budget [2] Navy [3] ships. What about the budget?' }], max_tokens: 32, temperature: 1, seed, logit_bias, citation_markers: { sources: 3 } });
      const text = c.choices[0].message.content ?? '';
      const found = [...text.matchAll(/\[ *(\d+)(?:, *(\d+))*\]/g)];
      expect(found.length).toBe((text.match(/\[/g) ?? []).length);
      for (const m of found) for (const n of m[0].match(/\d+/g)!) expect(+n >= 1 && +n <= 3).toBe(true);
      markers += found.length;
    }
    // Through rag.ask: nothing left for the filter to remove.
    for (let seed = 0; seed < 1; seed++) {
      const a = await rag(engine, kb).ask('What did the President say about the budget of the Navy?', { k: 3, maxTokens: 32, temperature: 1, seed, constrained: true, request: { logit_bias } });
      expect(a.droppedMarkers).toBe(0);
      markers += a.citations.filter((c) => c.cited).length;
    }
    console.log(`constrained: ${markers} markers written, all naming given sources`);
    expect(markers).toBeGreaterThan(0);
  });

  test('streaming gives the same answer as the result, piece by piece, with timings', async () => {
    const s = rag(engine, kb).ask('What did the memo say about the budget?', { k: 3, maxTokens: 32, temperature: 0, stream: true });
    let text = '';
    for await (const p of s) text += p.text;
    const a = await s.result;
    expect(text).toBe(a.answer);
    expect(a.usage.completion_tokens).toBeGreaterThan(0);
    expect(a.timings.retrievalMs).toBeGreaterThanOrEqual(0);
    expect(a.timings.prefillMs).toBeGreaterThan(0);
    const plain = await rag(engine, kb).ask('What did the memo say about the budget?', { k: 3, maxTokens: 32, temperature: 0 });
    expect(plain.answer).toBe(a.answer);
  });

  test('sources are cut to fit the context (256 tokens) next to the answer budget', async () => {
    const a = await rag(engine, kb).ask('What did the President say about the budget?', { k: 12, maxTokens: 64 });
    expect(a.citations.length).toBeLessThan(12);
    expect(a.usage.prompt_tokens + 64).toBeLessThanOrEqual(256);
    // An answer budget larger than the context allows is capped at half of it; the best source is cut to fit.
    const big = await rag(engine, kb).ask('What did the President say about the budget?', { k: 2, maxTokens: 250 });
    expect(big.citations.length).toBeGreaterThan(0);
    expect(big.usage.prompt_tokens + big.usage.completion_tokens).toBeLessThanOrEqual(256);
  });
});

describe('response cache (exact) on sotu-5m', () => {
  const msgs: ChatMessage[] = [{ role: 'user', content: 'Tell me about the economy.' }];

  test('a repeat is served from the cache (usage says so), a changed parameter or a sampled request is not, and it persists', async () => {
    await ResponseCache.delete('exact-test');
    const cache = await openResponseCache('exact-test', { maxEntries: 3 });
    engine.useResponseCache(cache);
    try {
      const first = await engine.chat.completions.create({ messages: msgs, max_tokens: 24, temperature: 0 });
      expect(first.usage.response_cache).toBeUndefined();
      const t0 = performance.now();
      const again = await engine.chat.completions.create({ messages: msgs, max_tokens: 24, temperature: 0 });
      const hitMs = performance.now() - t0;
      expect(again.usage.response_cache).toMatchObject({ kind: 'exact', similarity: 1 });
      expect(again.choices[0].message.content).toBe(first.choices[0].message.content);
      console.log(`cache hit ${hitMs.toFixed(1)} ms vs generation ${(first.usage.time_to_first_token_ms + 23 * 1000 / first.usage.decode_tokens_per_s).toFixed(0)} ms`);

      const changed = await engine.chat.completions.create({ messages: msgs, max_tokens: 25, temperature: 0 });
      expect(changed.usage.response_cache).toBeUndefined();
      // Key order does not matter; `stream` does not change the answer: a streamed repeat hits too.
      let streamed = '';
      let usage;
      for await (const c of engine.chat.completions.create({ temperature: 0, max_tokens: 24, messages: msgs, stream: true })) {
        streamed += c.choices[0].delta.content ?? '';
        usage = c.usage ?? usage;
      }
      expect(streamed).toBe(first.choices[0].message.content);
      expect(usage?.response_cache?.kind).toBe('exact');

      // Sampled without a seed: never cached. With a seed: deterministic, cached.
      const s1 = await engine.chat.completions.create({ messages: msgs, max_tokens: 8, temperature: 1 });
      const s2 = await engine.chat.completions.create({ messages: msgs, max_tokens: 8, temperature: 1 });
      expect([s1.usage.response_cache, s2.usage.response_cache]).toEqual([undefined, undefined]);
      await engine.chat.completions.create({ messages: msgs, max_tokens: 8, temperature: 1, seed: 5 });
      expect((await engine.chat.completions.create({ messages: msgs, max_tokens: 8, temperature: 1, seed: 5 })).usage.response_cache?.kind).toBe('exact');

      // maxEntries 3: four distinct cached requests evicted the least recently used.
      expect(cache.size).toBe(3);
      cache.close();
      // Reopened (as after a reload): the entries come back from IndexedDB.
      const reopened = await openResponseCache('exact-test', { maxEntries: 3 });
      engine.useResponseCache(reopened);
      expect((await engine.chat.completions.create({ messages: msgs, max_tokens: 8, temperature: 1, seed: 5 })).usage.response_cache?.kind).toBe('exact');
      reopened.close();
    } finally {
      engine.useResponseCache(null);
    }
  });

  test('entries past maxAgeMs are not served', async () => {
    await ResponseCache.delete('age-test');
    const cache = await openResponseCache('age-test', { maxAgeMs: 30 });
    engine.useResponseCache(cache);
    try {
      await engine.chat.completions.create({ messages: msgs, max_tokens: 4, temperature: 0 });
      await new Promise((r) => setTimeout(r, 60));
      expect((await engine.chat.completions.create({ messages: msgs, max_tokens: 4, temperature: 0 })).usage.response_cache).toBeUndefined();
    } finally {
      engine.useResponseCache(null);
      cache.close();
    }
  });
});
