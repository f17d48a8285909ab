/**
 * llmo's side of the benchmark, the same in the page (bench/page.ts, browser `load`) and in Node (bench/node-bench.ts,
 * `llmo/node`): prompts, the prompt plan, timed prefill and decode runs, and the per-kernel profile.
 */
import type { Engine, GenerateCallOptions, KernelTime, LoadModelOptions } from '../src/index.ts';
import { mulberry32 } from '../src/util/random.ts';
import type { BenchConfig, BenchModel, EngineResult, KernelRow, ModelResult, Stat } from './types.ts';

/** Where llmo runs: its `load` (browser or Node entry) and where progress lines go. */
export interface LlmoEnv {
  load: (url: string, options?: Pick<LoadModelOptions, 'profile'>) => Promise<Engine>;
  log: (msg: string) => void;
}

export function stat(values: number[]): Stat {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  const median = s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  return { median, min: s[0], max: s[s.length - 1], runs: values };
}

/** Random prompt ids; run r starts with a different token so no engine can reuse an earlier prompt's KV cache. */
export function prompt(n: number, seed: number, vocab: number): number[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => (i === 0 ? 3 + (seed % (vocab - 3)) : 3 + Math.floor(r() * (vocab - 3))));
}

export interface Plan { sizes: number[]; capped: string[]; decodePrompt: number[] }

export function plan(cfg: BenchConfig, ctx: number, vocab: number): Plan {
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

export async function runLlmo(env: LlmoEnv, m: BenchModel, cfg: BenchConfig, ctxOut: { ctx: number; vocab: number; plan?: Plan }): Promise<{ res: EngineResult; tokens: number[] }> {
  const { load, log } = env;
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
    const host: number[] = [];
    let tokens: number[] = [];
    for (let r = 0; r < cfg.runs; r++) {
      await engine.complete([2, 3], { maxTokens: 1, temperature: 0 }); // evict the cache: the decode prompt runs cold
      const res = await engine.complete(pl.decodePrompt, { maxTokens: cfg.decodeTokens, temperature: 0, ignoreEos: true });
      dec.push(res.stats.decodeTokensPerSec);
      host.push(res.stats.decodeHostMsPerToken);
      tokens = res.tokens;
    }
    log(`  llmo decode: ${stat(dec).median.toFixed(1)} tok/s, host ${stat(host).median.toFixed(3)} ms/token`);
    const kinds = await decodeKinds(engine, cfg, pl, log);
    const gpuBytes = engine.info.memory.weightBytes + engine.info.memory.cacheBytes;
    return { res: { engine: 'llmo', loadMs, prefill, decodeTokPerSec: stat(dec), hostMsPerToken: stat(host), kinds, gpuBytes, notes: [engine.info.gpu.adapter] }, tokens };
  } finally {
    await engine.dispose();
  }
}

/** A schema whose string may run on: the JSON rows decode about as many tokens as the others, one pick per submission. */
const JSON_SCHEMA = { type: 'object', properties: { title: { type: 'string', maxLength: 40 }, story: { type: 'string' } }, required: ['title', 'story'], additionalProperties: false };

/** Request kinds timed apart: each takes another path through the decode loop (engine-core.ts). */
const KINDS: Record<string, GenerateCallOptions> = {
  greedy: { temperature: 0 },
  sampled: { temperature: 0.8, seed: 5 },
  'logprobs 5': { temperature: 0, logprobs: 5 },
  json: { temperature: 0, json: { type: 'json_schema', schema: JSON_SCHEMA } },
};

/** Decode tok/s and host (JS) ms per token of each request kind, `cfg.runs` runs each, the decode prompt run cold. */
async function decodeKinds(engine: Engine, cfg: BenchConfig, pl: Plan, log: (m: string) => void): Promise<EngineResult['kinds']> {
  const out: NonNullable<EngineResult['kinds']> = {};
  for (const [kind, o] of Object.entries(KINDS)) {
    const tps: number[] = [];
    const host: number[] = [];
    let tokens = 0;
    try {
      for (let r = 0; r < cfg.runs; r++) {
        await engine.complete([2, 3], { maxTokens: 1, temperature: 0 });
        const res = await engine.complete(pl.decodePrompt, { ...o, maxTokens: cfg.decodeTokens, ignoreEos: !o.json });
        tps.push(res.stats.decodeTokensPerSec);
        host.push(res.stats.decodeHostMsPerToken);
        tokens = res.tokens.length;
      }
    } catch (e) {
      // The JSON kind is refused when --decode is below its schema's shortest output (InvalidRequestError, e.g.
      // --decode=8 on slow software adapters): that kind is left out, not the model.
      log(`  llmo ${kind}: not measured (${(e as Error).name}: ${(e as Error).message})`);
      continue;
    }
    out[kind] = { tokPerSec: stat(tps), hostMsPerToken: stat(host), tokens };
    log(`  llmo ${kind}: ${stat(tps).median.toFixed(1)} tok/s, host ${stat(host).median.toFixed(3)} ms/token (${tokens} tokens)`);
  }
  return out;
}

function kernelRows(times: KernelTime[]): KernelRow[] {
  const total = times.reduce((a, t) => a + t.ms, 0) || 1;
  return times.map((t) => ({ ...t, share: t.ms / total }));
}

/** Per-kernel GPU times of llmo (load with `profile: true`: timestamp-query, one pass per dispatch), prefill apart. */
export async function profileLlmo(env: LlmoEnv, m: BenchModel, cfg: BenchConfig, pl: Plan, vocab: number, ctx: number): Promise<ModelResult['profile']> {
  const { load } = env;
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

