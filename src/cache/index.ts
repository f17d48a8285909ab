/**
 * The weight cache's public face: `import { cache } from 'llmo'`. Lists, deletes and measures what load() keeps in
 * IndexedDB. Keys are the URL of a model's main file (an `hf:` id is accepted and resolved against the default hub).
 */
import * as store from './store.ts';
import { resolveSource } from '../loader/source.ts';

export type { CachedModel } from './store.ts';

export interface CacheUsage {
  /** Bytes of model files llmo keeps (complete files and interrupted downloads). */
  bytes: number;
  /** The browser's quota for this origin, and what the origin uses in all (every storage kind), when it says. */
  quota?: number;
  usage?: number;
}

const keyOf = (key: string): string =>
  key.startsWith('hf:') ? String(resolveSource(key)) : typeof location !== 'undefined' ? new URL(key, location.href).href : key;

export const cache = {
  /** Every cached model, most recently used first. */
  async list(): Promise<store.CachedModel[]> {
    const models = await store.listModels();
    return models.sort((a, b) => b.lastUsedAt - a.lastUsedAt);
  },

  /**
   * Deletes a cached model (every file it loaded) or one cached file or interrupted download by URL. A model's URL
   * also deletes the weights kept quantized from it (`cacheQuantized`); an entry's own key (`<url>#llmo-quantize=q4_k_m`,
   * as `list()` gives it) deletes that entry alone. Small files another entry still lists (config.json) are kept.
   */
  async delete(key: string): Promise<boolean> {
    const k = keyOf(key);
    const models = await store.listModels();
    const gone = models.filter((m) => m.key === k || (m.quantize && m.url === k));
    const kept = new Set(models.filter((m) => !gone.includes(m)).flatMap((m) => m.files));
    const files = new Set(gone.flatMap((m) => m.files));
    files.add(k);
    let found = gone.length > 0;
    for (const m of gone) await store.deleteModelRecord(m.key);
    for (const url of files) {
      if (kept.has(url)) continue;
      if ((await store.getFile(url)) || (await store.getPartial(url))) found = true;
      await store.deleteFile(url);
    }
    return found;
  },

  /** Deletes everything llmo cached. */
  async clear(): Promise<void> {
    await store.clearAll();
  },

  async usage(): Promise<CacheUsage> {
    let bytes = 0;
    const counted = new Set<string>();
    for (const m of await store.listModels()) {
      for (const f of m.files) {
        if (counted.has(f)) continue;
        counted.add(f);
        bytes += (await store.getFile(f))?.size ?? 0;
      }
    }
    for (const p of await store.listPartials()) {
      bytes += (await store.storedChunkIndices(p.url)).length * p.chunkBytes;
    }
    const est = typeof navigator !== 'undefined' && navigator.storage?.estimate ? await navigator.storage.estimate() : {};
    return { bytes, quota: est.quota, usage: est.usage };
  },
};
