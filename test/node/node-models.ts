/**
 * Shared by the Node suites on Dawn (dawn.test.ts on SwiftShader, lavapipe.test.ts on Mesa's llvmpipe Vulkan):
 * choosing the Vulkan ICD before Dawn loads, the plain-TS f32 reference on a GGUF file's weights, and the whole-model
 * checks both suites run (stories260K's reference text, sotu-5m's logits and greedy tokens).
 */
import { existsSync, readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { parseGgufHeader } from '../../src/formats/gguf.ts';
import { dequantize } from '../../src/formats/quant.ts';
import type { ModelConfig, TensorInfo } from '../../src/model/types.ts';
import type { Engine } from '../../src/engine.ts';
import { ReferenceModel } from '../reference/llama-ref.ts';
import { kvRound } from '../reference/kv-round.ts';
import { relErr } from '../gpu-harness.ts';

export const SHARED = '../shared/models';
export const STORIES = `${SHARED}/stories260K/stories260K.gguf`;
export const sotuPath = (type: string) => `${SHARED}/sotu-5m/sotu-5m-${type}.gguf`;
/** The prompt of the sotu-5m checks. */
export const SOTU_PROMPT = 'The Congress of the United States';

/**
 * Points the Vulkan loader at one ICD. Must run before Dawn creates its instance (the first load() or
 * createGpu()); each vitest file runs in its own process, so a suite's choice does not leak into another's.
 */
export function useVulkanIcd(icd: string, how: { force: boolean }): void {
  if (how.force || !process.env.VK_ICD_FILENAMES) process.env.VK_ICD_FILENAMES = icd;
}

/** Installs Dawn (the `webgpu` package) as the WebGPU of openGpu and the gpu-harness, with WebGPU's globals. */
export async function installDawn(): Promise<void> {
  const { provideGpu } = await import('../../src/gpu/device.ts');
  const mod = (await import('webgpu')) as { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  const g = globalThis as Record<string, unknown>;
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in g)) g[k] = v;
  provideGpu(mod.create([]));
}

/** The f32 reference on a GGUF file's weights (dequantized; the path, or the file's bytes), with the engine's config. */
export function reference(file: string | Uint8Array, engineConfig: ModelConfig, contextLength?: number): ReferenceModel {
  const bytes = typeof file === 'string' ? new Uint8Array(readFileSync(file)) : file;
  const h = parseGgufHeader(bytes);
  if ('needBytes' in h) throw new Error(`${typeof file === 'string' ? file : 'the GGUF'} is truncated`);
  const byName = new Map<string, TensorInfo>(h.tensors.map((t) => [t.name, t]));
  return new ReferenceModel(engineConfig, (name) => {
    const t = byName.get(name);
    return t && dequantize(t.type, bytes.subarray(t.offset, t.offset + t.byteLength), t.shape.reduce((a, b) => a * b, 1));
  }, { contextLength });
}

/** stories260K's expected greedy run from BOS (ids and text, made with llama.cpp: ../shared/README.md). */
export function storiesExpected(): { ids: number[]; text: string } {
  return {
    ids: readFileSync(`${SHARED}/stories260K/expected-greedy-200.ids.txt`, 'utf8').trim().split(/\s+/).map(Number),
    text: readFileSync(`${SHARED}/stories260K/expected-greedy-200.txt`, 'utf8'),
  };
}

/** Greedy from BOS through the engine reproduces expected-greedy-200 (ids and streamed text); returns decode tok/s. */
export async function checkStoriesGreedy(engine: Engine): Promise<number> {
  const { ids, text } = storiesExpected();
  let streamed = '';
  const stream = engine.generate([ids[0]], { maxTokens: ids.length - 1, temperature: 0, ignoreEos: true });
  for await (const c of stream) streamed += c.text;
  const r = await stream.result;
  expect([ids[0], ...r.tokens]).toEqual(ids);
  expect(streamed).toBe(r.text);
  expect(r.text.trim()).toBe(text.trim());
  return r.stats.decodeTokensPerSec;
}

/**
 * sotu-5m through the engine: its shape, the prompt's logits within `tol` of the reference, 16 greedy tokens equal.
 * The reference's KV cache holds what the engine's format holds (kv-round.ts), so an f16 cache is compared with the
 * same rounding. Returns the logits' relative error.
 */
export async function checkSotu(engine: Engine, path: string, tol: number): Promise<number> {
  // The shape the shared README gives for this model (independent of our config parser).
  expect(engine.info.config).toMatchObject({ arch: 'llama', dim: 256, ffnDim: 768, nLayers: 4, nHeads: 8, nKvHeads: 4, headDim: 32, ropeStyle: 'normal' });
  const ref = reference(path, engine.info.config);
  const kv = engine.info.kvCache;
  if (kv && kv !== 'f32') ref.kvStore = (rows) => kvRound(kv, rows);
  const prompt = await engine.tokenize(SOTU_PROMPT, { addBos: true });
  const err = relErr(await engine.logits(prompt), ref.forward(prompt));
  expect(err, `logits relative error ${err}`).toBeLessThan(tol);
  ref.reset();
  const want = ref.greedy(prompt, 16);
  const got = await engine.complete(prompt, { maxTokens: 16, temperature: 0, ignoreEos: true });
  expect(got.tokens).toEqual(want);
  return err;
}

/** An ICD file that must exist: a typed message saying how to install it instead of a silent skip. */
export function requireFile(path: string, install: string): void {
  if (!existsSync(path)) throw new Error(`${path} is missing: ${install}`);
}
