/**
 * The IndexedDB layout of the weight cache (one database, one object store, through idb-keyval's custom store):
 *   ['c', url, i]  chunk i of a file: { bytes, sha } (sha256 hex of the bytes, checked on every read)
 *   ['p', url]     a download in progress: { size, etag, chunkBytes } — lets a later load resume with Range requests
 *   ['f', url]     a complete file: written only after every chunk is stored, so a half-written file never counts
 *   ['m', key]     a model: the files one load() read, with sizes and times (what cache.list() shows)
 * Quantized weights (`cacheQuantized`, loader/quantized-cache.ts) are stored files too, under `<url>#llmo-quantize=<choice>`,
 * their file record carrying what the loader needs instead of the original (`quantized`), their model record `quantize`.
 * Chunks are fixed-size, so a resume restarts at a chunk boundary and a corrupt chunk is re-fetched alone.
 */
import { createStore, get, set, del, type UseStore } from 'idb-keyval';
import { sha256Hex } from './sha256.ts';

export interface ChunkRecord {
  bytes: Uint8Array;
  sha: string;
}

export interface PartialRecord {
  url: string;
  size: number;
  etag?: string;
  chunkBytes: number;
  startedAt: number;
}

export interface FileRecord {
  url: string;
  size: number;
  etag?: string;
  chunkBytes: number;
  /** sha256 (hex) of each chunk, in order. */
  chunkSha: string[];
  /** sha256 (hex) of the whole file when it was checked against a known hash (hub or caller). */
  sha256?: string;
  createdAt: number;
  /** A stored file of quantized weights (loader/quantized-cache.ts): how to read it in place of the original. */
  quantized?: QuantizedFileMeta;
}

/** What a file of quantized weights holds: the original's header, then each tensor as uploaded, in file order. */
export interface QuantizedFileMeta {
  /** The `quantize` choice (lower case). */
  quantize: string;
  /** The original file's bytes before its first tensor (GGUF or safetensors header), stored at the start. */
  header: Uint8Array;
  /** The original file's size, ETag and sha256 (when known), to tell a changed source. */
  source: { size: number; etag?: string; sha256?: string };
  /** Each tensor in file order, as stored after the header: its (possibly converted) type and byte length. */
  tensors: { name: string; type: number; byteLength: number }[];
}

/** One cached model as `cache.list()` reports it. */
export interface CachedModel {
  /** The key to pass to `cache.delete()`: the URL of the model's main file. */
  key: string;
  url: string;
  /** URLs of every cached file of this model (shards, config.json, tokenizer.json, …). */
  files: string[];
  bytes: number;
  createdAt: number;
  lastUsedAt: number;
  /**
   * Set on weights kept already quantized (`load(url, { quantize, cacheQuantized: true })`): the quantize choice.
   * Such an entry's key is `<url>#llmo-quantize=<choice>`; `url` is the model's.
   */
  quantize?: string;
}

let store: UseStore | undefined;
function db(): UseStore {
  store ??= createStore('llmo-cache', 'entries');
  return store;
}

export const cacheAvailable = (): boolean => typeof indexedDB !== 'undefined';

export const getChunk = (url: string, i: number) => get<ChunkRecord>(['c', url, i], db());
export const putChunk = (url: string, i: number, rec: ChunkRecord) => set(['c', url, i], rec, db());

/** Chunk i of a complete file when it is stored whole and hashes to the file record's sha256 for it; else undefined. */
export async function getCheckedChunk(rec: FileRecord, i: number): Promise<Uint8Array | undefined> {
  const c = await getChunk(rec.url, i);
  const len = Math.min(rec.size, (i + 1) * rec.chunkBytes) - i * rec.chunkBytes;
  return c && c.bytes.byteLength === len && (await sha256Hex(c.bytes)) === rec.chunkSha[i] ? c.bytes : undefined;
}
/**
 * Reads a stored file's checked chunks in order, keeping the next `ahead` reads (and hashes) in flight while the caller
 * works on the current one. `take(i)` resolves to the chunk, or undefined if it is missing or corrupt.
 */
export function checkedChunkReader(rec: FileRecord, ahead: number): { take(i: number): Promise<Uint8Array | undefined> } {
  const n = Math.ceil(rec.size / rec.chunkBytes);
  const pending = new Map<number, Promise<Uint8Array | undefined>>();
  const start = (i: number) => {
    if (i >= n || pending.has(i)) return;
    const p = getCheckedChunk(rec, i).catch(() => undefined);
    pending.set(i, p);
  };
  return {
    take(i: number) {
      for (let j = i; j <= i + ahead; j++) start(j);
      const p = pending.get(i)!;
      pending.delete(i);
      return p;
    },
  };
}
export const getPartial = (url: string) => get<PartialRecord>(['p', url], db());
export const putPartial = (rec: PartialRecord) => set(['p', rec.url], rec, db());
export const getFile = (url: string) => get<FileRecord>(['f', url], db());
export const getModel = (key: string) => get<CachedModel>(['m', key], db());
export const putModel = (rec: CachedModel) => set(['m', rec.key], rec, db());
export const deleteModelRecord = (key: string) => del(['m', key], db());

/** Marks a file complete: the file record goes in and the in-progress record out, in one transaction. */
export function completeFile(rec: FileRecord): Promise<void> {
  return db()('readwrite', (s) => {
    s.put(rec, ['f', rec.url]);
    s.delete(['p', rec.url]);
    return promisifyTx(s.transaction);
  });
}

/** Every record of one file (chunks, partial and complete records), as one transaction. */
export function deleteFile(url: string): Promise<void> {
  return db()('readwrite', (s) => {
    s.delete(IDBKeyRange.bound(['c', url], ['c', url, []]));
    s.delete(['p', url]);
    s.delete(['f', url]);
    return promisifyTx(s.transaction);
  });
}

/** Indices of the chunks of `url` that are stored (not checked). */
export function storedChunkIndices(url: string): Promise<number[]> {
  return db()('readonly', (s) =>
    promisifyRequest(s.getAllKeys(IDBKeyRange.bound(['c', url], ['c', url, []]))).then((keys) =>
      (keys as [string, string, number][]).map((k) => k[2])));
}

export function listModels(): Promise<CachedModel[]> {
  return db()('readonly', (s) => promisifyRequest(s.getAll(IDBKeyRange.bound(['m'], ['m', []]))) as Promise<CachedModel[]>);
}

export async function listPartials(): Promise<PartialRecord[]> {
  return db()('readonly', (s) => promisifyRequest(s.getAll(IDBKeyRange.bound(['p'], ['p', []]))) as Promise<PartialRecord[]>);
}

/** Drops the whole database's contents. */
export function clearAll(): Promise<void> {
  return db()('readwrite', (s) => {
    s.clear();
    return promisifyTx(s.transaction);
  });
}

function promisifyRequest<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function promisifyTx(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}
