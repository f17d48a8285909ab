/**
 * llmo: large language models in the page, on the visitor's GPU.
 *
 *   const engine = await load('https://huggingface.co/<owner>/<repo>/resolve/main/model-q4_0.gguf', { onProgress });
 *   for await (const chunk of engine.generate('Once upon a time', { maxTokens: 64, temperature: 0 })) out += chunk.text;
 */
import * as Comlink from 'comlink';
import { Engine, remoteWrap, localWrap, type Remote } from './engine.ts';
import { createEngineApi, type EngineApi, type LoadRequestOptions } from './worker/api.ts';
import { installErrorTransfer } from './worker/error-transfer.ts';
import type { LoadProgress } from './loader/load-model.ts';
import type { ModelSource } from './loader/stream-reader.ts';

export interface LoadModelOptions extends LoadRequestOptions {
  onProgress?: (p: LoadProgress) => void;
  /** Run the engine in a dedicated Web Worker (default) or in the calling thread. */
  worker?: boolean;
}

/** Loads a model (GGUF or safetensors, by URL or File) onto the GPU and returns an engine for it. */
export async function load(source: ModelSource, options: LoadModelOptions = {}): Promise<Engine> {
  const { onProgress, worker = true, ...rest } = options;
  if (!worker) {
    const api = createEngineApi();
    const asyncApi = api as unknown as Remote;
    const info = await api.load(source, rest, onProgress);
    return new Engine(asyncApi, info, localWrap, () => {});
  }
  installErrorTransfer();
  const w = new Worker(new URL('./worker/worker.ts', import.meta.url), { type: 'module', name: 'llmo' });
  const api = Comlink.wrap<EngineApi>(w) as unknown as Remote;
  try {
    const info = await api.load(source, rest, onProgress ? Comlink.proxy(onProgress) : undefined);
    return new Engine(api, info, remoteWrap, () => w.terminate());
  } catch (e) {
    w.terminate();
    throw e;
  }
}

export { Engine, GenerationStream, type GenerateCallOptions } from './engine.ts';
export type { GenerationChunk, GenerationResult, GenerationStats, ModelInfo } from './runtime/engine-core.ts';
export type { LoadProgress, LoadPhase } from './loader/load-model.ts';
export type { KernelTime } from './gpu/profiler.ts';
export type { ModelSource } from './loader/stream-reader.ts';
export type { ModelConfig, Architecture } from './model/types.ts';
export * from './errors.ts';
