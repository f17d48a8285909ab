#!/usr/bin/env node
// Quantizer speed: weights/s of each TS encoder (formats/weight-formats.ts `quantize`) on sotu-5m-f32's matrices,
// in Node (V8, as Chromium), one thread, on the encoders bundled as the library ships them (Vite build; Vite's SSR
// module transform, which vitest's Node project uses, is several times slower). Checks the bytes against ggml's sotu-5m-<type>.gguf where that file holds
// the type, so a faster encoder that stops being bit-exact shows here too. Prints a table, writes
// bench-results/quantize-<time>.json. Not part of `npm test`.
//   npm run bench:quantize                 # every quantizable block format
//   npm run bench:quantize -- q4_k q6_k    # some
//   LLMO_SRC=/tmp/old/src npm run bench:quantize   # another version's sources (before/after)
//   npm run bench:quantize -- --pool [--threads 0,1,2] [q4_k q8_0]   # quantize-on-load's worker pool
//     (loader/quantize-pool.ts on worker_threads): every sotu-5m matrix in bands of 1M values, as the loader cuts
//     them, on 0 (in-thread) / 1 / 2 / … workers, alternated; Mweights/s and the bytes checked against one thread
import { build } from 'vite';
import { readFileSync, mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { loadavg, cpus, tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';

const src = resolve(process.env.LLMO_SRC ?? 'src');
const outDir = mkdtempSync(join(tmpdir(), 'llmo-bench-quantize-'));
const argv = process.argv.slice(2);
const POOL = argv.includes('--pool');
const ti = argv.indexOf('--threads');
const THREADS = ti >= 0 ? argv[ti + 1].split(',').map(Number) : [0, 1, 2, ...(cpus().length > 2 ? [cpus().length] : [])];
const positional = argv.filter((a, i) => !a.startsWith('--') && (ti < 0 || i !== ti + 1));
const entries = { gguf: 'formats/gguf.ts', quant: 'formats/quant.ts', formats: 'formats/weight-formats.ts', types: 'formats/ggml-types.ts',
  ...(POOL ? { pool: 'loader/quantize-pool.ts', worker: 'loader/quantize-worker-node.ts', model: 'model/types.ts' } : {}) };
await build({
  configFile: false, logLevel: 'error',
  build: { outDir, minify: false, rolldownOptions: { external: [/^node:/] }, lib: { entry: Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, join(src, v)])), formats: ['es'] } },
});
const mod = (k) => import(pathToFileURL(join(outDir, `${k}.js`)).href);
const { parseGgufHeader } = await mod('gguf');
const { dequantize, quantize } = await mod('quant');
const { QUANTIZABLE_FORMAT_IDS, weightFormatById } = await mod('formats');
const { ggmlBlockSize } = await mod('types');

const SOTU = resolve(import.meta.dirname, '../../shared/models/sotu-5m');
const file = (v) => {
  const bytes = new Uint8Array(readFileSync(resolve(SOTU, `sotu-5m-${v}.gguf`)));
  const h = parseGgufHeader(bytes);
  return { bytes, tensors: new Map(h.tensors.map((t) => [t.name, t])) };
};
const count = (t) => t.shape.reduce((a, b) => a * b, 1);
const f32 = file('f32');
// The 2-D matrices of the model, as f32 (what quantize-on-load hands the encoders, a band at a time).
const matrices = [...f32.tensors.values()].filter((t) => t.shape.length === 2)
  .map((t) => ({ name: t.name, values: dequantize(t.type, f32.bytes.subarray(t.offset, t.offset + t.byteLength), count(t)) }));
const refFiles = { q4_k: 'q4_k_m', q5_k: 'q5_k_m', q6_k: 'q6_k', q3_k: 'q3_k_m', q2_k: 'q2_k', q8_0: 'q8_0', q4_0: 'q4_0', q4_1: 'q4_1', q5_0: 'q5_0', q5_1: 'q5_1', iq4_nl: 'iq4_nl', iq4_xs: 'iq4_xs' };

if (POOL) {
  await poolBench(positional.length ? positional : ['q4_k', 'q8_0']);
  rmSync(outDir, { recursive: true, force: true });
  process.exit(0);
}

