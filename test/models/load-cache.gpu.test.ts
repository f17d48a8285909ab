/**
 * load() end to end through the weight cache, in a Web Worker as users run it: a Hugging Face id against a hub-like
 * test server, progress events, a warm start with model-data requests blocked (offline) that makes no request at
 * all, an interrupted download that the next load() resumes, and a split GGUF. Each loaded model must give the same
 * greedy tokens as a clean, uncached load of the same file.
 */
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { commands } from 'vitest/browser';
import { load, cache, ModelFetchError, type LoadProgress } from '../../src/index.ts';
import type { Faults, FaultStats } from '../fault-server.ts';

const SIZE = 5_677_280; // sotu-5m-q8_0.gguf
const CHUNK = 1 << 20;
let reference: number[];

async function setFaults(key: string, faults: Faults = {}, reset = false): Promise<void> {
  await fetch('/__faults', { method: 'POST', body: JSON.stringify({ key, faults, reset }) });
}
const stats = async (key: string): Promise<FaultStats> => (await fetch(`/__faults?key=${key}`)).json();
const greedy = async (src: Parameters<typeof load>[0], opts: Parameters<typeof load>[1] = {}) => {
  const t0 = performance.now();
  // A short context keeps each load cheap; the weights are what is under test.
  const engine = await load(src, { chunkBytes: CHUNK, contextLength: 64, maxBatch: 16, ...opts });
  const ms = performance.now() - t0;
  const r = await engine.complete([1], { maxTokens: 8, temperature: 0 });
  await engine.dispose();
  return { tokens: r.tokens, ms };
};

beforeAll(async () => {
  await cache.clear();
  reference = (await greedy('/shared/models/sotu-5m/sotu-5m-q8_0.gguf', { cache: false })).tokens;
  const shared = new URL('/shared/models/sotu-5m/sotu-5m-q8_0.gguf', location.href).href;
  expect((await cache.list()).some((m) => m.key === shared)).toBe(false);
});

// A test that times out never reaches its `finally`: lift the block here too, or every later load in this browser
// context (this file's and the next files') would find the network gone.
afterEach(() => commands.setModelNetwork(true));

describe('load() through the cache', () => {
  const key = `hub-${Date.now().toString(36)}`;
  const hfBaseUrl = `/faulty/${key}/hub`;
  const id = 'hf:shared/sotu-5m/sotu-5m-q8_0.gguf';
  const resolved = new URL(`${hfBaseUrl}/shared/sotu-5m/resolve/main/sotu-5m-q8_0.gguf`, location.href).href;

  test('cold: an hf: id downloads with progress (bytes, per-file, speed, ETA) and is listed in the cache', async () => {
    await setFaults(key, { throttle: 8 << 20 });
    const events: LoadProgress[] = [];
    const cold = await greedy(id, { hfBaseUrl, onProgress: (p) => events.push(p) });
    expect(cold.tokens).toEqual(reference);
    const dl = events.filter((e) => e.phase === 'download');
    expect(dl.length).toBeGreaterThan(3);
    expect(dl.at(-1)!.loaded).toBe(SIZE);
    expect(dl.at(-1)!.total).toBe(SIZE);
    expect(dl.at(-1)!.files).toEqual([{ file: resolved, loaded: SIZE, total: SIZE }]);
    expect(dl.some((e) => e.bytesPerSec! > 0 && e.etaSec! >= 0)).toBe(true);
    for (let i = 1; i < dl.length; i++) expect(dl[i].loaded).toBeGreaterThanOrEqual(dl[i - 1].loaded);
    expect(events.map((e) => e.phase)).toContain('compile');
    expect(events.at(-1)!.phase).toBe('ready');
    expect(events.some((e) => e.phase === 'cache')).toBe(false);
    const listed = (await cache.list()).filter((m) => m.key === resolved);
    expect(listed.map((m) => [m.bytes, m.files])).toEqual([[SIZE, [resolved]]]);
    await setFaults(key, {});
  });

  test('warm start offline: with model-data requests blocked, the cached model loads without a single request', async () => {
    await commands.setModelNetwork(false);
    try {
      // The block is real: a model that is not cached cannot be fetched.
      const err = await load(`/faulty/${key}-other/models/sotu-5m/sotu-5m-q4_0.gguf`).catch((e: Error) => e);
      expect(err).toBeInstanceOf(ModelFetchError);
      expect((err as ModelFetchError).reason).toBe('network');
      const before = await stats(key);
      const events: LoadProgress[] = [];
      const warm = await greedy(id, { hfBaseUrl, onProgress: (p) => events.push(p) });
      expect(warm.tokens).toEqual(reference);
      expect((await stats(key)).requests).toBe(before.requests);
      expect(events.some((e) => e.phase === 'download')).toBe(false);
      expect(events.filter((e) => e.phase === 'cache').at(-1)!.loaded).toBe(SIZE);
      console.log(`offline warm load of sotu-5m-q8_0 (5.4 MiB): ${warm.ms.toFixed(0)} ms`);
    } finally {
      await commands.setModelNetwork(true);
    }
  });

  test('an interrupted load() fails with a typed error across the worker; the next load() fetches only the rest', async () => {
    const k = `resume-${Date.now().toString(36)}`;
    const u = `/faulty/${k}/models/sotu-5m/sotu-5m-q8_0.gguf`;
    await setFaults(k, { cutAfter: 3.5 * CHUNK });
    const err = await load(u, { chunkBytes: CHUNK }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ModelFetchError);
    expect((err as ModelFetchError).reason).toBe('network');
    expect((err as ModelFetchError).url).toBe(new URL(u, location.href).href);
    const sent = (await stats(k)).bytes;
    await setFaults(k, {}, true);
    const r = await greedy(u);
    expect(r.tokens).toEqual(reference);
    const refetched = (await stats(k)).bytes;
    expect(refetched).toBeLessThan(SIZE);
    expect(refetched).toBeGreaterThanOrEqual(SIZE - sent);
  });

  test('a split GGUF (first shard given) loads all shards and is cached as one model', async () => {
    const k = `split-${Date.now().toString(36)}`;
    const first = new URL(`/faulty/${k}/split3/models/sotu-5m/sotu-5m-q8_0-00001-of-00003.gguf`, location.href).href;
    const events: LoadProgress[] = [];
    const cold = await greedy(first, { onProgress: (p) => events.push(p) });
    expect(cold.tokens).toEqual(reference);
    const files = events.filter((e) => e.phase === 'download').at(-1)!.files!;
    expect(files.map((f) => f.file)).toEqual([1, 2, 3].map((i) => first.replace('00001-of', `0000${i}-of`)));
    expect(files.every((f) => f.loaded === f.total && f.total! > 0)).toBe(true);
    expect((await cache.list()).find((m) => m.key === first)?.files).toHaveLength(3);
  });

  test('sharded safetensors (by model.safetensors.index.json) give the same logits as the single-file model', async () => {
    const spec = 'tiny~llama~f32~s21';
    const k = `stsplit-${Date.now().toString(36)}`;
    const logits = async (u: string) => {
      const engine = await load(u, { chunkBytes: CHUNK, contextLength: 64 });
      const l = await engine.logits([1, 17, 42, 7]);
      await engine.dispose();
      return l;
    };
    const whole = await logits(`/fixtures/${spec}/model.safetensors`);
    const byIndex = await logits(`/faulty/${k}/stsplit3/${spec}/model.safetensors.index.json`);
    expect(Array.from(byIndex)).toEqual(Array.from(whole));
  });
});
