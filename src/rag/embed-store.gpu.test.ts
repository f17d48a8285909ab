/**
 * The store with a real llmo embedder (engine.embed on a BERT encoder in its worker). The encoder is the
 * random-weight MiniLM-vocabulary fixture (no real embedding weights exist offline), so these tests check the
 * mechanics only — vectors stored, searched exactly, reused after reopening, the semantic cache's gating — never
 * retrieval quality, which needs a trained embedder.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { load, store, deleteStore, openResponseCache, ResponseCache, InvalidRequestError, type Engine, type Embedder, type ChatCompletion } from '../index.ts';
import { decodeStore } from './store-file.ts';

const ENCODER = '/encoder-fixtures/tiny~f32~s31~mean/model.gguf';
let enc: Engine;
let calls = 0;
let embedder: Embedder;
let paras: string[];

beforeAll(async () => {
  enc = await load(ENCODER);
  embedder = {
    embed: (t, o) => { calls += t.length; return enc.embed(t, o); },
    tokenize: (t) => enc.tokenize(t),
    info: { name: enc.info.name },
  };
  const text = await (await fetch('/shared/corpora/eval.txt')).text();
  paras = text.split(/\n\s*\n/).slice(2, 32);
});
afterAll(async () => {
  await enc?.dispose();
});

describe('store with engine.embed', () => {
  test('vector search is the exact cosine top-k; a reopened store embeds nothing but the query', async () => {
    await deleteStore('embed');
    let kb = await store('embed', { embedder, chunk: { maxTokens: 64, overlapTokens: 8 } });
    await kb.add(paras.map((p, i) => ({ id: `moby-${i}`, text: p, meta: { title: 'Moby-Dick', part: i < 15 ? 'a' : 'b' } })));
    const stats = kb.stats;
    expect(stats.dims).toBe(enc.info.embedding!.dim);
    expect(calls).toBe(stats.chunks);
    kb.close();

    calls = 0;
    kb = await store('embed', { embedder });
    expect(kb.stats).toEqual(stats);
    const q = 'the captain and the compass';
    const hits = await kb.search(q, { k: 5, mode: 'vector' });
    expect(calls).toBe(1); // the query only: chunks came back from IndexedDB with their vectors

    const file = decodeStore(await (await kb.export()).text());
    const [qv] = await enc.embed([q]);
    const cos = (v: Float32Array) => v.reduce((s, x, i) => s + x * qv[i], 0);
    const want = file.chunks.map((c) => ({ id: c.doc, chunk: c.i, score: cos(c.vector!) })).sort((a, b) => b.score - a.score).slice(0, 5);
    expect(hits.map((h) => [h.id, h.chunk])).toEqual(want.map((w) => [w.id, w.chunk]));
    hits.forEach((h, i) => expect(h.score).toBeCloseTo(want[i].score, 5));

    // Filters apply to vector and hybrid search alike; hybrid holds the keyword top hit.
    expect((await kb.search(q, { k: 8, mode: 'vector', filter: { part: 'b' } })).every((h) => h.meta.part === 'b')).toBe(true);
    const kw = (await kb.search('binnacle compasses', { k: 1, mode: 'keyword' }))[0];
    const hy = await kb.search('binnacle compasses', { k: 5, mode: 'hybrid' });
    expect(hy.some((h) => h.id === kw.id && h.chunk === kw.chunk)).toBe(true);
    kb.close();

    // Another embedder's vectors do not mix with these.
    const other: Embedder = { embed: embedder.embed, info: { name: 'another-model' } };
    await expect(store('embed', { embedder: other })).rejects.toBeInstanceOf(InvalidRequestError);
  });
});

describe('semantic response cache (mechanics)', () => {
  const reply = (text: string): ChatCompletion => ({
    id: 'x', object: 'chat.completion', created: 0, model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2, time_to_first_token_ms: 1, prefill_tokens_per_s: 1, decode_tokens_per_s: 1, cached_prompt_tokens: 0, prompt_tokens_details: { cached_tokens: 0 } },
  });
  const req = (user: string, system = 'Be brief.') => ({ messages: [{ role: 'system' as const, content: system }, { role: 'user' as const, content: user }], temperature: 0 });

  test('a near-duplicate last turn hits within the threshold; another question, system prompt or model does not', async () => {
    await ResponseCache.delete('semantic');
    // Random weights: only texts that tokenize alike are reliably close, so the near-duplicate differs in case and
    // spacing (the MiniLM vocabulary is uncased) and the threshold is strict.
    const cache = await openResponseCache('semantic', { semantic: { embedder, threshold: 0.999 } });
    await cache.put('model-a', req('What did the President say about the budget?'), reply('It grew.'));
    const near = await cache.get('model-a', req('what did the president say about  the budget ?'));
    expect(near?.usage.response_cache).toMatchObject({ kind: 'semantic' });
    expect(near!.usage.response_cache!.similarity).toBeGreaterThanOrEqual(0.999);
    expect(near!.choices[0].message.content).toBe('It grew.');
    expect(await cache.get('model-a', req('Where did Ahab sail the Pequod?'))).toBeUndefined();
    expect(await cache.get('model-a', req('What did the President say about the budget?', 'Be detailed.'))).toBeUndefined();
    expect(await cache.get('model-b', req('What did the President say about the budget?'))).toBeUndefined();
    expect((await cache.get('model-a', req('What did the President say about the budget?')))?.usage.response_cache?.kind).toBe('exact');
    cache.close();
  });
});
