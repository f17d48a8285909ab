import { describe, expect, it } from 'vitest';
import { PromptLookup, acceptSampled, draw, type Dist } from './speculative.ts';
import { mulberry32 } from '../util/random.ts';

describe('prompt lookup', () => {
  it('continues the latest earlier occurrence of the longest matching n-gram', async () => {
    const pl = new PromptLookup(3, 1);
    // last 3-gram [1,2,3] occurs at 0 (→ 9 9) and at 5 (→ 7 8): the latest wins.
    expect((await pl.propose([1, 2, 3, 9, 9, 1, 2, 3, 7, 8, 4, 1, 2, 3], 4)).tokens).toEqual([7, 8, 4, 1]);
    // no 3-gram or 2-gram match; the 1-gram [5] occurs at 1.
    expect((await pl.propose([4, 5, 6, 7, 5], 2)).tokens).toEqual([6, 7]);
    // the continuation stops at the end of the history
    expect((await pl.propose([1, 2, 1, 2], 5)).tokens).toEqual([1, 2]);
  });
  it('proposes nothing without a match of at least ngramMin', async () => {
    expect((await new PromptLookup(3, 2).propose([4, 5, 6, 7, 5], 2)).tokens).toEqual([]);
    expect((await new PromptLookup(3, 1).propose([1], 2)).tokens).toEqual([]);
  });
});

/** Pearson chi-square of observed counts against expected probabilities (cells with expected count ≥ 5). */
function chiSquare(counts: Map<number, number>, p: Dist, n: number): { stat: number; dof: number } {
  let stat = 0;
  let dof = -1;
  p.ids.forEach((id, i) => {
    const e = p.probs[i] * n;
    const o = counts.get(id) ?? 0;
    stat += ((o - e) * (o - e)) / e;
    dof++;
  });
  for (const id of counts.keys()) if (!p.ids.includes(id)) return { stat: Infinity, dof };
  return { stat, dof };
}

describe('speculative sampling keeps the target distribution', () => {
  // Target p and draft q over a 6-token vocabulary, deliberately different (q favours what p does not).
  const p: Dist = { ids: [0, 1, 2, 3, 4, 5], probs: [0.35, 0.25, 0.15, 0.12, 0.08, 0.05] };
  const q: Dist = { ids: [5, 4, 3, 0], probs: [0.4, 0.3, 0.2, 0.1] };
  const p2: Dist = { ids: [2, 3, 4], probs: [0.5, 0.3, 0.2] };
  const N = 40000;
  // 99.9% quantile of chi-square with 5 dof is 20.5.
  const CHI2_5_999 = 20.5;

  it('first emitted token ~ p with a sampled draft model (q ≠ p), second token ~ p2 given acceptance', () => {
    const random = mulberry32(7);
    const first = new Map<number, number>();
    let accepted = 0;
    for (let t = 0; t < N; t++) {
      const d = draw(q, random());
      const r = acceptSampled([d], [p, p2], [q], random);
      const tok = r.accepted === 1 ? d : r.next;
      first.set(tok, (first.get(tok) ?? 0) + 1);
      accepted += r.accepted;
    }
    const { stat, dof } = chiSquare(first, p, N);
    expect(dof).toBe(5);
    expect(stat).toBeLessThan(CHI2_5_999);
    // Acceptance rate of speculative sampling is sum_x min(p, q): here 0.1 + 0.12 + 0.08 + 0.05 = 0.35.
    expect(accepted / N).toBeCloseTo(0.35, 1);
  });

  it('point-mass drafts (prompt lookup): accepted with probability p(d), otherwise p without d', () => {
    const random = mulberry32(11);
    const first = new Map<number, number>();
    for (let t = 0; t < N; t++) {
      const r = acceptSampled([1], [p, p2], undefined, random);
      const tok = r.accepted === 1 ? 1 : r.next;
      first.set(tok, (first.get(tok) ?? 0) + 1);
    }
    expect(chiSquare(first, p, N).stat).toBeLessThan(CHI2_5_999);
  });

  it('a wrong acceptance rule is caught: always keeping the draft fails the test', () => {
    const random = mulberry32(13);
    const first = new Map<number, number>();
    for (let t = 0; t < N; t++) {
      const d = draw(q, random());
      first.set(d, (first.get(d) ?? 0) + 1);
    }
    expect(chiSquare(first, p, N).stat).toBeGreaterThan(CHI2_5_999);
  });

  it('after all drafts are kept, the bonus token comes from the last row', () => {
    const random = mulberry32(17);
    const counts = new Map<number, number>();
    let kept = 0;
    for (let t = 0; t < N; t++) {
      const r = acceptSampled([0], [{ ids: [0], probs: [1] }, p], undefined, random);
      kept += r.accepted;
      counts.set(r.next, (counts.get(r.next) ?? 0) + 1);
    }
    expect(kept).toBe(N);
    expect(chiSquare(counts, p, N).stat).toBeLessThan(CHI2_5_999);
  });
});
