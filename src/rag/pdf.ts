/**
 * A PDF's text, page by page, for the document store (`store.add([{ id, pages: await pdfPages(bytes, pdfjs) }])`).
 * Reading PDF is pdf.js's job (Mozilla's reader: fonts, encodings, compressed streams, broken files), so the caller
 * passes its `pdfjs-dist` module: llmo's own bundle stays free of pdf.js (~1.3 MB with its worker), and the page's
 * bundler serves pdf.js's worker the way the page already does.
 *
 * What is ours is the layout: pdf.js gives positioned text runs; this turns them into lines (a new baseline or an
 * end-of-line mark), words (a gap between runs is a space) and paragraphs (a line gap clearly wider than the page's
 * usual one is a blank line), so the chunker cuts between paragraphs as it does for text and Markdown. A word split
 * by a hyphen at a line end is joined again.
 */
import { InvalidRequestError } from '../errors.ts';

/** The part of `pdfjs-dist` this uses: pass `import * as pdfjs from 'pdfjs-dist'` (its worker set up as usual). */
export interface PdfJs {
  getDocument(src: { data: Uint8Array }): { promise: Promise<PdfDocument> };
}
interface PdfDocument {
  numPages: number;
  getPage(n: number): Promise<{ getTextContent(): Promise<{ items: unknown[] }> }>;
  destroy(): Promise<void>;
}

/** A text run as pdf.js reports it: transform[4], [5] are its origin; hasEOL marks a line end after it. */
interface TextRun {
  str: string;
  transform: number[];
  width: number;
  height: number;
  hasEOL?: boolean;
}

/** The text of each page of the PDF in `data` (a copy is handed to pdf.js, which detaches what it is given). */
export async function pdfPages(data: ArrayBuffer | Uint8Array, pdfjs: PdfJs): Promise<string[]> {
  let doc: PdfDocument;
  try {
    doc = await pdfjs.getDocument({ data: new Uint8Array(data instanceof Uint8Array ? data : new Uint8Array(data)) }).promise;
  } catch (e) {
    const why = (e as Error)?.name === 'PasswordException' ? 'it is password-protected' : `pdf.js could not read it (${(e as Error)?.message ?? e})`;
    throw new InvalidRequestError(`This PDF cannot be read: ${why}. Give the document's text instead, or another copy of the file.`, { cause: e });
  }
  try {
    const pages: string[] = [];
    for (let n = 1; n <= doc.numPages; n++) {
      const page = await doc.getPage(n);
      pages.push(layoutText((await page.getTextContent()).items.filter(isRun)));
    }
    return pages;
  } finally {
    await doc.destroy();
  }
}

function isRun(x: unknown): x is TextRun {
  return typeof (x as TextRun)?.str === 'string' && Array.isArray((x as TextRun).transform);
}

interface Line {
  text: string;
  y: number;
  height: number;
}

/** Positioned runs → text with one line per line, a blank line between paragraphs. Exported for tests. */
export function layoutText(runs: TextRun[]): string {
  const lines: Line[] = [];
  let cur: Line | undefined;
  let lastEnd = 0; // x where the previous run on this line ended
  let ended = false; // the previous run closed its line
  for (const r of runs) {
    const x = r.transform[4];
    const y = r.transform[5];
    const h = Math.abs(r.height) || Math.abs(r.transform[3]) || 1;
    if (!cur || ended || Math.abs(y - cur.y) > h / 2) {
      if (cur) lines.push(cur);
      cur = { text: '', y, height: h };
      lastEnd = x;
    }
    if (r.str) {
      // A gap of more than a fifth of the font size between two runs is a word space the PDF did not draw.
      if (cur.text && !/\s$/.test(cur.text) && !/^\s/.test(r.str) && x - lastEnd > h * 0.2) cur.text += ' ';
      cur.text += r.str;
      lastEnd = x + r.width;
      cur.height = Math.max(cur.height, h);
    }
    ended = !!r.hasEOL;
  }
  if (cur) lines.push(cur);
  const kept = lines.map((l) => ({ ...l, text: l.text.replace(/\s+/g, ' ').trim() })).filter((l) => l.text);
  // The page's usual distance between baselines; a gap half again as wide starts a paragraph.
  const gaps = kept.slice(1).map((l, i) => kept[i].y - l.y).filter((g) => g > 0).sort((a, b) => a - b);
  const usual = gaps.length ? gaps[Math.floor(gaps.length / 2)] : 0;
  let out = '';
  kept.forEach((l, i) => {
    if (i === 0) {
      out = l.text;
      return;
    }
    const gap = kept[i - 1].y - l.y;
    // Body text sits 1.1-1.5 font sizes apart (double spacing: 2): a gap beyond both rules is a paragraph break.
    const paragraph = gap < 0 || gap > usual * 1.4 || gap > l.height * 2.2;
    if (paragraph) out += '\n\n' + l.text;
    else if (/\p{L}-$/u.test(out) && /^\p{Ll}/u.test(l.text)) out = out.slice(0, -1) + l.text; // hyphen at a line end
    else out += '\n' + l.text;
  });
  return out;
}
