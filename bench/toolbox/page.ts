/**
 * The toolbox benchmark in the page (driven by bench/toolbox/runner.ts through `window.runToolboxBench`):
 * - speculative decoding on sotu-5m: greedy decode tok/s plain vs with a draft model (another quantization) vs prompt
 *   lookup, the acceptance rate, and llama.cpp's (wllama, WASM CPU) plain decode on the same target and prompt;
 * - evaluate(): perplexity and tokens/s (the prefill path with the per-row head) per quantization on eval.txt;
 * - LoRA: greedy decode and prefill tok/s of the target with no adapter, one rank-8 adapter on every projection, and two
 *   at once (random adapters: test/fixtures/lora-fixture.ts), i.e. the per-token cost of an active adapter.
 * Every output is also checked: the speculative runs must give the plain run's tokens.
 */
import { load } from '../../src/index.ts';
import { parseGgufHeader } from '../../src/formats/gguf.ts';
import { loraGguf, randomLora } from '../../test/fixtures/lora-fixture.ts';
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

export interface LoraRow {
  mode: string;
  decodeTokS: number;
  prefillTokS: number;
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

/** Decode and prefill tok/s of `target` with no adapter, one rank-8 adapter on every projection, and two at once. */
async function loraBench(target: string, tokens: number, prompt: string): Promise<LoraRow[]> {
  const url = sotu(target);
  const h = parseGgufHeader(new Uint8Array(await (await fetch(url)).arrayBuffer()));
  if ('needBytes' in h) throw new Error(`${url}: truncated`);
  const shapes = new Map(h.tensors.map((t) => [t.name, t.shape]));
  const targets = /^blk\.\d+\.(attn_(q|k|v|output)|ffn_(gate|up|down))\.weight$/;
  const engine = await load(url, { cache: false });
  const rows: LoraRow[] = [];
  try {
    for (const [id, seed] of [['a', 1], ['b', 2]] as const) {
      const bytes = loraGguf(randomLora(shapes, targets, { rank: 8, alpha: 16, seed, magnitude: 0.02 }), 'llama');
      await engine.loadAdapter(new File([bytes as Uint8Array<ArrayBuffer>], `${id}.gguf`), { id });
    }
    const o = { temperature: 0, ignoreEos: true, maxTokens: tokens };
    for (const [mode, lora] of [['no adapter', []], ['1 adapter (r 8, 7 projections/layer)', [{ id: 'a' }]], ['2 adapters', [{ id: 'a' }, { id: 'b' }]]] as const) {
      await engine.complete(prompt, { ...o, maxTokens: 4, lora: [...lora] }); // warm-up: the adapter set's lists and pipelines
      await engine.complete('x', { ...o, maxTokens: 1, lora: [...lora] }); // other KV in the cache: the prompt prefills again
      const r = await engine.complete(prompt, { ...o, lora: [...lora] });
      rows.push({ mode, decodeTokS: r.stats.decodeTokensPerSec, prefillTokS: r.stats.prefillTokensPerSec });
      log(`  lora ${mode}: decode ${r.stats.decodeTokensPerSec.toFixed(1)} tok/s, prefill ${r.stats.prefillTokensPerSec.toFixed(0)} tok/s`);
    }
  } finally {
    await engine.dispose();
  }
  return rows;
}

async function runToolboxBench(cfg: ToolboxBenchConfig): Promise<{ adapter: string; spec: { prompt: string; rows: SpecRow[] }[]; evaluate: EvalRow[]; lora: LoraRow[] }> {
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
  const lora = await loraBench(cfg.target, cfg.tokens, text.slice(0, 600));
  return { adapter, spec, evaluate, lora };
}

Object.assign(window, { runToolboxBench, benchReady: true });
