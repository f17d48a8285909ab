/**
 * load() end to end through the weight cache, in a Web Worker as users run it: a Hugging Face id against a hub-like
 * test server, progress events, a warm start that makes no request at all, a warm start with model-data requests
 * blocked (offline), and an interrupted download that the next load() resumes. Each loaded model must give the same
 * greedy tokens as a clean, uncached load of the same file.
 */
import { beforeAll, describe, expect, test } from 'vitest';
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
  const engine = await load(src, { chunkBytes: CHUNK, ...opts });
  const ms = performance.now() - t0;
  const r = await engine.complete([1], { maxTokens: 12, temperature: 0 });
  await engine.dispose();
  return { tokens: r.tokens, ms };
};

beforeAll(async () => {
  await cache.clear();
  reference = (await greedy('/shared/models/sotu-5m/sotu-5m-q8_0.gguf', { cache: false })).tokens;
  expect(await cache.list()).toEqual([]);
});

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
    const listed = await cache.list();
    expect(listed.map((m) => [m.key, m.bytes, m.files])).toEqual([[resolved, SIZE, [resolved]]]);
    await setFaults(key, {});
  });

  test('warm: no request at all, phase "cache", same tokens', async () => {
    const before = await stats(key);
    const events: LoadProgress[] = [];
    const warm = await greedy(id, { hfBaseUrl, onProgress: (p) => events.push(p) });
    expect(warm.tokens).toEqual(reference);
    expect((await stats(key)).requests).toBe(before.requests);
    expect(events.some((e) => e.phase === 'download')).toBe(false);
    expect(events.filter((e) => e.phase === 'cache').at(-1)!.loaded).toBe(SIZE);
  });

  test('offline: with model-data requests blocked, an uncached model fails with ModelFetchError and the cached one loads', async () => {
    await commands.setModelNetwork(false);
    try {
      const err = await load(`/faulty/${key}-other/models/sotu-5m/sotu-5m-q4_0.gguf`).catch((e: Error) => e);
      expect(err).toBeInstanceOf(ModelFetchError);
      expect((err as ModelFetchError).reason).toBe('network');
      const offline = await greedy(id, { hfBaseUrl });
      expect(offline.tokens).toEqual(reference);
      console.log(`offline warm load of sotu-5m-q8_0 (5.4 MiB): ${offline.ms.toFixed(0)} ms`);
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
});
