/**
 * Node side of `npm run bench:embed`: opens Chromium on bench/embed/index.html, runs the embeddings benchmark in the
 * page, prints a table and writes bench-results/<machine>-embed.json.
 *   --models=minilm,bge-base   --sentences=256   --ref-sentences=32 (llama.cpp is one request per sentence)
 *   --calls=1,8,32,128,256 (sentences per call)   --max-batch=8192 (tokens per GPU submission)
 *   --chromium / --args / --no-swiftshader / --machine as in `npm run bench`.
 */
import { chromium } from 'playwright';
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { CHROMIUM_WEBGPU_ARGS } from '../../vitest.config.ts';
import type { EmbedBenchConfig, EmbedModelResult } from './page.ts';

const MODELS = [
  { name: 'minilm', url: '/encoder-fixtures/minilm~f16~s41~mean/model.gguf' },
  { name: 'bge-base', url: '/encoder-fixtures/bge_base~f16~s42~cls/model.gguf' },
];

export async function main(baseUrl: string, argv: string[], root: string): Promise<void> {
  const f = new Map(argv.map((a) => { const [k, ...v] = a.replace(/^--/, '').split('='); return [k, v.join('=') || 'true'] as const; }));
  const base = f.has('no-swiftshader') ? CHROMIUM_WEBGPU_ARGS.filter((a) => !/swiftshader/.test(a)) : CHROMIUM_WEBGPU_ARGS;
  const extra = (f.get('args') ?? process.env.LLMO_CHROMIUM_ARGS ?? '').split(' ').filter(Boolean);
  const only = f.get('models')?.split(',');
  const cfg: EmbedBenchConfig = {
    models: MODELS.filter((m) => !only || only.includes(m.name)),
    sentences: Number(f.get('sentences') ?? 256),
    refSentences: Number(f.get('ref-sentences') ?? 32),
    callSizes: (f.get('calls') ?? '1,8,32,128,256').split(',').map(Number),
    maxBatch: Number(f.get('max-batch') ?? 8192),
  };
  const browser = await chromium.launch({ executablePath: f.get('chromium') ?? process.env.LLMO_CHROMIUM ?? '/usr/bin/chromium', args: [...base, ...extra], headless: true });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'log' && /^(model| {2})/.test(m.text())) console.log(m.text()); });
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(new URL('/bench/embed/index.html', baseUrl).href);
    await page.waitForFunction(() => (window as unknown as { benchReady?: boolean }).benchReady === true, undefined, { timeout: 120_000 });
    const report = await page.evaluate(
      (c) => (window as unknown as { runEmbedBench: (c: EmbedBenchConfig) => Promise<{ adapter: string; models: EmbedModelResult[] }> }).runEmbedBench(c), cfg);
    const machine = f.get('machine') ?? hostname();
    const dir = resolve(root, 'bench-results');
    mkdirSync(dir, { recursive: true });
    const file = resolve(dir, `${machine}-embed.json`);
    writeFileSync(file, JSON.stringify({ machine, date: new Date().toISOString(), browser: browser.version(), config: cfg, ...report }, null, 2));
    console.log(`\n${report.adapter} — ${browser.version()}\n`);
    const rows = [['model', 'llmo embeddings/s by sentences per call', 'best k', 'wllama-cpu emb/s', 'llmo / wllama', 'min cosine', 'llmo GPU MiB']];
    for (const m of report.models) {
      const best = m.llmo.perCallSize.reduce((a, b) => (b.embeddingsPerSec > a.embeddingsPerSec ? b : a));
      rows.push([m.model, m.llmo.perCallSize.map((p) => `${p.k}: ${p.embeddingsPerSec.toFixed(1)}`).join(', '), String(best.k),
        m.wllama?.embeddingsPerSec.toFixed(1) ?? '-', m.ratio ? `${m.ratio.toFixed(2)}×` : '-', m.minCosine?.toFixed(6) ?? '-', m.llmo.gpuMiB.toFixed(0)]);
    }
    const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    console.log(rows.map((r) => `| ${r.map((c, i) => c.padEnd(w[i])).join(' | ')} |`).join('\n'));
    console.log(`\nwritten ${file}`);
  } finally {
    await browser.close();
  }
}
