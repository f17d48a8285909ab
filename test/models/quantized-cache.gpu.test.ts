/**
 * The quantized cache (`load(url, { quantize, cacheQuantized: true })`, loader/quantized-cache.ts), in the worker on
 * real IndexedDB, with the originals served by the fault server (which counts requests): the first load quantizes
 * sotu-5m-f32 to Q4_K_M and keeps the result (not the original); the second reads it back without a single request
 * and gives the same logits, which also equal ggml's own sotu-5m-q4_k_m.gguf (our quantizers are bit-exact). On the
 * small stories260K (cheap loads): another choice is its own entry; an entry with its model record or a chunk missing
 * (an interrupted write) is not used, and its files are dropped when the entry is next opened; two engines loading the
 * same entry at once download and quantize it once (Web Lock); another expected sha256 is a changed source;
 * cache.delete removes entries.
 * (~8 loads through IndexedDB and one Q4_K_M quantization of 5M weights: ~40 s on a quiet 2-core machine.)
 */
import { beforeAll, expect, test } from 'vitest';
import { load, cache, ModelIntegrityError, type LoadProgress } from '../../src/index.ts';
import * as store from '../../src/cache/store.ts';
import type { FaultStats } from '../fault-server.ts';

const key = `qcache-${Date.now().toString(36)}`;
const hfBaseUrl = `/faulty/${key}/hub`;
const ID = 'hf:shared/sotu-5m/sotu-5m-f32.gguf';
const ORIGINAL = new URL(`${hfBaseUrl}/shared/sotu-5m/resolve/main/sotu-5m-f32.gguf`, location.href).href;
const Q4 = `${ORIGINAL}#llmo-quantize=q4_k_m`;
const SMALL = 'hf:shared/stories260K/stories260K.gguf';
const SMALL_URL = new URL(`${hfBaseUrl}/shared/stories260K/resolve/main/stories260K.gguf`, location.href).href;
const S8 = `${SMALL_URL}#llmo-quantize=q8_0`;
const S4 = `${SMALL_URL}#llmo-quantize=q4_0`;
const CHUNK = 1 << 20;
const requests = async (): Promise<number> => ((await (await fetch(`/__faults?key=${key}`)).json()) as FaultStats).requests;
// Other test files use the cache at the same time: only this file's entries (fresh URLs per run) are looked at.
const mine = async () => (await cache.list()).filter((m) => m.url === ORIGINAL || m.url === SMALL_URL);
const keys = async () => (await mine()).map((m) => m.key).sort();

/** Last-token logits of one load (a short context: the weights are under test). */
async function logits(src: string, opts: Parameters<typeof load>[1] = {}): Promise<number[]> {
  const engine = await load(src, { hfBaseUrl, chunkBytes: CHUNK, contextLength: 64, maxBatch: 16, ...opts });
  try {
    return Array.from(await engine.logits(await engine.tokenize('Once upon a time, the state of the union')));
  } finally {
    await engine.dispose();
  }
}

let first: number[];
beforeAll(async () => {
  first = await logits(ID, { quantize: 'q4_k_m', cacheQuantized: true });
});

test('the first load keeps the quantized weights, not the original, as one listed entry', async () => {
  const listed = await mine();
  expect(listed.map((m) => [m.key, m.url, m.quantize])).toEqual([[Q4, ORIGINAL, 'q4_k_m']]);
  expect(await store.getFile(ORIGINAL)).toBeUndefined();
  const rec = await store.getFile(Q4);
  expect(rec?.quantized?.tensors.length).toBeGreaterThan(20);
  // Q4_K_M of ~5M f32 weights: about a quarter of the f32 file.
  expect(listed[0].bytes).toBeLessThan(rec!.quantized!.source.size / 3);
  expect((await cache.usage()).bytes).toBeGreaterThanOrEqual(listed[0].bytes);
});

test('the second load reads them back without a request: same logits, equal to ggml\'s Q4_K_M file', async () => {
  const before = await requests();
  const events: LoadProgress[] = [];
  const again = await logits(ID, { quantize: 'q4_k_m', cacheQuantized: true, onProgress: (p) => events.push(p) });
  expect(await requests()).toBe(before);
  expect(events.some((e) => e.phase === 'download')).toBe(false);
  expect(events.some((e) => e.phase === 'cache')).toBe(true);
  expect(again).toEqual(first);
  expect(await logits('/shared/models/sotu-5m/sotu-5m-q4_k_m.gguf', { cache: false })).toEqual(first);
});

