/** PDF files for the Documents panel: pdf.js is loaded on the first PDF only (its ~1.3 MB stay out of the demo's start). */
import { pdfPages, type PdfJs } from '../src/index.ts';

let pdfjs: Promise<PdfJs> | undefined;

function loadPdfJs(): Promise<PdfJs> {
  // Vite's ?worker builds pdf.js's worker as a .js file (some static hosts serve .mjs with a non-JavaScript type).
  pdfjs ??= Promise.all([import('pdfjs-dist'), import('pdfjs-dist/build/pdf.worker.min.mjs?worker')]).then(([m, PdfWorker]) => {
    m.GlobalWorkerOptions.workerPort = new PdfWorker.default();
    return m;
  });
  return pdfjs;
}

export const isPdf = (f: File) => f.type === 'application/pdf' || /\.pdf$/i.test(f.name);

/** The file's text page by page (chunks then name their pages). */
export async function readPdf(f: File): Promise<string[]> {
  return pdfPages(await f.arrayBuffer(), await loadPdfJs());
}
