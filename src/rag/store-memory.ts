/**
 * What search needs, in memory: document summaries, chunk texts, the vector matrix and the keyword index, kept in
 * step by remember()/forget(). IndexedDB is the truth; this is rebuilt from it on open (the keyword index from its
 * saved snapshot where that is still current). A store that is not persisted also keeps texts and vectors here.
 */
import { KeywordIndex, KEYWORD_FORMAT, type KeywordSnapshot } from './keyword-index.ts';
import { VectorIndex } from './vector-index.ts';
import { matchFilter } from './filter.ts';
import type { ChunkRecord, DocSummary, Meta, SearchHit, SearchOptions, StoredDoc } from './types.ts';

export type MemChunk = Omit<ChunkRecord, 'vector'>;
export const chunkKey = (doc: string, i: number) => `${doc}\u0001${i}`;
/** Documents written before revisions existed are named by their time of writing. */
export const revOf = (d: { rev?: string; addedAt: number }) => d.rev ?? `t${d.addedAt}`;

/** How the keyword index came back on open: loaded as saved, saved then brought up to date, or built anew. */
export interface KeywordLoad {
  how: 'loaded' | 'repaired' | 'rebuilt';
  /** Documents (re)indexed because the snapshot did not hold their current version. */
  indexedDocs: number;
  ms: number;
}

export class StoreMemory {
  readonly docs = new Map<string, DocSummary>();
  readonly chunks = new Map<string, MemChunk>();
  keyword = new KeywordIndex();
  vectors?: VectorIndex;
  /** Texts and vectors of a store that is not persisted (persisted ones read them from IndexedDB). */
  readonly texts = new Map<string, StoredDoc>();
  readonly vecs = new Map<string, Float32Array>();

  constructor(private readonly keepAll: boolean) {}

  useDims(dims: number | null): void {
    if (dims && !this.vectors) this.vectors = new VectorIndex(dims);
  }

  /** Takes in one document (replacing any older version); `index` false: its chunks are in the keyword index already. */
  remember(d: StoredDoc, chunks: ChunkRecord[], index = true): void {
    this.forget(d.id, index);
    const { text, ...summary } = d;
    this.docs.set(d.id, summary);
    if (this.keepAll) this.texts.set(d.id, d);
    const title = typeof d.meta.title === 'string' ? d.meta.title : '';
    for (const c of chunks) {
      const { vector, ...mem } = c;
      const key = chunkKey(c.doc, c.i);
      this.chunks.set(key, mem);
      if (index) this.keyword.set(key, c.text, title);
      if (vector) {
        this.vectors ??= new VectorIndex(vector.length);
        this.vectors.set(key, vector);
        if (this.keepAll) this.vecs.set(key, vector);
      }
    }
    void text;
  }

  forget(id: string, unindex = true): void {
    const d = this.docs.get(id);
    if (!d) return;
    for (let i = 0; i < d.chunks; i++) {
      const key = chunkKey(id, i);
      this.chunks.delete(key);
      if (unindex) this.keyword.delete(key);
      this.vectors?.delete(key);
      this.vecs.delete(key);
    }
    this.docs.delete(id);
    this.texts.delete(id);
  }

  clear(): void {
    this.docs.clear();
    this.chunks.clear();
    this.texts.clear();
    this.vecs.clear();
    this.keyword = new KeywordIndex();
    if (this.vectors) this.vectors = new VectorIndex(this.vectors.dims);
  }

  /**
   * Fills memory from IndexedDB's contents, reusing a saved keyword index: documents whose version it does not hold
   * are indexed again, those it holds that are gone or changed are taken out. Rebuilt whole when it is missing, of
   * another format, unreadable, or more than half out of date (rebuilding is then about as fast).
   */
  load(docs: StoredDoc[], chunks: ChunkRecord[], snapshot?: KeywordSnapshot): KeywordLoad {
    const t0 = performance.now();
    this.clear();
    const byDoc = new Map<string, ChunkRecord[]>();
    for (const c of chunks) (byDoc.get(c.doc) ?? byDoc.set(c.doc, []).get(c.doc)!).push(c);
    let saved: KeywordIndex | undefined;
    const stale = new Set<string>();
    if (snapshot?.format === KEYWORD_FORMAT && typeof snapshot.index === 'string') {
      try {
        saved = KeywordIndex.deserialize(snapshot.index);
      } catch {
        saved = undefined; // unreadable: rebuild
      }
    }
    if (saved) {
      const current = new Map(docs.map((d) => [d.id, revOf(d)]));
      for (const [id, [rev, n]] of Object.entries(snapshot!.docs)) {
        if (current.get(id) === rev) continue;
        for (let i = 0; i < n; i++) saved.delete(chunkKey(id, i));
      }
      for (const d of docs) if (snapshot!.docs[d.id]?.[0] !== revOf(d)) stale.add(d.id);
      if (stale.size > docs.length / 2) saved = undefined;
    }
    if (saved) this.keyword = saved;
    for (const d of docs) this.remember(d, byDoc.get(d.id) ?? [], !saved || stale.has(d.id));
    // Every chunk indexed exactly once, or the snapshot lied (e.g. chunk counts): rebuild rather than trust it.
    if (saved && this.keyword.size !== this.chunks.size) return this.load(docs, chunks);
    const ms = performance.now() - t0;
    if (!saved) return { how: 'rebuilt', indexedDocs: docs.length, ms };
    return { how: stale.size ? 'repaired' : 'loaded', indexedDocs: stale.size, ms };
  }

  /** The keyword index with the versions of the documents it holds. */
  snapshot(): KeywordSnapshot {
    const docs: KeywordSnapshot['docs'] = {};
    for (const d of this.docs.values()) docs[d.id] = [revOf(d), d.chunks];
    return { format: KEYWORD_FORMAT, docs, index: this.keyword.serialize() };
  }

  chunksOf(id: string): MemChunk[] {
    const n = this.docs.get(id)?.chunks ?? 0;
    return Array.from({ length: n }, (_, i) => this.chunks.get(chunkKey(id, i))!).filter(Boolean);
  }

  /** Chunk records with their vectors (a store that is not persisted, for export). */
  records(): ChunkRecord[] {
    return [...this.chunks.values()].map((c) => ({ ...c, vector: this.vecs.get(chunkKey(c.doc, c.i)) ?? null }));
  }

  hit(key: string, score: number): SearchHit {
    const c = this.chunks.get(key)!;
    return { id: c.doc, chunk: c.i, text: c.text, start: c.start, end: c.end, meta: this.docs.get(c.doc)?.meta ?? {}, ...(c.pages ? { pages: c.pages } : {}), score };
  }

  /** A key predicate for a metadata filter (decided once per document). */
  acceptor(filter: NonNullable<SearchOptions['filter']>): (key: string) => boolean {
    const memo = new Map<string, boolean>();
    return (key) => {
      const doc = this.chunks.get(key)?.doc;
      if (doc === undefined) return false;
      let ok = memo.get(doc);
      if (ok === undefined) memo.set(doc, (ok = matchFilter(filter, this.docs.get(doc)?.meta ?? ({} as Meta), doc)));
      return ok;
    };
  }
}
