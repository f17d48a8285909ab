/**
 * The long-context benchmark in the page (driven by bench/long/runner.ts through `window.runLongBench`): greedy
 * decode tok/s after a prompt of each length (16 = "empty", then e.g. 2048 and 4096), for llmo with each KV-cache
 * format and for llama.cpp (wllama, WASM CPU, f32 KV) on the same model and prompts, plus llmo's dispatches per
 * decoded token (counted by the profiler on a short run).
 */
import { load } from '../../src/index.ts';
import { wllamaExitAll, wllamaTimedCompletion } from '../../test/wllama/wllama-ref.ts';
import { prompt } from '../llmo-measure.ts';

export interface LongBenchConfig {
  model: string;
  contexts: number[];
  decodeTokens: number;
  kvFormats: ('f32' | 'f16' | 'q8_0')[];
  wllama: boolean;
}

export interface LongRow {
  engine: string;
  context: number;
  decodeTokS: number;
}

const log = (msg: string) => {
  const el = document.getElementById('log');
  if (el) el.textContent += `\n${msg}`;
  console.log(msg);
};

async function runLongBench(cfg: LongBenchConfig): Promise<{ adapter: string; rows: LongRow[]; dispatchesPerToken: number; kvBytes: Record<string, number> }> {
  const rows: LongRow[] = [];
  const ctxNeeded = Math.max(...cfg.contexts) + cfg.decodeTokens + 1;
  let adapter = '';
  const kvBytes: Record<string, number> = {};
  // Dispatches per decoded token: a 1-token prompt runs the decode list for every token.
  const prof = await load(cfg.model, { profile: true, cache: false, contextLength: 64 });
  await prof.complete([1], { maxTokens: 4, temperature: 0, ignoreEos: true });
  const calls = (await prof.kernelTimes(true)).reduce((n, t) => n + t.calls, 0);
  await prof.dispose();
  const dispatchesPerToken = calls / 4;
  log(`  dispatches per decoded token: ${dispatchesPerToken}`);
  for (const f of cfg.kvFormats) {
    const engine = await load(cfg.model, { kvCache: f, contextLength: ctxNeeded, cache: false, prefixCacheBytes: 0 });
    adapter = engine.info.gpu.adapter;
    kvBytes[f] = engine.info.memory.cacheBytes;
    const vocab = engine.info.config.vocabSize;
    try {
      await engine.complete(prompt(8, 1, vocab), { maxTokens: 4, temperature: 0, ignoreEos: true }); // warm-up
      for (const c of cfg.contexts) {
        const r = await engine.complete(prompt(c, 500 + c, vocab), { maxTokens: cfg.decodeTokens, temperature: 0, ignoreEos: true });
        rows.push({ engine: `llmo kv ${f}`, context: c, decodeTokS: r.stats.decodeTokensPerSec });
        log(`  llmo kv ${f} @${c}: ${r.stats.decodeTokensPerSec.toFixed(1)} tok/s`);
      }
    } finally {
      await engine.dispose();
    }
  }
  if (cfg.wllama) {
    const vocab = 4096;
    await wllamaTimedCompletion(cfg.model, prompt(8, 1, vocab), 4, { backend: 'cpu' });
    for (const c of cfg.contexts) {
      const r = await wllamaTimedCompletion(cfg.model, prompt(c, 500 + c, vocab), cfg.decodeTokens, { backend: 'cpu' });
      rows.push({ engine: 'wllama-cpu kv f32', context: c, decodeTokS: r.timings.predicted_per_second });
      log(`  wllama-cpu @${c}: ${r.timings.predicted_per_second.toFixed(1)} tok/s`);
    }
    await wllamaExitAll(cfg.model);
  }
  return { adapter, rows, dispatchesPerToken, kvBytes };
}

(window as unknown as Record<string, unknown>).runLongBench = runLongBench;
(window as unknown as Record<string, unknown>).benchReady = true;
