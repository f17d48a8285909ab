/**
 * RAG bench (`npm run bench:micro -- rag`): in headless Chromium, SwiftShader (a CPU: GPU-side numbers here are CPU
 * numbers). Prints and writes bench-results/rag-micro.json:
 * - exact cosine top-10 on the CPU over 1k / 10k / 100k vectors of 384 dims (MiniLM's size; vector values do not
 *   change the time), BM25 search over the same chunk counts of real text, and fused hybrid;
 * - indexing throughput into IndexedDB with engine.embed on the tiny random-weight encoder (store overhead + embed);
 * - rag.ask on sotu-5m split into retrieval / prefill / decode, and a response-cache hit;
 * - keyword recall@5 of the evaluation set with its time.
 */
import { test } from 'vitest';
import { commands } from 'vitest/browser';
import { load, store, deleteStore, rag, openResponseCache, ResponseCache } from '../../src/index.ts';
import { VectorIndex } from '../../src/rag/vector-index.ts';
import { KeywordIndex } from '../../src/rag/keyword-index.ts';
import { GpuVectorSearch } from '../../src/rag/gpu-vector-search.ts';
import { openGpu } from '../../src/gpu/device.ts';
import { fuseRanks } from '../../src/rag/fuse.ts';
import { chunkText } from '../../src/rag/chunk.ts';
import { mulberry32 } from '../../src/util/random.ts';
import { answerSpans, corpusDocs, recallAt } from '../../test/rag/corpus.ts';
import { QUESTIONS } from '../../test/rag/retrieval-questions.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function time(reps: number, f: () => unknown): Promise<number> {
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

