/**
 * A document store kept in IndexedDB (one database per store, per origin): documents → chunks (by the embedder's
 * tokens) → vectors + a BM25 index, searched by keyword, vector or both (reciprocal-rank fusion).
 *
 * IndexedDB holds the truth; memory holds what search needs (chunk texts, the vector matrix, the keyword index),
 * rebuilt from IndexedDB on open, so a reload re-embeds nothing. Each add/delete/import is ONE transaction: a quota
 * failure aborts all of it (StorageQuotaError) and memory is only updated after the commit, so the store never
 * shows half a document. Other tabs on the same store hear of each commit on a BroadcastChannel and reload the
 * documents it touched from IndexedDB.
 */
import { InvalidRequestError } from '../errors.ts';
import { chunkText, approxTokens, type ChunkOptions, type TokenCounter } from './chunk.ts';
import { extractText, guessFormat } from './extract.ts';
import { fuseRanks } from './fuse.ts';
import { done, openDb, deleteDb, req, transact, writeError } from './idb.ts';
import { KeywordIndex } from './keyword-index.ts';
import { VectorIndex } from './vector-index.ts';
import { matchFilter } from './filter.ts';
import type { ChunkRecord, DocInput, Embedder, Meta, SearchHit, SearchMode, SearchOptions, StoredDoc } from './types.ts';
import { decodeStore, encodeStore, type StoreConfig, type StoreFile } from './store-file.ts';

export interface StoreOptions {
  /** Vectors for chunks and queries; without one the store is keyword-only. */
  embedder?: Embedder;
  /** Chunk size and overlap in the embedder's tokens (defaults: 256 and 32). Fixed when the store is created. */
  chunk?: ChunkOptions;
  /** Keep the store in IndexedDB (default true); false keeps it in memory only. */
  persist?: boolean;
  /** Texts per embed() call (default 16). */
  embedBatch?: number;
}

export interface AddProgress {
  phase: 'chunk' | 'embed' | 'store' | 'done';
  /** Chunks embedded so far, of `totalChunks`. */
  chunks: number;
  totalChunks: number;
  docs: number;
}

export interface AddOptions {
  onProgress?: (p: AddProgress) => void;
  signal?: AbortSignal;
}

/** What `list()` gives per document (its text comes from `get(id)`). */
export type DocSummary = Omit<StoredDoc, 'text'>;

const DB_PREFIX = 'llmo-rag:';
const CONFIG = 'config';
const chunkKey = (doc: string, i: number) => `${doc}\u0001${i}`;
type MemChunk = Omit<ChunkRecord, 'vector'>;

/** Opens (or creates) the store `name`; its documents, chunks and vectors come back from IndexedDB. */
export async function openStore(name: string, options: StoreOptions = {}): Promise<DocumentStore> {
  const s = new DocumentStore(name, options);
  await s.open();
  return s;
}

/** Deletes the store `name` and everything in it. */
export async function deleteStore(name: string): Promise<void> {
  const ch = typeof BroadcastChannel !== 'undefined' ? new BroadcastChannel(DB_PREFIX + name) : undefined;
  ch?.postMessage({ type: 'deleted' });
  ch?.close();
  await deleteDb(DB_PREFIX + name);
}

export class DocumentStore {
  private db?: IDBDatabase;
  private channel?: BroadcastChannel;
  private config: StoreConfig;
  private readonly docs = new Map<string, DocSummary>();
  private readonly chunks = new Map<string, MemChunk>();
  private vectors?: VectorIndex;
  private keyword = new KeywordIndex();
  private readonly persist: boolean;
  private readonly dbName: string;
  private syncing: Promise<void> = Promise.resolve();

  /** @internal use openStore() */
  constructor(readonly name: string, private readonly options: StoreOptions) {
    this.persist = options.persist ?? true;
    this.dbName = DB_PREFIX + name;
    this.config = {
      embedder: options.embedder ? embedderName(options.embedder) : null,
      dims: null,
      maxTokens: options.chunk?.maxTokens ?? 256,
      overlapTokens: options.chunk?.overlapTokens ?? 32,
    };
  }

