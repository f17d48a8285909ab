import { describe, expect, test } from 'vitest';
import { CitationFilter, filterCitations } from './citations.ts';
import { mulberry32 } from '../util/random.ts';

const upTo = (n: number) => (x: number) => x >= 1 && x <= n;

describe('citation filter', () => {
  test('keeps markers of given sources, drops others with their space', () => {
    expect(filterCitations('The budget grew [1]. Taxes fell [7]. Both [2, 9] and [3][1].', upTo(3))).toEqual({
      text: 'The budget grew [1]. Taxes fell. Both [2] and [3][1].', cited: [1, 2, 3],
    });
  });

  test('plain brackets and unfinished markers', () => {
    expect(filterCitations('a [note] b [x', upTo(2)).text).toBe('a [note] b [x');
    expect(filterCitations('ends with [1', upTo(2)).text).toBe('ends with');
    expect(filterCitations('[0] zero and [12] twelve', upTo(2)).text).toBe(' zero and twelve');
  });

  test('streamed in random pieces gives the same text as whole, and never shows an invalid marker', () => {
    const texts = ['Yes [1], no [4]; maybe [2,3] [5][1] x[ 2 ] [1, 5, 1].', '[[1]] [3] [ ] [1 ,2', 'a\n[9]\n[2]'];
    const rnd = mulberry32(7);
    for (const t of texts) {
      const whole = filterCitations(t, upTo(3)).text;
      for (let trial = 0; trial < 50; trial++) {
        const f = new CitationFilter(upTo(3));
        let out = '';
        for (let i = 0; i < t.length; ) {
          const n = 1 + Math.floor(rnd() * 4);
          const piece = f.push(t.slice(i, i + n));
          expect(piece).not.toMatch(/\[(?:[^\]]*\D)?[4-9]\]/);
          out += piece;
          i += n;
        }
        out += f.end();
        expect(out).toBe(whole);
      }
    }
  });
});
