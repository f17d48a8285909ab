/**
 * BM25 keyword search over chunks through MiniSearch (BM25+ scoring, incremental add and discard without a rebuild,
 * a Unicode-aware tokenizer, no dependencies, ~7 kB gzipped): what a hand-written inverted index would have to
 * grow into. Terms are lower-cased, stripped of accents and of common English suffixes' plural 's'; short stop words
 * are dropped so a question's "what did the" does not rank chunks.
 *
 * The index is saved as MiniSearch's own JSON (`serialize`/`deserialize`): loading it skips tokenizing every chunk
 * again, which is most of the cost of a rebuild.
 */
import MiniSearch from 'minisearch';

const STOP = new Set(('a an and are as at be but by did do does for from had has have he her his how i if in into is it its ' +
  'me my no not of on or our she so that the their them then there these they this those to was we were what when where ' +
  'which who whom why will with would you your').split(' '));

export function term(t: string): string | null {
  const w = t.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[’']s$/, '');
  if (w.length < 2 && !/\d/.test(w)) return null;
  if (STOP.has(w)) return null;
  return w.length > 4 && w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w;
}

interface Entry {
  id: string;
  text: string;
  title: string;
}

const OPTIONS = {
  fields: ['text', 'title'],
  storeFields: [],
  processTerm: term,
  searchOptions: { boost: { title: 2 }, combineWith: 'OR' as const },
};

/** Bump when term() or OPTIONS change: saved indexes of another format are rebuilt, not loaded. */
export const KEYWORD_FORMAT = 1;

/** A saved keyword index and the document versions it holds (doc id → [rev, chunk count]). */
export interface KeywordSnapshot {
  format: number;
  docs: Record<string, [rev: string, chunks: number]>;
  index: string;
}

export class KeywordIndex {
  private readonly ms: MiniSearch<Entry>;

  constructor(json?: string) {
    this.ms = json === undefined ? new MiniSearch<Entry>(OPTIONS) : MiniSearch.loadJSON<Entry>(json, OPTIONS);
  }

  serialize(): string {
    return JSON.stringify(this.ms);
  }

  /** The index saved by serialize() (throws on anything else). */
  static deserialize(json: string): KeywordIndex {
    return new KeywordIndex(json);
  }

  get size(): number {
    return this.ms.documentCount;
  }

  has(key: string): boolean {
    return this.ms.has(key);
  }

  set(key: string, text: string, title = ''): void {
    if (this.ms.has(key)) this.ms.discard(key);
    this.ms.add({ id: key, text, title });
  }

  delete(key: string): void {
    if (this.ms.has(key)) this.ms.discard(key);
  }

  /** The k best chunks for `query` by BM25, best first; `accept` filters by key. */
  search(query: string, k: number, accept?: (key: string) => boolean): { key: string; score: number }[] {
    const hits = this.ms.search(query, accept ? { filter: (r) => accept(r.id as string) } : {});
    return hits.slice(0, k).map((h) => ({ key: h.id as string, score: h.score }));
  }
}
