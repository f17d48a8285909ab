/**
 * The document store on Chromium's real IndexedDB: persistence across a real page reload (another tab of the same
 * origin, reloaded through Playwright), deletion, a real quota failure mid-add (DevTools quota override), and two
 * tabs adding to one store at once. Keyword-only stores (no embedder): these tests are about storage, not ranking.
 */
import { describe, expect, test } from 'vitest';
import { commands } from 'vitest/browser';
import { store, deleteStore, StorageQuotaError, InvalidRequestError } from '../index.ts';

/** Reads (or with `value`, writes) a record of a store's `meta` object store directly, as another tab would see it. */
async function rawMeta(name: string, key: string, value?: unknown): Promise<unknown> {
  const db = await new Promise<IDBDatabase>((res, rej) => {
    const r = indexedDB.open(`llmo-rag:${name}`);
    r.onsuccess = () => res(r.result);
    r.onerror = () => rej(r.error);
  });
  try {
    const tx = db.transaction('meta', value === undefined ? 'readonly' : 'readwrite');
    const r = value === undefined ? tx.objectStore('meta').get(key) : tx.objectStore('meta').put(value, key);
    await new Promise((res, rej) => { tx.oncomplete = res; tx.onerror = () => rej(tx.error); });
    return r.result;
  } finally {
    db.close();
  }
}

const doc = (id: string, words: string, n = 40) => ({ id, text: Array.from({ length: n }, (_, i) => `${words} sentence ${i}.`).join(' '), meta: { title: id, kind: id.split('-')[0] } });