test('rag bench', async () => {
  const out: Record<string, unknown> = { adapter: 'SwiftShader (CPU) in headless Chromium', when: new Date().toISOString() };
  const text = await (await fetch('/shared/corpora/eval.txt')).text();
  const chunks = (await chunkText(text, undefined, { maxTokens: 128, overlapTokens: 24 })).map((c) => c.text);

  // Search latency by collection size.
  const search: Record<string, unknown>[] = [];
  const r = mulberry32(1);
  const d = 384;
  const gpu = new GpuVectorSearch((await openGpu()).device);
  for (const n of [1_000, 10_000, 100_000]) {
    const vi = new VectorIndex(d, n);
    const v = new Float32Array(d);
    let t0 = performance.now();
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) v[j] = r() - 0.5;
      vi.set(`c${i}`, v);
    }
    const vecBuildMs = performance.now() - t0;
    const q = Array.from({ length: d }, () => r() - 0.5);
    const vectorMs = await time(9, () => vi.topK(q, 10));
    // The same search on WebGPU (SwiftShader here: a CPU). The first call uploads the matrix.
    const qn = Float32Array.from(q);
    t0 = performance.now();
    await gpu.topK(vi, qn, 10);
    const gpuFirstMs = performance.now() - t0;
    const gpuUploadMs = gpu.last!.uploadMs;
    const gpuSplit: { gpuMs: number; selectMs: number }[] = [];
    const gpuMs = await time(9, async () => { await gpu.topK(vi, qn, 10); gpuSplit.push(gpu.last!); });
    const ki = new KeywordIndex();
    t0 = performance.now();
    for (let i = 0; i < n; i++) ki.set(`c${i}`, chunks[i % chunks.length]);
    const kwBuildMs = performance.now() - t0;
    // What the store saves and loads on open instead of rebuilding (keyword-index.ts serialize/deserialize).
    t0 = performance.now();
    const json = ki.serialize();
    const kwSaveMs = performance.now() - t0;
    t0 = performance.now();
    const loaded = KeywordIndex.deserialize(json);
    const kwLoadMs = performance.now() - t0;
    if (loaded.size !== ki.size) throw new Error('the loaded keyword index lost chunks');
    const qs = QUESTIONS.map((x) => x.q);
    let qi = 0;
    const keywordMs = await time(9, () => ki.search(qs[qi++ % qs.length], 10));
    const hybridMs = await time(9, () => fuseRanks([ki.search(qs[qi++ % qs.length], 50), vi.topK(q, 50)], 10));
    search.push({ chunks: n, dims: d, vectorTop10Ms: +vectorMs.toFixed(2), gpuVectorTop10Ms: +gpuMs.toFixed(2), gpuScoresMs: +median(gpuSplit.map((x) => x.gpuMs)).toFixed(2), gpuSelectMs: +median(gpuSplit.map((x) => x.selectMs)).toFixed(2), gpuFirstCallMs: Math.round(gpuFirstMs), gpuUploadMs: Math.round(gpuUploadMs), keywordTop10Ms: +keywordMs.toFixed(2), hybridTop10Ms: +hybridMs.toFixed(2), vectorLoadMs: Math.round(vecBuildMs), keywordIndexMs: Math.round(kwBuildMs), keywordSnapshotMiB: +(json.length / 2 ** 20).toFixed(1), keywordSaveMs: Math.round(kwSaveMs), keywordLoadMs: Math.round(kwLoadMs) });
    console.log(JSON.stringify(search.at(-1)));
  }
  out.search = search;
  gpu.destroy();

  // Indexing throughput with a real engine.embed. The MiniLM-shaped fixture (6 layers, 384 wide) had not indexed the
  // 313 chunks of 128 tokens after 8 minutes on SwiftShader, so this uses the tiny encoder (random weights, dim 64):
  // it measures the store's own overhead around embed(), not a realistic embedder's speed.
  const enc = await load('/encoder-fixtures/tiny~f32~s31~mean/model.gguf');
  const embedder = { embed: (t: string[], o?: { normalize?: boolean }) => enc.embed(t, o), tokenize: (t: string) => enc.tokenize(t), info: { name: enc.info.name } };
  await deleteStore('bench-index');
  const kb = await store('bench-index', { embedder, chunk: { maxTokens: 128, overlapTokens: 24 }, embedBatch: 32 });
  const docs = corpusDocs(text);
  let t0 = performance.now();
  let phaseAt = t0;
  const phases: Record<string, number> = {};
  await kb.add(docs, { onProgress: (p) => { const now = performance.now(); phases[p.phase] = (phases[p.phase] ?? 0) + now - phaseAt; phaseAt = now; } });
  const addMs = performance.now() - t0;
  out.indexing = { encoder: 'tiny~f32 fixture (dim 64, random weights)', chunks: kb.stats.chunks, dims: kb.stats.dims, totalMs: Math.round(addMs), chunksPerSec: +(kb.stats.chunks / (addMs / 1000)).toFixed(1), phasesMs: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Math.round(v)])) };
  console.log(JSON.stringify(out.indexing));
  t0 = performance.now();
  kb.close();
  const reopened = await store('bench-index', { embedder });
  out.reopenMs = Math.round(performance.now() - t0);
  const spans = answerSpans(docs);
  t0 = performance.now();
  const kw = await recallAt(5, spans, (q) => reopened.search(q, { k: 5, mode: 'keyword' }));
  const kwMs = (performance.now() - t0) / QUESTIONS.length;
  t0 = performance.now();
  const hy = await recallAt(5, spans, (q) => reopened.search(q, { k: 5, mode: 'hybrid' }));
  const hyMs = (performance.now() - t0) / QUESTIONS.length;
  out.evaluation = { questions: QUESTIONS.length, keywordRecall5: +kw.recall.toFixed(3), keywordMsPerQuery: +kwMs.toFixed(2), hybridRecall5RandomEncoder: +hy.recall.toFixed(3), hybridMsPerQuery: +hyMs.toFixed(1), note: 'hybrid uses a random-weight encoder: its recall is not a quality figure' };
  console.log(JSON.stringify(out.evaluation));
  reopened.close();
  await enc.dispose();

  // ask on sotu-5m, and a cache hit.
  const engine = await load('/shared/models/sotu-5m/sotu-5m-q8_0.gguf');
  await deleteStore('bench-ask');
  const small = await store('bench-ask', { chunk: { maxTokens: 48, overlapTokens: 8 } });
  await small.add(docs);
  const asks: Record<'retrievalMs' | 'prefillMs' | 'decodeMs' | 'totalMs' | 'promptTokens' | 'completionTokens', number>[] = [];
  for (const q of QUESTIONS.slice(0, 5).map((x) => x.q)) {
    const a = await rag(engine, small).ask(q, { k: 3, maxTokens: 32 });
    asks.push({ ...a.timings, promptTokens: a.usage.prompt_tokens, completionTokens: a.usage.completion_tokens });
  }
  const med = (k: keyof (typeof asks)[0]) => +median(asks.map((a) => a[k])).toFixed(1);
  out.ask = { model: 'sotu-5m q8_0', runs: asks.length, retrievalMs: med('retrievalMs'), prefillMs: med('prefillMs'), decodeMs: med('decodeMs'), totalMs: med('totalMs'), promptTokens: med('promptTokens'), completionTokens: med('completionTokens') };
  console.log(JSON.stringify(out.ask));
  await ResponseCache.delete('bench');
  const cache = await openResponseCache('bench');
  engine.useResponseCache(cache);
  const req = { messages: [{ role: 'user' as const, content: 'Tell me about the budget.' }], max_tokens: 32, temperature: 0 };
  t0 = performance.now();
  await engine.chat.completions.create(req);
  const missMs = performance.now() - t0;
  const hitMs = await time(9, () => engine.chat.completions.create(req));
  out.responseCache = { missMs: Math.round(missMs), hitMs: +hitMs.toFixed(2) };
  console.log(JSON.stringify(out.responseCache));
  cache.close();
  small.close();
  await engine.dispose();
  await commands.writeFile('bench-results/rag-micro.json', JSON.stringify(out, null, 2));
});

