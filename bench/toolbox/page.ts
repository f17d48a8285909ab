/**
 * The toolbox benchmark in the page (driven by bench/toolbox/runner.ts through `window.runToolboxBench`):
 * - speculative decoding on sotu-5m: greedy decode tok/s plain vs with a draft model (another quantization) vs prompt
 *   lookup, the acceptance rate, and llama.cpp's (wllama, WASM CPU) plain decode on the same target and prompt;
 * - evaluate(): perplexity and tokens/s (the prefill path with the per-row head) per quantization on eval.txt.
 * Every output is also checked: the speculative runs must give the plain run's tokens.
 */
import { load } from '../../src/index.ts';
import { wllamaExitAll, wllamaTimedCompletion } from '../../test/wllama/wllama-ref.ts';

export interface ToolboxBenchConfig {
  target: string;
  draft: string;
  tokens: number;
  evalModels: string[];
  evalWindows: number;
}

export interface SpecRow {
  mode: string;
  decodeTokS: number;
  drafted?: number;
  accepted?: number;
  identical: boolean;
}

export interface EvalRow {
  model: string;
  perplexity: number;
  tokensPerSec: number;
  windows: number;
}

const log = (msg: string) => {
  const el = document.getElementById('log');
  if (el) el.textContent += `\n${msg}`;
  console.log(msg);
};

const sotu = (t: string) => `/shared/models/sotu-5m/sotu-5m-${t}.gguf`;

async function runToolboxBench(cfg: ToolboxBenchConfig): Promise<{ adapter: string; spec: { prompt: string; rows: SpecRow[] }[]; evaluate: EvalRow[] }> {
  const text = await (await fetch('/shared/corpora/eval.txt')).text();
  // A free continuation, and a "summarise this" prompt whose answer can copy from the prompt (lookup's case).
  const prompts = [
    { name: 'continuation', text: 'The Congress' },
    { name: 'quote-heavy', text: `${text.slice(0, 600)}\n\nIn summary: ${text.slice(0, 120)}` },
  ];
  const decodeTokS = (r: { stats: { completionTokens: number; totalMs: number; timeToFirstTokenMs: number } }) =>
    (r.stats.completionTokens - 1) / ((r.stats.totalMs - r.stats.timeToFirstTokenMs) / 1000);
  const spec: { prompt: string; rows: SpecRow[] }[] = [];
  let adapter = '';
  const engine = await load(sotu(cfg.target), { draft: sotu(cfg.draft), cache: false });
  adapter = engine.info.gpu.adapter;
  try {
    for (const p of prompts) {
      const o = { temperature: 0, ignoreEos: true, maxTokens: cfg.tokens };
      await engine.complete(p.text, { ...o, maxTokens: 4, speculative: false }); // warm-up (pipelines, rows head)
      await engine.complete(p.text, { ...o, maxTokens: 4, speculative: { method: 'lookup' } });
      const plain = await engine.complete(p.text, { ...o, speculative: false });
      const rows: SpecRow[] = [{ mode: 'plain', decodeTokS: decodeTokS(plain), identical: true }];
      for (const [mode, speculative] of [[`draft ${cfg.draft}`, { method: 'draft' }], ['lookup', { method: 'lookup' }]] as const) {
        const r = await engine.complete(p.text, { ...o, speculative });
        const s = r.stats.speculative!;
        rows.push({ mode, decodeTokS: decodeTokS(r), drafted: s.drafted, accepted: s.accepted, identical: r.tokens.join() === plain.tokens.join() });
      }
      const ids = await engine.tokenize(p.text, { addBos: true });
      const w = await wllamaTimedCompletion(sotu(cfg.target), ids, cfg.tokens);
      rows.push({ mode: 'llama.cpp (wllama cpu)', decodeTokS: w.timings.predicted_per_second, identical: true });
      for (const r of rows) log(`  ${p.name} ${r.mode}: ${r.decodeTokS.toFixed(1)} tok/s${r.drafted ? `, accepted ${r.accepted}/${r.drafted}` : ''}`);
      spec.push({ prompt: p.name, rows });
    }
  } finally {
    await engine.dispose();
    await wllamaExitAll();
  }
  const evaluate: EvalRow[] = [];
  for (const m of cfg.evalModels) {
    const e = await load(sotu(m), { cache: false });
    try {
      await e.evaluate(text, { window: 256, maxWindows: 1 }); // warm-up
      const r = await e.evaluate(text, { window: 256, maxWindows: cfg.evalWindows });
      evaluate.push({ model: m, perplexity: r.perplexity, tokensPerSec: r.tokensPerSec, windows: r.windows });
      log(`  evaluate ${m}: perplexity ${r.perplexity.toFixed(3)} over ${r.windows} windows, ${r.tokensPerSec.toFixed(0)} tok/s`);
    } finally {
      await e.dispose();
    }
  }
  return { adapter, spec, evaluate };
}

Object.assign(window, { runToolboxBench, benchReady: true });
