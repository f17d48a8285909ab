/**
 * The shapes that cross the engine's boundary: load and generation options, streamed chunks, results and model
 * info. Kept apart from runtime/engine-core.ts (the engine) so the API, worker and page layers import types only.
 */
import type { SamplingOptions } from './sampler.ts';
import type { LoadProgress } from '../loader/load-model.ts';
import type { LoadSource } from '../loader/source.ts';
import type { ModelConfig, Pooling } from '../model/types.ts';
import type { KvFormat } from './kv-format.ts';
import type { GpuInfo } from '../gpu/kernels.ts';

/** Speculative decoding's options (runtime/speculative.ts). */
export interface SpeculativeOptions {
  /** 'draft': the model loaded with `load(target, { draft })` (the default when there is one); 'lookup': n-grams. */
  method?: 'draft' | 'lookup';
  /** Most draft tokens per verification; k adapts between 1 and this. Default 8. */
  maxDraft?: number;
  /** Prompt lookup: the longest n-gram matched first, down to `ngramMin`. Default 3 and 2. */
  ngramMax?: number;
  ngramMin?: number;
}

/**
 * `LoadOptions.debug`: switches for llmo's own tests and bug reports, not for applications. Each makes the engine
 * slower to compare its fast path with a plain one; none is needed for correct output.
 */
export interface DebugOptions {
  /**
   * Pick every token on the CPU (runtime/sampler.ts) from logits read back one step at a time, instead of the GPU's
   * argmax or sampler and its multi-step batches. The tests compare the GPU's picks with these.
   */
  cpuPick?: boolean;
}

export interface LoadOptions {
  onProgress?: (p: LoadProgress) => void;
  /** KV cache length in tokens. Default: the model's context, at most 4096. */
  contextLength?: number;
  /** Most prompt tokens per GPU submission during prefill. Default 256. */
  maxBatch?: number;
  /**
   * KV-cache storage: `'f32'`, `'f16'` (half the memory) or `'q8_0'` (ggml's 8-bit blocks, ~3.6x less than f32; needs
   * n_kv_heads × head_dim to be a multiple of 32). Default: `'f16'` where the GPU has `shader-f16` and an f32 cache
   * would pass 16 MiB, else `'f32'` (a tiny model's f32 cache costs little and decodes with fewer dispatches).
   * `info.kvCache` says which is used.
   */
  kvCache?: KvFormat;
  /**
   * f16 arithmetic where the GPU has `shader-f16`: the prefill's tiled matmul stages its inputs as f16 and sums 4
   * products in f16 (about 3 significant digits per product, the sums in f32; half the workgroup-memory traffic).
   * Activations of any size fit (each 4 values are scaled by a power of two first); weights must be below 16384.
   * `false` keeps every kernel in f32 (e.g. to compare with an f32 reference). Default true. `info.gpu.f16Compute`
   * says whether it is used.
   */
  f16Compute?: boolean;
  /**
   * GPU bytes kept for copies of the KV cache of earlier prompts' prefixes (e.g. a long system prompt shared by
   * many conversations), reused when a later prompt starts the same way. Allocated at load (at most 4 contexts'
   * worth). 0 turns it off. Default: 64 MiB.
   */
  prefixCacheBytes?: number;
  /** A Jinja chat template to use instead of the one in the model's files (`info.chatTemplate` reports it). */
  chatTemplate?: string;
  /** Profiling: time every GPU dispatch (timestamp-query, when the adapter has it; slower). Read with kernelTimes(). */
  profile?: boolean;
  /** Checks for llmo's own tests and bug reports, not for applications: slower paths the fast ones are tested against. */
  debug?: DebugOptions;
  /**
   * Embedding models: how to pool hidden states into one vector (default: what the model says). Needed to embed
   * with a decoder (e.g. `'last'` for Qwen3-Embedding).
   */
  pooling?: Pooling;
  /**
   * A smaller model with the same vocabulary for speculative decoding (runtime/speculative.ts): loaded next to this
   * one, it drafts tokens that this model verifies several at a time. Used by every request unless it passes
   * `speculative: false`.
   */
  draft?: LoadSource;
  /**
   * Quantize-on-load: F32/F16/BF16 weight matrices (safetensors or GGUF) are converted as they arrive (a band of
   * rows at a time) with ggml's reference quantizer, to this weight format (`'q8_0'`, `'q4_k'`, `'q4_0'`, … :
   * src/formats/weight-formats.ts; matrices whose rows are not whole blocks stay as they are), or per tensor as
   * llama.cpp's `llama-quantize` mixes do (`'q4_k_m'`, `'q5_k_m'`, `'q3_k_m'`, `'q2_k'`, …: formats/quant-mix.ts).
   * Already-quantized matrices stay as they are. The cache keeps the original bytes (see `cacheQuantized`).
   */
  quantize?: string;
  /**
   * With `quantize`: keep the quantized weights in the cache instead of the original files, so the next load of the
   * same URL with the same `quantize` choice reads them from IndexedDB (no download, no quantizing). Each choice is
   * its own entry (`cache.list()` shows it with `quantize`, key `<url>#llmo-quantize=<choice>`); an entry whose source
   * changed (another `sha256`, or a cached original of another size/ETag) is made again. URL sources with the cache
   * on only. Default false.
   */
  cacheQuantized?: boolean;
  /**
   * With `quantize`: how many worker threads convert the weights while they download (bands of rows, the same bytes
   * as one thread). Default: the hardware threads (`navigator.hardwareConcurrency`, Node's `availableParallelism()`),
   * at most 8. 0 converts in the loading thread; so does an environment that cannot start workers (a SharedWorker).
   */
  quantizeThreads?: number;
  signal?: AbortSignal;
}

