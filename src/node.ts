/**
 * llmo in Node: the same engine and API as in the page, on Dawn (the `webgpu` npm package) instead of a browser's
 * WebGPU, in the calling thread (no Web Worker). With a Vulkan GPU (and the Vulkan loader, libvulkan.so.1) it runs
 * on the GPU; with `VK_ICD_FILENAMES` pointing at SwiftShader's ICD it runs on the CPU (tests, CI).
 *
 *   import { load } from 'llmo/node';
 *   const engine = await load('./models/model-q4_0.gguf');        // a file, a model folder, a URL or hf: id
 *   console.log((await engine.complete('Once upon a time', { maxTokens: 32 })).text);
 *   await engine.dispose();
 *
 * Local files are read lazily from disk (never cached); URLs are fetched without the IndexedDB cache.
 */
import { openAsBlob } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine, type Remote } from './engine.ts';
import { directCallbacks } from './worker/callback-ports.ts';
import { createEngineApi, type LoadRequestOptions } from './worker/api.ts';
import { provideGpu } from './gpu/device.ts';
import { installNodeQuantizeWorkers } from './node-quantize-workers.ts';
import type { LoadProgress } from './loader/load-model.ts';
import { shardGroup, shardInfo, type ModelSource, type SourceOptions } from './loader/source.ts';
import { InvalidRequestError, WebGPUUnavailableError } from './errors.ts';

export * from './exports.ts';

export interface NodeLoadOptions extends LoadRequestOptions, Omit<SourceOptions, 'cache'> {
  onProgress?: (p: LoadProgress) => void;
  /** Flags for Dawn's `create()` (e.g. `['backend=vulkan', 'adapter=NVIDIA …']`). Default none. */
  dawnFlags?: string[];
}

/** A model on disk (a `.gguf`/`.safetensors` file or its folder), or anything the browser `load()` takes. */
export type NodeModelSource = string | URL | ModelSource;

let dawn: Promise<void> | undefined;

/** Loads the `webgpu` package once and hands its GPU to openGpu; WebGPU's constants become globals as in a page. */
function installDawn(flags: string[]): Promise<void> {
  dawn ??= (async () => {
    let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
    try {
      mod = (await import('webgpu')) as typeof mod;
    } catch (e) {
      throw new WebGPUUnavailableError(
        `llmo/node needs the \`webgpu\` package (Dawn): npm install webgpu. Loading it failed: ${(e as Error)?.message ?? e}`,
      );
    }
    const g = globalThis as Record<string, unknown>;
    for (const [k, v] of Object.entries(mod.globals)) if (!(k in g)) g[k] = v;
    provideGpu(mod.create(flags));
    installNodeQuantizeWorkers();
  })();
  return dawn;
}

const MODEL_FILE = /\.(gguf|safetensors)$/;

/**
 * The Files a local path stands for: a folder gives all its files; a model file gives itself, the other shards of
 * its split model, and the non-model files beside it (config.json, tokenizer.json) that a safetensors model needs.
 */
async function localFiles(path: string): Promise<File[]> {
  const s = await stat(path);
  let names: string[];
  let dir: string;
  if (s.isDirectory()) {
    dir = path;
    names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  } else {
    dir = dirname(path);
    const own = basename(path);
    const group = shardGroup(own);
    names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name)
      .filter((n) => n === own || (!MODEL_FILE.test(n) && !n.endsWith('.safetensors.index.json')) || (shardInfo(n) && shardGroup(n) === group));
  }
  return Promise.all(names.map(async (n) => new File([await openAsBlob(join(dir, n))], n)));
}

function isLocalPath(src: NodeModelSource): src is string | URL {
  if (src instanceof URL) return src.protocol === 'file:';
  return typeof src === 'string' && !/^(https?:|hf:)/.test(src);
}

/** Loads a model onto the GPU through Dawn and returns the same `Engine` the browser entry gives. */
export async function load(source: NodeModelSource, options: NodeLoadOptions = {}): Promise<Engine> {
  const { onProgress, dawnFlags = [], hfBaseUrl, sha256, chunkBytes, concurrency, ...rest } = options;
  await installDawn(dawnFlags);
  let src: ModelSource;
  if (isLocalPath(source)) {
    const path = source instanceof URL || source.startsWith('file:') ? fileURLToPath(source) : source;
    src = await localFiles(path).catch((e: { code?: string; message: string }) => {
      throw new InvalidRequestError(`Cannot read the model at ${path} (${e.code ?? e.message}): pass a .gguf/.safetensors file or its folder.`);
    });
  } else src = source;
  const api = createEngineApi();
  const info = await api.load({ llmoSource: src, hfBaseUrl, cache: false, sha256, chunkBytes, concurrency }, rest, onProgress);
  return new Engine(api as unknown as Remote, info, directCallbacks, () => {});
}
