/**
 * The few IndexedDB calls the document store and the response cache make, as promises. Each write is one
 * transaction, so a failure (quota) aborts all of it: nothing is half-written.
 */
import { StorageQuotaError } from '../errors.ts';

export function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/** Resolves when the transaction commits; rejects with its error (e.g. QuotaExceededError) when it aborts. */
export function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new DOMException('The transaction was aborted.', 'AbortError'));
  });
}

/**
 * One readwrite transaction: `fill` issues the writes; any exception it throws (a put that fails synchronously)
 * aborts the transaction, so earlier writes of the same call are rolled back rather than committed.
 */
export async function transact(db: IDBDatabase, stores: string[], fill: (tx: IDBTransaction) => void): Promise<void> {
  const tx = db.transaction(stores, 'readwrite');
  const finished = done(tx);
  try {
    fill(tx);
  } catch (e) {
    finished.catch(() => {});
    try {
      tx.abort();
    } catch {
      // already finished
    }
    throw e;
  }
  await finished;
}

export function openDb(name: string, version: number, upgrade: (db: IDBDatabase, tx: IDBTransaction) => void): Promise<IDBDatabase> {
  if (typeof indexedDB === 'undefined') {
    return Promise.reject(new StorageQuotaError('IndexedDB is not available here (a private window, or a non-browser runtime); pass { persist: false } to keep the store in memory.', `indexeddb:${name}`, 0, 0));
  }
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(name, version);
    r.onupgradeneeded = () => upgrade(r.result, r.transaction!);
    r.onsuccess = () => {
      const db = r.result;
      // Another tab deleting or upgrading this database: let it, this handle is reopened on the next call.
      db.onversionchange = () => db.close();
      resolve(db);
    };
    r.onerror = () => reject(r.error);
    // onblocked: another tab holds an older version open; it closes on versionchange (above), then this open proceeds.
  });
}

export function deleteDb(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const r = indexedDB.deleteDatabase(name);
    r.onsuccess = () => resolve();
    r.onerror = () => reject(r.error);
    r.onblocked = () => resolve(); // completes once the other handles close (they close on versionchange)
  });
}

/** A failed write as the typed error: a quota failure becomes StorageQuotaError with the bytes it tried to write. */
export function writeError(e: unknown, what: string, dbName: string, bytes: number): unknown {
  const name = (e as { name?: string } | null)?.name;
  if (name === 'QuotaExceededError') {
    return new StorageQuotaError(
      `The browser's storage quota is full: ${what} (about ${Math.ceil(bytes / 1024)} KiB) was not stored, and nothing of it was kept. Delete documents or other site data, or ask for persistent storage (navigator.storage.persist()).`,
      `indexeddb:${dbName}`, bytes, undefined, { cause: e },
    );
  }
  return e;
}
