/**
 * The benchmark as it runs in the page: for each model, llmo (public API, in its worker) and llama.cpp (wllama:
 * WebGPU with all layers offloaded, then its WASM CPU path) on the same file, same prompts, in this browser.
 * Driven by bench/runner.ts through `window.runBench`.
 */
import { load } from '../src/index.ts';
import { wllamaExitAll, wllamaGreedy, wllamaLoadTimed, wllamaTimedCompletion, type WllamaBackend } from '../test/wllama/wllama-ref.ts';
import type { BenchConfig, BenchModel, BenchReport, EngineResult, ModelResult } from './types.ts';
import { plan, profileLlmo, prompt, runLlmo, stat, type LlmoEnv, type Plan } from './llmo-measure.ts';

const log = (msg: string) => {
  const el = document.getElementById('log');
  if (el) el.textContent += `\n${msg}`;
  console.log(msg);
};

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

async function runModel(m: BenchModel, cfg: BenchConfig): Promise<ModelResult> {
  log(`model ${m.name} (${m.url})`);
  const info: { ctx: number; vocab: number; plan?: Plan } = { ctx: 0, vocab: 0 };
  const engines: EngineResult[] = [];
  // llmo runs first: it reads the context and vocabulary that set the prompt plan for everyone. With `--node` it
  // already ran in Node (bench/node-bench.ts) and its figures come in the config.
  const given = cfg.llmoFromNode?.[m.name];
  const env: LlmoEnv = { load: (url, o) => load(url, o), log };
  const { res, tokens: llmoTokens } = given ?? (await runLlmo(env, m, cfg, info));
  if (given) Object.assign(info, { ctx: given.ctx, vocab: given.vocab, plan: plan(cfg, given.ctx, given.vocab) });
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

  const profile = given ? given.profile : cfg.profile ? await profileLlmo(env, m, cfg, pl, info.vocab, info.ctx) : undefined;
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
