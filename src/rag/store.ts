/**
 * A document store kept in IndexedDB (one database per store, per origin): documents → chunks (by the embedder's
 * tokens) → vectors + a BM25 index, searched by keyword, vector or both (reciprocal-rank fusion).
 *
 * IndexedDB holds the truth (store-db.ts); memory holds what search needs (store-memory.ts), rebuilt from IndexedDB
 * on open, so a reload re-embeds nothing, and the keyword index is loaded from its saved snapshot rather than rebuilt
 * where the snapshot still holds the stored documents' versions. Each add/delete/import is ONE transaction: a quota
 * failure aborts all of it (StorageQuotaError) and memory is only updated after the commit, so the store never shows
 * half a document. Other tabs on the same store hear of each commit on a BroadcastChannel and reload the documents
 * it touched from IndexedDB.
 */
import { InvalidRequestError } from '../errors.ts';
import type { ChunkOptions } from './chunk.ts';
import { fuseRanks } from './fuse.ts';
import { deleteDb } from './idb.ts';
import { checkInputs, ingest, type AddProgress } from './ingest.ts';
import { clearDocs, deleteDocs, openStoreDb, readAll, readDoc, readDocs, writeDocs, writeImport, writeKeyword } from './store-db.ts';
import { decodeStore, encodeStore, type StoreConfig, type StoreFile } from './store-file.ts';
import { StoreMemory, type KeywordLoad, type MemChunk } from './store-memory.ts';
import { normalize } from './vector-index.ts';
import type { DocInput, DocSummary, Embedder, SearchHit, SearchMode, SearchOptions, StoredDoc } from './types.ts';
import { VectorSearch, type GpuOption, type VectorSearchInfo } from './vector-search.ts';

export type { AddProgress } from './ingest.ts';
export type { KeywordLoad } from './store-memory.ts';

export interface StoreOptions {
  /** Vectors for chunks and queries; without one the store is keyword-only. */
  embedder?: Embedder;
  /** Chunk size and overlap in the embedder's tokens (defaults: 256 and 32). Fixed when the store is created. */
  chunk?: ChunkOptions;
  /** Keep the store in IndexedDB (default true); false keeps it in memory only. */
  persist?: boolean;
  /** Texts per embed() call (default 16). */
  embedBatch?: number;
  /**
   * Exact vector search on the GPU for large stores: a GPUDevice to use, 'auto' (default: open one when needed, not on
   * a software adapter) or false (always the CPU).
   */
  gpu?: GpuOption;
  /** Vectors from which search moves to the GPU (default 20 000). */
  gpuMinChunks?: number;
}

export interface AddOptions {
  onProgress?: (p: AddProgress) => void;
  signal?: AbortSignal;
}

const DB_PREFIX = 'llmo-rag:';
/**
 * The keyword index is saved this long after the last change (and on close): one save for a burst of adds. Saving
 * serializes the whole index on the page's thread (2.6 s at 100k chunks on SwiftShader's host, BENCHMARKS.md), so
 * large stores wait longer for a quiet moment: 1 s, plus 0.1 ms per chunk.
 */
