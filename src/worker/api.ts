/**
 * The engine's message surface: what the page may ask of the thread that owns the model. The worker exposes it with
 * comlink; in-page mode (`load(src, { worker: false })`) calls it directly.
 */
import { EngineCore, type GenerateOptions, type GenerationChunk, type LoadOptions } from '../runtime/engine-core.ts';
import type { LoadProgress } from '../loader/load-model.ts';
import type { EvaluateOptions } from '../runtime/evaluate.ts';
import type { ModelSource } from '../loader/stream-reader.ts';
import { EngineStateError } from '../errors.ts';
import { chatCompletion, chatPromptIds, completion, type ChatRequestData, type CompletionRequestData } from '../api/openai.ts';
import type { ChatCompletionChunk, CompletionChunk } from '../api/types.ts';

export type LoadRequestOptions = Omit<LoadOptions, 'onProgress' | 'signal'>;
export type GenerateRequestOptions = Omit<GenerateOptions, 'signal'>;
export type EvaluateRequestOptions = Omit<EvaluateOptions, 'signal'>;

export function createEngineApi() {
  let core: EngineCore | undefined;
  // AbortSignals do not cross postMessage: the page aborts by request id instead.
  const controllers = new Map<number, AbortController>();
  const need = (): EngineCore => {
    if (!core) throw new EngineStateError('No model is loaded; call load() first.');
    return core;
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
    async load(source: ModelSource, options: LoadRequestOptions, onProgress?: (p: LoadProgress) => void) {
      core?.dispose();
      core = undefined;
      core = await EngineCore.load(source, { ...options, onProgress });
      return core.info();
    },
    generate(id: number, prompt: string | number[], options: GenerateRequestOptions, onChunk?: (c: GenerationChunk) => void) {
      // EngineCore waits for the last chunk's delivery before returning, so the result never overtakes it.
      return abortable(id, (signal) => need().generate(prompt, { ...options, signal }, onChunk));
    },
    /** OpenAI-shaped chat completion; chunks go to `onChunk` when streaming. Aborted by `abort(id)`. */
    chatCompletion(id: number, req: ChatRequestData, onChunk?: (c: ChatCompletionChunk) => void | Promise<void>) {
      return abortable(id, (signal) => chatCompletion(need(), req, signal, onChunk));
    },
    completion(id: number, req: CompletionRequestData, onChunk?: (c: CompletionChunk) => void | Promise<void>) {
      return abortable(id, (signal) => completion(need(), req, signal, onChunk));
    },
    /** The prompt ids a chat request would be fed as (exact token counts without generating). */
    chatPromptIds: (req: ChatRequestData) => chatPromptIds(need(), req),
    abort(id: number): void {
      controllers.get(id)?.abort();
    },
    info: () => need().info(),
    tokenize: (text: string, addBos?: boolean) => need().tokenize(text, addBos),
    detokenize: (ids: number[]) => need().detokenize(ids),
    logits: (ids: number[]) => need().logits(ids),
    /** Perplexity of a text (runtime/evaluate.ts); aborted by `abort(id)`. */
    evaluate(id: number, text: string | number[], options: EvaluateRequestOptions = {}) {
      return abortable(id, (signal) => need().evaluate(text, { ...options, signal }));
    },
    kernelTimes: (reset?: boolean) => need().kernelTimes(reset),
    dispose(): void {
      core?.dispose();
      core = undefined;
    },
  };
}

export type EngineApi = ReturnType<typeof createEngineApi>;
