/**
 * One loaded model and its generation loop. This is what runs inside the Web Worker (src/worker/worker.ts); the page
 * talks to it through comlink. It can also run in the page itself (`load(src, { worker: false })`).
 */
import { openGpu, type Gpu } from '../gpu/device.ts';
import { Kernels } from '../gpu/kernels.ts';
import { Transformer } from './transformer.ts';
import type { KernelTime } from '../gpu/profiler.ts';
import { Sampler, isGreedy, type SamplingOptions } from './sampler.ts';
import { loadModel, type LoadProgress, type LoadedModel } from '../loader/load-model.ts';
import type { ModelSource } from '../loader/stream-reader.ts';
import { StreamDecoder } from '../tokenizer/stream-decoder.ts';
import type { ModelConfig } from '../model/types.ts';
import { EngineStateError, InvalidRequestError, ModelTooLargeError } from '../errors.ts';

export interface LoadOptions {
  onProgress?: (p: LoadProgress) => void;
  /** KV cache length in tokens. Default: the model's context, at most 4096. */
  contextLength?: number;
  /** Most prompt tokens per GPU submission during prefill. Default 256. */
  maxBatch?: number;
  /** Debug: time every GPU dispatch (timestamp-query, when the adapter has it; slower). Read with kernelTimes(). */
  profile?: boolean;
  signal?: AbortSignal;
}

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate at most. Default 256. */
  maxTokens?: number;
  /** Prepend BOS to a text prompt (default: as the model's tokenizer says). */
  addBos?: boolean;
  /** Keep going past end-of-sequence tokens (benchmarks). */
  ignoreEos?: boolean;
  /** Stop when the output contains any of these strings (the stop string is not returned). */
  stop?: string[];
  signal?: AbortSignal;
}

export interface GenerationChunk {
  /** New text (may be '' while a multi-byte character is incomplete). */
  text: string;
  token: number;
  /** 0-based index of this token in the completion. */
  index: number;
}

export interface GenerationStats {
  promptTokens: number;
  /** Prompt tokens whose KV was reused from the previous call instead of being recomputed. */
  reusedPromptTokens: number;
  completionTokens: number;
  /** From the call to the first generated token. */
  timeToFirstTokenMs: number;
  prefillTokensPerSec: number;
  decodeTokensPerSec: number;
  totalMs: number;
}

export interface GenerationResult {
  text: string;
  tokens: number[];
  finishReason: 'stop' | 'length' | 'abort';
  stats: GenerationStats;
}

export interface ModelInfo {
  name: string;
  format: 'gguf' | 'safetensors';
  config: ModelConfig;
  contextLength: number;
  chatTemplate?: string;
  bosId?: number;
  eosIds: number[];
  gpu: { adapter: string; f16: boolean; subgroups: boolean };
  /** GPU bytes: weights, and KV cache + activations. */
  memory: { weightBytes: number; cacheBytes: number };
  loadMs: number;
}

const now = () => performance.now();

export class EngineCore {
  /** Tokens whose K/V sit in the cache at positions 0..n-1 (for prefix reuse). */
  private cached: number[] = [];
  private busy = false;
  private disposed = false;

  private constructor(
    private readonly gpu: Gpu,
    private readonly model: LoadedModel,
    private readonly transformer: Transformer,
    private readonly loadMs: number,
  ) {}