describe('document store in IndexedDB', () => {
  test('survives a page reload: documents, chunks and search come back without re-adding', async () => {
    await deleteStore('reload');
    const tab = await commands.openTab();
    try {
      const before = await commands.tabEval<{ docs: number; chunks: number; hit: string }>(tab, `
        const kb = await rag.store('reload', { chunk: { maxTokens: 64, overlapTokens: 8 } });
        await kb.add([arg.a, arg.b]);
        const hit = (await kb.search('whale harpoon', { k: 1 }))[0].id;
        return { ...kb.stats, hit };`, { a: doc('memo-whale', 'the whale and the harpoon'), b: doc('memo-budget', 'the federal budget deficit') });
      await commands.reloadTab(tab);
      const after = await commands.tabEval<{ docs: number; chunks: number; hit: string; ids: string[] }>(tab, `
        const kb = await rag.store('reload', { chunk: { maxTokens: 64, overlapTokens: 8 } });
        const hit = (await kb.search('whale harpoon', { k: 1 }))[0].id;
        return { ...kb.stats, hit, ids: kb.list().map((d) => d.id).sort() };`);
      expect(before).toMatchObject({ docs: 2, hit: 'memo-whale' });
      expect(after).toMatchObject({ docs: 2, chunks: before.chunks, hit: 'memo-whale', ids: ['memo-budget', 'memo-whale'] });
      // This page (a third context) sees the same store too.
      const kb = await store('reload');
      expect(kb.stats.chunks).toBe(before.chunks);
      expect((await kb.get('memo-budget'))?.text).toBe(doc('memo-budget', 'the federal budget deficit').text);
      kb.close();
    } finally {
      await commands.closeTab(tab);
    }
  });

  test('delete, upsert, filters and clear, persisted', async () => {
    await deleteStore('edit');
    let kb = await store('edit', { chunk: { maxTokens: 48 } });
    await kb.add([doc('a-1', 'apples and pears'), doc('b-1', 'apples and plums'), doc('a-2', 'ships and sails')]);
    await expect(kb.add([doc('a-1', 'again')])).rejects.toBeInstanceOf(InvalidRequestError);
    expect((await kb.search('apples', { k: 10, filter: { kind: 'b' } })).every((h) => h.id === 'b-1')).toBe(true);
    await kb.delete('b-1');
    await kb.upsert([doc('a-2', 'apples everywhere')]);
    kb.close();
    kb = await store('edit');
    expect(kb.list().map((d) => d.id).sort()).toEqual(['a-1', 'a-2']);
    const hits = await kb.search('apples', { k: 20 });
    expect(new Set(hits.map((h) => h.id))).toEqual(new Set(['a-1', 'a-2']));
    expect(hits.some((h) => h.text.includes('ships'))).toBe(false); // the old a-2's chunks are gone
    await kb.clear();
    kb.close();
    kb = await store('edit');
    expect(kb.stats.docs).toBe(0);
    expect(await kb.search('apples')).toEqual([]);
    kb.close();
  });

  test('a quota failure mid-add is StorageQuotaError and leaves nothing half-added', async () => {
    // Chromium's quota cannot be lowered for Playwright's (incognito) context: DevTools' overrideQuotaForOrigin
    // answers "Internal error" there. So the failure is injected where the browser raises it, in the object
    // store's put(), after 40 puts of the same add() went through: IndexedDB must roll those back.
    await deleteStore('quota');
    let kb = await store('quota', { chunk: { maxTokens: 32 } });
    await kb.add([doc('small-1', 'a small first document')]);
    const before = { ...kb.stats };
    const put = IDBObjectStore.prototype.put;
    let puts = 0;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...a: Parameters<IDBObjectStore['put']>) {
      if (++puts > 40) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return put.apply(this, a);
    };
    const big = Array.from({ length: 10 }, (_, i) => doc(`big-${i}`, `bulky text number ${i}`, 60));
    let err: unknown;
    try {
      err = await kb.add(big).catch((e: unknown) => e);
    } finally {
      IDBObjectStore.prototype.put = put;
    }
    expect(puts).toBeGreaterThan(40);
    expect(err).toBeInstanceOf(StorageQuotaError);
    expect((err as StorageQuotaError).message).toMatch(/nothing of it was kept/);
    expect(kb.stats).toEqual(before);
    expect(kb.list().map((d) => d.id)).toEqual(['small-1']);
    expect((await kb.search('bulky', { k: 5 })).length).toBe(0);
    kb.close();
    kb = await store('quota');
    expect(kb.stats).toEqual(before); // nothing of the failed add reached IndexedDB either
    await kb.add(big.slice(0, 2));
    expect(kb.stats.docs).toBe(3);
    kb.close();
  });

  test('two tabs adding to one store at once: every document lands once, and each tab sees the other\'s', async () => {
    await deleteStore('tabs');
    const [t1, t2] = [await commands.openTab(), await commands.openTab()];
    try {
      const open = `window.kb = await rag.store('tabs', { chunk: { maxTokens: 32 } }); return true;`;
      await commands.tabEval(t1, open);
      await commands.tabEval(t2, open);
      const add = `for (const d of arg) await kb.add([d]); return kb.stats.docs;`;
      const docs1 = Array.from({ length: 15 }, (_, i) => doc(`one-${i}`, `first tab text ${i}`, 10));
      const docs2 = Array.from({ length: 15 }, (_, i) => doc(`two-${i}`, `second tab text ${i}`, 10));
      await Promise.all([commands.tabEval(t1, add, docs1), commands.tabEval(t2, add, docs2)]);
      // The same id from both tabs at once: IndexedDB lets exactly one add() through.
      const race = `try { await kb.add([arg]); return 'ok'; } catch (e) { return e.name; }`;
      const same = doc('both-0', 'contested text', 5);
      const outcomes = await Promise.all([commands.tabEval(t1, race, same), commands.tabEval(t2, race, same)]);
      expect(outcomes.sort()).toEqual(['InvalidRequestError', 'ok']);
      const seen = `await new Promise((r) => setTimeout(r, 50)); await kb.sync(); return kb.list().map((d) => d.id).sort();`;
      const all = [...docs1, ...docs2, same].map((d) => d.id).sort();
      expect(await commands.tabEval(t1, seen)).toEqual(all);
      expect(await commands.tabEval(t2, seen)).toEqual(all);
      expect(await commands.tabEval(t1, `return (await kb.search('second tab text 7', { k: 1 }))[0].id;`)).toBe('two-7');
      const kb = await store('tabs');
      expect(kb.stats.docs).toBe(31);
      kb.close();
    } finally {
      await commands.closeTab(t1);
      await commands.closeTab(t2);
    }
  });

  test('the keyword index is saved and loaded on open; a stale or broken snapshot is repaired or rebuilt', async () => {
    await deleteStore('kw');
    const queries = ['apples', 'ships sails', 'whale', 'federal budget', 'pears plums'];
    const ranks = async (s: Awaited<ReturnType<typeof store>>) => Promise.all(queries.map(async (q) => (await s.search(q, { k: 8 })).map((h) => `${h.id}#${h.chunk}:${h.score.toFixed(6)}`)));
    let kb = await store('kw', { chunk: { maxTokens: 48 } });
    expect(kb.keywordLoad).toMatchObject({ how: 'rebuilt', indexedDocs: 0 });
    await kb.add([doc('a-1', 'apples and pears'), doc('b-1', 'apples and plums'), doc('a-2', 'ships and sails'), doc('c-1', 'the whale')]);
    const before = await ranks(kb);
    kb.close(); // saves the snapshot
    kb = await store('kw');
    expect(kb.keywordLoad).toMatchObject({ how: 'loaded', indexedDocs: 0 });
    expect(await ranks(kb)).toEqual(before); // the same index: same hits, same BM25 scores
    kb.close();

    // A tab that changed the store and died before saving: its changes are in IndexedDB, the snapshot is older.
    const old = await rawMeta('kw', 'keyword');
    kb = await store('kw');
    await kb.upsert([doc('a-1', 'federal budget')]);
    await kb.add([doc('d-1', 'the federal budget deficit')]);
    await kb.delete('c-1');
    kb.close();
    await rawMeta('kw', 'keyword', old);
    kb = await store('kw');
    expect(kb.keywordLoad).toMatchObject({ how: 'repaired', indexedDocs: 2 });
    expect(new Set((await kb.search('federal budget', { k: 50 })).map((h) => h.id))).toEqual(new Set(['a-1', 'd-1']));
    expect(await kb.search('whale', { k: 5 })).toEqual([]);
    expect((await kb.search('pears', { k: 50 })).map((h) => h.id)).toEqual([]); // a-1's old text is gone
    const repaired = await ranks(kb);
    const texts = await Promise.all(['a-1', 'b-1', 'a-2', 'd-1'].map(async (id) => ({ id, text: (await kb.get(id))!.text, meta: { title: id, kind: id.split('-')[0] } })));
    kb.close();
    const fresh = await store('kw-fresh', { persist: false, chunk: { maxTokens: 48 } });
    await fresh.add(texts);
    const rebuilt = await ranks(fresh);
    // MiniSearch keeps a discarded chunk's term statistics until it vacuums, so scores may differ a little: same hits.
    expect(repaired.map((r) => r.map((x) => x.split(':')[0]).sort())).toEqual(rebuilt.map((r) => r.map((x) => x.split(':')[0]).sort()));

    // Unreadable or of another format: rebuilt, never trusted.
    await rawMeta('kw', 'keyword', { format: 1, docs: {}, index: '{"not": "an index"' });
    kb = await store('kw');
    expect(kb.keywordLoad?.how).toBe('rebuilt');
    expect((await kb.search('ships', { k: 1 }))[0].id).toBe('a-2');
    kb.close();
    const saved = (await rawMeta('kw', 'keyword')) as { format: number };
    await rawMeta('kw', 'keyword', { ...saved, format: 999 });
    kb = await store('kw');
    expect(kb.keywordLoad?.how).toBe('rebuilt');
    kb.close();
  });

  test('export and import one file', async () => {
    await deleteStore('src');
    await deleteStore('dst');
    const a = await store('src', { chunk: { maxTokens: 40 } });
    await a.add([doc('x-1', 'lighthouse keeper'), doc('x-2', 'railway signal')]);
    const file = await a.export();
    const b = await store('dst');
    expect(await b.import(file)).toMatchObject({ docs: 2 });
    expect((await b.search('lighthouse', { k: 1 }))[0].id).toBe('x-1');
    expect(b.stats.chunks).toBe(a.stats.chunks);
    await expect(b.import('{"format":"nope"}')).rejects.toBeInstanceOf(InvalidRequestError);
    a.close();
    b.close();
  });
});
