/**
 * The page-side handle to a loaded model. Calls go to the worker (or, in-page mode, straight to the API object);
 * `generate` turns the worker's chunk callbacks into an async iterator.
 */
import type { KernelTime } from './gpu/profiler.ts';
import type { EngineApi, EvaluateRequestOptions, GenerateRequestOptions } from './worker/api.ts';
import type { EvaluateResult } from './runtime/evaluate.ts';
import type { AdapterInfo, GenerationChunk, GenerationResult, LoraRequest, ModelInfo } from './runtime/engine-types.ts';
import type { AdapterSource } from './lora/fetch-adapter.ts';
import type { LoadAdapterOptions } from './lora/adapters.ts';
import { AbortError, EngineStateError } from './errors.ts';
import { ChunkStream } from './util/chunk-stream.ts';
import type { Callbacks } from './worker/callback-ports.ts';
import type { ChatCompletionRequest } from './api/types.ts';
import { adapterAwareHook } from './api/cache-identity.ts';
import { embedCall, embeddings, type EmbedOptions, type Embeddings } from './api/embeddings.ts';
import {
  chatCompletions, completions, type ChatCompletions, type Completions, type CompletionsTransport, type ResponseCacheBinder, type ResponseCacheHook,
} from './api/client.ts';

export interface GenerateCallOptions extends GenerateRequestOptions {
  /** Stops generation; the stream ends with finishReason 'abort'. */
  signal?: AbortSignal;
}

export interface EvaluateCallOptions extends EvaluateRequestOptions {
  /** Stops the evaluation between windows (the promise rejects with AbortError). */
  signal?: AbortSignal;
}

type Remote = {
  [K in keyof EngineApi]: (...a: Parameters<EngineApi[K]>) => Promise<Awaited<ReturnType<EngineApi[K]>>>;
};

/**
 * Chunks of one generation as they are produced. Iterate it with `for await`; `result` settles with the full text,
 * finish reason and stats (time to first token, tokens/s) when generation ends.
 */
export class GenerationStream extends ChunkStream<GenerationChunk, GenerationResult> {
  /** The full text, finish reason and stats, once generation ends. */
  get result(): Promise<GenerationResult> {
    return this.settled;
  }

  /** All the text, once generation ends. */
  async text(): Promise<string> {
    return (await this.result).text;
  }
}

let nextId = 1;

export class Engine {
  private disposed = false;
  /** Rejects every call still in flight when the engine is disposed (a terminated worker never answers them). */
  private readonly gone = rejectable();
  private readonly api: Remote;
  private responseCache?: ResponseCacheHook;
  /** OpenAI-shaped chat: `engine.chat.completions.create({ messages, stream, response_format, tools, ... })`. */
  readonly chat: { completions: ChatCompletions };
  /** OpenAI-shaped raw-prompt completions: `engine.completions.create({ prompt, ... })`. */
  readonly completions: Completions;
  /** OpenAI-shaped embeddings (embedding models): `engine.embeddings.create({ input, dimensions, encoding_format })`. */
  readonly embeddings: Embeddings;

  /** @internal */
  constructor(
    api: Remote,
    /** What the model is: architecture, sizes, context, GPU memory, load time. */
    readonly info: ModelInfo,
    private readonly callbacks: Callbacks,
    private readonly terminate: () => void,
  ) {
    this.gone.promise.catch(() => {});
    this.api = settleOnDispose(api, this.gone.promise);
    const transport: CompletionsTransport = {
      chatCompletion: (id, req, cb) => this.api.chatCompletion(id, req, cb),
      completion: (id, req, cb) => this.api.completion(id, req, cb),
      abort: (id) => this.api.abort(id),
      wrap: (f) => this.callbacks.wrap(f),
      release: (cb) => this.callbacks.release(cb),
      check: () => this.check(),
      responseCache: () => this.responseCache,
    };
    this.chat = { completions: chatCompletions(transport) };
    this.completions = completions(transport);
    this.embeddings = embeddings(this.embedTransport);
  }

  private readonly embedTransport = {
    embed: (id: number, inputs: (string | number[])[], o: Parameters<EngineApi['embed']>[2]) => this.api.embed(id, inputs, o),
    abort: (id: number) => this.api.abort(id),
    check: () => this.check(),
    modelName: () => this.info.name,
  };

  /**
   * One vector per text (embedding models: BERT-family encoders), in order, L2-normalised unless `normalize: false`.
   * Many texts go in one call: they are packed into a few GPU submissions.
   */
  async embed(texts: string | string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    return (await embedCall(this.embedTransport, typeof texts === 'string' ? [texts] : texts, options)).vectors;
  }

  /**
   * Answers repeated deterministic chat requests (temperature 0 or a seed) from `cache` (`openResponseCache()`),
   * without running the model; `usage.response_cache` marks such replies. `null` turns it off.
   */
  useResponseCache(cache: ResponseCacheBinder | null): void {
    const model = `${this.info.name}|${this.info.format}|${this.info.memory.weightBytes}`;
    this.responseCache = cache ? adapterAwareHook(cache, model, () => this.api.adapters()) : undefined;
  }

