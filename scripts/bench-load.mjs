#!/usr/bin/env node
// Load benchmark: cold (empty cache, bytes over HTTP from the local dev server) vs warm (IndexedDB cache) vs
// uncached (cache: false) load() of real and fixture models, with the peak JS heap during each load.
// Runs headless system Chromium (WebGPU on SwiftShader) via Playwright against the Vite dev server.
// Writes bench-results/load-<time>.json and prints a Markdown table. Not part of `npm test`.
//   npm run bench:load                       # default models
//   npm run bench:load -- /shared/models/sotu-5m/sotu-5m-f32.gguf   # others
//   npm run bench:load -- --quantize [models]   # quantize-on-load: GPU weight bytes and load time of a float model
//     loaded as it is, with quantize 'q8_0' / 'q4_k_m' on one thread (quantizeThreads: 0) and on the worker pool
//     (default size: navigator.hardwareConcurrency, at most 8), and with cacheQuantized (first load, then read back)
// Heap: the load runs in the page (worker: false) so performance.memory (with --enable-precise-memory-info) sees the
// loader's own buffers; with the default worker the same code runs in the worker. The quantize workers' own heaps
// (one band in, one band out each) are not in that figure.
import { createServer } from 'vite';
import { chromium } from 'playwright';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader',
  '--use-webgpu-adapter=swiftshader', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--enable-precise-memory-info', '--js-flags=--expose-gc',
];
const QUANTIZE = process.argv.includes('--quantize');
const args = process.argv.slice(2).filter((a) => a !== '--quantize');
const models = args.length ? args : QUANTIZE ? [
  '/shared/models/sotu-5m/sotu-5m-f32.gguf',
  '/fixtures/smollm2_135m~llama~f16~s1/model.gguf',
] : [
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
    let streamMs;
    const t0 = performance.now();
    const engine = await load(url, {
      ...opts, worker: false,
      onProgress: (p) => {
        peak = Math.max(peak, performance.memory.usedJSHeapSize);
        phases[p.phase] = (phases[p.phase] ?? 0) + 1;
        // Every byte read and every tensor uploaded; what follows is pipeline compilation.
        if ((p.phase === 'upload' || p.phase === 'compile') && streamMs === undefined) streamMs = performance.now() - t0;
        bytes = Math.max(bytes, p.loaded);
      },
    });
    const ms = performance.now() - t0;
    clearInterval(timer);
    const info = engine.info;
    await engine.dispose();
    return { ms, streamMs, loadMs: info.loadMs, quantizeThreads: info.quantizeThreads, bytes, weightBytes: info.memory.weightBytes, heapBaseMiB: heap0 / 2 ** 20, peakHeapMiB: peak / 2 ** 20, peakHeapAboveBaseMiB: (peak - heap0) / 2 ** 20, phases: Object.keys(phases) };
  }, { url, opts });
}

/** The bytes alone (no GPU): fetchFile read to the end, with peak heap; shows the download/cache path's own speed. */
async function measureBytes(page, url, cache) {
  return page.evaluate(async ({ url, cache }) => {
    const { fetchFile } = await import('/src/loader/fetch-file.ts');
    globalThis.gc?.();
    const heap0 = performance.memory.usedJSHeapSize;
    let peak = heap0;
    const t0 = performance.now();
    const f = await fetchFile(new URL(url, location.href).href, { cache, chunkBytes: 4 << 20, concurrency: 3 });
    const reader = f.stream.getReader();
    let bytes = 0;
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      bytes += r.value.byteLength;
      peak = Math.max(peak, performance.memory.usedJSHeapSize);
    }
    const ms = performance.now() - t0;
    return { ms, bytes, origin: f.origin, mbPerSec: bytes / 1e6 / (ms / 1000), peakHeapAboveBaseMiB: (peak - heap0) / 2 ** 20 };
  }, { url, cache });
}

