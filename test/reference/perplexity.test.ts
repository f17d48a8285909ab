import { describe, expect, it } from 'vitest';
import { perplexity, perplexityWindows, windowNll } from './perplexity.ts';

describe('llama.cpp-style perplexity', () => {
  it('cuts whole windows and puts BOS first in each', () => {
    expect(perplexityWindows([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 4, 1)).toEqual([[1, 1, 2, 3], [1, 5, 6, 7]]);
  });
  it('scores only the second half: positions nCtx/2 .. nCtx-2 predicting the next token', () => {
    const vocab = 3;
    // window of 6: scored rows 3 and 4 predict window[4] and window[5]
    const logits = new Float32Array(6 * vocab).fill(NaN); // unscored rows must not be read
    logits.set([0, Math.log(3), 0], 3 * vocab); // p(1) = 3/5
    logits.set([Math.log(4), 0, 0], 4 * vocab); // p(0) = 4/6
    const r = windowNll(logits, [1, 2, 2, 2, 1, 0], vocab);
    expect(r.count).toBe(2);
    expect(r.nll).toBeCloseTo(-Math.log(3 / 5) - Math.log(4 / 6), 6);
  });
  it('uniform logits give perplexity = vocabulary size', () => {
    const ws = perplexityWindows(Array.from({ length: 40 }, (_, i) => i % 7), 8, 1);
    expect(perplexity(ws, 7, (w) => new Float32Array(w.length * 7))).toBeCloseTo(7, 6);
  });
});
