/**
 * The benchmark as it runs in the page: for each model, llmo (public API, in its worker) and llama.cpp (wllama:
 * WebGPU with all layers offloaded, then its WASM CPU path) on the same file, same prompts, in this browser.
 * Driven by bench/runner.ts through `window.runBench`.
 */
import { load } from '../src/index.ts';
import type { KernelTime } from '../src/index.ts';
import { mulberry32 } from '../src/util/random.ts';
import { wllamaExitAll, wllamaGreedy, wllamaLoadTimed, wllamaTimedCompletion, type WllamaBackend } from '../test/wllama/wllama-ref.ts';
import type { BenchConfig, BenchModel, BenchReport, EngineResult, KernelRow, ModelResult, Stat } from './types.ts';

const log = (msg: string) => {
  const el = document.getElementById('log');
  if (el) el.textContent += `\n${msg}`;
  console.log(msg);
};

export function stat(values: number[]): Stat {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  const median = s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  return { median, min: s[0], max: s[s.length - 1], runs: values };
}

/** Random prompt ids; run r starts with a different token so no engine can reuse an earlier prompt's KV cache. */
function prompt(n: number, seed: number, vocab: number): number[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => (i === 0 ? 3 + (seed % (vocab - 3)) : 3 + Math.floor(r() * (vocab - 3))));
}

interface Plan { sizes: number[]; capped: string[]; decodePrompt: number[] }

function plan(cfg: BenchConfig, ctx: number, vocab: number): Plan {
  const capped: string[] = [];
  const sizes: number[] = [];
  for (const p of cfg.promptSizes) {
    // Prefill runs generate one token, so a prompt may take ctx - 1 positions at most.
    const q = Math.min(p, ctx - 1);
    if (q !== p) capped.push(`prefill ${p} → ${q} (context ${ctx})`);
    if (!sizes.includes(q)) sizes.push(q);
  }
  const decodeLen = Math.min(16, ctx - cfg.decodeTokens);
  return { sizes, capped, decodePrompt: prompt(decodeLen, 7777, vocab) };
}

async function runLlmo(m: BenchModel, cfg: BenchConfig, ctxOut: { ctx: number; vocab: number; plan?: Plan }): Promise<{ res: EngineResult; tokens: number[] }> {
  const t0 = performance.now();
  const engine = await load(m.url);
  const loadMs = performance.now() - t0;
  try {
    const ctx = engine.info.contextLength;
    const vocab = engine.info.config.vocabSize;
    const pl = plan(cfg, ctx, vocab);
    Object.assign(ctxOut, { ctx, vocab, plan: pl });
    // Warm-up: one short prompt and a few decoded tokens (first-use costs of the driver, not of the model).
    await engine.complete(prompt(8, 1, vocab), { maxTokens: 4, temperature: 0, ignoreEos: true });
    const prefill: EngineResult['prefill'] = {};
    for (const p of pl.sizes) {
      const tps: number[] = [];
      const ttft: number[] = [];
      for (let r = 0; r < cfg.runs; r++) {
        const res = await engine.complete(prompt(p, 100 + r * 13 + p, vocab), { maxTokens: 1, temperature: 0, ignoreEos: true });
        if (res.stats.reusedPromptTokens !== 0) throw new Error('bench prompt reused a cached prefix');
        tps.push(res.stats.prefillTokensPerSec);
        ttft.push(res.stats.timeToFirstTokenMs);
      }
      prefill[p] = { tokPerSec: stat(tps), ttftMs: stat(ttft) };
      log(`  llmo prefill ${p}: ${prefill[p].tokPerSec.median.toFixed(1)} tok/s`);
    }
    const dec: number[] = [];
    let tokens: number[] = [];
    for (let r = 0; r < cfg.runs; r++) {
      await engine.complete([2, 3], { maxTokens: 1, temperature: 0 }); // evict the cache: the decode prompt runs cold
      const res = await engine.complete(pl.decodePrompt, { maxTokens: cfg.decodeTokens, temperature: 0, ignoreEos: true });
      dec.push(res.stats.decodeTokensPerSec);
      tokens = res.tokens;
    }
    log(`  llmo decode: ${stat(dec).median.toFixed(1)} tok/s`);
    const gpuBytes = engine.info.memory.weightBytes + engine.info.memory.cacheBytes;
    return { res: { engine: 'llmo', loadMs, prefill, decodeTokPerSec: stat(dec), gpuBytes, notes: [engine.info.gpu.adapter] }, tokens };
  } finally {
    await engine.dispose();
  }
}

