/**
 * One loaded model and its requests. This is what runs inside the Web Worker (src/worker/worker.ts); the page
 * talks to it through comlink. It can also run in the page itself (`load(src, { worker: false })`). A generate
 * request is checked and set up here (how it picks, what the KV cache already holds); its loop runs in
 * request-loop.ts.
 */
import type { Gpu } from '../gpu/device.ts';
import { openModel } from './open-model.ts';
import { embedInputIds, packBatches, type EmbedRequestOptions, type EmbedResult } from './embed-inputs.ts';
import { DecoderEmbedder, DECODER_EMBED_BATCH } from './decoder-embed.ts';
import { checkDimensions, finishVector } from '../api/embed-vectors.ts';
import { Kernels, loadTuning } from '../gpu/kernels.ts';
import { Transformer } from './transformer.ts';
import type { HeadOptions } from './logits-head.ts';
import { TokenOutput } from './token-output.ts';
import { runRequest } from './request-loop.ts';
import { checkRequest } from './request-checks.ts';
import type { KernelTime } from '../gpu/profiler.ts';
import { Sampler, isGreedy, adjustsLogits } from './sampler.ts';
import { checkTokenIds, settledOrAborted } from './generation-helpers.ts';
import { GpuSampler } from './gpu-sampler.ts';
import { PrefixCache } from './prefix-cache.ts';
import { evaluateTokens, type EvaluateOptions, type EvaluateResult } from './evaluate.ts';
import { speculatorFor } from './speculative.ts';
import { DraftModel } from './draft-model.ts';
import { Adapters, type LoadAdapterOptions } from '../lora/adapters.ts';
import type { AdapterSource } from '../lora/fetch-adapter.ts';
import type { AdapterInfo, LoraRequest } from '../lora/lora-set.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import type { LoadedModel } from '../loader/load-model.ts';
import type { LoadSource } from '../loader/source.ts';
import { RequestQueue } from './request-queue.ts';
import { AbortError, UnsupportedModelError, EngineStateError, InvalidRequestError } from '../errors.ts';
import type {
  ChunkSink, GenerateOptions, GenerationChunk, GenerationResult, LoadOptions, ModelInfo,
} from './engine-types.ts';

const now = () => performance.now();

export class EngineCore {
  /** Tokens whose K/V sit in the cache at positions 0..n-1 (for prefix reuse). */
  private cached: number[] = [];
  private readonly queue = new RequestQueue();
  private disposed = false;
  /** The draft model for speculative decoding (`LoadOptions.draft`). */
  private draft?: DraftModel;
  /** LoadOptions.debug.cpuPick: every token chosen on the CPU from read-back logits. */
  private cpuPick = false;
  /** Decoder embeddings' packed graph, made on the first embed (`pooling: 'last'`). */
  private embedder?: DecoderEmbedder;
  /** LoRA adapters (src/lora/), and the key of the adapters the cached KV was computed under. */
  private adapters!: Adapters;
  private cachedKey = '';

  private constructor(
    private readonly gpu: Gpu,
    private readonly model: LoadedModel,
    private readonly transformer: Transformer,
    private readonly loadMs: number,
    private readonly prefixCache: PrefixCache,
  ) {}

  get tokenizer(): Tokenizer {
    return this.model.tokenizer;
  }

  static load(source: LoadSource, options: LoadOptions = {}): Promise<EngineCore> {
    return openModel(source, options, (gpu, model, t0) => EngineCore.build(gpu, model, options, t0));
  }

