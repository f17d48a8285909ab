/**
 * PDFs written at test time with pdf-lib (nothing downloaded): pages of paragraphs in Helvetica 11 pt, lines wrapped
 * to the page width, 14 pt between baselines and one empty line between paragraphs, as a word processor lays them out.
 */
import { PDFDocument, StandardFonts } from 'pdf-lib';

/** `pages[i]` holds page i+1's paragraphs; a paragraph is drawn as given if it holds '\n' (forced line breaks). */
export async function makePdf(pages: string[][]): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  const size = 11;
  const lead = 14;
  for (const paras of pages) {
    const page = pdf.addPage([612, 792]);
    let y = 792 - 72;
    for (const para of paras) {
      const lines = para.includes('\n') ? para.split('\n') : wrap(para, (t) => font.widthOfTextAtSize(t, size), 612 - 144);
      for (const line of lines) {
        page.drawText(line, { x: 72, y, size, font });
        y -= lead;
      }
      y -= lead;
    }
  }
  return pdf.save();
}

function wrap(text: string, width: (t: string) => number, max: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const w of text.split(/\s+/)) {
    const next = cur ? `${cur} ${w}` : w;
    if (cur && width(next) > max) {
      lines.push(cur);
      cur = w;
    } else cur = next;
  }
  if (cur) lines.push(cur);
  return lines;
}
