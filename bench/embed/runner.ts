/**
 * Node side of `npm run bench:embed`: opens Chromium on bench/embed/index.html, runs the embeddings benchmark in the
 * page, prints a table and writes bench-results/<machine>-embed.json.
 *   --models=minilm,bge-base   --sentences=256 or per model --sentences=minilm:256,bge-base:32
 *   --ref-sentences (llama.cpp, one request per sentence; default: as many as llmo, same syntax)
 *   --calls=1,16,256 (sentences per call)   --max-batch=8192 (tokens per GPU submission)
 * The host's load average is sampled every 5 s and written with the results (this machine is shared).
 *   --chromium / --args / --no-swiftshader / --machine as in `npm run bench`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { launchChromium, parseFlags } from '../cli.ts';
import type { EmbedBenchConfig, EmbedModelResult } from './page.ts';

const MODELS = [
  { name: 'minilm', url: '/encoder-fixtures/minilm~f16~s41~mean/model.gguf' },
  { name: 'bge-base', url: '/encoder-fixtures/bge_base~f16~s42~cls/model.gguf' },
];

export async function main(baseUrl: string, argv: string[], root: string): Promise<void> {
  const f = parseFlags(argv);
  const only = f.get('models')?.split(',');
  // "256" for every model, or "minilm:256,bge-base:32".
  const perModel = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    if (!v.includes(':')) return Number(v);
    const hit = v.split(',').map((x) => x.split(':')).find(([n]) => n === name);
    return hit ? Number(hit[1]) : undefined;
  };
  const cfg: EmbedBenchConfig = {
    models: MODELS.filter((m) => !only || only.includes(m.name)).map((m) => {
      const sentences = perModel(f.get('sentences'), m.name) ?? 256;
      return { ...m, sentences, refSentences: perModel(f.get('ref-sentences'), m.name) ?? sentences };
    }),
    callSizes: (f.get('calls') ?? '1,16,256').split(',').map(Number),
    maxBatch: Number(f.get('max-batch') ?? 8192),
  };
  const t0 = Date.now();
  const load: { s: number; load1: number }[] = [];
  const sample = setInterval(() => load.push({ s: (Date.now() - t0) / 1000, load1: loadavg()[0] }), 5000);
  const marks: { s: number; what: string }[] = [];
  const browser = await launchChromium(f);
  try {
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'log' && /^(model| {2})/.test(m.text())) console.log(m.text()); });
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(new URL('/bench/embed/index.html', baseUrl).href);
    await page.waitForFunction(() => (window as unknown as { benchReady?: boolean }).benchReady === true, undefined, { timeout: 120_000 });
    page.on('console', (m) => { if (m.type() === 'log' && /^model /.test(m.text())) marks.push({ s: (Date.now() - t0) / 1000, what: m.text() }); });
    const report = await page.evaluate(
      (c) => (window as unknown as { runEmbedBench: (c: EmbedBenchConfig) => Promise<{ adapter: string; models: EmbedModelResult[] }> }).runEmbedBench(c), cfg);
    clearInterval(sample);
    const meanLoad = load.reduce((a, x) => a + x.load1, 0) / Math.max(1, load.length);
    const machine = f.get('machine') ?? hostname();
    const dir = resolve(root, 'bench-results');
    mkdirSync(dir, { recursive: true });
    const file = resolve(dir, `${machine}-embed.json`);
    writeFileSync(file, JSON.stringify({ machine, date: new Date().toISOString(), browser: browser.version(), config: cfg, ...report, loadAverage: { mean: meanLoad, samples: load, marks } }, null, 2));
    const cpu = /swiftshader/i.test(report.adapter) ? ' (SwiftShader: a CPU implementation of WebGPU, not a GPU)' : '';
    console.log(`\n${report.adapter}${cpu} — ${browser.version()}; host load average ${meanLoad.toFixed(1)} (max ${Math.max(0, ...load.map((x) => x.load1)).toFixed(1)}) on ${hostname()}\n`);
    const rows = [['model', 'sentences', 'llmo embeddings/s by sentences per call', 'best k', 'saturates at k', 'wllama-cpu emb/s (sentences)', 'llmo / wllama', 'min cosine', 'llmo GPU MiB']];
    for (const m of report.models) {
      const best = m.llmo.perCallSize.reduce((a, b) => (b.embeddingsPerSec > a.embeddingsPerSec ? b : a), { k: 0, embeddingsPerSec: 0, ms: 0 });
      rows.push([m.model, String(m.sentences), m.llmo.perCallSize.map((p) => `${p.k}: ${p.embeddingsPerSec.toFixed(2)}`).join(', '), String(best.k), String(m.saturationK),
        m.wllama ? `${m.wllama.embeddingsPerSec.toFixed(2)} (${m.wllama.sentences})` : '-', m.ratio ? `${m.ratio.toFixed(2)}×` : '-', m.minCosine?.toFixed(6) ?? '-', m.llmo.gpuMiB.toFixed(0)]);
    }
    const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    console.log(rows.map((r) => `| ${r.map((c, i) => c.padEnd(w[i])).join(' | ')} |`).join('\n'));
    console.log(`\nwritten ${file}`);
  } finally {
    clearInterval(sample);
    await browser.close();
  }
}
