/**
 * Quantize-on-load: an F16 safetensors fixture loaded with `quantize: 'q8_0'` (and 'q4_0') runs exactly the model
 * whose matrices are the F16 weights encoded with our ggml-exact quantizer, i.e. what a Q8_0 GGUF of the same
 * weights holds: last-token logits within LOGITS_TOL of the TS reference fed those weights, identical greedy
 * tokens. Also reported: GPU weight bytes and load time with and without.
 * And against a separately written file: sotu-5m-f32.gguf loaded with `quantize: 'q4_k_m'` (llama.cpp's per-tensor
 * mix, converted a band of rows at a time) holds the same bytes as ggml's own sotu-5m-q4_k_m.gguf (our quantizers
 * are bit-exact with ggml's), so its logits must equal that file's exactly. That load converts on the worker pool
 * (loader/quantize-pool.ts, real nested workers here); the q4_0 case converts in the loading thread
 * (`quantizeThreads: 0`), so both paths are checked against a reference.
 */
import { expect, test } from 'vitest';
import { load } from '../../src/index.ts';
import { parseSafetensorsHeader } from '../../src/formats/safetensors.ts';
import { dequantize, quantize } from '../../src/formats/quant.ts';
import { weightFormatById } from '../../src/formats/weight-formats.ts';
import { InvalidRequestError } from '../../src/errors.ts';
import { ReferenceModel } from '../reference/llama-ref.ts';
import { relErr } from '../gpu-harness.ts';
import { fixtureConfig, fixtureOptionsForTest } from './fixture-urls.ts';
import { LOGITS_TOL } from './model-check.ts';

const SPEC = 'tiny~qwen2~f16~s12';
const URL = `/fixtures/${SPEC}/model.safetensors`;
const PROMPT = [1, 17, 42, 7, 99, 250, 3, 64, 128, 5, 77, 200];

for (const [id, threads] of [['q8_0', undefined], ['q4_0', 0]] as const) {
  test(`F16 safetensors + quantize '${id}' (${threads === 0 ? 'one thread' : 'worker pool'}) = the ${id} encoding of the same weights`, async () => {
    const config = fixtureConfig(fixtureOptionsForTest(SPEC), 'safetensors');
    const bytes = new Uint8Array(await (await fetch(URL)).arrayBuffer());
    const h = parseSafetensorsHeader(bytes);
    if ('needBytes' in h) throw new Error('truncated fixture');
    const type = weightFormatById(id)!.type;
    const ref = new ReferenceModel(config, (name) => {
      const t = h.tensors.find((x) => x.name === name);
      if (!t) return undefined;
      const n = t.shape.reduce((a, b) => a * b, 1);
      const w = dequantize(t.type, bytes.subarray(t.offset, t.offset + t.byteLength), n);
      return t.shape.length >= 2 ? dequantize(type, quantize(type, w), n) : w;
    });
    let t0 = performance.now();
    const plain = await load(URL);
    const plainMs = performance.now() - t0;
    t0 = performance.now();
    const engine = await load(URL, { quantize: id, quantizeThreads: threads });
    const quantMs = performance.now() - t0;
    try {
      if (threads === 0) expect(engine.info.quantizeThreads).toBe(0);
      else expect(engine.info.quantizeThreads).toBeGreaterThan(0);
      const err = relErr(await engine.logits(PROMPT), ref.forward(PROMPT));
      expect(err, `logits relative error ${err}`).toBeLessThan(LOGITS_TOL);
      const want = ref.greedy(PROMPT, 8);
      expect((await engine.complete(PROMPT, { maxTokens: 8, temperature: 0, ignoreEos: true })).tokens).toEqual(want);
      const mem = (e: typeof engine) => e.info.memory.weightBytes;
      console.log(`quantize-on-load ${id} (${SPEC}): GPU weight bytes ${mem(plain)} -> ${mem(engine)}, load ${plainMs.toFixed(0)} -> ${quantMs.toFixed(0)} ms (SwiftShader)`);
    } finally {
      await engine.dispose();
      await plain.dispose();
    }
  });
}

test("sotu-5m F32 + quantize 'q4_k_m' = ggml's sotu-5m-q4_k_m.gguf, bit for bit", async () => {
  const ours = await load('/shared/models/sotu-5m/sotu-5m-f32.gguf', { quantize: 'q4_k_m' });
  const ggml = await load('/shared/models/sotu-5m/sotu-5m-q4_k_m.gguf');
  try {
    const prompt = await ours.tokenize('The state of the union is strong, and');
    expect(ours.info.quantizeThreads, 'converted on the worker pool').toBeGreaterThan(0);
    expect(ours.info.memory.weightBytes).toBe(ggml.info.memory.weightBytes);
    expect(Array.from(await ours.logits(prompt))).toEqual(Array.from(await ggml.logits(prompt)));
  } finally {
    await ours.dispose();
    await ggml.dispose();
  }
});

test('an unknown quantize target is InvalidRequestError naming the choices', async () => {
  const err = await load(URL, { quantize: 'q9_9' }).catch((e: Error) => e);
  expect(err).toBeInstanceOf(InvalidRequestError);
  expect((err as Error).message).toMatch(/q4_k.*q4_k_m/);
});
