#!/usr/bin/env node
// Load benchmark: cold (empty cache, bytes over HTTP from the local dev server) vs warm (IndexedDB cache) vs
// uncached (cache: false) load() of real and fixture models, with the peak JS heap during each load.
// Runs headless system Chromium (WebGPU on SwiftShader) via Playwright against the Vite dev server.
// Writes bench-results/load-<time>.json and prints a Markdown table. Not part of `npm test`.
//   npm run bench:load                       # default models
//   npm run bench:load -- /shared/models/sotu-5m/sotu-5m-f32.gguf   # others
// Heap: the load runs in the page (worker: false) so performance.memory (with --enable-precise-memory-info) sees the
// loader's own buffers; with the default worker the same code runs in the worker.
import { createServer } from 'vite';
import { chromium } from 'playwright';
import { mkdirSync, writeFileSync } from 'node:fs';

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader',
  '--use-webgpu-adapter=swiftshader', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--enable-precise-memory-info', '--js-flags=--expose-gc',
];
const models = process.argv.slice(2).length ? process.argv.slice(2) : [
  '/shared/models/sotu-5m/sotu-5m-q8_0.gguf',
  '/shared/models/sotu-5m/sotu-5m-f32.gguf',
  '/fixtures/smollm2_135m~llama~q8_0~s1/model.gguf',
];
const REPEATS = Number(process.env.BENCH_REPEATS ?? 2);

// A blank page to run in (the demo page at / would do its own things).
const blankPage = {
  name: 'bench-blank-page',
  configureServer(s) {
    s.middlewares.use('/__bench', (_req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end('<!doctype html><title>llmo load bench</title>');
    });
  },
};
const server = await createServer({ configFile: 'vite.config.ts', plugins: [blankPage], server: { port: 0, host: '127.0.0.1' }, logLevel: 'error' });
await server.listen();
const base = server.resolvedUrls.local[0];
const browser = await chromium.launch({ executablePath: process.env.LLMO_CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });

/** One load() in a page: wall time, engine-reported load time, peak heap, bytes, and the phases seen. */
async function measure(page, url, opts) {
  return page.evaluate(async ({ url, opts }) => {
    const { load } = await import('/src/index.ts');
    globalThis.gc?.();
    const heap0 = performance.memory.usedJSHeapSize;
    let peak = heap0;
    const timer = setInterval(() => (peak = Math.max(peak, performance.memory.usedJSHeapSize)), 10);
    const phases = {};
    let bytes = 0;
    const t0 = performance.now();
    const engine = await load(url, {
      ...opts, worker: false,
      onProgress: (p) => {
        peak = Math.max(peak, performance.memory.usedJSHeapSize);
        phases[p.phase] = (phases[p.phase] ?? 0) + 1;
        bytes = Math.max(bytes, p.loaded);
      },
    });
    const ms = performance.now() - t0;
    clearInterval(timer);
    const info = engine.info;
    await engine.dispose();
    return { ms, loadMs: info.loadMs, bytes, heapBaseMiB: heap0 / 2 ** 20, peakHeapMiB: peak / 2 ** 20, peakHeapAboveBaseMiB: (peak - heap0) / 2 ** 20, phases: Object.keys(phases) };
  }, { url, opts });
}

const results = [];
{
  // Let Vite discover and pre-bundle the dependencies first: it reloads the page when it does.
  const page = await browser.newPage();
  await page.goto(new URL('/__bench', base).href);
  await page.evaluate(() => import('/src/index.ts'));
  await page.waitForTimeout(3000);
  await page.close();
}
for (const model of models) {
  // Fixtures are generated on first request: make that happen before timing.
  await fetch(new URL(model, base), { headers: { Range: 'bytes=0-0' } }).then((r) => r.arrayBuffer());
  for (let rep = 0; rep < REPEATS; rep++) {
    const context = await browser.newContext(); // fresh profile: empty IndexedDB
    const page = await context.newPage();
    await page.goto(new URL('/__bench', base).href);
    const uncached = await measure(page, model, { cache: false });
    const cold = await measure(page, model, {});
    const warm = await measure(page, model, {});
    await context.close();
    const row = { model, rep, uncached, cold, warm };
    results.push(row);
    console.error(`${model} #${rep}: uncached ${uncached.ms.toFixed(0)} ms, cold ${cold.ms.toFixed(0)} ms, warm ${warm.ms.toFixed(0)} ms; peak heap +${cold.peakHeapAboveBaseMiB.toFixed(1)} / +${warm.peakHeapAboveBaseMiB.toFixed(1)} MiB`);
  }
}
await browser.close();
await server.close();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const lines = [
  '| model | MiB | uncached load (ms) | cold load, fills cache (ms) | warm load from cache (ms) | warm / cold | peak heap above base: cold / warm (MiB) |',
  '|---|---:|---:|---:|---:|---:|---:|',
];
for (const model of models) {
  const rows = results.filter((r) => r.model === model);
  const m = (k, f) => median(rows.map((r) => r[k][f]));
  lines.push(`| \`${model}\` | ${(rows[0].cold.bytes / 2 ** 20).toFixed(1)} | ${m('uncached', 'ms').toFixed(0)} | ${m('cold', 'ms').toFixed(0)} | ` +
    `${m('warm', 'ms').toFixed(0)} | ${(m('warm', 'ms') / m('cold', 'ms')).toFixed(2)} | ${m('cold', 'peakHeapAboveBaseMiB').toFixed(1)} / ${m('warm', 'peakHeapAboveBaseMiB').toFixed(1)} |`);
}
const table = lines.join('\n');
console.log(table);
mkdirSync('bench-results', { recursive: true });
const file = `bench-results/load-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), repeats: REPEATS, results, table }, null, 2));
console.error(`wrote ${file}`);
