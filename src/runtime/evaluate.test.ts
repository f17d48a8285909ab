import { describe, expect, it } from 'vitest';
import { planWindows, rowNll } from './evaluate.ts';
import { perplexityWindows, windowNll } from '../../test/reference/perplexity.ts';
import { randArray, rng } from '../../test/reference/test-utils.ts';

describe('evaluate: llama.cpp windows', () => {
  it('consecutive windows match the reference perplexity windows, second half scored', () => {
    const tokens = Array.from({ length: 1000 }, (_, i) => (i * 37) % 101);
    for (const W of [4, 7, 64, 256]) {
      const plans = planWindows(tokens.length, W);
      const ref = perplexityWindows(tokens, W, 1);
      expect(plans.map((p) => p.start)).toEqual(ref.map((_, i) => i * W));
      expect(plans.every((p) => p.scoreFrom === Math.floor(W / 2))).toBe(true);
    }
    expect(planWindows(tokens.length, 64, undefined, 3)).toHaveLength(3);
  });

  it('stride: llama.cpp perplexity_v2 window starts and scored rows', () => {
    // n_chunk = (N - n_ctx + stride - 1) / stride; rows n_ctx - stride - 1 .. n_ctx - 2 scored.
    expect(planWindows(100, 32, 8)).toEqual(Array.from({ length: 9 }, (_, i) => ({ start: i * 8, scoreFrom: 23 })));
    expect(planWindows(33, 32, 8)).toEqual([{ start: 0, scoreFrom: 23 }]);
    expect(() => planWindows(32, 32, 8)).toThrow(/too few/);
    expect(() => planWindows(100, 32, 32)).toThrow(/stride/);
  });

  it('refuses texts shorter than one window and tiny windows', () => {
    expect(() => planWindows(10, 16)).toThrow(/too few for one window of 16/);
    expect(() => planWindows(100, 2)).toThrow(/at least 4/);
  });

  it('per-row NLL equals the reference window NLL', () => {
    const vocab = 50, W = 12;
    const logits = randArray(W * vocab, rng(5), 3);
    const window = Array.from({ length: W }, (_, i) => (i * 13) % vocab);
    const ref = windowNll(logits, window, vocab);
    let sum = 0;
    for (let j = W / 2; j < W - 1; j++) sum += rowNll(logits, j, vocab, window[j + 1]);
    expect(sum).toBeCloseTo(ref.nll, 10);
  });
});