  /** @internal */
  async open(): Promise<void> {
    if (!this.persist) return;
    this.db = await openDb(this.dbName, 1, (db) => {
      db.createObjectStore('docs', { keyPath: 'id' });
      db.createObjectStore('chunks', { keyPath: ['doc', 'i'] });
      db.createObjectStore('meta');
    });
    const stored = await req(this.db.transaction('meta').objectStore('meta').get(CONFIG)) as StoreConfig | undefined;
    if (stored) this.adoptConfig(stored);
    await this.reloadAll();
    if (typeof BroadcastChannel !== 'undefined') {
      this.channel = new BroadcastChannel(this.dbName);
      this.channel.onmessage = (e: MessageEvent<{ type: string; ids?: string[] }>) => {
        const m = e.data;
        this.syncing = this.syncing.then(() => (m.type === 'docs' && m.ids ? this.reload(m.ids) : m.type === 'deleted' ? this.dropMemory() : this.reloadAll())).catch(() => {});
      };
    }
  }

  /** Resolves once changes announced by other tabs so far are applied here. */
  sync(): Promise<void> {
    return this.syncing;
  }

  /** Documents, chunks and vector size. */
  get stats(): { docs: number; chunks: number; dims: number | null; embedder: string | null } {
    return { docs: this.docs.size, chunks: this.chunks.size, dims: this.config.dims, embedder: this.config.embedder };
  }

  list(): DocSummary[] {
    return [...this.docs.values()].sort((a, b) => a.addedAt - b.addedAt || (a.id < b.id ? -1 : 1));
  }

  has(id: string): boolean {
    return this.docs.has(id);
  }

  /** A document with its (plain) text, or undefined. */
  async get(id: string): Promise<StoredDoc | undefined> {
    if (!this.db) return this.memText.get(id);
    return (await req(this.db.transaction('docs').objectStore('docs').get(id))) as StoredDoc | undefined;
  }

  /** The chunks of a document, in order (text and offsets into its stored text). */
  chunksOf(id: string): MemChunk[] {
    const n = this.docs.get(id)?.chunks ?? 0;
    return Array.from({ length: n }, (_, i) => this.chunks.get(chunkKey(id, i))!).filter(Boolean);
  }

  /** Adds new documents; an id already in the store is an InvalidRequestError (use upsert to replace). */
  add(docs: DocInput[], options: AddOptions = {}): Promise<{ docs: number; chunks: number }> {
    return this.write(docs, false, options);
  }

  /** Adds documents, replacing any with the same id. */
  upsert(docs: DocInput[], options: AddOptions = {}): Promise<{ docs: number; chunks: number }> {
    return this.write(docs, true, options);
  }

  /** Deletes documents (and their chunks and vectors) by id; unknown ids are ignored. */
  async delete(ids: string | string[]): Promise<void> {
    const list = Array.isArray(ids) ? ids : [ids];
    if (this.db) {
      await transact(this.db, ['docs', 'chunks'], (tx) => {
        for (const id of list) {
          tx.objectStore('docs').delete(id);
          tx.objectStore('chunks').delete(docRange(id));
        }
      });
    }
    for (const id of list) this.forget(id);
    this.announce(list);
  }

  /** Deletes every document (the store's configuration stays). */
  async clear(): Promise<void> {
    if (this.db) {
      const tx = this.db.transaction(['docs', 'chunks'], 'readwrite');
      tx.objectStore('docs').clear();
      tx.objectStore('chunks').clear();
      await done(tx);
    }
    this.dropMemory();
    this.channel?.postMessage({ type: 'all' });
  }

  async search(query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
    const k = options.k ?? 5;
    const mode: SearchMode = options.mode ?? (this.canEmbed() ? 'hybrid' : 'keyword');
    const accept = options.filter ? this.acceptor(options.filter) : undefined;
    let ranked: { key: string; score: number }[];
    if (mode === 'keyword') ranked = this.keyword.search(query, k, accept);
    else {
      if (!this.canEmbed()) {
        throw new InvalidRequestError(`Search mode '${mode}' needs vectors: open the store with the embedder it was built with (${this.config.embedder ?? 'none yet'}), or use mode: 'keyword'.`);
      }
      const [q] = await this.options.embedder!.embed([query], { normalize: true });
      if (mode === 'vector') ranked = this.vectors ? this.vectors.topK(q, k, accept) : [];
      else {
        const n = Math.max(50, 4 * k);
        ranked = fuseRanks([this.keyword.search(query, n, accept), this.vectors ? this.vectors.topK(q, n, accept) : []], k);
      }
    }
    return ranked.map(({ key, score }) => {
      const c = this.chunks.get(key)!;
      return { id: c.doc, chunk: c.i, text: c.text, start: c.start, end: c.end, meta: this.docs.get(c.doc)?.meta ?? {}, score };
    });
  }

