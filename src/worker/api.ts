/**
 * The engine's message surface: what the page may ask of the thread that owns the model. The worker exposes it with
 * comlink; in-page mode (`load(src, { worker: false })`) calls it directly.
 */
import { EngineCore } from '../runtime/engine-core.ts';
import type { GenerateOptions, GenerationChunk, LoadOptions } from '../runtime/engine-types.ts';
import type { LoadProgress } from '../loader/load-model.ts';
import type { EvaluateOptions } from '../runtime/evaluate.ts';
import type { LoadSource } from '../loader/source.ts';
import { EngineStateError, UnsupportedModelError } from '../errors.ts';
import { EmbedCore, type EmbedRequestOptions } from '../runtime/embed-core.ts';
import { openModel } from '../runtime/open-model.ts';
import { familyOf } from '../families/index.ts';
import { chatCompletion, chatPromptIds, completion, type ChatRequestData, type CompletionRequestData } from '../api/openai.ts';
import { batchSink } from './batch-sink.ts';
import type { ChatCompletionChunk, CompletionChunk } from '../api/types.ts';
import type { AdapterSource } from '../lora/fetch-adapter.ts';
import type { LoadAdapterOptions } from '../lora/adapters.ts';
import type { LoraRequest } from '../runtime/engine-types.ts';

export type LoadRequestOptions = Omit<LoadOptions, 'onProgress' | 'signal'>;
export type GenerateRequestOptions = Omit<GenerateOptions, 'signal'>;
export type EvaluateRequestOptions = Omit<EvaluateOptions, 'signal'>;

type Core = EngineCore | EmbedCore;

/**
 * Where cores come from: by default each API object opens its own and disposes it; a SharedWorker's host
 * (worker/shared-host.ts) hands every tab the same core for the same model and counts its users.
 */
export interface CoreHost {
  open(source: LoadSource, options: LoadOptions): Promise<Core>;
  release(core: Core): void;
}

export const ownCoreHost: CoreHost = {
  open: (source, o) => openModel<Core>(source, o, (gpu, model, t0) =>
    familyOf(model.config.arch).encoder ? EmbedCore.build(gpu, model, o, t0) : EngineCore.build(gpu, model, o, t0)),
  release: (core) => core.dispose(),
};

export function createEngineApi(host: CoreHost = ownCoreHost) {
  // A text generator (EngineCore) or an embedding model (EmbedCore): the model's family decides at load.
  let core: Core | undefined;
  // AbortSignals do not cross postMessage: the page aborts by request id instead.
  const controllers = new Map<number, AbortController>();
  const loaded = (): EngineCore | EmbedCore => {
    if (!core) throw new EngineStateError('No model is loaded; call load() first.');
    return core;
  };
  const need = (): EngineCore => {
    const c = loaded();
    if (c instanceof EmbedCore) {
      throw new UnsupportedModelError(`${c.info().name} is an embedding model (${c.info().config.arch}), not a text generator: use engine.embed() or engine.embeddings.create().`);
    }
    return c;
  };
  /** Runs request `id` with a signal that `abort(id)` fires. */
  const abortable = async <T>(id: number, run: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    const ac = new AbortController();
    controllers.set(id, ac);
    try {
      return await run(ac.signal);
    } finally {
      controllers.delete(id);
    }
  };
  return {
    async load(source: LoadSource, options: LoadRequestOptions, onProgress?: (p: LoadProgress) => void) {
      if (core) host.release(core);
      core = undefined;
      core = await host.open(source, { ...options, onProgress });
      return core.info();
    },
    // Chunks travel in groups (batch-sink.ts): one call of `onChunks` per burst, i.e. per GPU submission.
    generate(id: number, prompt: string | number[], options: GenerateRequestOptions, onChunks?: (cs: GenerationChunk[]) => void | Promise<void>) {
      // EngineCore waits for the last chunk's delivery before returning, so the result never overtakes it.
      return abortable(id, (signal) => need().generate(prompt, { ...options, signal }, onChunks && batchSink(onChunks)));
    },
    /** OpenAI-shaped chat completion; chunks go to `onChunks` when streaming. Aborted by `abort(id)`. */
    chatCompletion(id: number, req: ChatRequestData, onChunks?: (cs: ChatCompletionChunk[]) => void | Promise<void>) {
      return abortable(id, (signal) => chatCompletion(need(), req, signal, onChunks && batchSink(onChunks)));
    },
    completion(id: number, req: CompletionRequestData, onChunks?: (cs: CompletionChunk[]) => void | Promise<void>) {
      return abortable(id, (signal) => completion(need(), req, signal, onChunks && batchSink(onChunks)));
    },
    /** The prompt ids a chat request would be fed as (exact token counts without generating). */
    chatPromptIds: (req: ChatRequestData) => chatPromptIds(need(), req),
    abort(id: number): void {
      controllers.get(id)?.abort();
    },
    /** Aborts every request of this caller (a SharedWorker tab that went away). */
    abortAll(): void {
      for (const c of controllers.values()) c.abort();
    },
    /** One vector per input (texts or token-id lists), in order; aborted by `abort(id)` between GPU batches. */
    embed(id: number, inputs: (string | number[])[], options: EmbedRequestOptions = {}) {
      // EngineCore embeds only when loaded with `pooling` (decoder embedding models); it says so otherwise.
      return abortable(id, (signal) => loaded().embed(inputs, options, signal));
    },
    info: () => loaded().info(),
    tokenize: (text: string, addBos?: boolean) => loaded().tokenize(text, addBos),
    detokenize: (ids: number[]) => loaded().detokenize(ids),
    logits: (ids: number[], lora?: LoraRequest[]) => need().logits(ids, lora),
    /** LoRA adapters (src/lora/): resident next to the model, picked per request. */
    loadAdapter: (source: AdapterSource, options: Omit<LoadAdapterOptions, 'signal'> = {}) => need().loadAdapter(source, options),
    unloadAdapter: (id: string) => need().unloadAdapter(id),
    adapters: () => need().listAdapters(),
    mergeAdapter: (id: string, scale?: number) => need().mergeAdapter(id, scale),
    /** Perplexity of a text (runtime/evaluate.ts); aborted by `abort(id)`. */
    evaluate(id: number, text: string | number[], options: EvaluateRequestOptions = {}) {
      return abortable(id, (signal) => need().evaluate(text, { ...options, signal }));
    },
    kernelTimes: (reset?: boolean) => need().kernelTimes(reset),
    dispose(): void {
      if (core) host.release(core);
      core = undefined;
    },
  };
}

export type EngineApi = ReturnType<typeof createEngineApi>;