const saveKeywordAfterMs = (chunks: number) => Math.max(1000, chunks / 10);

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
  private readonly mem: StoreMemory;
  private readonly persist: boolean;
  private readonly dbName: string;
  private syncing: Promise<void> = Promise.resolve();
  private saveTimer?: ReturnType<typeof setTimeout>;
  /** How the keyword index came back when the store was opened (undefined: not persisted). */
  keywordLoad?: KeywordLoad;
  private readonly vectorSearcher: VectorSearch;

  /** @internal use openStore() */
  constructor(readonly name: string, private readonly options: StoreOptions) {
    this.persist = options.persist ?? true;
    this.mem = new StoreMemory(!this.persist);
    this.dbName = DB_PREFIX + name;
    this.vectorSearcher = new VectorSearch(options.gpu, options.gpuMinChunks);
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
    this.db = await openStoreDb(this.dbName);
    await this.reloadAll(true);
    if (typeof BroadcastChannel !== 'undefined') {
      this.channel = new BroadcastChannel(this.dbName);
      this.channel.onmessage = (e: MessageEvent<{ type: string; ids?: string[] }>) => {
        const m = e.data;
        this.syncing = this.syncing.then(() => (m.type === 'docs' && m.ids ? this.reload(m.ids) : m.type === 'deleted' ? this.mem.clear() : this.reloadAll())).catch(() => {});
      };
    }
  }

  /** Resolves once changes announced by other tabs so far are applied here. */
  sync(): Promise<void> {
    return this.syncing;
  }

  /** Documents, chunks and vector size. */
  get stats(): { docs: number; chunks: number; dims: number | null; embedder: string | null } {
    return { docs: this.mem.docs.size, chunks: this.mem.chunks.size, dims: this.config.dims, embedder: this.config.embedder };
  }

  /** Where the last vector search ran (CPU or GPU), and why not on the GPU. */
  get vectorSearch(): VectorSearchInfo {
    return this.vectorSearcher.info;
  }

  list(): DocSummary[] {
    return [...this.mem.docs.values()].sort((a, b) => a.addedAt - b.addedAt || (a.id < b.id ? -1 : 1));
  }

  has(id: string): boolean {
    return this.mem.docs.has(id);
  }

  /** A document with its (plain) text, or undefined. */
  async get(id: string): Promise<StoredDoc | undefined> {
    return this.db ? readDoc(this.db, id) : this.mem.texts.get(id);
  }

  /** The chunks of a document, in order (text and offsets into its stored text). */
  chunksOf(id: string): MemChunk[] {
    return this.mem.chunksOf(id);
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
    if (this.db) await deleteDocs(this.db, list);
    for (const id of list) this.mem.forget(id);
    this.changed(list);
  }

  /** Deletes every document (the store's configuration stays). */
  async clear(): Promise<void> {
    if (this.db) await clearDocs(this.db);
    this.mem.clear();
    this.channel?.postMessage({ type: 'all' });
  }

  async search(query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
    const k = options.k ?? 5;
    const mode: SearchMode = options.mode ?? (this.canEmbed() ? 'hybrid' : 'keyword');
    const accept = options.filter ? this.mem.acceptor(options.filter) : undefined;
    const { keyword, vectors } = this.mem;
    let ranked: { key: string; score: number }[];
    if (mode === 'keyword') ranked = keyword.search(query, k, accept);
    else {
      if (!this.canEmbed()) {
        throw new InvalidRequestError(`Search mode '${mode}' needs vectors: open the store with the embedder it was built with (${this.config.embedder ?? 'none yet'}), or use mode: 'keyword'.`);
      }
      const q = normalize((await this.options.embedder!.embed([query], { normalize: true }))[0]);
      const nearest = (n: number) => (vectors ? this.vectorSearcher.topK(vectors, q, n, accept) : []);
      if (mode === 'vector') ranked = await nearest(k);
      else {
        const n = Math.max(50, 4 * k);
        ranked = fuseRanks([keyword.search(query, n, accept), await nearest(n)], k);
      }
    }
    return ranked.map(({ key, score }) => this.mem.hit(key, score));
  }

  /** The whole store (documents, chunks, vectors, configuration) as one JSON file. */
  async export(): Promise<Blob> {
    const { docs, chunks } = this.db ? await readAll(this.db) : { docs: [...this.mem.texts.values()], chunks: this.mem.records() };
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
    const config = { ...this.config, embedder: data.config.embedder ?? this.config.embedder, dims: data.config.dims ?? this.config.dims };
    if (this.db) {
      await writeImport(this.db, this.dbName, data, config, replace);
      this.adoptConfig(config);
      await this.reloadAll();
      this.channel?.postMessage({ type: 'all' });
    } else {
      if (replace) this.mem.clear();
      this.adoptConfig(config);
      for (const d of data.docs) this.mem.remember(d, data.chunks.filter((c) => c.doc === d.id));
    }
    return { docs: data.docs.length, chunks: data.chunks.length };
  }

  /** Saves the keyword index if it changed, closes the database handle and stops listening to other tabs (the data stays). */
  close(): void {
    if (this.saveTimer !== undefined) this.saveKeyword(); // its transaction completes before the handle really closes
    this.vectorSearcher.dispose();
    this.channel?.close();
    this.db?.close();
    this.db = undefined;
  }

  // ---- internals ----

  private canEmbed(): boolean {
    return !!this.options.embedder && (this.config.embedder === null || this.config.embedder === embedderName(this.options.embedder));
  }

  private async write(inputs: DocInput[], replace: boolean, options: AddOptions): Promise<{ docs: number; chunks: number }> {
    checkInputs(inputs, replace ? undefined : (id) => this.mem.docs.has(id));
    const embedder = this.options.embedder;
    if (this.config.embedder && !embedder) throw new InvalidRequestError(`This store holds vectors of ${this.config.embedder}; open it with that embedder to add documents.`);
    if (embedder && !this.canEmbed()) throw new InvalidRequestError(`This store holds vectors of ${this.config.embedder}, not ${embedderName(embedder)}; open it with that embedder, or use a new store.`);
    const progress = (p: Omit<AddProgress, 'docs'>) => options.onProgress?.({ ...p, docs: inputs.length });
    const { docs, chunks, dims } = await ingest(inputs, {
      maxTokens: this.config.maxTokens, overlapTokens: this.config.overlapTokens, embedder,
      embedBatch: this.options.embedBatch ?? 16, dims: this.config.dims, signal: options.signal, progress,
    });
    options.signal?.throwIfAborted();
    progress({ phase: 'store', chunks: chunks.length, totalChunks: chunks.length });
    const config = { ...this.config, dims, embedder: this.config.embedder ?? (embedder ? embedderName(embedder) : null) };
    if (this.db) await writeDocs(this.db, this.dbName, docs, chunks, config, replace);
    this.adoptConfig(config);
    for (const d of docs) this.mem.remember(d, chunks.filter((c) => c.doc === d.id));
    this.changed(docs.map((d) => d.id));
    progress({ phase: 'done', chunks: chunks.length, totalChunks: chunks.length });
    return { docs: docs.length, chunks: chunks.length };
  }

  private adoptConfig(c: StoreConfig): void {
    if (this.options.embedder && c.embedder && c.embedder !== embedderName(this.options.embedder)) {
      throw new InvalidRequestError(`Store ${this.name} holds vectors of ${c.embedder}, but it was opened with ${embedderName(this.options.embedder)}; open it with the same embedder, or use another store name.`);
    }
    this.config = { ...c };
    this.mem.useDims(c.dims);
  }

  private checkCompatible(c: StoreConfig, replace: boolean): void {
    const mine = this.config.embedder;
    const ours = replace && this.mem.docs.size === 0 ? null : mine;
    if (c.embedder && ours && c.embedder !== ours) throw new InvalidRequestError(`This file holds vectors of ${c.embedder}; the store holds ${ours}. Import it into a store opened with ${c.embedder}.`);
    if (this.options.embedder && c.embedder && c.embedder !== embedderName(this.options.embedder)) {
      throw new InvalidRequestError(`This file holds vectors of ${c.embedder}, but the store was opened with ${embedderName(this.options.embedder)}.`);
    }
  }

  /** Re-reads the given documents from IndexedDB (after another tab changed them). */
  private async reload(ids: string[]): Promise<void> {
    if (!this.db) return;
    const { config, found } = await readDocs(this.db, ids);
    if (config) this.adoptConfig(config);
    ids.forEach((id, j) => {
      const [d, cs] = found[j];
      if (d) this.mem.remember(d, cs);
      else this.mem.forget(id);
    });
    this.keywordChanged();
  }

  /** Re-reads everything; on open, the keyword index comes from its snapshot where that is still current. */
  private async reloadAll(opening = false): Promise<void> {
    if (!this.db) return;
    const all = await readAll(this.db, opening);
    if (all.config) this.adoptConfig(all.config);
    const load = this.mem.load(all.docs, all.chunks, all.keyword);
    if (opening) this.keywordLoad = load;
    if (load.how !== 'loaded') this.keywordChanged();
  }

  /** Our own commit: other tabs reload these documents; the keyword index is saved a moment later. */
  private changed(ids: string[]): void {
    this.channel?.postMessage({ type: 'docs', ids });
    this.keywordChanged();
  }

  private keywordChanged(): void {
    if (!this.db) return;
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => this.saveKeyword(), saveKeywordAfterMs(this.mem.chunks.size));
  }

  private saveKeyword(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (!this.db) return;
    writeKeyword(this.db, this.mem.snapshot()).catch(() => {}); // best effort: a missing snapshot costs a rebuild, never a wrong hit
  }
}

function embedderName(e: Embedder): string {
  return e.info?.name ?? 'embedder';
}
