/**
 * What an embed() call costs the GPU API, counted on the real device (prototype methods wrapped, calls go through):
 * after load, embedding creates no buffer, bind group, pipeline or shader module, whatever the batch; texts that fit
 * one maxBatch are one submission and one readback of exactly n_texts × dim floats.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { load, type Engine } from '../../src/index.ts';
import { GpuCallCounter } from '../gpu-call-counter.ts';

const gpu = new GpuCallCounter();
beforeAll(() => gpu.install());
afterAll(() => gpu.uninstall());

/** Each batch (fitting one submission): nothing created, one submit, one read of batch × dim floats. */
async function expectOneSubmitEach(engine: Engine, dim: number, batches: string[][]): Promise<void> {
  for (const batch of batches) {
    gpu.start();
    await engine.embed(batch);
    gpu.stop();
    expect(Object.fromEntries(gpu.created)).toEqual({});
    expect(gpu.submits).toBe(1);
    expect(gpu.mapped).toEqual([batch.length * dim * 4]);
  }
}

test('embed(): no GPU object created per call; one submit and one pooled-vector read per packed batch', async () => {
  // In the page (worker: false), so the wrapped prototypes see the engine's device.
  const engine = await load('/encoder-fixtures/tiny~f32~s31~mean/model.gguf', { worker: false, cache: false, maxBatch: 256 });
  try {
    await expectOneSubmitEach(engine, engine.info.embedding!.dim,
      [['one'], ['two texts', 'of different lengths here'], Array.from({ length: 9 }, (_, i) => `text ${i} `.repeat(i + 1))]);
    // More tokens than maxBatch: several submissions, still nothing created.
    gpu.start();
    await engine.embed(Array.from({ length: 12 }, () => 'word '.repeat(40)));
    gpu.stop();
    expect(Object.fromEntries(gpu.created)).toEqual({});
    expect(gpu.submits).toBeGreaterThan(1);
  } finally {
    await engine.dispose();
  }
});

test('decoder embeddings: the packed graph is made on the first embed, then nothing per call; one submit and one read per batch', async () => {
  const engine = await load('/fixtures/tiny~qwen3~f32~s23/model.gguf', { worker: false, cache: false, pooling: 'last' });
  try {
    await engine.embed('first call builds the graph');
    await expectOneSubmitEach(engine, engine.info.config.dim,
      [['one'], ['two texts', 'of different lengths here'], Array.from({ length: 5 }, (_, i) => `text ${i} `.repeat(i + 1))]);
  } finally {
    await engine.dispose();
  }
});