/** llama.cpp's WebGPU buffer sizes from its load log ("… WebGPU model buffer size = 12.3 MiB"). */
function wllamaGpuBytes(lines: string[]): number | undefined {
  let total = 0;
  for (const l of lines) {
    const m = /(WebGPU\S*)\s+(?:\S+\s+)?buffer size\s*=\s*([\d.]+)\s*MiB/i.exec(l);
    if (m) total += Number(m[2]) * 2 ** 20;
  }
  return total || undefined;
}

async function runWllama(m: BenchModel, cfg: BenchConfig, backend: WllamaBackend, pl: Plan, vocab: number): Promise<EngineResult> {
  const engine = backend === 'webgpu' ? 'wllama-webgpu' : 'wllama-cpu';
  const opts = { backend, kvCache: 'f16' as const };
  try {
    const loaded = await wllamaLoadTimed(m.url, opts);
    await wllamaTimedCompletion(m.url, prompt(8, 1, vocab), 4, opts); // warm-up, as for llmo
    const prefill: EngineResult['prefill'] = {};
    for (const p of pl.sizes) {
      const tps: number[] = [];
      const ttft: number[] = [];
      for (let r = 0; r < cfg.runs; r++) {
        const res = await wllamaTimedCompletion(m.url, prompt(p, 100 + r * 13 + p, vocab), 1, opts);
        tps.push(res.timings.prompt_per_second);
        ttft.push(res.wallMs);
      }
      prefill[p] = { tokPerSec: stat(tps), ttftMs: stat(ttft) };
      log(`  ${engine} prefill ${p}: ${prefill[p].tokPerSec.median.toFixed(1)} tok/s`);
    }
    const dec: number[] = [];
    for (let r = 0; r < cfg.runs; r++) {
      const res = await wllamaTimedCompletion(m.url, pl.decodePrompt, cfg.decodeTokens, opts);
      dec.push(res.timings.predicted_per_second);
    }
    log(`  ${engine} decode: ${stat(dec).median.toFixed(1)} tok/s`);
    return {
      engine, loadMs: loaded.ms, prefill, decodeTokPerSec: stat(dec), gpuBytes: backend === 'webgpu' ? wllamaGpuBytes(loaded.log) : undefined,
      notes: ['1 thread (no cross-origin isolation)', 'KV cache f16 (llama.cpp default)', 'timings: llama-server\'s own (prompt_per_second, predicted_per_second); TTFT: wall time of the request'],
    };
  } catch (e) {
    const reason = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    log(`  ${engine} unavailable: ${reason}`);
    return { engine, unavailable: `unavailable: ${reason}` };
  } finally {
    await wllamaExitAll(m.url);
  }
}

function kernelRows(times: KernelTime[]): KernelRow[] {
  const total = times.reduce((a, t) => a + t.ms, 0) || 1;
  return times.map((t) => ({ ...t, share: t.ms / total }));
}