  /** The whole store (documents, chunks, vectors, configuration) as one JSON file. */
  async export(): Promise<Blob> {
    const docs: StoredDoc[] = [];
    const chunks: ChunkRecord[] = [];
    if (this.db) {
      const tx = this.db.transaction(['docs', 'chunks']);
      docs.push(...((await req(tx.objectStore('docs').getAll())) as StoredDoc[]));
      chunks.push(...((await req(tx.objectStore('chunks').getAll())) as ChunkRecord[]));
    } else {
      docs.push(...this.memText.values());
      for (const c of this.chunks.values()) chunks.push({ ...c, vector: this.memVectors.get(chunkKey(c.doc, c.i)) ?? null });
    }
    return new Blob([encodeStore({ config: this.config, docs, chunks })], { type: 'application/json' });
  }

  /**
   * Loads a file written by export(). 'merge' (default) upserts its documents; 'replace' empties the store first.
   * The file's embedder must be this store's (vectors from two models do not compare).
   */
  async import(file: Blob | string, options: { mode?: 'merge' | 'replace' } = {}): Promise<{ docs: number; chunks: number }> {
    const data: StoreFile = decodeStore(typeof file === 'string' ? file : await file.text());
    const replace = options.mode === 'replace';
    this.checkCompatible(data.config, replace);
    const bytes = data.chunks.reduce((a, c) => a + 2 * c.text.length + 4 * (c.vector?.length ?? 0), 0);
    const config = { ...this.config, embedder: data.config.embedder ?? this.config.embedder, dims: data.config.dims ?? this.config.dims };
    if (this.db) {
      try {
        await transact(this.db, ['docs', 'chunks', 'meta'], (tx) => {
          if (replace) {
            tx.objectStore('docs').clear();
            tx.objectStore('chunks').clear();
          }
          for (const d of data.docs) {
            tx.objectStore('chunks').delete(docRange(d.id));
            tx.objectStore('docs').put(d);
          }
          for (const c of data.chunks) tx.objectStore('chunks').put(c);
          tx.objectStore('meta').put(config, CONFIG);
        });
      } catch (e) {
        throw writeError(e, `importing ${data.docs.length} documents`, this.dbName, bytes);
      }
      this.adoptConfig(config);
      await this.reloadAll();
      this.channel?.postMessage({ type: 'all' });
    } else {
      if (replace) this.dropMemory();
      this.adoptConfig(config);
      for (const d of data.docs) this.remember(d, data.chunks.filter((c) => c.doc === d.id));
    }
    return { docs: data.docs.length, chunks: data.chunks.length };
  }

  /** Closes the database handle and stops listening to other tabs (the data stays). */
  close(): void {
    this.channel?.close();
    this.db?.close();
    this.db = undefined;
  }

  // ---- internals ----

  /** In-memory stores (persist: false) keep texts and vectors here. */
  private readonly memText = new Map<string, StoredDoc>();
  private readonly memVectors = new Map<string, Float32Array>();

  private canEmbed(): boolean {
    return !!this.options.embedder && (this.config.embedder === null || this.config.embedder === embedderName(this.options.embedder));
  }

  private tokenCounter(): TokenCounter {
    const e = this.options.embedder;
    if (!e?.tokenize) return approxTokens;
    return (texts) => Promise.all(texts.map(async (t) => (await e.tokenize!(t)).length));
  }

