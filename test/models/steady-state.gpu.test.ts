/**
 * What one generated token costs the GPU API, counted on the real device (the prototype methods are wrapped, calls
 * go through unchanged): after load, generation creates no buffer, bind group, pipeline or shader module; greedy
 * decoding runs several steps per submission (the token stays on the GPU), so past its first 16 tokens there is at
 * most one submission and one readback per 8 tokens, and every token is read back exactly once (4 bytes); sampled
 * decoding too (the draw runs on the GPU: no logits are read back), and requests with logprobs (a small record per
 * token, runtime/gpu-logprobs.ts); JSON requests read 4 bytes per submission, and forced tokens need none of their own.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { load } from '../../src/index.ts';
import { GpuCallCounter } from '../gpu-call-counter.ts';
import { MAX_STEPS } from '../../src/runtime/transformer.ts';
import { LOGPROB_RECORD_BYTES } from '../../src/runtime/gpu-logprobs.ts';

const gpu = new GpuCallCounter();
beforeAll(() => gpu.install());
afterAll(() => gpu.uninstall());

for (const url of ['/shared/models/stories260K/stories260K.gguf', '/fixtures/tiny~qwen3~q4_0~s9/model.gguf']) {
  test(`${url}: no GPU object created while generating; greedy: one submit and one read per 8+ tokens in steady state`, async () => {
    gpu.start();
    const engine = await load(url, { worker: false, maxBatch: 16 });
    gpu.stop();
    // The wrappers see the device's calls: loading creates buffers, bind groups and pipelines (compiled here).
    expect(gpu.created.get('createBuffer')).toBeGreaterThan(10);
    expect(gpu.created.get('createBindGroup')).toBeGreaterThan(10);
    expect(gpu.created.get('createComputePipelineAsync')).toBeGreaterThan(5);
    try {
      const prompt = [1, 17, 42, 7, 99, 250];
      gpu.start();
      const N = 100;
      const r = await engine.complete(prompt, { maxTokens: N, temperature: 0, ignoreEos: true });
      gpu.stop();
      expect(r.tokens).toHaveLength(N);
      expect(Object.fromEntries(gpu.created)).toEqual({});
      // Each submission reads back its tokens (4 bytes each) once: the prompt gives the first token, then batches.
      expect(gpu.submits).toBe(gpu.mapped.length);
      const batches = gpu.mapped.map((bytes) => bytes / 4);
      expect(batches.reduce((a, b) => a + b, 0)).toBe(N);
      let done = 0;
      const steady = batches.filter((b) => (done += b) - b >= 16);
      // Past the first 16 tokens every batch has at least 8 tokens, except a last one cut by maxTokens.
      expect(steady.slice(0, -1).every((b) => b >= 8), `batches ${batches}`).toBe(true);
      expect(steady.length).toBeLessThanOrEqual(Math.ceil((N - 16) / 8));

      // Sampling draws on the GPU: the same batches, token ids only (no logits read back); a prompt longer than
      // maxBatch is split; still nothing created.
      gpu.start();
      const long = Array.from({ length: 40 }, (_, i) => 3 + ((i * 37) % 200));
      const s = await engine.complete(long, { maxTokens: 60, temperature: 0.8, seed: 1, ignoreEos: true });
      gpu.stop();
      expect(s.tokens).toHaveLength(60);
      expect(Object.fromEntries(gpu.created)).toEqual({});
      expect(gpu.mapped.reduce((a, b) => a + b, 0)).toBe(60 * 4);
      expect(Math.max(...gpu.mapped)).toBeLessThanOrEqual(16 * 4);

      // Log-probs (greedy and sampled) batch the same way: per submission one read of the ids and a small record per
      // token (gpu-logprobs.ts), never the logits.
      for (const temperature of [0, 0.8]) {
        gpu.start();
        const l = await engine.complete(prompt, { maxTokens: N, temperature, seed: 2, ignoreEos: true, logprobs: 5 });
        gpu.stop();
        expect(l.logprobs).toHaveLength(N);
        expect(Object.fromEntries(gpu.created)).toEqual({});
        expect(gpu.submits).toBe(gpu.mapped.length);
        const picks = gpu.mapped.map((bytes) => (bytes - MAX_STEPS * 4) / LOGPROB_RECORD_BYTES);
        expect(picks.reduce((a, b) => a + b, 0)).toBe(N);
        let made = 0;
        const steadyLp = picks.filter((b) => (made += b) - b >= 16);
        expect(steadyLp.slice(0, -1).every((b) => b >= 8), `batches ${picks}`).toBe(true);
      }

      // JSON mode: the mask goes up, only the id comes back (4 bytes a submission); tokens the schema forces ride in
      // the next submission (byte-level BPE fixture: rare property names are forced byte by byte).
      const schema = { type: 'object', properties: { QXZJ: { type: 'integer' }, zyq: { enum: ['QZX', 'VQZ'] } }, required: ['QXZJ', 'zyq'], additionalProperties: false };
      gpu.start();
      const j = await engine.complete(prompt, { maxTokens: 60, temperature: 0, json: { type: 'json_schema', schema } });
      gpu.stop();
      expect(JSON.parse(j.text)).toHaveProperty('zyq');
      expect(Object.fromEntries(gpu.created)).toEqual({});
      expect(gpu.mapped.every((bytes) => bytes === 4)).toBe(true);
      expect(gpu.submits).toBe(gpu.mapped.length);
      if (url.includes('qwen3')) expect(gpu.submits, j.text).toBeLessThan(j.tokens.length);
    } finally {
      gpu.stop();
      await engine.dispose();
    }
  });
}

test('profile: true times every dispatch of each step, per kernel (timestamp-query)', async () => {
  const adapter = await navigator.gpu.requestAdapter();
  const engine = await load('/shared/models/stories260K/stories260K.gguf', { profile: true });
  try {
    await engine.complete([1], { maxTokens: 5, temperature: 0, ignoreEos: true });
    const times = await engine.kernelTimes(true);
    if (!adapter?.features.has('timestamp-query')) {
      expect(times).toEqual([]);
      return;
    }
    // 5 decode steps of stories260K (5 layers): one layer-kernel dispatch per layer (runtime/layer-kernel.ts: its
    // layers are small; the first also embeds, the last runs the head); the 1-token prompt runs as a decode step too.
    const calls = Object.fromEntries(times.map((t) => [t.kernel, t.calls]));
    expect(calls).toEqual({ 'layer': 25 });
    expect(times.every((t) => t.ms >= 0)).toBe(true);
    expect(times.reduce((a, t) => a + t.ms, 0)).toBeGreaterThan(0);
    expect(await engine.kernelTimes()).toEqual([]); // reset
  } finally {
    await engine.dispose();
  }
});