/** Per-kernel GPU times of llmo (load with `profile: true`: timestamp-query, one pass per dispatch), prefill apart. */
async function profileLlmo(m: BenchModel, cfg: BenchConfig, pl: Plan, vocab: number, ctx: number): Promise<ModelResult['profile']> {
  const engine = await load(m.url, { profile: true });
  try {
    const decodeTokens = Math.min(32, cfg.decodeTokens);
    const p = Math.min(128, Math.max(...pl.sizes), ctx - decodeTokens - 1);
    const ids = prompt(p, 5, vocab);
    const first = await engine.complete(ids, { maxTokens: 1, temperature: 0, ignoreEos: true });
    const prefill = kernelRows(await engine.kernelTimes(true));
    if (prefill.length === 0) return undefined; // no timestamp-query on this adapter
    // Extends the cached prompt: one decode step per token from here on.
    await engine.complete([...ids, ...first.tokens], { maxTokens: decodeTokens, temperature: 0, ignoreEos: true });
    const decode = kernelRows(await engine.kernelTimes(true));
    const perToken = decode.reduce((a, k) => a + k.calls, 0) / decodeTokens;
    return { decode, prefill, dispatches: { decode: perToken, prefill: prefill.reduce((a, k) => a + k.calls, 0) }, decodeTokens, prefillTokens: p };
  } finally {
    await engine.dispose();
  }
}

async function runModel(m: BenchModel, cfg: BenchConfig): Promise<ModelResult> {
  log(`model ${m.name} (${m.url})`);
  const info: { ctx: number; vocab: number; plan?: Plan } = { ctx: 0, vocab: 0 };
  const engines: EngineResult[] = [];
  let llmoTokens: number[] | undefined;
  // llmo runs first: it reads the context and vocabulary that set the prompt plan for everyone.
  const { res, tokens } = await runLlmo(m, cfg, info);
  llmoTokens = tokens;
  if (cfg.engines.includes('llmo')) engines.push(res);
  const pl = info.plan!;
  if (cfg.engines.includes('wllama-webgpu')) engines.push(await runWllama(m, cfg, 'webgpu', pl, info.vocab));
  if (cfg.engines.includes('wllama-cpu')) engines.push(await runWllama(m, cfg, 'cpu', pl, info.vocab));

  const ratios: ModelResult['ratios'] = {};
  const ours = engines.find((e) => e.engine === 'llmo');
  for (const e of engines) {
    if (e.engine === 'llmo' || e.unavailable || !ours?.prefill || !e.prefill) continue;
    const prefill: Record<number, number> = {};
    for (const p of pl.sizes) prefill[p] = ours.prefill[p].tokPerSec.median / e.prefill[p].tokPerSec.median;
    ratios[e.engine] = { decode: ours.decodeTokPerSec!.median / e.decodeTokPerSec!.median, prefill };
  }

  let guard: ModelResult['guard'];
  if (m.guard && llmoTokens) {
    const theirs = await wllamaGreedy(m.url, pl.decodePrompt, cfg.decodeTokens, { backend: 'cpu', kvCache: 'f32' });
    await wllamaExitAll(m.url);
    let i = 0;
    while (i < theirs.length && theirs[i] === llmoTokens[i]) i++;
    guard = { against: 'wllama-cpu (f32 KV)', equal: i === theirs.length && llmoTokens.length === theirs.length, firstDifference: i < theirs.length ? i : undefined };
    log(`  guard: greedy tokens ${guard.equal ? 'equal' : `differ at ${i}`}`);
  } else guard = { skipped: 'quantized weights: llama.cpp rounds activations to Q8 for its dot products, so exact agreement is not expected' };

  const profile = cfg.profile ? await profileLlmo(m, cfg, pl, info.vocab, info.ctx) : undefined;
  return { model: m.name, url: m.url, contextLength: info.ctx, capped: pl.capped, engines, ratios, guard, profile };
}

async function runBench(cfg: BenchConfig): Promise<BenchReport> {
  const adapter = await navigator.gpu?.requestAdapter();
  const report: BenchReport = {
    adapter: adapter ? [adapter.info.vendor, adapter.info.architecture, adapter.info.device, adapter.info.description].filter(Boolean).join(' ') : 'none',
    features: adapter ? [...adapter.features].sort() : [],
    userAgent: navigator.userAgent,
    config: cfg,
    models: [],
  };
  for (const m of cfg.models) report.models.push(await runModel(m, cfg));
  return report;
}

(window as unknown as { runBench: typeof runBench }).runBench = runBench;
(window as unknown as { benchReady: boolean }).benchReady = true;