  static async load(source: ModelSource, options: LoadOptions = {}): Promise<EngineCore> {
    const t0 = now();
    const gpu = await openGpu();
    // Every GPU object of this model lives on this device: on any failure, destroying it frees them all.
    try {
      gpu.device.pushErrorScope('out-of-memory');
      gpu.device.pushErrorScope('validation');
      const model = await loadModel(gpu, source, { onProgress: options.onProgress, signal: options.signal });
      const c = model.config;
      const contextLength = Math.min(options.contextLength ?? Math.min(c.contextLength, 4096), c.contextLength);
      const maxBatch = Math.max(1, Math.min(options.maxBatch ?? 256, contextLength));
      options.onProgress?.({ phase: 'compile', loaded: 0, fraction: 0.98, file: model.name });
      const step = gpu.device.createBuffer({ label: 'step', size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
      const transformer = await Transformer.create(new Kernels(gpu, step), c, model.weights, { contextLength, maxBatch, ropeFactors: model.ropeFactors, profile: options.profile });
      const invalid = await gpu.device.popErrorScope();
      const oom = await gpu.device.popErrorScope();
      if (oom) {
        throw new ModelTooLargeError(
          `The GPU ran out of memory holding ${model.name} (${(model.weights.bytes / 2 ** 20).toFixed(0)} MiB of weights, ` +
            `${(transformer.allocatedBytes / 2 ** 20).toFixed(0)} MiB of cache and activations): ${oom.message}. ` +
            'Load a smaller or more strongly quantized model, or pass a smaller contextLength.',
        );
      }
      if (invalid) throw new EngineStateError(`Building the model on the GPU failed: ${invalid.message}`);
      const core = new EngineCore(gpu, model, transformer, now() - t0);
      options.onProgress?.({ phase: 'ready', loaded: 0, fraction: 1, file: model.name });
      return core;
    } catch (e) {
      gpu.device.destroy();
      throw e;
    }
  }

  info(): ModelInfo {
    const m = this.model;
    return {
      name: m.name, format: m.format, config: m.config, contextLength: this.transformer.options.contextLength,
      chatTemplate: m.chatTemplate, bosId: m.tokenizer.bosId, eosIds: [...m.tokenizer.eosIds],
      gpu: { adapter: this.gpu.caps.adapterInfo, f16: this.gpu.caps.f16, subgroups: this.gpu.caps.subgroups },
      memory: { weightBytes: m.weights.bytes, cacheBytes: this.transformer.allocatedBytes },
      loadMs: this.loadMs,
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

  /** Logits after feeding `ids` from position 0 (for inspection and tests). */
  async logits(ids: number[]): Promise<Float32Array> {
    return this.exclusive(async () => {
      const r = await this.transformer.forward(ids, 0, true);
      this.cached = ids.slice();
      return r.logits!;
    });
  }

  async generate(prompt: string | number[], options: GenerateOptions = {}, onChunk?: (c: GenerationChunk) => void): Promise<GenerationResult> {
    return this.exclusive(() => this.run(prompt, options, onChunk));
  }

  private async exclusive<T>(f: () => Promise<T>): Promise<T> {
    if (this.disposed) throw new EngineStateError('This engine was disposed; load the model again.');
    this.checkLost();
    if (this.busy) throw new EngineStateError('A generation is already running on this engine; await it (or abort it) first.');
    this.busy = true;
    try {
      return await f();
    } finally {
      this.busy = false;
    }
  }

  private checkLost(): void {
    if (this.gpu.lostError) throw this.gpu.lostError;
  }

  private async run(prompt: string | number[], o: GenerateOptions, onChunk?: (c: GenerationChunk) => void): Promise<GenerationResult> {
    const t0 = now();
    const tok = this.model.tokenizer;
    const ids = typeof prompt === 'string' ? tok.encode(prompt, { addBos: o.addBos }) : prompt.slice();
    if (ids.length === 0) throw new InvalidRequestError('The prompt is empty: pass some text (or token ids).');
    const maxTokens = o.maxTokens ?? 256;
    const ctx = this.transformer.options.contextLength;
    if (ids.length >= ctx) {
      throw new InvalidRequestError(`The prompt has ${ids.length} tokens but the context holds ${ctx}; shorten it or load with a larger contextLength.`);
    }
    const budget = Math.min(maxTokens, ctx - ids.length);
    const greedy = isGreedy(o);
    const sampler = new Sampler(o);
    const eos = new Set(o.ignoreEos ? [] : tok.eosIds);

    // Reuse the K/V of the longest common prefix with what the cache holds; at least one token must run.
    let reuse = 0;
    while (reuse < this.cached.length && reuse < ids.length - 1 && this.cached[reuse] === ids[reuse]) reuse++;
    this.cached = ids.slice(0, reuse);

    const decoder = new StreamDecoder(tok);
    const out: number[] = [];
    let text = '';
    let finishReason: GenerationResult['finishReason'] = 'length';
    let tFirst = 0;
    let pos = reuse;
    let feed = ids.slice(reuse);
    const stops = o.stop?.filter(Boolean) ?? [];
    while (out.length < budget) {
      if (o.signal?.aborted) {
        finishReason = 'abort';
        break;
      }
      this.checkLost();
      const r = await this.transformer.forward(feed, pos, !greedy);
      this.cached.push(...feed);
      pos += feed.length;
      const next = greedy ? r.token : sampler.sample(r.logits!);
      if (out.length === 0) tFirst = now();
      if (eos.has(next)) {
        finishReason = 'stop';
        break;
      }
      out.push(next);
      let piece = decoder.push(next);
      if (stops.length) {
        const joined = text + piece;
        const hit = firstStop(joined, stops);
        if (hit >= 0) {
          piece = joined.slice(text.length, hit);
          text = joined.slice(0, hit);
          if (piece) onChunk?.({ text: piece, token: next, index: out.length - 1 });
          finishReason = 'stop';
          break;
        }
      }
      text += piece;
      onChunk?.({ text: piece, token: next, index: out.length - 1 });
      feed = [next];
    }
    if (finishReason !== 'stop') {
      const tail = decoder.flush();
      if (tail) {
        text += tail;
        onChunk?.({ text: tail, token: out[out.length - 1], index: out.length - 1 });
      }
    }
    const tEnd = now();
    const prefilled = ids.length - reuse;
    const decodeSteps = Math.max(0, this.cached.length - ids.length);
    return {
      text, tokens: out, finishReason,
      stats: {
        promptTokens: ids.length,
        reusedPromptTokens: reuse,
        completionTokens: out.length,
        timeToFirstTokenMs: tFirst ? tFirst - t0 : 0,
        prefillTokensPerSec: tFirst ? prefilled / ((tFirst - t0) / 1000) : 0,
        decodeTokensPerSec: decodeSteps > 0 ? decodeSteps / ((tEnd - tFirst) / 1000) : 0,
        totalMs: tEnd - t0,
      },
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.transformer.destroy();
    this.model.weights.destroy();
    this.gpu.device.destroy();
  }
}

function firstStop(text: string, stops: string[]): number {
  let best = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}
