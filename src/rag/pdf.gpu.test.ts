/**
 * PDF input in Chromium: PDFs written at test time (pdf-lib, test/rag/make-pdf.ts) read back through pdf.js
 * (pdfjs-dist, its real worker) by pdfPages, stored as pages, and searched; chunks name the pages they lie on.
 */
import { describe, expect, test } from 'vitest';
import * as pdfjs from 'pdfjs-dist';
import workerSrc from 'pdfjs-dist/build/pdf.worker.min.mjs?url';
import { store, pdfPages, InvalidRequestError } from '../index.ts';
import { makePdf } from '../../test/rag/make-pdf.ts';

pdfjs.GlobalWorkerOptions.workerSrc = workerSrc;
const norm = (s: string) => s.replace(/\s+/g, ' ').trim();

async function corpusPages(): Promise<string[][]> {
  const text = await (await fetch('/shared/corpora/eval.txt')).text();
  // Helvetica's WinAnsi encoding: plain ASCII only. Sentences of the 2019 address, three paragraphs a page.
  const sentences = text.slice(0, 40_000).replace(/[^\x20-\x7e\n]/g, ' ').split(/(?<=[.!?])\s+/).map(norm).filter((s) => s.length > 20);
  const paras: string[] = [];
  for (let i = 0; paras.length < 9; i += 3) paras.push(sentences.slice(i, i + 3).join(' '));
  return [paras.slice(0, 3), paras.slice(3, 6), paras.slice(6, 9)];
}

describe('PDF input', () => {
  test('pdfPages gives each page\'s text with its paragraphs; chunks carry their pages; search finds them', async () => {
    const src = await corpusPages();
    const hyphen = ['A word broken at the end of a line is joined again: the con-\ntinuation of the sentence follows.', 'A last paragraph on its own.'];
    const bytes = await makePdf([...src, hyphen]);
    const pages = await pdfPages(bytes, pdfjs);
    expect(pages.length).toBe(4);
    src.forEach((paras, i) => expect(pages[i].split('\n\n').map(norm)).toEqual(paras));
    expect(pages[3].split('\n\n').map(norm)).toEqual(['A word broken at the end of a line is joined again: the continuation of the sentence follows.', 'A last paragraph on its own.']);

    // Small chunks stay inside a page (a page break is a paragraph break); large ones pack paragraphs across pages.
    const spans: number[] = [];
    for (const maxTokens of [40, 400]) {
      const kb = await store('pdf', { persist: false, chunk: { maxTokens, overlapTokens: 0 } });
      await kb.add([{ id: 'sotu.pdf', pages, meta: { title: 'sotu.pdf' } }]);
      const doc = (await kb.get('sotu.pdf'))!;
      const chunks = kb.chunksOf('sotu.pdf');
      for (const c of chunks) {
        const [a, b] = c.pages!;
        expect(a).toBeGreaterThanOrEqual(1);
        expect(b).toBeGreaterThanOrEqual(a);
        // Its text lies on those pages, starts on the first and ends on the last.
        expect(norm(pages.slice(a - 1, b).join('\n\n'))).toContain(norm(c.text));
        expect(norm(pages[a - 1])).toContain(norm(doc.text.slice(c.start, c.start + 30)));
        expect(norm(pages[b - 1])).toContain(norm(doc.text.slice(c.end - 30, c.end)));
      }
      expect(new Set(chunks.flatMap((c) => c.pages!))).toEqual(new Set([1, 2, 3, 4]));
      spans.push(chunks.filter((c) => c.pages![1] > c.pages![0]).length);
    }
    expect(spans[0]).toBe(0);
    expect(spans[1]).toBeGreaterThan(0);
    const kb = await store('pdf', { persist: false, chunk: { maxTokens: 40, overlapTokens: 0 } });
    await kb.add([{ id: 'sotu.pdf', pages, meta: { title: 'sotu.pdf' } }]);
    // A sentence only page 3 holds is found there, and the hit says so.
    const probe = src[2][1].split(' ').slice(2, 12).join(' ');
    const [hit] = await kb.search(probe, { k: 1 });
    expect(hit.pages![0] <= 3 && hit.pages![1] >= 3).toBe(true);
    expect(norm(hit.text)).toContain(norm(probe));
  });

  test('a file pdf.js cannot read is InvalidRequestError', async () => {
    const err = await pdfPages(new TextEncoder().encode('%PDF-1.7 this is not really a pdf'), pdfjs).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect((err as Error).message).toMatch(/PDF cannot be read/);
  });
});
