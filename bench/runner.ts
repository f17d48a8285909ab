/**
 * Node side of `npm run bench`: opens Chromium (Playwright) on bench/index.html, runs the benchmark in the page,
 * prints the table and writes bench-results/<machine>.json.
 *
 * Options (flags, or the environment variable in brackets):
 *   --chromium=PATH     browser executable [LLMO_CHROMIUM] (default /usr/bin/chromium)
 *   --args="…"          extra browser flags [LLMO_CHROMIUM_ARGS]; --no-swiftshader drops the SwiftShader flags
 *                       (use on a machine with a real GPU)
 *   --machine=NAME      name of the results file (default: the host name)
 *   --runs=N            runs per figure (default 3)
 *   --models=a,b        only these models (names as in the table); --large adds Llama-3.2-1B-shaped Q4_0
 *   --engines=…         subset of llmo,wllama-webgpu,wllama-cpu
 *   --prompts=16,128,512  prefill prompt lengths; --decode=128 tokens decoded (smaller on slow software adapters)
 *   --no-profile        skip the per-kernel timestamp profile
 *   --node              llmo runs in Node on Dawn (`llmo/node`, bench/node-bench.ts) instead of in the page; the other
 *                       engines still run in Chromium, in the same command. Adds bytes read per token and the GPU's
 *                       copy bandwidth (the roofline table). --engines=llmo skips the browser altogether.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { launchChromium, parseFlags, table } from './cli.ts';
import type { BenchConfig, BenchModel, BenchReport, EngineName, ModelResult } from './types.ts';
import { copyBandwidth, measureInNode, type NodeMeasured } from './node-bench.ts';
import { plan } from './llmo-measure.ts';

const ALL_MODELS: (BenchModel & { large?: boolean })[] = [
  { name: 'stories260K-f32', url: '/shared/models/stories260K/stories260K.gguf', guard: true },
  { name: 'sotu-5m-f32', url: '/shared/models/sotu-5m/sotu-5m-f32.gguf', guard: true },
  { name: 'sotu-5m-q8_0', url: '/shared/models/sotu-5m/sotu-5m-q8_0.gguf', guard: false },
  { name: 'sotu-5m-q4_0', url: '/shared/models/sotu-5m/sotu-5m-q4_0.gguf', guard: false },
  // ggml-made K-quant files (llama.cpp's _M mixes: Q6_K head and some Q6_K layers).
  { name: 'sotu-5m-q4_k_m', url: '/shared/models/sotu-5m/sotu-5m-q4_k_m.gguf', guard: false },
  { name: 'sotu-5m-q5_k_m', url: '/shared/models/sotu-5m/sotu-5m-q5_k_m.gguf', guard: false },
  { name: 'sotu-5m-q6_k', url: '/shared/models/sotu-5m/sotu-5m-q6_k.gguf', guard: false },
  { name: 'smollm2-135m-shape-q8_0', url: '/fixtures/smollm2_135m~llama~q8_0~s21/model.gguf', guard: false },
  { name: 'smollm2-135m-shape-q4_0', url: '/fixtures/smollm2_135m~llama~q4_0~s22/model.gguf', guard: false },
  // The same weights (seed 22) in llama.cpp's K-quant mixes (formats/quant-mix.ts: 576-column tensors fall back to
  // 32-element formats, as llama-quantize does), so Q4_K_M compares with Q4_0 above on equal weights.
  { name: 'smollm2-135m-shape-q4_k_m', url: '/fixtures/smollm2_135m~llama~q4_k_m~s22/model.gguf', guard: false },
  { name: 'smollm2-135m-shape-q5_k_m', url: '/fixtures/smollm2_135m~llama~q5_k_m~s22/model.gguf', guard: false },
  // Q6_K: llama.cpp's Q6_K file (the fixture's single-format types take the mix's fallback where rows are not whole
  // super-blocks: Q8_0 for the 576-column tensors, Q6_K for ffn_down).
  { name: 'smollm2-135m-shape-q6_k', url: '/fixtures/smollm2_135m~llama~q6_k~s22/model.gguf', guard: false },
  // Gemma 3 1B's layer shapes, 6 of its 26 layers and a 4096-token vocabulary (test/fixtures FIXTURE_SHAPES).
  { name: 'gemma3-1b-6l-shape-q8_0', url: '/fixtures/gemma3_1b_6l~gemma3~q8_0~s25/model.gguf', guard: false },
  // Phi-3.5-mini's layer shapes (fused qkv 9216 × 3072, gate/up 16384 × 3072, LongRoPE), 2 of its 32 layers, 4096-token vocabulary.
  { name: 'phi3.5-mini-2l-shape-q8_0', url: '/fixtures/phi35_mini_2l~phi3~q8_0~s28/model.gguf', guard: false },
  { name: 'gemma3-1b-shape-q8_0', url: '/fixtures/gemma3_1b~gemma3~q8_0~s26/model.gguf', guard: false, large: true },
  { name: 'llama3.2-1b-shape-q4_0', url: '/fixtures/llama32_1b~llama~q4_0~s23~llama3/model.gguf', guard: false, large: true },
  // Q4_K everywhere (not llama.cpp's Q4_K_M mix); runs once the fixture generator and the kernels have the format.
  { name: 'llama3.2-1b-shape-q4_k', url: '/fixtures/llama32_1b~llama~q4_k~s24~llama3/model.gguf', guard: false, large: true },
];

const fmt = (v: number | undefined, d = 1) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));
const spread = (s?: { min: number; max: number; median: number }) => (s ? `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})` : '-');

/** The results as markdown tables (speed, ratios, top kernels): what BENCHMARKS.md quotes. */
export function render(report: BenchReport): string {
  const out: string[] = [];
  const sizes = report.config.promptSizes;
  const ttftAt = Math.min(128, Math.max(...sizes));
  const head = ['model', 'engine', 'load ms', ...sizes.map((p) => `prefill ${p} tok/s`), `TTFT@${ttftAt} ms`, `decode tok/s (${report.config.decodeTokens})`, 'host ms/tok', 'GPU MiB'];
  const rows = [head];
  for (const m of report.models) {
    for (const e of m.engines) {
      if (e.unavailable) {
        rows.push([m.model, e.engine, e.unavailable.slice(0, 90), ...sizes.map(() => ''), '', '', '', '']);
        continue;
      }
      const keys = Object.keys(e.prefill ?? {}).map(Number);
      const at = (p: number) => e.prefill?.[Math.min(p, Math.max(...keys))];
      rows.push([
        m.model, e.engine, fmt(e.loadMs, 0), ...sizes.map((p) => spread(at(p)?.tokPerSec)),
        fmt(at(ttftAt)?.ttftMs.median, 0), spread(e.decodeTokPerSec), fmt(e.hostMsPerToken?.median, 3), e.gpuBytes ? fmt(e.gpuBytes / 2 ** 20, 1) : '-',
      ]);
    }
  }
  out.push(table(rows));
  // Host time per token by request kind (llmo): on a CPU adapter (SwiftShader) the GPU work runs on the same cores,
  // so these show the JS between GPU steps, not what a real GPU would leave to it.
  const krows = [['model', 'request', 'decode tok/s', 'host ms/tok', 'tokens']];
  for (const m of report.models) {
    for (const e of m.engines) {
      for (const [kind, k] of Object.entries(e.kinds ?? {})) krows.push([m.model, kind, spread(k.tokPerSec), fmt(k.hostMsPerToken.median, 3), String(k.tokens)]);
    }
  }
  if (krows.length > 1) out.push(table(krows));
  const rrows = [['model', 'llmo / …', 'decode', ...sizes.map((p) => `prefill ${p}`), 'greedy guard', 'notes']];
  for (const m of report.models) {
    const guard = m.guard && 'equal' in m.guard ? (m.guard.equal ? 'equal' : `differ at ${m.guard.firstDifference}`) : 'n/a';
    for (const [other, r] of Object.entries(m.ratios)) {
      const keys = Object.keys(r.prefill).map(Number);
      rrows.push([m.model, other, `${fmt(r.decode, 2)}×`, ...sizes.map((p) => `${fmt(r.prefill[Math.min(p, Math.max(...keys))], 2)}×`), guard, m.capped.join('; ')]);
    }
    if (Object.keys(m.ratios).length === 0) rrows.push([m.model, '(no reference ran)', '', ...sizes.map(() => ''), guard, m.capped.join('; ')]);
  }
  out.push(table(rrows));
  for (const m of report.models) {
    if (!m.profile) continue;
    const top = (rows: ModelResult['profile'] extends infer P ? P extends { decode: infer R } ? R : never : never) =>
      rows.slice(0, 6).map((k) => `${k.kernel} ${fmt(k.ms, 1)} ms (${fmt(k.share * 100, 0)}%, ${k.calls})`).join(', ');
    out.push(`${m.model}: ${m.profile.dispatches.decode} dispatches per decoded token, ${m.profile.dispatches.prefill} per prefill chunk\n` +
      `  top decode kernels (${m.profile.decodeTokens} tokens): ${top(m.profile.decode)}\n  top prefill kernels (${m.profile.prefillTokens} tokens): ${top(m.profile.prefill)}`);
  }
  return out.join('\n\n');
}