  /** Streams a completion of `prompt` (text, or token ids). */
  generate(prompt: string | number[], options: GenerateCallOptions = {}): GenerationStream {
    this.check();
    const { signal, ...rest } = options;
    const id = nextId++;
    const stop = () => void this.api.abort(id);
    if (signal?.aborted) {
      return new GenerationStream(() => Promise.reject(new AbortError('The signal was already aborted.')), stop);
    }
    signal?.addEventListener('abort', stop, { once: true });
    return new GenerationStream(
      (push) => {
        const cb = this.callbacks.wrap((cs: GenerationChunk[]) => cs.forEach(push));
        return this.api.generate(id, prompt, rest, cb).finally(() => {
          signal?.removeEventListener('abort', stop);
          this.callbacks.release(cb);
        });
      },
      stop,
    );
  }

  /** The whole completion at once. */
  complete(prompt: string | number[], options: GenerateCallOptions = {}): Promise<GenerationResult> {
    return this.generate(prompt, options).result;
  }

  tokenize(text: string, options: { addBos?: boolean } = {}): Promise<number[]> {
    this.check();
    return this.api.tokenize(text, options.addBos);
  }

  detokenize(ids: number[]): Promise<string> {
    this.check();
    return this.api.detokenize(ids);
  }

  /**
   * The prompt token ids a chat request would be fed as (the model's chat template, tools and BOS applied), without
   * generating: exact context accounting for a conversation.
   */
  tokenizeChat(req: Omit<ChatCompletionRequest, 'signal'>): Promise<number[]> {
    this.check();
    return this.api.chatPromptIds(req);
  }

  /** Next-token logits after `ids` (fed from position 0), with the given LoRA adapters applied. */
  logits(ids: number[], options: { lora?: LoraRequest[] } = {}): Promise<Float32Array> {
    this.check();
    return this.api.logits(ids, options.lora);
  }

  /**
   * Loads a LoRA adapter next to the model without reloading it: a llama.cpp GGUF adapter (URL, `hf:` id, File) or a
   * PEFT adapter (its folder URL, or adapter_config.json + adapter_model.safetensors picked together). Requests apply
   * it with `lora: [{ id, scale }]`; several adapters may be resident and applied at once. Cached like models.
   */
  loadAdapter(source: AdapterSource, options: Omit<LoadAdapterOptions, 'signal'> = {}): Promise<AdapterInfo> {
    this.check();
    const abs = (typeof source === 'string' || source instanceof URL) && !String(source).startsWith('hf:') && typeof location !== 'undefined'
      ? new URL(String(source), location.href).href
      : typeof FileList !== 'undefined' && source instanceof FileList ? Array.from(source) : source;
    return this.api.loadAdapter(abs, options);
  }

  unloadAdapter(id: string): Promise<void> {
    this.check();
    return this.api.unloadAdapter(id);
  }

  /** The resident adapters. */
  adapters(): Promise<AdapterInfo[]> {
    this.check();
    return this.api.adapters();
  }

  /**
   * Adds an adapter into the base weights for good (F32/F16 bases only; a quantized one is refused naming the tensor):
   * every request then gets it at the base's speed, and it can no longer be picked per request.
   */
  mergeAdapter(id: string, scale = 1): Promise<AdapterInfo> {
    this.check();
    return this.api.mergeAdapter(id, scale);
  }

  /**
   * Perplexity of `text` (or token ids) and each scored token's negative log-likelihood, windowed as llama.cpp's
   * `perplexity` tool does: `window` tokens per window (default: the context), second half scored; with `stride`,
   * windows every `stride` tokens scoring their last `stride` predictions. Uses (and clears) the KV cache.
   */
  evaluate(text: string | number[], options: EvaluateCallOptions = {}): Promise<EvaluateResult> {
    this.check();
    const { signal, ...rest } = options;
    const id = nextId++;
    const stop = () => void this.api.abort(id);
    if (signal?.aborted) return Promise.reject(new AbortError('The signal was already aborted.'));
    signal?.addEventListener('abort', stop, { once: true });
    return this.api.evaluate(id, text, rest).finally(() => signal?.removeEventListener('abort', stop));
  }

  /**
   * GPU time per kernel (summed over layers and steps) since the last reset, longest first. Needs
   * `load(src, { profile: true })` and an adapter with `timestamp-query`; empty otherwise.
   */
  kernelTimes(reset = false): Promise<KernelTime[]> {
    this.check();
    return this.api.kernelTimes(reset);
  }

  /** Frees the GPU memory and stops the worker. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.gone.reject(new EngineStateError('The engine was disposed while this call ran; call load() again.'));
    try {
      await this.api.dispose();
    } finally {
      this.callbacks.releaseAll();
      this.terminate();
    }
  }

  private check(): void {
    if (this.disposed) throw new EngineStateError('This engine was disposed; call load() again.');
  }
}

function rejectable(): { promise: Promise<never>; reject: (e: Error) => void } {
  let reject!: (e: Error) => void;
  const promise = new Promise<never>((_, r) => (reject = r));
  return { promise, reject };
}

/** `api` whose calls (except `dispose` itself) reject with `gone`'s reason once it rejects. */
function settleOnDispose(api: Remote, gone: Promise<never>): Remote {
  return new Proxy(api, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (key === 'dispose' || key === 'then' || typeof value !== 'function') return value;
      // Reflect.apply, not value.apply: on a comlink proxy `.apply` would name a remote method.
      return (...args: unknown[]) => Promise.race([Reflect.apply(value, target, args) as Promise<unknown>, gone]);
    },
  });
}

export type { Remote };
