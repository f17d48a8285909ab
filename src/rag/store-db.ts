/**
 * The document store's IndexedDB schema and its reads and writes. One database per store: `docs` (by id), `chunks`
 * (by [doc, i], vectors included) and `meta` (the configuration, and the saved keyword index). Every write is one
 * transaction, so a failure (quota, a duplicate id from another tab) leaves nothing of it behind.
 */
import { InvalidRequestError } from '../errors.ts';
import { done, openDb, req, transact, writeError } from './idb.ts';
import type { KeywordSnapshot } from './keyword-index.ts';
import type { StoreConfig } from './store-file.ts';
import type { ChunkRecord, StoredDoc } from './types.ts';

const CONFIG = 'config';
const KEYWORD = 'keyword';

export function openStoreDb(dbName: string): Promise<IDBDatabase> {
  return openDb(dbName, 1, (db) => {
    db.createObjectStore('docs', { keyPath: 'id' });
    db.createObjectStore('chunks', { keyPath: ['doc', 'i'] });
    db.createObjectStore('meta');
  });
}

export interface StoreContents {
  config?: StoreConfig;
  docs: StoredDoc[];
  chunks: ChunkRecord[];
}

/** Everything, read in one transaction (a consistent view even while other tabs write). */
export async function readAll(db: IDBDatabase, withKeyword = false): Promise<StoreContents & { keyword?: KeywordSnapshot }> {
  const tx = db.transaction(['docs', 'chunks', 'meta']);
  const meta = tx.objectStore('meta');
  const [config, docs, chunks, keyword] = await Promise.all([
    req(meta.get(CONFIG)) as Promise<StoreConfig | undefined>,
    req(tx.objectStore('docs').getAll()) as Promise<StoredDoc[]>,
    req(tx.objectStore('chunks').getAll()) as Promise<ChunkRecord[]>,
    withKeyword ? (req(meta.get(KEYWORD)) as Promise<KeywordSnapshot | undefined>) : undefined,
  ]);
  return { config, docs, chunks, keyword };
}

/** The given documents (undefined where gone) with their chunks, and the configuration. */
export async function readDocs(db: IDBDatabase, ids: string[]): Promise<{ config?: StoreConfig; found: [StoredDoc | undefined, ChunkRecord[]][] }> {
  const tx = db.transaction(['docs', 'chunks', 'meta']);
  const config = (await req(tx.objectStore('meta').get(CONFIG))) as StoreConfig | undefined;
  const found = await Promise.all(ids.map(async (id) => [
    (await req(tx.objectStore('docs').get(id))) as StoredDoc | undefined,
    (await req(tx.objectStore('chunks').getAll(docRange(id)))) as ChunkRecord[],
  ] as [StoredDoc | undefined, ChunkRecord[]]));
  return { config, found };
}

export async function readDoc(db: IDBDatabase, id: string): Promise<StoredDoc | undefined> {
  return (await req(db.transaction('docs').objectStore('docs').get(id))) as StoredDoc | undefined;
}

/**
 * Writes documents with their chunks and the configuration. `replace` false: add() arbitrates between tabs (an id
 * that another tab added meanwhile fails the whole write); true: each document's old chunks go first.
 */
export async function writeDocs(db: IDBDatabase, dbName: string, docs: StoredDoc[], chunks: ChunkRecord[], config: StoreConfig, replace: boolean): Promise<void> {
  try {
    await transact(db, ['docs', 'chunks', 'meta'], (tx) => {
      const docsStore = tx.objectStore('docs');
      const chunkStore = tx.objectStore('chunks');
      for (const d of docs) {
        if (!replace) docsStore.add(d);
        else {
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
    throw writeError(e, `adding ${docs.length} document${docs.length === 1 ? '' : 's'} (${chunks.length} chunks)`, dbName, bytes);
  }
}

/** An export file's contents: merged (its documents replace those with the same ids) or replacing everything. */
export async function writeImport(db: IDBDatabase, dbName: string, data: StoreContents, config: StoreConfig, replace: boolean): Promise<void> {
  try {
    await transact(db, ['docs', 'chunks', 'meta'], (tx) => {
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
    const bytes = data.chunks.reduce((a, c) => a + 2 * c.text.length + 4 * (c.vector?.length ?? 0), 0);
    throw writeError(e, `importing ${data.docs.length} documents`, dbName, bytes);
  }
}

export function deleteDocs(db: IDBDatabase, ids: string[]): Promise<void> {
  return transact(db, ['docs', 'chunks'], (tx) => {
    for (const id of ids) {
      tx.objectStore('docs').delete(id);
      tx.objectStore('chunks').delete(docRange(id));
    }
  });
}

/** Every document and chunk (the configuration stays; the saved keyword index goes with them). */
export function clearDocs(db: IDBDatabase): Promise<void> {
  const tx = db.transaction(['docs', 'chunks', 'meta'], 'readwrite');
  tx.objectStore('docs').clear();
  tx.objectStore('chunks').clear();
  tx.objectStore('meta').delete(KEYWORD);
  return done(tx);
}

/**
 * Saves the keyword index. Best effort: the snapshot names the document versions it holds, so a missing, failed or
 * outdated one only costs re-indexing at the next open, never a wrong result.
 */
export function writeKeyword(db: IDBDatabase, snapshot: KeywordSnapshot): Promise<void> {
  const tx = db.transaction('meta', 'readwrite');
  tx.objectStore('meta').put(snapshot, KEYWORD);
  return done(tx);
}

function docRange(id: string): IDBKeyRange {
  return IDBKeyRange.bound([id, 0], [id, Infinity]);
}