/** Output constrained to JSON: any object (`json_object`) or a document matching a JSON schema. */
export type JsonFormat = { type: 'json_object' } | { type: 'json_schema'; schema: unknown };

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate at most. Default 256. */
  maxTokens?: number;
  /** Prepend BOS to a text prompt (default: as the model's tokenizer says). */
  addBos?: boolean;
  /** Keep going past end-of-sequence tokens (benchmarks). */
  ignoreEos?: boolean;
  /** Stop when the output contains any of these strings (the stop string is not returned). Ignored under `json`. */
  stop?: string[];
  /** Constrain the output to JSON (every token is masked so the text stays a valid prefix and can finish in time). */
  json?: JsonFormat;
  /** Citation markers limited to sources 1..`sources`: a `[` may only open `[n]` / `[n, m]` of those (not with `json`). */
  citations?: { sources: number };
  /** Report each token's log-probability and this many alternatives (0..20) under the model's distribution. */
  logprobs?: number;
  /**
   * Speculative decoding: `true` or options (draft model when one is loaded, else prompt lookup), `false` off.
   * Default: on when a draft model is loaded. Greedy output is unchanged; sampled output keeps the model's
   * distribution. Requests with `json`, `logprobs`, penalties or logit bias decode plainly.
   */
  speculative?: boolean | SpeculativeOptions;
  /** LoRA adapters to apply (loaded with `engine.loadAdapter`), each with its scale (default 1); none by default. */
  lora?: LoraRequest[];
  signal?: AbortSignal;
}

/** One adapter of a request (`lora: [{ id, scale }]`, as llama-server takes it), and how strongly it applies. */
export interface LoraRequest {
  id: string;
  /** Multiplies the adapter's alpha / r (default 1; 0 leaves it out). */
  scale?: number;
}

/** A resident LoRA adapter, as `engine.loadAdapter` returns and `engine.adapters()` lists it. */
export interface AdapterInfo {
  id: string;
  format: 'gguf' | 'peft';
  /** Largest rank over its pairs. */
  rank: number;
  alpha?: number;
  /** GGUF names of the base matrices it adapts. */
  tensors: string[];
  /** GPU bytes of its pairs. */
  bytes: number;
  /** sha256 of its pairs' values and scales (`adapterDigest`): the same adapter under any id has the same one. */
  sha256: string;
  /** Merged into the base weights (`engine.mergeAdapter`) with this scale: no longer selectable per request. */
  merged?: number;
}

export interface TokenLogprob {
  token: number;
  /** log-softmax of the model's raw logits (before sampling options). */
  logprob: number;
  top: { token: number; logprob: number }[];
}

export interface GenerationChunk {
  /** New text (may be '' while a multi-byte character is incomplete). */
  text: string;
  token: number;
  /** 0-based index of this token in the completion. */
  index: number;
  /** When `logprobs` was asked for. */
  logprob?: TokenLogprob;
}

/** Receives chunks as they are made; may return a promise (a comlink proxy does), which is awaited for the last one. */
export type ChunkSink = (c: GenerationChunk) => void | Promise<void>;

export interface GenerationStats {
  promptTokens: number;
  /** Prompt tokens whose KV was reused (from the previous call, or the prefix cache) instead of being recomputed. */
  reusedPromptTokens: number;
  /** Of those, the tokens restored from the prefix cache. */
  prefixCachedTokens: number;
  completionTokens: number;
  /** From the call to the first generated token. */
  timeToFirstTokenMs: number;
  prefillTokensPerSec: number;
  decodeTokensPerSec: number;
  /** Host (JS) milliseconds per decoded token: encoding and submitting steps, reading back, detokenizing, stop checks. */
  decodeHostMsPerToken: number;
  totalMs: number;
  /** When speculative decoding ran: the drafter, draft tokens proposed and draft tokens the model accepted. */
  speculative?: { method: 'draft' | 'lookup'; drafted: number; accepted: number };
}

export interface GenerationResult {
  text: string;
  tokens: number[];
  finishReason: 'stop' | 'length' | 'abort';
  stats: GenerationStats;
  /** Per token, when `logprobs` was asked for. */
  logprobs?: TokenLogprob[];
}

export interface ModelInfo {
  name: string;
  format: 'gguf' | 'safetensors';
  config: ModelConfig;
  contextLength: number;
  chatTemplate?: string;
  bosId?: number;
  eosIds: number[];
  /** The adapter, its features, and whether the prefill matmul computes in f16 (see GpuInfo). */
  gpu: GpuInfo;
  /** GPU bytes: weights, and KV cache + activations. */
  memory: { weightBytes: number; cacheBytes: number };
  /** The KV cache's storage format (LoadOptions.kvCache; absent for embedding models). */
  kvCache?: KvFormat;
  loadMs: number;
  /**
   * Quantize-on-load (`quantize`): the worker threads that converted the weights (LoadOptions.quantizeThreads; 0: the
   * loading thread did). Absent when nothing was converted (no `quantize`, or read from the quantized cache).
   */
  quantizeThreads?: number;
  /** Set for an embedding model: vector size, pooling, most tokens per text. */
  embedding?: { dim: number; pooling: Pooling; maxTokens: number };
  /** The draft model's name when one was loaded for speculative decoding (its memory is included above). */
  draft?: string;
  /** Where the engine runs (set by load()): a SharedWorker shared by the origin's tabs, a dedicated worker, the page. */
  host?: { kind: 'shared-worker' | 'worker' | 'page'; note?: string };
}