/** The pool's throughput: every matrix in ≤ 1M-value bands, converted on `threads` workers (0: in-thread). */
async function poolBench(ids) {
  const { Worker } = await import('node:worker_threads');
  const { provideQuantizeWorkers, QuantizePool } = await mod('pool');
  const { GgmlType } = await mod('model');
  provideQuantizeWorkers(() => {
    const w = new Worker(join(outDir, 'worker.js'));
    const q = { post: (r, t) => w.postMessage(r, t), terminate: () => void w.terminate() };
    w.on('message', (r) => q.onReply?.(r));
    w.on('error', (e) => q.onFail?.(e));
    return q;
  }, 1);
  const out = [];
  for (const id of ids) {
    const fmt = weightFormatById(id);
    const use = matrices.filter((m) => m.values.length % ggmlBlockSize(fmt.type) === 0);
    const total = use.reduce((a, m) => a + m.values.length, 0);
    const bands = use.flatMap((m) => {
      const cols = f32.tensors.get(m.name).shape.at(-1);
      const rows = m.values.length / cols;
      const band = Math.max(2, Math.floor((1 << 20) / cols) & ~1);
      const b = [];
      for (let r0 = 0; r0 < rows; r0 += band) {
        const v = m.values.subarray(r0 * cols, Math.min(rows, r0 + band) * cols);
        b.push({ format: id, type: GgmlType.F32, count: v.length, bytes: new Uint8Array(v.buffer, v.byteOffset, v.byteLength) });
      }
      return b;
    });
    const want = use.map((m) => quantize(fmt.type, m.values));
    const wantBytes = Buffer.concat(want.map((w) => Buffer.from(w.buffer, w.byteOffset, w.byteLength)));
    const stats = new Map(THREADS.map((t) => [t, []]));
    let same = true;
    for (let rep = 0; rep < 3; rep++) {
      // A/B alternated: every thread count once per repeat, the order reversed every other repeat.
      for (const threads of rep % 2 ? [...THREADS].reverse() : THREADS) {
        const pool = new QuantizePool(threads);
        const t0 = performance.now();
        const got = await Promise.all(bands.map((b) => pool.run(b)));
        const s = (performance.now() - t0) / 1000;
        pool.close();
        stats.get(threads).push(total / s / 1e6);
        same &&= Buffer.concat(got.map((g) => Buffer.from(g.buffer, g.byteOffset, g.byteLength))).equals(wantBytes);
      }
    }
    const med = (xs) => [...xs].sort((a, b) => a - b)[1];
    for (const [threads, xs] of stats) out.push({ id, threads, mweightsPerSecond: +med(xs).toFixed(2), runs: xs.map((x) => +x.toFixed(2)), sameBytes: same });
  }
  const base = (id) => out.find((r) => r.id === id && r.threads === 0)?.mweightsPerSecond;
  console.log(`| type | worker threads (0: in-thread) | Mweights/s (median of 3) | vs in-thread | bytes = one thread |\n|---|---:|---:|---:|---|`);
  for (const r of out) console.log(`| ${r.id} | ${r.threads} | ${r.mweightsPerSecond} | ${base(r.id) ? (r.mweightsPerSecond / base(r.id)).toFixed(2) + 'x' : '-'} | ${r.sameBytes ? 'yes' : 'NO'} |`);
  const load = loadavg().map((x) => +x.toFixed(2));
  console.log(`load average ${load.join(' ')}, ${cpus().length} cores, node ${process.version}`);
  mkdirSync('bench-results', { recursive: true });
  const file = `bench-results/quantize-pool-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), src, load, cores: cpus().length, node: process.version, rows: out }, null, 2));
  console.log(`wrote ${file}`);
}

const ids = positional.length ? positional : QUANTIZABLE_FORMAT_IDS.filter((i) => ggmlBlockSize(weightFormatById(i).type) > 1);
const rows = [];
for (const id of ids) {
  const fmt = weightFormatById(id);
  const elems = ggmlBlockSize(fmt.type);
  const use = matrices.filter((m) => m.values.length % elems === 0);
  const ref = refFiles[id] ? file(refFiles[id]) : undefined;
  let checked = 0, exact = 0;
  for (const m of use) {
    const t = ref?.tensors.get(m.name);
    if (!t || t.type !== fmt.type) continue;
    const mine = quantize(fmt.type, m.values);
    const theirs = ref.bytes.subarray(t.offset, t.offset + t.byteLength);
    checked++;
    if (mine.length === theirs.length && mine.every((b, i) => b === theirs[i])) exact++;
  }
  // Time: every matrix once, repeated until ~2 s.
  const total = use.reduce((a, m) => a + m.values.length, 0);
  let n = 0;
  const t0 = performance.now();
  do {
    for (const m of use) quantize(fmt.type, m.values);
    n += total;
  } while (performance.now() - t0 < 2000);
  const s = (performance.now() - t0) / 1000;
  rows.push({ id, weightsPerSecond: Math.round(n / s), msPer256k: +((s / n) * 262144 * 1000).toFixed(1), tensorsChecked: checked, bitExact: exact });
}
const load = loadavg().map((x) => +x.toFixed(2));
console.log(`| type | Mweights/s | ms per 256k | bit-exact vs ggml |\n|---|---|---|---|`);
for (const r of rows) console.log(`| ${r.id} | ${(r.weightsPerSecond / 1e6).toFixed(2)} | ${r.msPer256k} | ${r.tensorsChecked ? `${r.bitExact}/${r.tensorsChecked}` : '-'} |`);
console.log(`load average ${load.join(' ')}, ${cpus().length} cores, node ${process.version}`);
mkdirSync('bench-results', { recursive: true });
const out = `bench-results/quantize-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), src, load, node: process.version, rows }, null, 2));
console.log(`wrote ${out}`);
rmSync(outDir, { recursive: true, force: true });
