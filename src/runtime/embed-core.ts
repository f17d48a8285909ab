/**
 * One loaded embedding model (BERT-family encoder) and its embed loop, run where the model lives (the worker): texts
 * → token ids ([CLS] … [SEP] as the tokenizer frames them; too long: InvalidRequestError, or cut when `truncate`) →
 * packed batches of at most maxBatch tokens, one GPU submission each (runtime/encoder.ts) → pooled vectors →
 * `dimensions` cut and L2 normalisation (api/embed-vectors.ts). Requests run one at a time, in order; an abort is
 * honoured between batches.
 */
import type { Gpu } from '../gpu/device.ts';
import { Kernels, loadTuning } from '../gpu/kernels.ts';
import type { LoadedModel } from '../loader/load-model.ts';
import type { Pooling } from '../model/types.ts';
import { Encoder } from './encoder.ts';
import type { LoadOptions, ModelInfo } from './engine-types.ts';
import { checkDimensions, finishVector } from '../api/embed-vectors.ts';
import { embedInputIds, packBatches, type EmbedRequestOptions, type EmbedResult } from './embed-inputs.ts';

export type { EmbedRequestOptions, EmbedResult } from './embed-inputs.ts';
import { AbortError, EngineStateError } from '../errors.ts';

/** Default tokens per GPU submission (several texts packed): see bench for where throughput saturates. */
export const DEFAULT_EMBED_BATCH = 2048;

export class EmbedCore {
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  private constructor(
    private readonly gpu: Gpu,
    private readonly model: LoadedModel,
    private readonly encoder: Encoder,
    private readonly maxTokens: number,
    private readonly loadMs: number,
  ) {}

  static async build(gpu: Gpu, model: LoadedModel, options: LoadOptions & { pooling?: Pooling }, t0: number): Promise<EmbedCore> {
    const c = model.config;
    const maxTokens = Math.min(options.contextLength ?? c.contextLength, c.contextLength);
    const maxBatch = Math.max(maxTokens, options.maxBatch ?? DEFAULT_EMBED_BATCH);
    const step = gpu.device.createBuffer({ label: 'step', size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    const pooling = options.pooling ?? c.pooling ?? 'mean';
    const encoder = await Encoder.create(new Kernels(gpu, step, loadTuning(gpu.caps, options)), c, model.weights, { maxBatch, pooling });
    return new EmbedCore(gpu, model, encoder, maxTokens, performance.now() - t0);
  }

  memory(): { weightBytes: number; cacheBytes: number } {
    return { weightBytes: this.model.weights.bytes, cacheBytes: this.encoder.allocatedBytes };
  }

  info(): ModelInfo {
    const m = this.model;
    return {
      name: m.name, format: m.format, config: m.config, contextLength: this.maxTokens,
      bosId: m.tokenizer.bosId, eosIds: [...m.tokenizer.eosIds],
      gpu: this.encoder.k.info,
      memory: this.memory(), loadMs: this.loadMs, quantizeThreads: this.model.quantizeThreads,
      embedding: { dim: m.config.dim, pooling: this.encoder.options.pooling, maxTokens: this.maxTokens },
    };
  }

  tokenize(text: string, addBos?: boolean): number[] {
    return this.model.tokenizer.encode(text, { addBos });
  }

  detokenize(ids: number[]): string {
    return this.model.tokenizer.decode(ids);
  }

  /** One vector per input, in order. */
  embed(inputs: readonly (string | readonly number[])[], o: EmbedRequestOptions = {}, signal?: AbortSignal): Promise<EmbedResult> {
    checkDimensions(o.dimensions, this.model.config.dim);
    const seqs = embedInputIds(this.model, inputs, o, this.maxTokens);
    const run = this.queue.then(() => this.run(seqs, o, signal));
    this.queue = run.catch(() => {});
    return run;
  }

  private async run(seqs: number[][], o: EmbedRequestOptions, signal?: AbortSignal): Promise<EmbedResult> {
    const vectors: Float32Array[] = [];
    // Texts packed in order until the next one would pass maxBatch tokens.
    for (const batch of packBatches(seqs, this.encoder.options.maxBatch)) {
      if (this.disposed) throw new EngineStateError('This engine was disposed; load the model again.');
      if (signal?.aborted) throw new AbortError('Embedding was aborted.');
      for (const v of await this.encoder.run(batch)) vectors.push(finishVector(v, o));
    }
    return { vectors, promptTokens: seqs.reduce((a, s) => a + s.length, 0) };
  }

  kernelTimes(): [] {
    return [];
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.encoder.destroy();
    this.model.weights.destroy();
    this.gpu.device.destroy();
  }
}
