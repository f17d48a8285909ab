/**
 * What an embed() call costs the GPU API, counted on the real device (prototype methods wrapped, calls go through):
 * after load, embedding creates no buffer, bind group, pipeline or shader module, whatever the batch; texts that fit
 * one maxBatch are one submission and one readback of exactly n_texts × dim floats.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { load } from '../../src/index.ts';

const CREATORS = ['createBuffer', 'createBindGroup', 'createComputePipeline', 'createComputePipelineAsync', 'createShaderModule', 'createTexture'] as const;
let counting = false;
const created = new Map<string, number>();
let submits = 0;
const mapped: number[] = [];
const restore: (() => void)[] = [];

function wrap<T extends object>(proto: T, name: string, onCall: (self: unknown, args: unknown[]) => void): void {
  const rec = proto as Record<string, unknown>;
  const orig = rec[name] as (...a: unknown[]) => unknown;
  rec[name] = function (this: unknown, ...args: unknown[]) {
    if (counting) onCall(this, args);
    return orig.apply(this, args);
  };
  restore.push(() => { rec[name] = orig; });
}

beforeAll(() => {
  for (const name of CREATORS) wrap(GPUDevice.prototype, name, () => created.set(name, (created.get(name) ?? 0) + 1));
  wrap(GPUQueue.prototype, 'submit', () => submits++);
  wrap(GPUBuffer.prototype, 'mapAsync', (self, args) => mapped.push((args[2] as number | undefined) ?? (self as GPUBuffer).size));
});
afterAll(() => {
  for (const r of restore) r();
});

test('embed(): no GPU object created per call; one submit and one pooled-vector read per packed batch', async () => {
  // In the page (worker: false), so the wrapped prototypes see the engine's device.
  const engine = await load('/encoder-fixtures/tiny~f32~s31~mean/model.gguf', { worker: false, cache: false, maxBatch: 256 });
  try {
    const dim = engine.info.embedding!.dim;
    for (const batch of [['one'], ['two texts', 'of different lengths here'], Array.from({ length: 9 }, (_, i) => `text ${i} `.repeat(i + 1))]) {
      created.clear();
      submits = 0;
      mapped.length = 0;
      counting = true;
      await engine.embed(batch);
      counting = false;
      expect(Object.fromEntries(created)).toEqual({});
      expect(submits).toBe(1);
      expect(mapped).toEqual([batch.length * dim * 4]);
    }
    // More tokens than maxBatch: several submissions, still nothing created.
    created.clear();
    submits = 0;
    counting = true;
    await engine.embed(Array.from({ length: 12 }, () => 'word '.repeat(40)));
    counting = false;
    expect(Object.fromEntries(created)).toEqual({});
    expect(submits).toBeGreaterThan(1);
  } finally {
    await engine.dispose();
  }
});
