/**
 * The citation automaton against CitationFilter (the page-side check): every text the constraint lets through keeps
 * all its markers under the filter, and texts with an invented number are refused byte for byte.
 */
import { describe, expect, test } from 'vitest';
import { CitationConstraint, step } from './citation-markers.ts';
import { buildTrie } from './token-trie.ts';
import { CitationFilter } from '../rag/citations.ts';
import { mulberry32 } from '../util/random.ts';

const enc = new TextEncoder();
const passes = (text: string, n: number) => {
  let s = 0;
  for (const b of enc.encode(text)) if ((s = step(s, b, n)) < 0) return false;
  return s === 0;
};

describe('citation constraint', () => {
  test('accepts exactly the markers of given sources', () => {
    expect(passes('The budget grew [1]. Ships [2, 3] and more [12].', 12)).toBe(true);
    expect(passes('Text [4].', 3)).toBe(false);
    expect(passes('Text [0].', 3)).toBe(false);
    expect(passes('Text [13].', 12)).toBe(false);
    expect(passes('Text [sic].', 3)).toBe(false);
    expect(passes('Text [1', 3)).toBe(false); // left open: EOS not allowed
    expect(passes('no markers at all', 1)).toBe(true);
    expect(passes('no sources, no [', 0)).toBe(false);
    expect(passes('no sources, no markers', 0)).toBe(true);
  });

  test('random generations under the mask: every marker survives CitationFilter', () => {
    // A toy vocabulary rich in marker pieces, sampled uniformly among allowed tokens.
    const pieces = ['The', ' budget', ' [', '[', ']', '1', '2', '3', '4', '9', '10', '12', ', ', ',', ' ', '.', '][', '[1]', '[7]', '2]', ' ships', '0'];
    const trie = buildTrie(pieces.map((p) => enc.encode(p)));
    const eos = pieces.length; // an EOS id past the byte tokens
    const r = mulberry32(7);
    let markersSeen = 0;
    for (let run = 0; run < 200; run++) {
      const sources = Math.floor(r() * 5);
      const c = new CitationConstraint(sources, { ...trie, vocabSize: pieces.length + 1, bytes: [...trie.bytes, null] }, [eos]);
      let text = '';
      for (let budget = 40; budget > 0; budget--) {
        const m = c.mask(budget);
        const allowed = [...m.keys()].filter((i) => m[i]);
        expect(allowed.length).toBeGreaterThan(0);
        const id = allowed[Math.floor(r() * allowed.length)];
        expect(c.accept(id)).toBe(true);
        if (id === eos) break;
        text += pieces[id];
      }
      expect(c.complete).toBe(true); // the budget closed any open marker
      const f = new CitationFilter((n) => n >= 1 && n <= sources);
      f.push(text);
      f.end();
      expect(f.dropped).toBe(0); // nothing for the page-side filter to remove
      // Every '[' opens a marker of given sources (a stray ']' is plain text).
      const markers = [...text.matchAll(/\[ *(\d+)(?:, *(\d+))*\]/g)];
      expect(markers.length).toBe((text.match(/\[/g) ?? []).length);
      for (const m of markers) for (const n of m[0].match(/\d+/g)!) expect(Number(n) >= 1 && Number(n) <= sources).toBe(true);
      markersSeen += markers.length;
    }
    expect(markersSeen).toBeGreaterThan(100); // the runs did write markers
  });
});
