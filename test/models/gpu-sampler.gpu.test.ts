/**
 * Sampling on the GPU (shaders/sample.wgsl) against the CPU sampler (runtime/sampler.ts): the first token after a
 * fixed prompt, drawn with many seeds, must follow the distribution the CPU sampler computes from the same logits
 * (chi-square, p = 0.001), for several option sets; a seed reproduces its tokens; penalties reach later tokens
 * (the counts live on the GPU).
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { load, type Engine } from '../../src/index.ts';
import { Sampler, type SamplingOptions } from '../../src/runtime/sampler.ts';

let engine: Engine;
// Random tokens: the model is unsure what follows, so many tokens carry mass (a real sentence leaves one or two).
const PROMPT = [1, 77, 301, 12, 488, 150, 33];
beforeAll(async () => {
  engine = await load('/shared/models/stories260K/stories260K.gguf', { worker: false });
});
afterAll(() => engine.dispose());

/** Upper 0.1% point of chi-square with `df` degrees of freedom (Wilson–Hilferty). */
function chi2Critical(df: number): number {
  const z = 3.09;
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

const CASES: [string, SamplingOptions][] = [
  ['T 2 with the default top-k 40, top-p 0.95', { temperature: 2 }],
  ['T 3, top-k off, top-p 0.9, min-p 0.02', { temperature: 3, topK: 0, topP: 0.9, minP: 0.02 }],
  ['T 2, top-k 6, top-p off', { temperature: 2, topK: 6, topP: 1 }],
  // More top-k survivors than sample.wgsl copies to workgroup memory (CAP 256): top-p over all the logits with a cut.
  ['T 2, top-k 300, top-p 0.8', { temperature: 2, topK: 300, topP: 0.8 }],
  ['penalties and bias (repetition 1.5, presence 0.5, bias +3/-100)', { temperature: 2, topK: 0, topP: 1, repetitionPenalty: 1.5, presencePenalty: 0.5, logitBias: { 400: 3, 301: -100 } }],
];

for (const [name, o] of CASES) {
  test(`GPU draws follow the CPU sampler's distribution: ${name}`, async () => {
    const logits = await engine.logits(PROMPT);
    const cpu = new Sampler(o);
    cpu.observePrompt(PROMPT);
    const { ids, probs } = cpu.candidates(cpu.adjust(logits));
    const N = 600;
    const counts = new Map<number, number>();
    for (let seed = 1; seed <= N; seed++) {
      const r = await engine.complete(PROMPT, { ...o, seed, maxTokens: 1, ignoreEos: true });
      counts.set(r.tokens[0], (counts.get(r.tokens[0]) ?? 0) + 1);
    }
    const p = new Map(ids.map((id, i) => [id, probs[i]]));
    for (const id of counts.keys()) expect(p.has(id), `token ${id} drawn on the GPU is outside the CPU's kept set`).toBe(true);
    // Categories with at least 5 expected draws; the rest pooled into one.
    let chi = 0;
    let df = -1;
    let poolE = 0;
    let poolO = 0;
    for (const [id, pr] of p) {
      const e = pr * N;
      const obs = counts.get(id) ?? 0;
      if (e >= 5) {
        chi += (obs - e) ** 2 / e;
        df++;
      } else {
        poolE += e;
        poolO += obs;
      }
    }
    if (poolE > 0) {
      chi += (poolO - poolE) ** 2 / Math.max(poolE, 1e-9);
      df++;
    }
    console.log(`${name}: chi2 ${chi.toFixed(1)}, df ${df}, critical ${df > 0 ? chi2Critical(df).toFixed(1) : '-'}, kept ${ids.length}`);
    if (df > 0) expect(chi).toBeLessThan(chi2Critical(df));
    else expect(counts.size).toBe(1); // one token holds all the mass
  });
}

test('a seed reproduces a sampled completion (several steps per submission); another seed differs', async () => {
  const o = { temperature: 1, topK: 0, topP: 1, maxTokens: 40, ignoreEos: true };
  const a = await engine.complete(PROMPT, { ...o, seed: 7 });
  const b = await engine.complete(PROMPT, { ...o, seed: 7 });
  const c = await engine.complete(PROMPT, { ...o, seed: 8 });
  expect(a.tokens).toHaveLength(40);
  expect(b.tokens).toEqual(a.tokens);
  expect(c.tokens).not.toEqual(a.tokens);
});

test('frequency and presence penalties count generated tokens on the GPU: a huge penalty forbids any repeat', async () => {
  const r = await engine.complete(PROMPT, { temperature: 1, topK: 0, topP: 1, frequencyPenalty: 200, presencePenalty: 200, seed: 3, maxTokens: 60, ignoreEos: true });
  expect(new Set(r.tokens).size).toBe(r.tokens.length);
  // Without the penalty the same seed repeats tokens (a 512-token vocabulary over 60 draws).
  const free = await engine.complete(PROMPT, { temperature: 1, topK: 0, topP: 1, seed: 3, maxTokens: 60, ignoreEos: true });
  expect(new Set(free.tokens).size).toBeLessThan(free.tokens.length);
});
