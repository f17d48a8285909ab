/**
 * Speculative decoding on real models: greedy output must be token-for-token the plain greedy output, with drafts
 * both accepted and rejected along the way (checked through `stats.speculative`).
 * - prompt lookup on stories260K (its golden 200-token greedy text) and sotu-5m;
 * - a draft model: sotu-5m-f32 as target with sotu-5m-q4_0 as draft (same vocabulary, different weights);
 * - sampled decoding with a draft runs, is reproducible with a seed and reports its drafts (that speculative sampling
 *   keeps the target distribution is checked by chi-square in src/runtime/speculative.test.ts);
 * - a draft with another vocabulary is refused with a typed error.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { load, UnsupportedModelError, type Engine } from '../../src/index.ts';

const STORIES = '/shared/models/stories260K/stories260K.gguf';
const SOTU = (t: string) => `/shared/models/sotu-5m/sotu-5m-${t}.gguf`;
const BOS = 1;
const greedy = { temperature: 0, ignoreEos: true } as const;

describe('prompt lookup', () => {
  test('stories260K: the golden greedy text, with lookup drafts accepted and rejected', async () => {
    const expected = (await (await fetch('/shared/models/stories260K/expected-greedy-200.ids.txt')).text()).trim().split(/\s+/).map(Number);
    const engine = await load(STORIES);
    try {
      const r = await engine.complete([BOS], { ...greedy, maxTokens: 200, speculative: { method: 'lookup', ngramMin: 1 } });
      expect([BOS, ...r.tokens]).toEqual(expected);
      const s = r.stats.speculative!;
      console.log(`stories260K lookup: drafted ${s.drafted}, accepted ${s.accepted} (${((100 * s.accepted) / s.drafted).toFixed(0)}%)`);
      expect(s.method).toBe('lookup');
      expect(s.accepted).toBeGreaterThan(0);
      expect(s.accepted).toBeLessThan(s.drafted);
    } finally {
      await engine.dispose();
    }
  });

  test('sotu-5m: greedy continuation of eval.txt text identical with and without lookup', async () => {
    const text = (await (await fetch('/shared/corpora/eval.txt')).text()).slice(0, 700);
    const engine = await load(SOTU('q8_0'));
    try {
      const plain = await engine.complete(text, { ...greedy, maxTokens: 32 });
      const spec = await engine.complete(text, { ...greedy, maxTokens: 32, speculative: { method: 'lookup' } });
      expect(plain.stats.speculative).toBeUndefined();
      expect(spec.tokens).toEqual(plain.tokens);
      const s = spec.stats.speculative!;
      console.log(`sotu-5m-q8_0 lookup: drafted ${s.drafted}, accepted ${s.accepted}`);
      expect(s.drafted).toBeGreaterThan(0);
      // The OpenAI-shaped surface takes the same option and reports the drafts in usage.
      const c = await engine.completions.create({ prompt: text, max_tokens: 32, temperature: 0, speculative: { method: 'lookup' } });
      expect(c.usage?.speculative_tokens?.drafted).toBeGreaterThan(0);
      expect(c.choices[0].text).toBe(plain.text);
    } finally {
      await engine.dispose();
    }
  });
});

describe('draft model: sotu-5m-f32 target, sotu-5m-q4_0 draft', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await load(SOTU('f32'), { draft: SOTU('q4_0') });
  });
  afterAll(async () => {
    await engine?.dispose();
  });

  test('greedy tokens identical to plain decoding over several prompts; drafts accepted and rejected', async () => {
    expect(engine.info.draft).toBeDefined();
    let drafted = 0, accepted = 0;
    for (const prompt of ['The Congress', 'Call me Ishmael. Some years ago', [BOS]]) {
      const plain = await engine.complete(prompt, { ...greedy, maxTokens: 32, speculative: false });
      const spec = await engine.complete(prompt, { ...greedy, maxTokens: 32 });
      expect(spec.tokens).toEqual(plain.tokens);
      drafted += spec.stats.speculative!.drafted;
      accepted += spec.stats.speculative!.accepted;
    }
    console.log(`sotu-5m f32 + q4_0 draft: drafted ${drafted}, accepted ${accepted} (${((100 * accepted) / drafted).toFixed(0)}%)`);
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(drafted);
  });

  test('sampled: reproducible with a seed, drafts reported', async () => {
    const o = { temperature: 0.9, topK: 40, seed: 42, maxTokens: 24, ignoreEos: true };
    const a = await engine.complete('The Congress', o);
    const b = await engine.complete('The Congress', o);
    expect(a.tokens).toEqual(b.tokens);
    expect(a.tokens).toHaveLength(24);
    expect(a.stats.speculative!.drafted).toBeGreaterThan(0);
  });
});

test('a draft with another vocabulary is refused, naming both', async () => {
  const err = await load(STORIES, { draft: SOTU('q4_0') }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(UnsupportedModelError);
  expect(String((err as Error).message)).toMatch(/4096 tokens.*512 tokens/);
});