  private async write(inputs: DocInput[], replace: boolean, options: AddOptions): Promise<{ docs: number; chunks: number }> {
    const seen = new Set<string>();
    for (const d of inputs) {
      if (!d || typeof d.id !== 'string' || !d.id || typeof d.text !== 'string') throw new InvalidRequestError('Each document needs { id: non-empty string, text: string, meta? }.');
      if (seen.has(d.id)) throw new InvalidRequestError(`Document id ${JSON.stringify(d.id)} appears twice in one call; give each document its own id.`);
      seen.add(d.id);
      if (!replace && this.docs.has(d.id)) throw new InvalidRequestError(`The store already has a document ${JSON.stringify(d.id)}; use upsert() to replace it.`);
    }
    const embedder = this.options.embedder;
    if (this.config.embedder && !embedder) throw new InvalidRequestError(`This store holds vectors of ${this.config.embedder}; open it with that embedder to add documents.`);
    if (embedder && !this.canEmbed()) throw new InvalidRequestError(`This store holds vectors of ${this.config.embedder}, not ${embedderName(embedder)}; open it with that embedder, or use a new store.`);
    const progress = (p: Omit<AddProgress, 'docs'>) => options.onProgress?.({ ...p, docs: inputs.length });
    const count = this.tokenCounter();
    const now = Date.now();
    const docs: StoredDoc[] = [];
    const chunks: ChunkRecord[] = [];
    for (const d of inputs) {
      options.signal?.throwIfAborted();
      const text = extractText(d.text, d.format ?? guessFormat(String(d.meta?.title ?? d.id)));
      const parts = await chunkText(text, count, { maxTokens: this.config.maxTokens, overlapTokens: this.config.overlapTokens });
      docs.push({ id: d.id, text, meta: { ...(d.meta ?? {}) }, chunks: parts.length, addedAt: now });
      parts.forEach((p, i) => chunks.push({ doc: d.id, i, text: p.text, start: p.start, end: p.end, tokens: p.tokens, vector: null }));
      progress({ phase: 'chunk', chunks: 0, totalChunks: chunks.length });
    }
    let dims = this.config.dims;
    if (embedder) {
      const batch = this.options.embedBatch ?? 16;
      for (let i = 0; i < chunks.length; i += batch) {
        options.signal?.throwIfAborted();
        const vs = await embedder.embed(chunks.slice(i, i + batch).map((c) => c.text), { normalize: true });
        vs.forEach((v, j) => {
          dims ??= v.length;
          if (v.length !== dims) throw new InvalidRequestError(`The embedder returned a ${v.length}-dimensional vector where the store holds ${dims}; use the same embedder throughout.`);
          chunks[i + j].vector = Float32Array.from(v);
        });
        progress({ phase: 'embed', chunks: Math.min(i + batch, chunks.length), totalChunks: chunks.length });
      }
    }
    options.signal?.throwIfAborted();
    progress({ phase: 'store', chunks: chunks.length, totalChunks: chunks.length });
    const config = { ...this.config, dims, embedder: this.config.embedder ?? (embedder ? embedderName(embedder) : null) };
    if (this.db) {
      try {
        await transact(this.db, ['docs', 'chunks', 'meta'], (tx) => {
          const docsStore = tx.objectStore('docs');
          const chunkStore = tx.objectStore('chunks');
          for (const d of docs) {
            if (!replace) {
              // Another tab may have added this id since we checked memory: add() makes the transaction the arbiter.
              docsStore.add(d);
            } else {
              chunkStore.delete(docRange(d.id));
              docsStore.put(d);
            }
          }
          for (const c of chunks) chunkStore.put(c);
          tx.objectStore('meta').put(config, CONFIG);
        });
      } catch (e) {
        if ((e as Error)?.name === 'ConstraintError') throw new InvalidRequestError('A document with one of these ids was added meanwhile (another tab?); use upsert() to replace it.', { cause: e });
        const bytes = chunks.reduce((a, c) => a + 2 * c.text.length + 4 * (c.vector?.length ?? 0), 0) + docs.reduce((a, d) => a + 2 * d.text.length, 0);
        throw writeError(e, `adding ${docs.length} document${docs.length === 1 ? '' : 's'} (${chunks.length} chunks)`, this.dbName, bytes);
      }
    }
    this.adoptConfig(config);
    for (const d of docs) this.remember(d, chunks.filter((c) => c.doc === d.id));
    this.announce(docs.map((d) => d.id));
    progress({ phase: 'done', chunks: chunks.length, totalChunks: chunks.length });
    return { docs: docs.length, chunks: chunks.length };
  }