test('on to a small model: the sotu-5m entry is deleted by its model URL', async () => {
  expect(await cache.delete(ORIGINAL)).toBe(true);
  expect(await mine()).toEqual([]);
  expect(await store.getFile(Q4)).toBeUndefined();
});

/** stories260K with each choice, kept quantized (256 KiB chunks: several per file). */
const small = (quantize: string, opts: Parameters<typeof load>[1] = {}) => logits(SMALL, { quantize, cacheQuantized: true, chunkBytes: 1 << 18, ...opts });
let s8: number[];
let s4: number[];

test('another choice is its own entry, made from the original; two engines at once make it once; each reads back as itself', async () => {
  let before = await requests();
  s4 = await small('q4_0');
  // Requests of one load made from the original (the same file and chunking for every choice).
  const cold = (await requests()) - before;
  expect(cold).toBeGreaterThan(0);
  before = await requests();
  // Each load() has its own worker; the entry's Web Lock makes the second wait and read back what the first stored.
  const [a, b] = await Promise.all([small('q8_0'), small('q8_0')]);
  expect((await requests()) - before).toBe(cold);
  expect(b).toEqual(a);
  s8 = a;
  expect(s4).not.toEqual(s8);
  expect(await keys()).toEqual([S4, S8]);
  before = await requests();
  expect(await small('q8_0')).toEqual(s8);
  expect(await requests()).toBe(before);
});

test('an interrupted entry (its model record, or a chunk, missing) is not taken as complete', async () => {
  await store.deleteModelRecord(S8); // written last: as if the tab closed just before
  let before = await requests();
  expect(await small('q8_0')).toEqual(s8);
  expect(await requests()).toBeGreaterThan(before);
  const rec = (await store.getFile(S8))!;
  expect(rec.chunkSha.length).toBeGreaterThan(1);
  await store.putChunk(S8, 1, { bytes: new Uint8Array(3), sha: rec.chunkSha[1] });
  before = await requests();
  expect(await small('q8_0')).toEqual(s8);
  expect(await requests()).toBeGreaterThan(before);
  expect(await keys()).toEqual([S4, S8]);
});

test('cache.delete of an entry\'s key removes it alone', async () => {
  expect(await keys()).toEqual([S4, S8]);
  expect(await cache.delete(S8)).toBe(true);
  expect(await keys()).toEqual([S4]);
  expect(await store.getFile(S8)).toBeUndefined();
});

test("an interrupted write's files are dropped when the entry is next opened, even if that load fails", async () => {
  // What a tab closed mid-write leaves (S8 was deleted above): its in-progress record and some chunks, no model record.
  await store.putPartial({ url: S8, size: 0, chunkBytes: 1 << 18, startedAt: Date.now() });
  for (const i of [0, 1]) await store.putChunk(S8, i, { bytes: new Uint8Array(16), sha: '00'.repeat(32) });
  expect(await store.storedChunkIndices(S8)).toEqual([0, 1]);
  await fetch('/__faults', { method: 'POST', body: JSON.stringify({ key, faults: { status: 404 } }) });
  try {
    // The original cannot be fetched: this load fails before it could write (and so clear) an entry of its own.
    const err = await small('q8_0').catch((e: Error) => e);
    expect((err as Error).name).toBe('ModelFetchError');
  } finally {
    await fetch('/__faults', { method: 'POST', body: JSON.stringify({ key, faults: {} }) });
  }
  expect(await store.storedChunkIndices(S8)).toEqual([]);
  expect((await store.listPartials()).map((p) => p.url)).not.toContain(S8);
  expect(await keys()).toEqual([S4]);
});

test('another expected sha256 is a changed source: the entry is not used (and is dropped)', async () => {
  const err = await small('q4_0', { sha256: 'ab'.repeat(32) }).catch((e: Error) => e);
  expect(err, String(err)).toBeInstanceOf(ModelIntegrityError);
  expect(await mine()).toEqual([]);
  expect(await store.getFile(S4)).toBeUndefined();
});

test('cacheQuantized without quantize is refused', async () => {
  const err = await load(ID, { hfBaseUrl, cacheQuantized: true }).catch((e: Error) => e);
  expect((err as Error).name).toBe('InvalidRequestError');
});
