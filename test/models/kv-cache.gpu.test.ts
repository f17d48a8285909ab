/**
 * Long context and KV-cache formats on the real stories260K: a 400-token prompt, then greedy decoding at 401+ keys,
 * where decode attention runs split-K (256-key chunks: 2 of them, then the merge pass). For each `kvCache` format,
 * the last-token logits must match the plain-TS reference whose cache keeps the same values (kv-round.ts: the f16
 * rounding / ggml Q8_0 quantization of each K/V row), and the greedy tokens must be identical.
 * Tolerances (relErr of the logits; measured on SwiftShader in brackets): f32 LOGITS_TOL (2e-6). q8_0 1e-3 (1.4e-4;
 * against the f32 reference it is 6e-2, so a cache that does not hold ggml's Q8_0 values fails). f16 2e-3 (6.7e-4):
 * rounding each K/V value to f16 moves these logits by only 1.1e-3 in all, and the GPU's K/V differ from the
 * reference's by ~1e-6, which flips the rounding of the many small values, so the logits cannot separate f16 from
 * f32 storage here; the f16 storage itself is checked bit for bit in src/gpu/attention-long.gpu.test.ts.
 */
import { test, expect } from 'vitest';
import { load } from '../../src/index.ts';
import { referenceFor, LOGITS_TOL } from './model-check.ts';
import { kvRound } from '../reference/kv-round.ts';
import { relErr } from '../gpu-harness.ts';

const MODEL = '/shared/models/stories260K/stories260K.gguf';

const TOL = { f32: LOGITS_TOL, q8_0: 1e-3, f16: 2e-3 };
const cacheBytes: Record<string, number> = {};
for (const f of ['f32', 'f16', 'q8_0'] as const) {
  test(`kvCache ${f}: 400-token prompt, then split-K decode = reference with the same KV values`, async () => {
    const ids = (await (await fetch('/shared/models/stories260K/expected-greedy-200.ids.txt')).text()).trim().split(/\s+/).map(Number);
    const prompt = [...ids, ...ids.slice(1)].slice(0, 400);
    const engine = await load(MODEL, { kvCache: f, contextLength: 512 });
    try {
      expect(engine.info.kvCache).toBe(f);
      cacheBytes[f] = engine.info.memory.cacheBytes;
      const ref = await referenceFor(MODEL, engine.info.config);
      ref.kvStore = (rows) => kvRound(f, rows);
      const err = relErr(await engine.logits(prompt), ref.forward(prompt));
      expect(err, `logits relative error ${err}`).toBeLessThan(TOL[f]);
      ref.reset();
      const want = ref.greedy(prompt, 8);
      const got = await engine.complete(prompt, { maxTokens: 8, temperature: 0, ignoreEos: true });
      expect(got.tokens).toEqual(want);
    } finally {
      await engine.dispose();
    }
  });
}

test('packed caches take less GPU memory: the live cache and the prefix cache (4 contexts) shrink, less the f32 staging rows', () => {
  // 5 layers × 512 positions × K and V rows of 32 values (bytes per row: f32 128, f16 64, q8_0 36); staging: 256 × 32 f32 each for K, V.
  const kv = (bytesPerRow: number) => (1 + 4) * 5 * 512 * 2 * bytesPerRow;
  const staging = 2 * 256 * 32 * 4;
  expect(cacheBytes.f32 - cacheBytes.f16).toBe(kv(128) - kv(64) - staging);
  expect(cacheBytes.f32 - cacheBytes.q8_0).toBe(kv(128) - kv(36) - staging);
});
