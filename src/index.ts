/**
 * llmo: large language models in the page, on the visitor's GPU.
 *
 *   const engine = await load('hf:<owner>/<repo>/model-q4_0.gguf', { onProgress });   // or any URL, or a File
 *   const local = await load(input.files);   // picked files: model.safetensors + config.json + tokenizer.json, or GGUF shards
 *   await cache.list();   // models kept in IndexedDB; the next load of the same URL reads from there, offline too
 *   for await (const chunk of engine.generate('Once upon a time', { maxTokens: 64, temperature: 0 })) out += chunk.text;
 */
import * as Comlink from 'comlink';
import { Engine, type Remote } from './engine.ts';
import { PortCallbacks, directCallbacks, installCallbackTransfer } from './worker/callback-ports.ts';
import { createEngineApi, type EngineApi, type LoadRequestOptions } from './worker/api.ts';
import { installErrorTransfer } from './worker/error-transfer.ts';
import { spawnWorker } from './worker/spawn.ts';
import { installQuantizeWorkers } from './worker/quantize-workers.ts';
import { spawnSharedWorker } from './worker/spawn-shared.ts';
import { WebGPUUnavailableError } from './errors.ts';
import type { LoadProgress } from './loader/load-model.ts';
import type { ModelSource, SourceOptions, SourceRequest } from './loader/source.ts';

export interface LoadModelOptions extends LoadRequestOptions, SourceOptions {
  onProgress?: (p: LoadProgress) => void;
  /** Run the engine in a dedicated Web Worker (default) or in the calling thread. */
  worker?: boolean;
  /**
   * Host the engine in a SharedWorker shared by every tab of this origin: one model load and one GPU allocation for
   * all of them (their requests queue in one FIFO; a closed tab's requests are cancelled; a model is unloaded a few
   * seconds after its last tab leaves). Falls back to a dedicated worker where SharedWorker (or WebGPU inside one)
   * is missing, or in the script-tag bundle; `engine.info.host` says which and why.
   */
  shared?: boolean;
}

/**
 * Loads a model (GGUF or safetensors; by URL, `hf:` id, `{ hf, file }`, File, or several picked files) onto the GPU
 * and returns an engine for it. Picked files (`FileList` or `File[]`: a model folder's files) are matched by name:
 * a safetensors model needs its config.json and tokenizer.json among them, a split model all its shards. Downloaded
 * files are cached in IndexedDB (`cache: false` to skip; local files never are), resumed after an interruption, and
 * checked against `sha256` (or the hub's hash) when one is known.
 */
export async function load(source: ModelSource, options: LoadModelOptions = {}): Promise<Engine> {
  const { onProgress, worker = true, shared = false, hfBaseUrl, cache, sha256, chunkBytes, concurrency, draft, ...engineOptions } = options;
  // The source travels with its fetch/cache options, so the engine's own load options stay about the engine.
  const request: SourceRequest = { llmoSource: absolute(source), hfBaseUrl: hfBaseUrl && String(absolute(hfBaseUrl)), cache, sha256, chunkBytes, concurrency };
  // A draft model (speculative decoding) is fetched and cached the same way (the sha256 is the model's, not its).
  const rest = draft === undefined ? engineOptions : { ...engineOptions, draft: { ...request, sha256: undefined, llmoSource: absolute(draft as ModelSource) } };
  if (!worker) {
    installQuantizeWorkers(); // quantize-on-load's workers, started from the page as from the engine's worker
    const api = createEngineApi();
    const asyncApi = api as unknown as Remote;
    const info = await api.load(request, rest, onProgress);
    return new Engine(asyncApi, { ...info, host: { kind: 'page' } }, directCallbacks, () => {});
  }
  installErrorTransfer();
  installCallbackTransfer();
  let note: string | undefined;
  if (shared) {
    const s = await loadShared(request, rest, onProgress);
    if (s instanceof Engine) return s;
    note = s;
  }
  const w = spawnWorker();
  const api = Comlink.wrap<EngineApi>(w) as unknown as Remote;
  const callbacks = new PortCallbacks();
  const progress = onProgress && callbacks.wrap(onProgress);
  try {
    const info = await api.load(request, rest, progress);
    return new Engine(api, { ...info, host: { kind: 'worker', note } }, callbacks, () => w.terminate());
  } catch (e) {
    w.terminate();
    throw e;
  } finally {
    callbacks.release(progress);
  }
}

/**
 * The engine in the origin's SharedWorker, or why not (the caller falls back to a dedicated worker). The tab holds a
 * Web Lock named for it until dispose() or until the tab dies; the worker waits on that lock to clean up after it.
 */
async function loadShared(request: SourceRequest, options: LoadRequestOptions, onProgress?: (p: LoadProgress) => void): Promise<Engine | string> {
  const sw = spawnSharedWorker();
  if (!sw) return 'SharedWorker is not available here; a dedicated worker hosts the engine.';
  const api = Comlink.wrap<EngineApi>(sw.port) as unknown as Remote & { watch(lock: string): Promise<void> };
  const lock = `llmo-tab-${crypto.randomUUID()}`;
  let release!: () => void;
  await new Promise<void>((held) => void navigator.locks.request(lock, () => new Promise<void>((r) => { release = r; held(); })));
  const leave = () => {
    release();
    sw.port.close();
  };
  const callbacks = new PortCallbacks();
  const progress = onProgress && callbacks.wrap(onProgress);
  // A worker script that fails to start reports on the SharedWorker object, never on the port.
  const failed = new Promise<never>((_, reject) => (sw.onerror = () => reject(new Error(NOT_STARTED))));
  try {
    await Promise.race([api.watch(lock), failed]);
    const info = await api.load(request, options, progress);
    return new Engine(api, { ...info, host: { kind: 'shared-worker' } }, callbacks, leave);
  } catch (e) {
    leave();
    if (e instanceof WebGPUUnavailableError) return `WebGPU is not available in a SharedWorker here (${e.message}); a dedicated worker hosts the engine.`;
    if (e instanceof Error && e.message === NOT_STARTED) return 'The SharedWorker script did not start; a dedicated worker hosts the engine.';
    throw e;
  } finally {
    callbacks.release(progress);
  }
}

const NOT_STARTED = 'the SharedWorker did not start';

/**
 * A relative URL made absolute against the page, so the worker (whose base is its own script) fetches the same file
 * and the cache keys it the same way the page does. A FileList becomes a plain array of its Files.
 */
function absolute(source: ModelSource): ModelSource {
  if (typeof FileList !== 'undefined' && source instanceof FileList) return Array.from(source);
  if ((typeof source !== 'string' && !(source instanceof URL)) || String(source).startsWith('hf:')) return source;
  return typeof location !== 'undefined' ? new URL(String(source), location.href).href : String(source);
}

export * from './exports.ts';