// Indexing at a realistic embedder shape: the MiniLM-L6 fixture (6 layers, 384 wide, 12 heads; random weights, same
// cost as the real model) on 8 chunks of <= 128 tokens: at load average ~20 on SwiftShader 48 chunks did not finish in
// 10 minutes. Split from add()'s own progress events: embedding vs everything else the store does.
test('rag bench: realistic indexing (MiniLM-shaped encoder)', async () => {
  const text = await (await fetch('/shared/corpora/eval.txt')).text();
  const enc = await load('/encoder-fixtures/minilm~f32~s31~mean/model.gguf');
  const embedder = { embed: (t: string[], o?: { normalize?: boolean }) => enc.embed(t, o), tokenize: (t: string) => enc.tokenize(t), info: { name: enc.info.name } };
  const docs = text.split(/\n\s*\n/).slice(2, 60).filter((p) => p.length > 400).slice(0, 8).map((p, i) => ({ id: `p${i}`, text: p.slice(0, 500) }));
  await enc.embed([docs[0].text.slice(0, 50)]); // pipelines compiled before timing
  await deleteStore('bench-realistic');
  const kb = await store('bench-realistic', { embedder, chunk: { maxTokens: 128, overlapTokens: 24 }, embedBatch: 8 });
  const phases: Record<string, number> = {};
  const t0 = performance.now();
  let at = t0;
  await kb.add(docs, { onProgress: (p) => { const now = performance.now(); phases[p.phase] = (phases[p.phase] ?? 0) + now - at; at = now; } });
  const addMs = performance.now() - t0;
  const tokens = (await Promise.all(kb.list().flatMap((d) => kb.chunksOf(d.id)).map((c) => c.tokens))).reduce((a, b) => a + b, 0);
  const out = {
    adapter: 'SwiftShader (CPU) in headless Chromium', when: new Date().toISOString(), encoder: 'MiniLM-L6 shape (random weights), f32',
    chunks: kb.stats.chunks, tokens, addMs: Math.round(addMs), chunksPerSec: +(kb.stats.chunks / (addMs / 1000)).toFixed(3),
    tokensPerSec: +(tokens / (addMs / 1000)).toFixed(1), phasesMs: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Math.round(v)])),
  };
  console.log(JSON.stringify(out));
  kb.close();
  await enc.dispose();
  await commands.writeFile('bench-results/rag-indexing.json', JSON.stringify(out, null, 2));
}, 1_200_000);