  /** The chat core of a model just loaded onto `gpu` (open-model.ts wraps this in the device's error scopes). */
  static async build(gpu: Gpu, model: LoadedModel, options: LoadOptions, t0: number): Promise<EngineCore> {
    if (options.chatTemplate !== undefined) model.chatTemplate = options.chatTemplate;
    // A decoder embeds only when asked to pool (e.g. Qwen3-Embedding: 'last').
    if (options.pooling !== undefined) model.config.pooling = options.pooling;
    const c = model.config;
    const contextLength = Math.min(options.contextLength ?? Math.min(c.contextLength, 4096), c.contextLength);
    const maxBatch = Math.max(1, Math.min(options.maxBatch ?? 256, contextLength));
    const step = gpu.device.createBuffer({ label: 'step', size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    const kernels = new Kernels(gpu, step, loadTuning(gpu.caps, options));
    const transformer = await Transformer.create(kernels, c, model.weights, {
      contextLength, maxBatch, ropeFactors: model.ropeFactors, profile: options.profile, kvCache: options.kvCache,
    });
    const prefixCache = new PrefixCache(gpu.device, transformer, options.prefixCacheBytes ?? 64 * 2 ** 20, contextLength);
    const draft = options.draft === undefined ? undefined
      : await DraftModel.load(kernels, options.draft, model.tokenizer, { contextLength, maxBatch, onProgress: options.onProgress, signal: options.signal });
    const core = new EngineCore(gpu, model, transformer, now() - t0, prefixCache);
    core.draft = draft;
    core.cpuPick = options.debug?.cpuPick ?? false;
    core.adapters = new Adapters(kernels, transformer, model.weights, c, model.format);
    return core;
  }

  memory(): { weightBytes: number; cacheBytes: number } {
    return {
      weightBytes: this.model.weights.bytes + (this.draft?.memory.weightBytes ?? 0) + this.adapters.bytes,
      cacheBytes: this.transformer.allocatedBytes + this.prefixCache.allocatedBytes + (this.draft?.memory.cacheBytes ?? 0) + (this.embedder?.allocatedBytes ?? 0),
    };
  }

  info(): ModelInfo {
    const m = this.model;
    return {
      name: m.name, format: m.format, config: m.config, contextLength: this.transformer.options.contextLength,
      chatTemplate: m.chatTemplate, bosId: m.tokenizer.bosId, eosIds: [...m.tokenizer.eosIds],
      gpu: this.transformer.k.info,
      memory: this.memory(),
      kvCache: this.transformer.kvFormat,
      draft: this.draft?.name,
      loadMs: this.loadMs,
      quantizeThreads: m.quantizeThreads,
    };
  }

  /** GPU time per kernel since the last reset (load with `profile: true`; empty otherwise). */
  kernelTimes(reset = false): KernelTime[] {
    return this.transformer.kernelTimes(reset);
  }

  tokenize(text: string, addBos?: boolean): number[] {
    return this.model.tokenizer.encode(text, { addBos });
  }

  detokenize(ids: number[]): string {
    return this.model.tokenizer.decode(ids);
  }

  /** Logits after feeding `ids` from position 0 (for inspection and tests), with the given adapters. */
  async logits(ids: number[], lora?: LoraRequest[]): Promise<Float32Array> {
    if (ids.length === 0) throw new InvalidRequestError('logits() needs at least one token id.');
    checkTokenIds(ids, this.model.config.vocabSize, 'logits()');
    return this.exclusive(async () => {
      await this.useAdapters(lora);
      const r = await this.transformer.forward(ids, 0, true);
      this.cached = ids.slice();
      return r.logits!;
    });
  }

  /**
   * Perplexity and per-token negative log-likelihoods of `text` (or token ids), windowed as llama.cpp's perplexity
   * tool does (runtime/evaluate.ts). Text is tokenized like llama.cpp's tool: BOS as the model says, specials as text.
   */
  async evaluate(text: string | number[], options: EvaluateOptions = {}): Promise<EvaluateResult> {
    return this.exclusive(async () => {
      const tok = this.model.tokenizer;
      const ids = typeof text === 'string' ? tok.encode(text, { parseSpecial: false }) : text.slice();
      checkTokenIds(ids, this.model.config.vocabSize, 'The text to evaluate');
      const window = options.window ?? this.contextLength;
      if (window > this.contextLength) {
        throw new InvalidRequestError(`window ${window} is longer than the context of ${this.contextLength} tokens; pass a smaller window or load with a larger contextLength.`);
      }
      // Windows overwrite the KV cache from position 0: nothing in it can be reused afterwards.
      await this.useAdapters(options.lora);
      this.cached = [];
      return evaluateTokens(this.transformer, ids, tok.addBosByDefault ? tok.bosId : undefined, { ...options, window });
    }, options.signal);
  }

  async generate(prompt: string | number[], options: GenerateOptions = {}, onChunk?: ChunkSink): Promise<GenerationResult> {
    return this.exclusive(() => this.run(prompt, options, onChunk), options.signal);
  }

  /** Loads a LoRA adapter next to the model (src/lora/); requests pick it with `lora: [{ id, scale }]`. */
  loadAdapter(source: AdapterSource, options: LoadAdapterOptions = {}): Promise<AdapterInfo> {
    return this.exclusive(() => this.adapters.load(source, options), options.signal);
  }

  unloadAdapter(id: string): Promise<void> {
    return this.exclusive(async () => this.adapters.unload(id));
  }

  listAdapters(): AdapterInfo[] {
    return this.adapters.list();
  }

  /** Merges an adapter into F32/F16 base weights for good (lora/merge.ts). */
  mergeAdapter(id: string, scale?: number): Promise<AdapterInfo> {
    return this.exclusive(() => this.adapters.merge(id, scale));
  }

  /** Applies a request's adapters; KV computed under other adapters (or before a merge) is not reused. */
  private async useAdapters(lora: LoraRequest[] | undefined): Promise<string> {
    const key = await this.adapters.select(lora);
    if (key !== this.cachedKey) this.cached = [];
    this.cachedKey = key;
    return key;
  }

  /** The context length the KV cache holds. */
  get contextLength(): number {
    return this.transformer.options.contextLength;
  }

  /**
   * Decoder embeddings (loaded with `pooling: 'last'`): texts end with the tokenizer's end-of-text token (appended when
   * missing, as Qwen3-Embedding's tokenizer does); the last token's output-normed hidden state is the vector (then
   * `dimensions` and L2 normalisation). Texts are packed several per submission in a graph of their own
   * (runtime/decoder-embed.ts) that leaves the chat KV cache and the prefix cache alone; only a text longer than that
   * graph's batch runs through the chat graph, which overwrites the live cache (so it is not reused afterwards).
   */
  embed(inputs: readonly (string | readonly number[])[], o: EmbedRequestOptions = {}, signal?: AbortSignal): Promise<EmbedResult> {
    const c = this.model.config;
    if (c.pooling !== 'last') {
      throw new UnsupportedModelError(
        c.pooling === undefined
          ? `${this.model.name} is a text generator (${c.arch}) loaded without a pooling choice: load an embedding model, or a decoder embedding model with { pooling: 'last' }.`
          : `A decoder (${c.arch}) embeds with pooling 'last' only; '${c.pooling}' needs an encoder model.`,
      );
    }
    checkDimensions(o.dimensions, c.dim);
    const seqs = embedInputIds(this.model, inputs, o, this.contextLength, this.model.tokenizer.eosId);
    return this.exclusive(async () => {
      const e = (this.embedder ??= await DecoderEmbedder.create(this.transformer.graphBase, Math.min(this.contextLength, DECODER_EMBED_BATCH)));
      const vectors: Float32Array[] = [];
      for (const batch of packBatches(seqs, e.maxBatch)) {
        if (signal?.aborted) throw new AbortError('Embedding was aborted.');
        if (batch[0].length > e.maxBatch) {
          this.cached = [];
          vectors.push(finishVector(e.outputNorm(await this.transformer.lastHidden(batch[0])), o));
        } else for (const v of await e.run(batch)) vectors.push(finishVector(v, o));
      }
      return { vectors, promptTokens: seqs.reduce((a, s) => a + s.length, 0) };
    }, signal);
  }

  /**
   * Runs `f` alone on the engine: concurrent requests wait in FIFO order and never share the KV cache mid-run.
   * A request aborted while it waits leaves the queue at once with AbortError.
   */
  private exclusive<T>(f: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.queue.run(f, () => {
      if (this.disposed) throw new EngineStateError('This engine was disposed; load the model again.');
      this.checkLost();
    }, signal);
  }

  private checkLost(): void {
    if (this.gpu.lostError) throw this.gpu.lostError;
  }

  private async run(prompt: string | number[], o: GenerateOptions, sink?: ChunkSink): Promise<GenerationResult> {
    // Across a worker the sink returns a promise per chunk; awaiting the last one before returning makes every
    // chunk arrive before the result does (they travel on different message ports).
    let delivered: unknown;
    const onChunk = sink && ((c: GenerationChunk) => void (delivered = sink(c)));
    const t0 = now();
    const tok = this.model.tokenizer;
    const { ids, nTop, constraint, budget } = checkRequest(tok, this.model.config.vocabSize, this.contextLength, prompt, o);
    const sampler = new Sampler(o);
    sampler.observePrompt(ids);
    // The GPU picks (argmax, or sample.wgsl: draws, and greedy picks after bias and penalties: gpu-sampler.ts), masks
    // (token-mask.ts) and records log-probs (gpu-logprobs.ts), so only ids and small records are read back; the
    // logits come to the CPU only with LoadOptions.debug.cpuPick.
    const gpuGreedy = !this.cpuPick && isGreedy(o) && !adjustsLogits(o);
    const gpuSampled = !this.cpuPick && GpuSampler.onGpu(o);
    const gpuPick = gpuGreedy || gpuSampled;
    if (gpuSampled) this.transformer.sampler.begin(o, ids, o.seed ?? Math.floor(Math.random() * 2 ** 32));
    const head: HeadOptions = gpuPick ? { draw: gpuSampled, logprobs: nTop } : {};
    const loraKey = await this.useAdapters(o.lora);
    const plain = !constraint && nTop === undefined;
    const spec = speculatorFor(o, this.transformer, this.draft, sampler, gpuGreedy && plain, !this.cpuPick && !adjustsLogits(o) && plain);

    // Reuse the K/V of the longest common prefix with what the cache holds; at least one token must run.
    let reuse = 0;
    while (reuse < this.cached.length && reuse < ids.length - 1 && this.cached[reuse] === ids[reuse]) reuse++;
    this.cached = ids.slice(0, reuse);
    // A longer prefix may be stored in the prefix cache (a shared system prompt, an earlier conversation).
    const restored = this.prefixCache.restore(ids, reuse, loraKey);
    if (restored > reuse) {
      reuse = restored;
      this.cached = ids.slice(0, reuse);
    }
    const fromPrefixCache = restored > 0 && restored === reuse ? restored : 0;

    const out = new TokenOutput(tok, {
      eos: new Set(o.ignoreEos ? [] : tok.eosIds), constraint, stops: o.json ? [] : o.stop?.filter(Boolean) ?? [], sampler, logprobs: nTop !== undefined, onChunk,
    });
    const { hostMs } = await runRequest({
      transformer: this.transformer, ids, out, sampler, constraint, budget, nTop, gpuPick, gpuSampled, head, spec, signal: o.signal,
      cached: this.cached, checkLost: () => this.checkLost(), promptDone: () => this.prefixCache.save(ids, loraKey),
    });
    out.finish(!!o.json);
    // A page that is gone (a closed tab of a shared worker) never acknowledges its chunks: stop waiting on abort.
    await settledOrAborted(delivered, o.signal);
    const tEnd = now();
    const prefilled = ids.length - reuse;
    const decodeSteps = Math.max(0, this.cached.length - ids.length);
    return {
      text: out.text, tokens: out.tokens, finishReason: out.finishReason, logprobs: out.logprobs,
      stats: {
        promptTokens: ids.length,
        reusedPromptTokens: reuse,
        prefixCachedTokens: fromPrefixCache,
        completionTokens: out.tokens.length,
        timeToFirstTokenMs: out.tFirst ? out.tFirst - t0 : 0,
        prefillTokensPerSec: out.tFirst ? prefilled / ((out.tFirst - t0) / 1000) : 0,
        decodeTokensPerSec: decodeSteps > 0 ? decodeSteps / ((tEnd - out.tFirst) / 1000) : 0,
        decodeHostMsPerToken: decodeSteps > 0 ? hostMs / decodeSteps : 0,
        totalMs: tEnd - t0,
        ...(spec ? { speculative: { method: spec.method, drafted: spec.drafted, accepted: spec.accepted } } : {}),
      },
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.prefixCache.destroy();
    this.draft?.destroy();
    this.embedder?.destroy();
    this.adapters.destroy();
    this.transformer.destroy();
    this.model.weights.destroy();
    this.gpu.device.destroy();
  }
}