  private adoptConfig(c: StoreConfig): void {
    if (this.options.embedder && c.embedder && c.embedder !== embedderName(this.options.embedder)) {
      throw new InvalidRequestError(`Store ${this.name} holds vectors of ${c.embedder}, but it was opened with ${embedderName(this.options.embedder)}; open it with the same embedder, or use another store name.`);
    }
    this.config = { ...c };
    if (c.dims && !this.vectors) this.vectors = new VectorIndex(c.dims);
  }

  private checkCompatible(c: StoreConfig, replace: boolean): void {
    const mine = this.config.embedder;
    const ours = replace && this.docs.size === 0 ? null : mine;
    if (c.embedder && ours && c.embedder !== ours) throw new InvalidRequestError(`This file holds vectors of ${c.embedder}; the store holds ${ours}. Import it into a store opened with ${c.embedder}.`);
    if (this.options.embedder && c.embedder && c.embedder !== embedderName(this.options.embedder)) {
      throw new InvalidRequestError(`This file holds vectors of ${c.embedder}, but the store was opened with ${embedderName(this.options.embedder)}.`);
    }
  }

  private remember(d: StoredDoc, chunks: ChunkRecord[]): void {
    this.forget(d.id);
    const { text, ...summary } = d;
    this.docs.set(d.id, summary);
    if (!this.db) this.memText.set(d.id, d);
    const title = typeof d.meta.title === 'string' ? d.meta.title : '';
    for (const c of chunks) {
      const { vector, ...mem } = c;
      const key = chunkKey(c.doc, c.i);
      this.chunks.set(key, mem);
      this.keyword.set(key, c.text, title);
      if (vector) {
        this.vectors ??= new VectorIndex(vector.length);
        this.vectors.set(key, vector);
        if (!this.db) this.memVectors.set(key, vector);
      }
    }
    void text;
  }

  private forget(id: string): void {
    const d = this.docs.get(id);
    if (!d) return;
    for (let i = 0; i < d.chunks; i++) {
      const key = chunkKey(id, i);
      this.chunks.delete(key);
      this.keyword.delete(key);
      this.vectors?.delete(key);
      this.memVectors.delete(key);
    }
    this.docs.delete(id);
    this.memText.delete(id);
  }

  private dropMemory(): void {
    this.docs.clear();
    this.chunks.clear();
    this.memText.clear();
    this.memVectors.clear();
    this.keyword = new KeywordIndex();
    if (this.vectors) this.vectors = new VectorIndex(this.vectors.dims);
  }

  /** Re-reads the given documents from IndexedDB (after another tab changed them). */
  private async reload(ids: string[]): Promise<void> {
    if (!this.db) return;
    const tx = this.db.transaction(['docs', 'chunks', 'meta']);
    const config = (await req(tx.objectStore('meta').get(CONFIG))) as StoreConfig | undefined;
    const found = await Promise.all(ids.map(async (id) => [
      (await req(tx.objectStore('docs').get(id))) as StoredDoc | undefined,
      (await req(tx.objectStore('chunks').getAll(docRange(id)))) as ChunkRecord[],
    ] as const));
    if (config) this.adoptConfig(config);
    ids.forEach((id, j) => {
      const [d, cs] = found[j];
      if (d) this.remember(d, cs);
      else this.forget(id);
    });
  }

  private async reloadAll(): Promise<void> {
    if (!this.db) return;
    const tx = this.db.transaction(['docs', 'chunks']);
    const [docs, chunks] = await Promise.all([
      req(tx.objectStore('docs').getAll()) as Promise<StoredDoc[]>,
      req(tx.objectStore('chunks').getAll()) as Promise<ChunkRecord[]>,
    ]);
    this.dropMemory();
    const byDoc = new Map<string, ChunkRecord[]>();
    for (const c of chunks) (byDoc.get(c.doc) ?? byDoc.set(c.doc, []).get(c.doc)!).push(c);
    for (const d of docs) this.remember(d, byDoc.get(d.id) ?? []);
  }

  private announce(ids: string[]): void {
    this.channel?.postMessage({ type: 'docs', ids });
  }

  private acceptor(filter: NonNullable<SearchOptions['filter']>): (key: string) => boolean {
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

function docRange(id: string): IDBKeyRange {
  return IDBKeyRange.bound([id, 0], [id, Infinity]);
}

function embedderName(e: Embedder): string {
  return e.info?.name ?? 'embedder';
}
