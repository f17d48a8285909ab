import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { chunkText, paragraphs, sentences, approxTokens, type TokenCounter } from './chunk.ts';
import { extractText, guessFormat } from './extract.ts';

/** Words as tokens: exact and easy to reason about. */
const words: TokenCounter = async (ts) => ts.map((t) => t.split(/\s+/).filter(Boolean).length);

describe('sentences and paragraphs', () => {
  test('split on terminal punctuation, not on abbreviations or initials', () => {
    const t = 'General Dwight D. Eisenhower spoke. Mr. Smith agreed! Did he? “Yes.” The end';
    expect(sentences(t).map(([a, b]) => t.slice(a, b))).toEqual(['General Dwight D. Eisenhower spoke.', 'Mr. Smith agreed!', 'Did he?', '“Yes.”', 'The end']);
  });
  test('paragraphs are separated by blank lines', () => {
    const t = 'One.\nstill one.\n\n  \nTwo.\n\nThree.';
    expect(paragraphs(t).map(([a, b]) => t.slice(a, b))).toEqual(['One.\nstill one.', 'Two.', 'Three.']);
  });
});

describe('chunkText', () => {
  const para = (n: number, w = 5) => Array.from({ length: n }, (_, i) => `P${n} sentence ${i} ${'w '.repeat(w - 3).trim()}.`).join(' ');

  test('chunks stay within maxTokens, cover every sentence, and offsets point into the text', async () => {
    const text = [para(3), para(9), para(2), para(30)].join('\n\n');
    const chunks = await chunkText(text, words, { maxTokens: 20, overlapTokens: 6 });
    for (const c of chunks) {
      expect(c.tokens).toBeLessThanOrEqual(20);
      expect(text.slice(c.start, c.end)).toBe(c.text);
    }
    for (const [a, b] of paragraphs(text).flatMap(([x, y]) => sentences(text, x, y))) {
      expect(chunks.some((c) => c.start <= a && c.end >= b)).toBe(true);
    }
  });

  test('a cut inside a paragraph overlaps; a cut at a paragraph boundary does not', async () => {
    const text = [para(3), para(12)].join('\n\n');
    const chunks = await chunkText(text, words, { maxTokens: 20, overlapTokens: 5 });
    // 15 words of paragraph 1 + the 60 of paragraph 2 do not fit: paragraph 1 alone first (no overlap into it).
    expect(chunks[0].text).toBe(para(3));
    expect(chunks[1].start).toBeGreaterThan(chunks[0].end);
    // Inside paragraph 2, each chunk starts with the previous one's last sentence.
    for (let i = 2; i < chunks.length; i++) expect(chunks[i].start).toBeLessThan(chunks[i - 1].end);
  });

  test('a sentence longer than a chunk is cut between words; a giant word between characters', async () => {
    const long = Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ') + '.';
    const chunks = await chunkText(long, words, { maxTokens: 16, overlapTokens: 4 });
    expect(chunks.length).toBeGreaterThanOrEqual(7);
    expect(chunks.every((c) => c.tokens <= 16)).toBe(true);
    expect(chunks.map((c) => c.text).join(' ')).toBe(long);
    const blob = 'x'.repeat(1000);
    const parts = await chunkText(blob, approxTokens, { maxTokens: 32 });
    expect(parts.map((c) => c.text).join('')).toBe(blob);
    expect(parts.every((c) => c.tokens <= 32)).toBe(true);
  });

  test('the real corpus (two 30 kB single-line speeches and Moby-Dick paragraphs) chunks within budget', async () => {
    const text = readFileSync('../shared/corpora/eval.txt', 'utf8');
    const chunks = await chunkText(text, approxTokens, { maxTokens: 128, overlapTokens: 24 });
    expect(chunks.every((c) => c.tokens <= 128 && text.slice(c.start, c.end) === c.text)).toBe(true);
    expect(chunks.length).toBeGreaterThan(200);
  });
});

describe('extractText', () => {
  test('Markdown keeps words and block boundaries', () => {
    const md = '# Budget 2020\nThe **deficit** fell, see [the report](http://x).\n\n- item `one`\n- item two\n\n```js\nconst a = 1;\n```\n[ref]: http://y';
    expect(extractText(md, 'markdown')).toBe('Budget 2020\n\nThe deficit fell, see the report.\n\nitem one\nitem two\n\nconst a = 1;');
  });
  test('HTML drops scripts and tags, decodes entities, blocks become paragraphs', () => {
    const html = '<html><head><title>Memo 7</title><style>p{}</style></head><body><h1>Budget</h1><p>Tax &amp; spend&#8212;<b>now</b>.</p><script>alert(1)</script><ul><li>a</li><li>b</li></ul></body></html>';
    expect(extractText(html, 'html')).toBe('Memo 7\n\nBudget\n\nTax & spend—now.\n\na\n\nb');
  });
  test('format from the name', () => {
    expect([guessFormat('a.MD'), guessFormat('x.htm'), guessFormat('notes.txt'), guessFormat(undefined)]).toEqual(['markdown', 'html', 'text', 'text']);
  });
});
