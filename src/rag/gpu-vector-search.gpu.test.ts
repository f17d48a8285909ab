/**
 * GPU exact cosine top-k (WebGPU on SwiftShader) against the CPU's VectorIndex.topK, the reference: at every rank
 * the scores agree within 1e-5 (f32 sums in another order), and every returned key's score is its true cosine; with
 * a filter, after edits (the GPU copy follows the index), with dims that are not a multiple of 4, and through the
 * store with `gpu` forced on.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openGpu } from '../gpu/device.ts';
import { mulberry32 } from '../util/random.ts';
import { GpuVectorSearch } from './gpu-vector-search.ts';
import { VectorIndex, normalize } from './vector-index.ts';
import { openStore as store } from './store.ts';

let device: GPUDevice;
beforeAll(async () => {
  device = (await openGpu()).device;
});
afterAll(() => device?.destroy());

function randomIndex(n: number, d: number, seed: number): VectorIndex {
  const r = mulberry32(seed);
  const vi = new VectorIndex(d);
  for (let i = 0; i < n; i++) vi.set(`c${i}`, Array.from({ length: d }, () => r() - 0.5));
  return vi;
}

function expectSame(gpu: { key: string; score: number }[], cpu: { key: string; score: number }[], vi: VectorIndex, q: Float32Array): void {
  expect(gpu.length).toBe(cpu.length);
  gpu.forEach((g, i) => {
    expect(Math.abs(g.score - cpu[i].score)).toBeLessThan(1e-5);
    const row = vi.matrix().subarray([...Array(vi.size).keys()].find((r) => vi.keyAt(r) === g.key)! * vi.dims).subarray(0, vi.dims);
    expect(Math.abs(row.reduce((s, x, j) => s + x * q[j], 0) - g.score)).toBeLessThan(1e-5);
  });
  // Ties apart, the same rows: at most a swap of near-equal scores.
  const differ = gpu.filter((g, i) => g.key !== cpu[i].key);
  for (const g of differ) expect(Math.abs(g.score - cpu.find((c) => c.key === g.key)!.score)).toBeLessThan(1e-5);
}

describe('GPU vector search', () => {
  for (const d of [384, 30]) {
    test(`top-k equals the CPU's (d=${d}), with a filter and after edits`, async () => {
      const vi = randomIndex(3000, d, d);
      const gs = new GpuVectorSearch(device);
      const r = mulberry32(99);
      for (let t = 0; t < 3; t++) {
        const q = normalize(Array.from({ length: d }, () => r() - 0.5));
        expectSame(await gs.topK(vi, q, 10), vi.topK(q, 10), vi, q);
        const odd = (key: string) => Number(key.slice(1)) % 2 === 1;
        const filtered = await gs.topK(vi, q, 7, odd);
        expect(filtered.every((h) => odd(h.key))).toBe(true);
        expectSame(filtered, vi.topK(q, 7, odd), vi, q);
        // Edits: some rows replaced, some removed, new ones added; the next search sees them.
        for (let i = 0; i < 50; i++) vi.delete(`c${Math.floor(r() * 3000)}`);
        for (let i = 0; i < 40; i++) vi.set(`n${t}-${i}`, q.map((x) => x + (r() - 0.5) * 0.5)); // near the query: they rank
        const after = await gs.topK(vi, q, 10);
        expect(after.some((h) => h.key.startsWith(`n${t}-`))).toBe(true);
        expectSame(after, vi.topK(q, 10), vi, q);
      }
      gs.destroy();
    });
  }

  test('a store with gpu on gives the CPU search\'s hits', async () => {
    // Vectors from a hash of the words: enough to rank by shared words, no model needed.
    const embed = async (texts: string[]) => texts.map((t) => {
      const v = new Float32Array(64);
      for (const w of t.toLowerCase().match(/[a-z]+/g) ?? []) {
        let h = 2166136261;
        for (const ch of w) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
        v[(h >>> 0) % 64] += 1;
      }
      return v;
    });
    const embedder = { embed, info: { name: 'word-hash-64' } };
    const text = await (await fetch('/shared/corpora/eval.txt')).text();
    const docs = text.split(/\n\s*\n/).slice(2, 40).map((p, i) => ({ id: `p${i}`, text: p }));
    const cpu = await store('gpu-cpu', { persist: false, embedder, gpu: false, chunk: { maxTokens: 64, overlapTokens: 0 } });
    const gpu = await store('gpu-gpu', { persist: false, embedder, gpu: device, gpuMinChunks: 1, chunk: { maxTokens: 64, overlapTokens: 0 } });
    await cpu.add(docs);
    await gpu.add(docs);
    for (const q of ['the whale and the ship', 'Ahab on deck', 'harpoon line boat']) {
      const a = await cpu.search(q, { k: 8, mode: 'vector' });
      const b = await gpu.search(q, { k: 8, mode: 'vector' });
      expect(b.map((h) => h.score)).toEqual(a.map((h) => expect.closeTo(h.score, 5)));
    }
    expect(gpu.vectorSearch).toMatchObject({ on: 'gpu' });
    expect(cpu.vectorSearch).toMatchObject({ on: 'cpu' });
  });
});
