/**
 * `llmo/ai-sdk`: an llmo engine as a Vercel AI SDK provider (specification v4, the one `ai` 7 uses).
 *
 *   import { streamText } from 'ai';
 *   import { createLlmo } from 'llmo/ai-sdk';
 *   const llmo = createLlmo({ source: 'hf:owner/repo/model-q4_0.gguf', onProgress: (p) => bar.value = p.fraction });
 *   const { textStream } = streamText({ model: llmo(), prompt: 'Hi!' });
 *
 * `createLlmo(engine)` wraps an engine already loaded; `createLlmo({ source, ...loadOptions })` loads on first use
 * (once) and reports download progress through `onProgress`. The AI SDK itself is not bundled: only its types are
 * used, so `ai` and `@ai-sdk/provider` stay the page's own dependencies.
 */
import type { EmbeddingModelV4, EmbeddingModelV4CallOptions, EmbeddingModelV4Result, LanguageModelV4 } from '@ai-sdk/provider';
import { load, type LoadModelOptions } from '../../index.ts';
import type { Engine } from '../../engine.ts';
import type { ModelSource } from '../../loader/source.ts';
import { UnsupportedModelError } from '../../errors.ts';
import { LlmoLanguageModel, type EngineRef } from './language-model.ts';

export { LlmoLanguageModel } from './language-model.ts';

/** A loaded engine, a promise of one, or what to load on first use. */
export type LlmoProviderSettings = Engine | Promise<Engine> | (LoadModelOptions & { source: ModelSource });

export interface LlmoProvider {
  /** The language model (`llmo()` or `llmo('name')`; one engine serves one model, the id only names it). */
  (modelId?: string): LanguageModelV4;
  languageModel(modelId?: string): LanguageModelV4;
  chat(modelId?: string): LanguageModelV4;
  /** An embedding model over the engine's `embeddings.create` (the engine must hold an embedding model, e.g. a BERT GGUF). */
  embeddingModel(modelId?: string): EmbeddingModelV4;
  textEmbeddingModel(modelId?: string): EmbeddingModelV4;
  imageModel(modelId: string): never;
  readonly specificationVersion: 'v4';
  /** The engine behind the models (loads it if the provider was given a source). */
  engine(): Promise<Engine>;
}

export function createLlmo(settings: LlmoProviderSettings): LlmoProvider {
  let pending: Promise<Engine> | undefined;
  const engine: EngineRef = () => {
    if (!pending) {
      if (isLoad(settings)) {
        const { source, ...options } = settings;
        pending = load(source, options);
      } else {
        pending = Promise.resolve(settings);
      }
      // A failed load is retried by the next call rather than cached.
      pending.catch(() => (pending = undefined));
    }
    return pending;
  };
  const defaultId = isLoad(settings) ? sourceName(settings.source) : 'llmo';
  const languageModel = (id?: string) => new LlmoLanguageModel(id ?? defaultId, engine);
  const embeddingModel = (id?: string) => new LlmoEmbeddingModel(id ?? defaultId, engine);
  return Object.assign(languageModel, {
    languageModel,
    chat: languageModel,
    embeddingModel,
    textEmbeddingModel: embeddingModel,
    imageModel: (id: string): never => {
      throw new UnsupportedModelError(`llmo runs language and embedding models; there is no image model '${id}'.`);
    },
    specificationVersion: 'v4' as const,
    engine,
  });
}

function isLoad(s: LlmoProviderSettings): s is LoadModelOptions & { source: ModelSource } {
  return typeof s === 'object' && s !== null && 'source' in s && !('then' in s);
}

function sourceName(s: ModelSource): string {
  if (typeof s === 'string' || s instanceof URL) return String(s).split(/[/?#]/).filter(Boolean).pop() ?? String(s);
  return 'llmo';
}

export class LlmoEmbeddingModel implements EmbeddingModelV4 {
  readonly specificationVersion = 'v4' as const;
  readonly provider = 'llmo';
  /** The engine batches a call's texts itself; one call at a time keeps the GPU queue short. */
  readonly maxEmbeddingsPerCall = 256;
  readonly supportsParallelCalls = false;

  constructor(readonly modelId: string, private readonly engine: EngineRef) {}

  async doEmbed(options: EmbeddingModelV4CallOptions): Promise<EmbeddingModelV4Result> {
    const engine = await this.engine();
    const r = await engine.embeddings.create({ input: options.values, dimensions: options.dimensions, signal: options.abortSignal });
    return {
      embeddings: r.data.map((d) => d.embedding as number[]),
      usage: { tokens: r.usage.prompt_tokens },
      warnings: [],
    };
  }
}