/** One model as it is, quantized on load, and through the quantized cache (first load writes it, then read back). */
async function quantizeRows() {
  const cases = [
    ['as it is', { cache: false }],
    ["quantize 'q8_0', one thread", { cache: false, quantize: 'q8_0', quantizeThreads: 0 }],
    ["quantize 'q8_0', pool", { cache: false, quantize: 'q8_0' }],
    ["quantize 'q4_k_m', pool", { cache: false, quantize: 'q4_k_m' }],
    ["quantize 'q4_k_m', one thread", { cache: false, quantize: 'q4_k_m', quantizeThreads: 0 }],
    ["'q4_k_m' + cacheQuantized, first load (writes)", { quantize: 'q4_k_m', cacheQuantized: true }],
    ["'q4_k_m' + cacheQuantized, read back", { quantize: 'q4_k_m', cacheQuantized: true }],
  ];
  const lines = ['| model | load | quantize threads | GPU weight MiB | load() ms | bytes → GPU ms | peak JS heap above base (MiB) | load avg (1 min) |', '|---|---|---:|---:|---:|---:|---:|---:|'];
  const out = [];
  for (const model of models) {
    await fetch(new URL(model, base), { headers: { Range: 'bytes=0-0' } }).then((r) => r.arrayBuffer());
    const context = await browser.newContext(); // fresh profile: empty IndexedDB
    const page = await context.newPage();
    await page.goto(new URL('/__bench', base).href);
    for (const [name, opts] of cases) {
      const r = await measure(page, model, opts);
      out.push({ model, case: name, ...r });
      const line = `| \`${model}\` | ${name} | ${r.quantizeThreads ?? '–'} | ${(r.weightBytes / 2 ** 20).toFixed(1)} | ${r.ms.toFixed(0)} | ${r.streamMs.toFixed(0)} | ${r.peakHeapAboveBaseMiB.toFixed(1)} | ${loadavg()[0].toFixed(1)} |`;
      console.error(line);
      lines.push(line);
    }
    await context.close();
  }
  return { results: out, table: lines.join('\n') };
}

if (QUANTIZE) {
  const page = await browser.newPage();
  await page.goto(new URL('/__bench', base).href);
  await page.evaluate(() => import('/src/index.ts'));
  await page.waitForTimeout(3000);
  await page.close();
  const { results, table } = await quantizeRows();
  await browser.close();
  await server.close();
  console.log(table);
  mkdirSync('bench-results', { recursive: true });
  const file = `bench-results/load-quantize-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), load: loadavg(), cores: cpus().length, results, table }, null, 2));
  console.error(`load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (${cpus().length} cores)`);
  console.error(`wrote ${file}`);
  process.exit(0);
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
    await page.evaluate(async () => (await import('/src/cache/index.ts')).cache.clear());
    const bytesUncached = await measureBytes(page, model, false);
    const bytesCold = await measureBytes(page, model, true);
    const bytesWarm = await measureBytes(page, model, true);
    await context.close();
    const row = { model, rep, uncached, cold, warm, bytesUncached, bytesCold, bytesWarm };
    results.push(row);
    console.error(`${model} #${rep}: bytes→GPU uncached ${uncached.streamMs.toFixed(0)} / cold ${cold.streamMs.toFixed(0)} / warm ${warm.streamMs.toFixed(0)} ms; ` +
      `load() ${uncached.ms.toFixed(0)} / ${cold.ms.toFixed(0)} / ${warm.ms.toFixed(0)} ms; ` +
      `bytes only ${bytesUncached.mbPerSec.toFixed(0)} / ${bytesCold.mbPerSec.toFixed(0)} / ${bytesWarm.mbPerSec.toFixed(0)} MB/s (${bytesWarm.origin})`);
  }
}
await browser.close();
await server.close();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const lines = [
  '| model | MiB | bytes → GPU (ms): uncached / cold / warm | warm / cold | whole load() (ms): uncached / cold / warm | peak JS heap above base (MiB): uncached / cold / warm | bytes only, no GPU (MB/s): uncached / cold / warm | peak heap, bytes only (MiB): cold / warm |',
  '|---|---:|---:|---:|---:|---:|---:|---:|',
];
for (const model of models) {
  const rows = results.filter((r) => r.model === model);
  const m = (k, f) => median(rows.map((r) => r[k][f]));
  const three = (f, d = 0) => ['uncached', 'cold', 'warm'].map((k) => m(k, f).toFixed(d)).join(' / ');
  lines.push(`| \`${model}\` | ${(rows[0].cold.bytes / 2 ** 20).toFixed(1)} | ${three('streamMs')} | ${(m('warm', 'streamMs') / m('cold', 'streamMs')).toFixed(2)} | ` +
    `${three('ms')} | ${three('peakHeapAboveBaseMiB', 1)} | ` +
    `${['bytesUncached', 'bytesCold', 'bytesWarm'].map((k) => m(k, 'mbPerSec').toFixed(0)).join(' / ')} | ` +
    `${m('bytesCold', 'peakHeapAboveBaseMiB').toFixed(1)} / ${m('bytesWarm', 'peakHeapAboveBaseMiB').toFixed(1)} |`);
}
const table = lines.join('\n');
console.log(table);
mkdirSync('bench-results', { recursive: true });
const file = `bench-results/load-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), repeats: REPEATS, results, table }, null, 2));
console.error(`wrote ${file}`);