export async function main(baseUrl: string, argv: string[], root: string): Promise<void> {
  const f = parseFlags(argv);
  const only = f.get('models')?.split(',');
  const models = ALL_MODELS.filter((m) => (only ? only.includes(m.name) : !m.large || f.has('large')));
  const cfg: BenchConfig = {
    models: models.map(({ name, url, guard }) => ({ name, url, guard })),
    runs: Number(f.get('runs') ?? 3),
    promptSizes: (f.get('prompts') ?? '16,128,512').split(',').map(Number),
    decodeTokens: Number(f.get('decode') ?? 128),
    engines: (f.get('engines')?.split(',') as EngineName[] | undefined) ?? ['llmo', 'wllama-webgpu', 'wllama-cpu'],
    profile: !f.has('no-profile'),
  };
  const machine = f.get('machine') ?? hostname();
  const dir = resolve(root, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = resolve(dir, `${machine}.json`);
  let node: { adapter: string; measured: Record<string, NodeMeasured>; copyBytesPerSec?: number } | undefined;
  if (f.has('node')) {
    node = await measureInNode(baseUrl, cfg, console.log);
    node.copyBytesPerSec = await copyBandwidth().catch((e) => (console.error(`bandwidth: ${e}`), undefined));
    cfg.llmoFromNode = node.measured;
    if (!cfg.engines.some((e) => e !== 'llmo')) {
      const report: BenchReport = { adapter: `Node + Dawn: ${node.adapter}`, features: [], userAgent: `node ${process.version}`, config: cfg, models: [] };
      for (const m of cfg.models) {
        const r = node.measured[m.name];
        report.models.push({ model: m.name, url: m.url, contextLength: r.ctx, capped: r.ctx ? plan(cfg, r.ctx, r.vocab).capped : [], engines: [r.res], ratios: {}, profile: r.profile });
      }
      finish(file, { machine, date: new Date().toISOString(), runtime: 'node', ...report, roofline: roofline(node) }, report, node);
      return;
    }
  }
  const browser = await launchChromium(f);
  try {
    const page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'log' && /^(model| {2})/.test(m.text())) console.log(m.text());
    });
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(new URL('/bench/index.html', baseUrl).href);
    await page.waitForFunction(() => (window as unknown as { benchReady?: boolean }).benchReady === true, undefined, { timeout: 120_000 });
    const report = await page.evaluate(
      (c) => (window as unknown as { runBench: (c: BenchConfig) => Promise<BenchReport> }).runBench(c),
      cfg,
    );
    const runtime = node ? `llmo: Node + Dawn (${node.adapter}); others: ${report.adapter} — ${browser.version()}` : `${report.adapter} — ${browser.version()}`;
    finish(file, { machine, date: new Date().toISOString(), browser: browser.version(), runtime, ...report, roofline: node && roofline(node) }, report, node);
  } finally {
    await browser.close();
  }
}

