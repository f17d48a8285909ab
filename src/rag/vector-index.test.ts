import { describe, expect, test } from 'vitest';
import { VectorIndex, topOf, normalize } from './vector-index.ts';
import { fuseRanks } from './fuse.ts';
import { matchFilter } from './filter.ts';
import { mulberry32 } from '../util/random.ts';

const rand = (n: number, r: () => number) => Array.from({ length: n }, () => r() * 2 - 1);

describe('VectorIndex', () => {
  test('top-k equals a full sort of cosines, through adds, replaces and deletes', () => {
    const r = mulberry32(3);
    const d = 24;
    const ix = new VectorIndex(d, 4);
    const ref = new Map<string, number[]>();
    for (let i = 0; i < 300; i++) {
      const v = rand(d, r);
      ix.set(`k${i % 250}`, v);
      ref.set(`k${i % 250}`, v);
    }
    for (let i = 0; i < 250; i += 3) {
      ix.delete(`k${i}`);
      ref.delete(`k${i}`);
    }
    expect(ix.size).toBe(ref.size);
    const cos = (a: number[], b: number[]) => {
      const x = normalize(a), y = normalize(b);
      return x.reduce((s, _, i) => s + x[i] * y[i], 0);
    };
    for (let t = 0; t < 20; t++) {
      const q = rand(d, r);
      const want = [...ref].map(([key, v]) => ({ key, score: cos(q, v) })).sort((a, b) => b.score - a.score).slice(0, 7);
      const got = ix.topK(q, 7);
      expect(got.map((g) => g.key)).toEqual(want.map((w) => w.key));
      got.forEach((g, i) => expect(g.score).toBeCloseTo(want[i].score, 5));
    }
    const odd = ix.topK(rand(d, r), 5, (k) => Number(k.slice(1)) % 2 === 1);
    expect(odd.every((h) => Number(h.key.slice(1)) % 2 === 1)).toBe(true);
  });

  test('topOf: k larger than the list, ties by index, k = 0', () => {
    expect(topOf([1, 3, 3, 2], 10).map((x) => x.i)).toEqual([1, 2, 3, 0]);
    expect(topOf([1, 2], 0)).toEqual([]);
  });
});

describe('fusion and filters', () => {
  test('reciprocal-rank fusion favours documents both lists rank', () => {
    const fused = fuseRanks([[{ key: 'a' }, { key: 'b' }, { key: 'c' }], [{ key: 'c' }, { key: 'b' }, { key: 'd' }]], 3);
    // c: 1/63 + 1/61 > b: 2/62 > a: 1/61 alone.
    expect(fused.map((f) => f.key)).toEqual(['c', 'b', 'a']);
    expect(fused[1].score).toBeCloseTo(2 / 62, 12);
  });
  test('metadata filters', () => {
    const meta = { year: 2020, tags: ['budget', 'tax'], title: 'Memo' };
    expect(matchFilter({ year: 2020 }, meta, 'm')).toBe(true);
    expect(matchFilter({ year: [2019, 2021] }, meta, 'm')).toBe(false);
    expect(matchFilter({ tags: 'tax', title: ['Memo', 'Other'] }, meta, 'm')).toBe(true);
    expect(matchFilter({ id: 'm' }, meta, 'm')).toBe(true);
    expect(matchFilter((m, id) => m.year === 2020 && id === 'x', meta, 'm')).toBe(false);
  });
});
