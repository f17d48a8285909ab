/**
 * The embeddings benchmark in the page: for each encoder fixture, llmo (public API, in its worker) embeds N token-id
 * sentences of 16–64 tokens in calls of k sentences (k = 1 … N: where throughput saturates), and llama.cpp (wllama,
 * WASM CPU, one request per sentence: its array input is broken in 3.8.1) embeds the first M of the same sentences.
 * Both get token ids, so tokenization is not timed. Driven by bench/embed/runner.ts through `window.runEmbedBench`.
 */
import { load } from '../../src/index.ts';
import { mulberry32 } from '../../src/util/random.ts';
import { wllamaEmbedExit, wllamaEmbeddings } from '../../test/wllama/wllama-embed.ts';
import { cosine } from '../../test/reference/bert-ref.ts';

export interface EmbedBenchConfig {
  /** Per model: how many sentences llmo embeds at every call size, and how many llama.cpp embeds (the first ones). */
  models: { name: string; url: string; sentences: number; refSentences: number }[];
  callSizes: number[];
  maxBatch: number;
}

export interface EmbedModelResult {
  model: string;
  dim: number;
  sentences: number;
  llmo: { loadMs: number; gpuMiB: number; perCallSize: { k: number; embeddingsPerSec: number; ms: number }[] };
  /** Smallest sentences-per-call whose throughput is within 5% of the best: where llmo's throughput saturates. */
  saturationK: number;
  wllama?: { loadAndFirstMs: number; embeddingsPerSec: number; sentences: number };
  /** llmo / wllama embeddings per second (llmo at its best call size). */
  ratio?: number;
  /** Lowest cosine between llmo's and llama.cpp's vectors of the same sentences. */
  minCosine?: number;
}

const log = (msg: string) => {
  const el = document.getElementById('log');
  if (el) el.textContent += `\n${msg}`;
  console.log(msg);
};

/** [CLS] + random word-piece ids + [SEP], 16–64 tokens in all (the MiniLM vocabulary: ids ≥ 1000 are word pieces). */
function sentences(n: number, seed = 1): number[][] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const len = 16 + Math.floor(r() * 49);
    return [101, ...Array.from({ length: len - 2 }, () => 1000 + Math.floor(r() * 29000)), 102];
  });
}

async function runModel(m: EmbedBenchConfig['models'][number], cfg: EmbedBenchConfig): Promise<EmbedModelResult> {
  const all = sentences(m.sentences);
  const t0 = performance.now();
  const engine = await load(m.url, { cache: false, maxBatch: cfg.maxBatch });
  const loadMs = performance.now() - t0;
  const perCallSize: EmbedModelResult['llmo']['perCallSize'] = [];
  let llmoVecs: number[][] = [];
  const info = engine.info;
  try {
    await engine.embeddings.create({ input: all.slice(0, 4) }); // warm-up
    for (const k of cfg.callSizes.filter((k) => k <= all.length)) {
      const s = performance.now();
      const vecs: number[][] = [];
      for (let i = 0; i < all.length; i += k) {
        for (const d of (await engine.embeddings.create({ input: all.slice(i, i + k) })).data) vecs.push(d.embedding as number[]);
      }
      const ms = performance.now() - s;
      perCallSize.push({ k, ms, embeddingsPerSec: (all.length / ms) * 1000 });
      log(`  ${m.name} llmo k=${k}: ${((all.length / ms) * 1000).toFixed(2)} embeddings/s`);
      llmoVecs = vecs;
    }
  } finally {
    await engine.dispose();
  }
  const best = Math.max(...perCallSize.map((p) => p.embeddingsPerSec));
  const res: EmbedModelResult = {
    model: m.name, dim: info.config.dim, sentences: all.length,
    llmo: { loadMs, gpuMiB: (info.memory.weightBytes + info.memory.cacheBytes) / 2 ** 20, perCallSize },
    saturationK: perCallSize.find((p) => p.embeddingsPerSec >= 0.95 * best)?.k ?? 0,
  };
  if (m.refSentences > 0) {
    const ref = all.slice(0, m.refSentences);
    const w0 = performance.now();
    await wllamaEmbeddings(m.url, ref.slice(0, 1)); // load + first
    const loadAndFirstMs = performance.now() - w0;
    const s = performance.now();
    const { vectors } = await wllamaEmbeddings(m.url, ref);
    const ms = performance.now() - s;
    res.wllama = { loadAndFirstMs, embeddingsPerSec: (ref.length / ms) * 1000, sentences: ref.length };
    // (--calls larger than --sentences: llama.cpp alone, e.g. beside a llmo run in another process.)
    if (llmoVecs.length) {
      res.minCosine = Math.min(...vectors.map((v, i) => cosine(v, llmoVecs[i])));
      res.ratio = best / res.wllama.embeddingsPerSec;
    }
    log(`  ${m.name} wllama-cpu: ${res.wllama.embeddingsPerSec.toFixed(2)} embeddings/s (${ref.length} sentences); min cosine vs llmo ${res.minCosine?.toFixed(6) ?? '-'}`);
    await wllamaEmbedExit();
  }
  return res;
}

async function runEmbedBench(cfg: EmbedBenchConfig): Promise<{ adapter: string; models: EmbedModelResult[] }> {
  const adapter = await navigator.gpu?.requestAdapter();
  const info = adapter?.info;
  const models: EmbedModelResult[] = [];
  for (const m of cfg.models) {
    log(`model ${m.name}`);
    models.push(await runModel(m, cfg));
  }
  return { adapter: `${info?.vendor ?? '?'} ${info?.architecture ?? ''} ${info?.description ?? ''}`.trim(), models };
}

Object.assign(window, { runEmbedBench, benchReady: true });
