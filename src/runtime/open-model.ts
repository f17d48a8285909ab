/**
 * Opens a GPU device, loads a model onto it and builds a core (chat: EngineCore; embeddings: EmbedCore) inside the
 * device's error scopes: an out-of-memory or validation error anywhere in loading or building fails the load with a
 * typed error, and on any failure the device is destroyed, which frees every GPU object of the model at once.
 */
import { openGpu, type Gpu } from '../gpu/device.ts';
import { loadModel, type LoadProgress, type LoadedModel } from '../loader/load-model.ts';
import type { LoadSource } from '../loader/source.ts';
import { EngineStateError, ModelTooLargeError } from '../errors.ts';

export interface BuiltCore {
  /** GPU bytes of weights, and of caches + activations. */
  memory(): { weightBytes: number; cacheBytes: number };
}

export async function openModel<T extends BuiltCore>(
  source: LoadSource,
  options: { onProgress?: (p: LoadProgress) => void; signal?: AbortSignal; quantize?: string; cacheQuantized?: boolean; quantizeThreads?: number },
  build: (gpu: Gpu, model: LoadedModel, t0: number) => Promise<T>,
): Promise<T> {
  const t0 = performance.now();
  const gpu = await openGpu();
  try {
    gpu.device.pushErrorScope('out-of-memory');
    gpu.device.pushErrorScope('validation');
    const model = await loadModel(gpu, source, { onProgress: options.onProgress, signal: options.signal, quantize: options.quantize, cacheQuantized: options.cacheQuantized, quantizeThreads: options.quantizeThreads });
    options.onProgress?.({ phase: 'compile', loaded: 0, fraction: 0.98, file: model.name });
    const core = await build(gpu, model, t0);
    const invalid = await gpu.device.popErrorScope();
    const oom = await gpu.device.popErrorScope();
    if (oom) {
      const m = core.memory();
      throw new ModelTooLargeError(
        `The GPU ran out of memory holding ${model.name} (${(m.weightBytes / 2 ** 20).toFixed(0)} MiB of weights, ` +
          `${(m.cacheBytes / 2 ** 20).toFixed(0)} MiB of cache and activations): ${oom.message}. ` +
          'Load a smaller or more strongly quantized model, or pass a smaller contextLength, maxBatch or prefixCacheBytes.',
      );
    }
    if (invalid) throw new EngineStateError(`Building the model on the GPU failed: ${invalid.message}`);
    options.onProgress?.({ phase: 'ready', loaded: 0, fraction: 1, file: model.name });
    return core;
  } catch (e) {
    gpu.device.destroy();
    throw e;
  }
}