interface RooflineRow { model: string; decodeTokPerSec: number; hostMsPerToken?: number; bytesPerToken?: number; bytesPerSec?: number; fractionOfCopyBandwidth?: number }

/** Decode speed against the memory roofline: bytes one token reads × tok/s, over the copy bandwidth measured here. */
function roofline(node: { measured: Record<string, NodeMeasured>; copyBytesPerSec?: number }): { copyBytesPerSec?: number; models: RooflineRow[] } {
  const models = Object.entries(node.measured).map(([model, r]) => {
    const tps = r.res.decodeTokPerSec?.median ?? 0;
    const bytesPerSec = r.bytesPerToken && r.bytesPerToken * tps;
    return { model, decodeTokPerSec: tps, hostMsPerToken: r.res.hostMsPerToken?.median, bytesPerToken: r.bytesPerToken, bytesPerSec,
      fractionOfCopyBandwidth: bytesPerSec && node.copyBytesPerSec ? bytesPerSec / node.copyBytesPerSec : undefined };
  });
  return { copyBytesPerSec: node.copyBytesPerSec, models };
}

function finish(file: string, json: object, report: BenchReport, node?: { measured: Record<string, NodeMeasured>; copyBytesPerSec?: number }): void {
  writeFileSync(file, JSON.stringify(json, null, 2));
  console.log(`\n${(json as { runtime?: string }).runtime ?? report.adapter}\n`);
  console.log(render(report));
  if (node) {
    const r = roofline(node);
    const gb = (v?: number) => (v === undefined ? '-' : (v / 1e9).toFixed(2));
    console.log(`\nGPU copy bandwidth (256 MiB buffer copies, read + write): ${gb(r.copyBytesPerSec)} GB/s\n`);
    console.log(table([['model', 'decode tok/s', 'host ms/token', 'MiB read/token', 'GB/s read', 'of copy bandwidth'],
      ...r.models.map((m) => [m.model, fmt(m.decodeTokPerSec), fmt(m.hostMsPerToken, 3), m.bytesPerToken ? fmt(m.bytesPerToken / 2 ** 20, 1) : '-', gb(m.bytesPerSec),
        m.fractionOfCopyBandwidth === undefined ? '-' : `${(m.fractionOfCopyBandwidth * 100).toFixed(1)}%`])]));
  }
  console.log(`\nwritten ${file}`);
}
