/**
 * Agreement with llama.cpp per weight type, in the page (driven by bench/agreement/runner.ts through
 * `window.runAgreementBench`): for each sotu-5m file, llmo (public API) and llama.cpp (wllama 3.8.1, WASM CPU, one
 * thread, f32 KV cache) on the same file:
 * - greedy: `greedyTokens` tokens from BOS, each engine on its own; the common prefix, and (when they differ) the
 *   teacher-forced rate: at each of llama.cpp's positions, is llmo's argmax llama.cpp's token?
 * - perplexity on ../shared/corpora/eval.txt with llama.cpp's windows (`window` tokens, second half scored): llmo's
 *   engine.evaluate() and llama.cpp's per-position log-probabilities (wllamaForcedLogprobs), summed the same way,
 *   with the per-token NLL differences. llama.cpp's CPU path rounds activations to Q8_K / Q8_0 / Q8_1 before
 *   quantized dot products; llmo keeps them f32: the figures measure that difference, by design.
 */
import { load } from '../../src/index.ts';
import { wllamaExitAll, wllamaForcedLogprobs, wllamaGreedy } from '../../test/wllama/wllama-ref.ts';

export interface AgreementBenchConfig {
  types: string[];
  /** Windows of eval.txt to score (Infinity or more than there are: the whole file). */
  windows: number;
  window: number;
  greedyTokens: number;
}

export interface AgreementRow {
  type: string;
  greedy: { tokens: number; commonPrefix: number; teacherForced: number };
  perplexity: { llmo: number; llamacpp: number; relDiff: number; windows: number; scored: number };
  nll: { maxAbsDiff: number; meanAbsDiff: number; meanDiff: number };
  ms: { llmo: number; llamacpp: number };
}

const BOS = 1;
const sotu = (t: string) => `/shared/models/sotu-5m/sotu-5m-${t}.gguf`;
const log = (msg: string) => {
  const el = document.getElementById('log');
  if (el) el.textContent += `\n${msg}`;
  console.log(msg);
};

/** llama.cpp's per-token NLL over the same windows engine.evaluate() scores (first token of each replaced by BOS). */
async function llamacppNll(url: string, tokens: number[], window: number, windows: number): Promise<number[]> {
  const out: number[] = [];
  for (let start = 0, n = 0; start + window <= tokens.length && n < windows; start += window, n++) {
    const w = tokens.slice(start, start + window);
    w[0] = BOS;
    for (const lp of await wllamaForcedLogprobs(url, w, window >> 1)) out.push(-lp);
  }
  return out;
}

async function runAgreementBench(cfg: AgreementBenchConfig): Promise<{ adapter: string; rows: AgreementRow[] }> {
  const text = await (await fetch('/shared/corpora/eval.txt')).text();
  const rows: AgreementRow[] = [];
  let adapter = '';
  for (const type of cfg.types) {
    const url = sotu(type);
    const engine = await load(url, { cache: false, maxBatch: 128 });
    adapter = engine.info.gpu.adapter;
    try {
      const tokens = await engine.tokenize(text, { addBos: true });
      const N = cfg.greedyTokens;
      const theirs = await wllamaGreedy(url, [BOS], N);
      const ours = (await engine.complete([BOS], { maxTokens: N, temperature: 0, ignoreEos: true })).tokens;
      let prefix = 0;
      while (prefix < N && ours[prefix] === theirs[prefix]) prefix++;
      let forced = prefix === N ? N : 0;
      for (let i = 0; i < N && prefix < N; i++) {
        const r = await engine.complete([BOS, ...theirs.slice(0, i)], { maxTokens: 1, temperature: 0, ignoreEos: true });
        if (r.tokens[0] === theirs[i]) forced++;
      }
      // Both engines at once: llama.cpp runs in its own worker on the CPU, llmo in its worker on the GPU.
      const t0 = performance.now();
      const [mine, theirNll] = await Promise.all([
        engine.evaluate(tokens, { window: cfg.window, maxWindows: cfg.windows }).then((r) => ({ r, ms: performance.now() - t0 })),
        llamacppNll(url, tokens, cfg.window, cfg.windows).then((nll) => ({ nll, ms: performance.now() - t0 })),
      ]);
      const a = mine.r.nll;
      const b = theirNll.nll;
      if (a.length !== b.length) throw new Error(`${type}: llmo scored ${a.length} tokens, llama.cpp ${b.length}`);
      let maxAbs = 0;
      let sumAbs = 0;
      let sum = 0;
      let sumB = 0;
      for (let i = 0; i < a.length; i++) {
        const d = a[i] - b[i];
        maxAbs = Math.max(maxAbs, Math.abs(d));
        sumAbs += Math.abs(d);
        sum += d;
        sumB += b[i];
      }
      const llamacpp = Math.exp(sumB / b.length);
      const row: AgreementRow = {
        type,
        greedy: { tokens: N, commonPrefix: prefix, teacherForced: forced / N },
        perplexity: { llmo: mine.r.perplexity, llamacpp, relDiff: mine.r.perplexity / llamacpp - 1, windows: mine.r.windows, scored: a.length },
        nll: { maxAbsDiff: maxAbs, meanAbsDiff: sumAbs / a.length, meanDiff: sum / a.length },
        ms: { llmo: mine.ms, llamacpp: theirNll.ms },
      };
      rows.push(row);
      log(`  ${type}: greedy ${prefix}/${N} common (teacher-forced ${(100 * forced / N).toFixed(1)}%), perplexity llmo ` +
        `${row.perplexity.llmo.toFixed(4)} llama.cpp ${llamacpp.toFixed(4)} (${(100 * row.perplexity.relDiff).toFixed(3)}%) over ` +
        `${row.perplexity.windows} windows, |dNLL| max ${maxAbs.toFixed(4)} mean ${row.nll.meanAbsDiff.toExponential(2)}`);
    } finally {
      await engine.dispose();
      await wllamaExitAll(url);
    }
  }
  return { adapter, rows };
}

Object.assign(window, { runAgreementBench, benchReady: true });
