/**
 * llmo/node: the same engine in Node on Dawn (the `webgpu` package), here on SwiftShader's Vulkan ICD (Chromium's),
 * with the whole-model checks of the browser suite: stories260K's reference text, and sotu-5m (Q4_0, Q8_0) against
 * the plain-TS f32 reference (logits and greedy tokens). Needs the Vulkan loader (libvulkan.so.1; .ci/run installs it).
 * lavapipe.test.ts runs the same checks on Mesa's llvmpipe (shader-f16).
 */
import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { LOGITS_TOL } from '../models/model-check.ts';
import { SHARED, STORIES, checkSotu, checkStoriesGreedy, sotuPath, useVulkanIcd } from './node-models.ts';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
// The Vulkan loader reads this when Dawn creates its instance (first load()), so setting it here is in time.
if (existsSync(SWIFTSHADER_ICD)) useVulkanIcd(SWIFTSHADER_ICD, { force: false });

// Imported after the environment is set (the package loads Dawn on first use anyway).
const { load } = await import('../../src/node.ts');

describe('llmo/node on Dawn', () => {
  test('stories260K: greedy from BOS reproduces expected-greedy-200 (ids and streamed text)', async () => {
    const engine = await load(STORIES);
    try {
      expect(engine.info.gpu.adapter).not.toBe('');
      const tps = await checkStoriesGreedy(engine);
      console.log(`node/dawn stories260K on ${engine.info.gpu.adapter}: decode ${tps.toFixed(0)} tok/s`);
    } finally {
      await engine.dispose();
    }
  });

  for (const type of ['q4_0', 'q8_0']) {
    test(`sotu-5m ${type}: logits and 16 greedy tokens match the f32 reference`, async () => {
      const engine = await load(sotuPath(type), { contextLength: 256 });
      try {
        await checkSotu(engine, sotuPath(type), LOGITS_TOL);
      } finally {
        await engine.dispose();
      }
    });
  }

  test('a missing file is a typed error naming the path', async () => {
    await expect(load(`${SHARED}/no-such-model.gguf`)).rejects.toThrow(/no-such-model\.gguf.*ENOENT/);
  });
});
