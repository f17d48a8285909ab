/**
 * The seeded corrupt-file suite, GPU side: a subset of corrupt-files.test.ts's damaged files (all the data-only
 * ones: NaN / Inf / flipped weights, which only a run on the GPU can judge, and every 16th of the rest) loaded end
 * to end through `load()` in the worker. Each must end in a typed LlmoError or a load that then generates (or fails
 * typed), within 5 s; NaN weights must be reported as such (not as a tokenizer error); and afterwards a fresh engine
 * in the same page still reproduces stories260K's reference text.
 */
import { expect, test } from 'vitest';
import { load, LlmoError, ModelFormatError } from '../../src/index.ts';
import { corruptCases } from './cases.ts';

const MODEL = '/shared/models/stories260K/stories260K.gguf';
const SEED = 20261202; // the Node suite's seed: the same files
const LIMIT_MS = 5000;

async function outcomeOf(bytes: Uint8Array): Promise<{ outcome: string; error?: unknown }> {
  let engine;
  try {
    engine = await load(new Blob([bytes as BlobPart]));
  } catch (e) {
    return { outcome: e instanceof LlmoError ? `load: ${e.name}` : 'load: UNTYPED', error: e };
  }
  try {
    await engine.generate('Once upon a time', { maxTokens: 6, temperature: 0 }).result; // GPU argmax path
    await engine.generate('Once upon a time', { maxTokens: 6, temperature: 0.8, seed: 1 }).result; // logits path
    return { outcome: 'generated' };
  } catch (e) {
    return { outcome: e instanceof LlmoError ? `generate: ${e.name}` : 'generate: UNTYPED', error: e };
  } finally {
    await engine.dispose();
  }
}

test('corrupt files loaded in the worker: typed errors or working engines, each within 5 s; the engine is right afterwards', async () => {
  const base = new Uint8Array(await (await fetch(MODEL)).arrayBuffer());
  // The same work on the intact file: a corrupt file that loads may take as long as a normal load (pipelines compile),
  // and on a busy 2-core machine that alone can pass 5 s; it must not take much longer than that.
  const t0 = performance.now();
  expect((await outcomeOf(base)).outcome).toBe('generated');
  const normalMs = performance.now() - t0;
  // All the data-only cases but the random flips beyond two, and every 24th of the others (header errors are fast).
  let flips = 0;
  const cases = corruptCases(base, 'stories260K.gguf', SEED).filter((c, i) =>
    c.group === 'data' ? !c.name.includes(':byte ') || flips++ < 2 : i % 24 === 0);
  expect(cases.length).toBeGreaterThan(30);
  const tally = new Map<string, number>();
  const bad: string[] = [];
  for (const c of cases) {
    const t0 = performance.now();
    const { outcome, error } = await outcomeOf(c.make());
    const ms = performance.now() - t0;
    tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
    if (outcome.endsWith('UNTYPED')) bad.push(`${c.name}: ${outcome} ${(error as Error)?.stack ?? error}`);
    const limit = outcome.startsWith('load:') ? LIMIT_MS : Math.max(LIMIT_MS, 2 * normalMs);
    if (ms > limit) bad.push(`${c.name}: ${outcome} took ${ms.toFixed(0)} ms (limit ${limit.toFixed(0)}, intact file ${normalMs.toFixed(0)})`);
    // Weights that are all NaN make every logit NaN: that must be named, not blamed on the tokenizer.
    if (/all NaN/.test(c.name)) {
      expect(error, c.name).toBeInstanceOf(ModelFormatError);
      expect((error as Error).message, c.name).toMatch(/NaN or infinite values/);
    }
  }
  console.log(`${cases.length} corrupt files in the worker -> ${JSON.stringify(Object.fromEntries(tally))} (intact file: ${normalMs.toFixed(0)} ms)`);
  expect(bad).toEqual([]);

  const ids = (await (await fetch('/shared/models/stories260K/expected-greedy-200.ids.txt')).text()).trim().split(/\s+/).map(Number);
  const engine = await load(MODEL);
  try {
    const r = await engine.generate([ids[0]], { maxTokens: ids.length - 1, temperature: 0, ignoreEos: true }).result;
    expect([ids[0], ...r.tokens]).toEqual(ids);
  } finally {
    await engine.dispose();
  }
});
