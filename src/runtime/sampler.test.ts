/** Each sampling option checked against its definition on crafted logits (hand-computed distributions). */
import { describe, expect, test } from 'vitest';
import { Sampler, logSoftmax } from './sampler.ts';

const L = Float32Array.from([2, 1, 0.5, 0, -1, -3]);
const softmax = (x: number[]) => {
  const m = Math.max(...x);
  const e = x.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};
const OFF = { topK: 0, topP: 1, minP: 0 };

describe('distribution options', () => {
  test('temperature T gives softmax(logits / T)', () => {
    for (const T of [0.5, 1, 2]) {
      const { ids, probs } = new Sampler({ ...OFF, temperature: T }).candidates(L);
      expect(ids).toEqual([0, 1, 2, 3, 4, 5]);
      const want = softmax([...L].map((v) => v / T));
      probs.forEach((p, i) => expect(p).toBeCloseTo(want[i], 12));
    }
  });
  test('top-k keeps the k most likely, renormalised', () => {
    const { ids, probs } = new Sampler({ ...OFF, temperature: 1, topK: 3 }).candidates(L);
    expect(ids).toEqual([0, 1, 2]);
    const want = softmax([2, 1, 0.5]);
    probs.forEach((p, i) => expect(p).toBeCloseTo(want[i], 12));
  });
  test('top-p keeps the smallest prefix whose mass reaches p', () => {
    const full = softmax([...L]);
    // full[0] ≈ 0.52, full[0]+full[1] ≈ 0.71, +full[2] ≈ 0.83
    expect(new Sampler({ ...OFF, temperature: 1, topP: 0.5 }).candidates(L).ids).toEqual([0]);
    expect(new Sampler({ ...OFF, temperature: 1, topP: 0.7 }).candidates(L).ids).toEqual([0, 1]);
    expect(new Sampler({ ...OFF, temperature: 1, topP: 0.8 }).candidates(L).ids).toEqual([0, 1, 2]);
    expect(full[0] + full[1]).toBeGreaterThan(0.7);
  });
  test('min-p drops tokens below minP × the top probability', () => {
    const full = softmax([...L]);
    const minP = 0.3; // keeps p ≥ 0.3·p0: e^-1 ≈ 0.37 and e^-1.5 ≈ 0.22 → ids 0, 1
    const { ids, probs } = new Sampler({ ...OFF, temperature: 1, minP }).candidates(L);
    expect(ids).toEqual(ids.filter((id) => full[id] >= minP * full[0]));
    expect(ids).toEqual([0, 1]);
    expect(probs[0] + probs[1]).toBeCloseTo(1, 12);
  });
  test('seeded draws reproduce, and their frequencies follow the probabilities', () => {
    const draw = (seed: number, n: number) => {
      const s = new Sampler({ ...OFF, temperature: 1, seed });
      return Array.from({ length: n }, () => s.sample(L));
    };
    expect(draw(5, 50)).toEqual(draw(5, 50));
    expect(draw(5, 50)).not.toEqual(draw(6, 50));
    const n = 20000;
    const counts = new Array(6).fill(0);
    for (const id of draw(11, n)) counts[id]++;
    const p = softmax([...L]);
    for (let i = 0; i < 6; i++) expect(Math.abs(counts[i] / n - p[i])).toBeLessThan(5 * Math.sqrt((p[i] * (1 - p[i])) / n) + 1e-4);
  });
  test('temperature 0 and topK 1 are greedy', () => {
    expect(new Sampler({ temperature: 0 }).sample(L)).toBe(0);
    expect(new Sampler({ temperature: 5, topK: 1, seed: 1 }).sample(L)).toBe(0);
  });
});

describe('logit adjustments', () => {
  test('logit bias adds to the named tokens; -100 bans, +100 forces', () => {
    const s = new Sampler({ logitBias: { 3: 10, 0: -100 } });
    const a = s.adjust(L);
    expect(a[3]).toBeCloseTo(10, 6);
    expect(a[0]).toBeCloseTo(-98, 6);
    expect(a[1]).toBe(1);
    expect(new Sampler({ temperature: 0, logitBias: { 5: 100 } }).sample(L)).toBe(5);
  });
  test('repetition penalty divides positive and multiplies negative logits of seen tokens (prompt too)', () => {
    const s = new Sampler({ repetitionPenalty: 2 });
    s.observePrompt([0]);
    s.accept(4);
    const a = s.adjust(L);
    expect([...a]).toEqual([1, 1, 0.5, 0, -2, -3]);
  });
  test('frequency penalty scales with the count; presence penalty is flat; both only for generated tokens', () => {
    const s = new Sampler({ frequencyPenalty: 0.5, presencePenalty: 0.25 });
    s.observePrompt([2]);
    s.accept(1); s.accept(1); s.accept(1); s.accept(3);
    const a = s.adjust(L);
    expect(a[0]).toBe(2);
    expect(a[1]).toBeCloseTo(1 - 3 * 0.5 - 0.25, 6);
    expect(a[2]).toBe(0.5);
    expect(a[3]).toBeCloseTo(0 - 0.5 - 0.25, 6);
  });
  test('a mask restricts the choice; nothing allowed → -1', () => {
    const allowed = Uint8Array.from([0, 0, 0, 1, 1, 0]);
    expect(new Sampler({ temperature: 0 }).sample(L, allowed)).toBe(3);
    const s = new Sampler({ temperature: 1, topK: 0, topP: 1, seed: 2 });
    for (let i = 0; i < 200; i++) expect([3, 4]).toContain(s.sample(L, allowed));
    expect(new Sampler({ temperature: 1, seed: 2 }).sample(L, new Uint8Array(6))).toBe(-1);
  });
  test('logSoftmax sums to probability 1 and keeps differences', () => {
    const ls = logSoftmax(L);
    expect(ls.reduce((a, v) => a + Math.exp(v), 0)).toBeCloseTo(1, 12);
    expect(ls[0] - ls[1]).toBeCloseTo(1, 6);
  });
});
