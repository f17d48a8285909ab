/** The evaluation corpus as three documents, and the recall@k measure over QUESTIONS. */
import type { DocInput, SearchHit } from '../../src/rag/types.ts';
import { QUESTIONS } from './retrieval-questions.ts';

export function corpusDocs(text: string): (DocInput & { text: string })[] {
  const paras = text.split(/\n\s*\n/);
  // eval.txt: the 2019 address is its first paragraph, 2020 its second, Moby-Dick the rest.
  return [
    { id: 'sotu-2019', text: paras[0], meta: { title: 'State of the Union 2019', source: 'sotu' } },
    { id: 'sotu-2020', text: paras[1], meta: { title: 'State of the Union 2020', source: 'sotu' } },
    { id: 'moby-dick', text: paras.slice(2).join('\n\n'), meta: { title: 'Moby-Dick (end)', source: 'moby' } },
  ];
}

/** Where each question's answer span lies: document and character range. */
export function answerSpans(docs: (DocInput & { text: string })[]): { doc: string; a: number; b: number }[] {
  return QUESTIONS.map(({ answer }) => {
    for (const d of docs) {
      const a = d.text.indexOf(answer);
      if (a >= 0) {
        if (d.text.indexOf(answer, a + 1) >= 0) throw new Error(`answer span appears twice: ${answer}`);
        return { doc: d.id, a, b: a + answer.length };
      }
    }
    throw new Error(`answer span not in the corpus: ${answer}`);
  });
}

/** Fraction of questions with a hit among their first k results covering the answer span. */
export async function recallAt(k: number, spans: ReturnType<typeof answerSpans>, search: (q: string) => Promise<SearchHit[]>): Promise<{ recall: number; misses: string[] }> {
  let hits = 0;
  const misses: string[] = [];
  for (let i = 0; i < QUESTIONS.length; i++) {
    const s = spans[i];
    const found = (await search(QUESTIONS[i].q)).slice(0, k).some((h) => h.id === s.doc && h.start <= s.a && h.end >= s.b);
    if (found) hits++;
    else misses.push(QUESTIONS[i].q);
  }
  return { recall: hits / QUESTIONS.length, misses };
}
