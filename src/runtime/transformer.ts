/**
 * One loaded model's forward pass as two fixed lists of GPU dispatches, one for a single decoded token and one for a
 * prefill chunk, plus the logits head. The lists come from the model family's graph (families/<name>.ts names it;
 * runtime/graphs/*.ts build it from the pieces in runtime/layers.ts) over the buffers and KV cache of
 * forward-buffers.ts; this class owns the lists and the submission. Everything — buffers, bind groups, pipelines — is
 * made in `create`; a step writes two small buffers (token ids, step uniform), encodes one list into one command
 * buffer and reads back one u32 (or the logits when asked). ARCHITECTURE.md numbers a decoded token's dispatches.
 */
import type { ModelConfig } from '../model/types.ts';
import { encodeDispatch, type Dispatch, type Kernels } from '../gpu/kernels.ts';
import { KernelProfiler, type KernelTime } from '../gpu/profiler.ts';
import type { WeightStore } from '../gpu/weights.ts';
import { InvalidRequestError, UnsupportedModelError } from '../errors.ts';
import type { GpuSampler } from './gpu-sampler.ts';
import { LogitsHead, type HeadOptions } from './logits-head.ts';
import type { TokenLogprob } from './engine-types.ts';
import type { Graph, GraphLists } from './layers.ts';
import { RowsHead } from './rows-head.ts';
import { checkFinite } from './finite-check.ts';
import { PickReadback, type Picks } from './pick-readback.ts';
import type { KvFormat } from './kv-format.ts';
import { ForwardBuffers, type BufferOptions } from './forward-buffers.ts';
import { decoderGraph, settleBody, type BodyLists } from './body-lists.ts';
import type { GraphBase } from './decoder-embed.ts';

export interface TransformerOptions extends BufferOptions {
  /**
   * Time every dispatch with `timestamp-query` (when the adapter has it; ignored otherwise): each dispatch then gets
   * its own compute pass, which is slower, so use it for profiling only. Read with `kernelTimes()`.
   */
  profile?: boolean;
}

/** Most decode steps in one submission (`decodeSteps`). */
export const MAX_STEPS = 32;

export class Transformer {
  /** Dispatches of one decoded token and of one prefill chunk, without the logits head (run after the last chunk). */
  private decodeList: Dispatch[] = [];
  private prefillList: Dispatch[] = [];
  private logitsHead!: LogitsHead;
  /** The current body's decodeHead (BodyLists): its decode list already picked the argmax. */
  private bodyHead?: Dispatch[];
  private profiler?: KernelProfiler;
  private buffers!: ForwardBuffers;
  private ids!: GPUBuffer;
  private logits!: GPUBuffer;
  private tokenOut!: GPUBuffer;
  private readback!: PickReadback;
  /** The residual stream [maxBatch, dim] and a staging row for `lastHidden` (decoder embeddings). */
  private x!: GPUBuffer;
  private hiddenStaging!: GPUBuffer;
  /** The graph and the model's own body lists, kept so the body can be built again (`buildBody`) over the same buffers. */
  private graph!: Graph;
  private plainBody!: BodyLists;
  /** The graph's head over every row, built on first use (rows-head.ts). */
  private rowsGraph?: GraphLists['rows'];
  private rowsHead?: Promise<RowsHead>;
  /** Multi-step decode (`decodeSteps`): each step's `{n, pos0, kv_len}`, then the tokens fed by the host. */
  private stepTable!: GPUBuffer;
  /** What another instance of the family graph over the same weights needs (decoder embeddings: decoder-embed.ts). */
  graphBase!: GraphBase;

  private constructor(
    /** The kernels it dispatches (their `tuning` says the launch layouts and f16 arithmetic). */
    readonly k: Kernels,
    readonly config: ModelConfig,
    readonly options: TransformerOptions,
  ) {}

  static async create(k: Kernels, config: ModelConfig, w: WeightStore, options: TransformerOptions): Promise<Transformer> {
    const t = new Transformer(k, config, options);
    await t.build(w);
    return t;
  }

  /** Bytes of activations + KV cache this instance allocated. */
  get allocatedBytes(): number {
    return this.buffers.allocatedBytes;
  }

  /** Per layer: the K and V cache buffers, `kvRowBytes` per position, position-major (for runtime/prefix-cache.ts). */
  get kvBuffers(): readonly { k: GPUBuffer; v: GPUBuffer }[] {
    return this.buffers.kvBuffers;
  }

  get kvRowBytes(): number {
    return this.buffers.kvRowBytes;
  }

  /** The KV cache's format (options.kvCache, resolved). */
  get kvFormat(): KvFormat {
    return this.buffers.kvFormat;
  }

  private async build(w: WeightStore): Promise<void> {
    const c = this.config;
    const k = this.k;
    const bufs = (this.buffers = new ForwardBuffers(k, c, w, this.options));
    const g = bufs.ctx;
    ({ ids: this.ids, logits: this.logits, tokenOut: this.tokenOut, x: this.x } = g.a);
    const own = (b: GPUBuffer) => bufs.own(b);
    this.stepTable = own(k.device.createBuffer({ label: 'steps', size: MAX_STEPS * 20, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST }));
    this.graphBase = { k, c, w, rope: g.rope, ropeLocal: g.ropeLocal };
    const graph = decoderGraph(c);
    const lists = graph(g);
    this.graph = graph;
    this.rowsGraph = lists.rows;
    [this.plainBody, this.logitsHead] = await Promise.all([settleBody(lists.body), LogitsHead.create(k, lists.head, g.a, c.vocabSize, own)]);
    this.useBody();
    this.readback = new PickReadback(k.device, { tokenOut: this.tokenOut, logits: this.logits, record: this.logitsHead.logprobs.record }, MAX_STEPS, c.vocabSize, own);
    if (this.options.profile && k.gpu.caps.timestampQuery) {
      this.profiler = new KernelProfiler(k.device, Math.max(this.decodeList.length, this.prefillList.length) + Math.max(RowsHead.maxDispatches, this.logitsHead.maxDispatches));
    }
  }

  /** Draws sampled tokens on the GPU: `sampler.begin` per request, then `draw` in forward/decodeSteps. */
  get sampler(): GpuSampler {
    return this.logitsHead.sampler;
  }

  /** The logits head for `h`, after the prefill list or (`decode`) after the current decode list. */
  private head(h: HeadOptions, decode = false): Dispatch[] {
    return this.logitsHead.dispatches(h, decode ? this.bodyHead : undefined);
  }

  /**
   * The body's dispatch lists built again through other kernels (a LoRA view, src/lora/lora-kernels.ts): the same
   * buffers and KV cache, pipelines from the same cache. The head is not rebuilt (adapters adapt layer projections).
   */
  buildBody(k: Kernels): Promise<BodyLists> {
    return settleBody(this.graph({ ...this.buffers.ctx, k }).body);
  }

  /** Runs `body` from the next step on (undefined: the model's own lists). */
  useBody(body?: BodyLists): void {
    ({ decode: this.decodeList, prefill: this.prefillList, decodeHead: this.bodyHead } = body ?? this.plainBody);
  }

  /** Summed GPU time per kernel since the last reset, when created with `profile` (empty otherwise). */
  kernelTimes(reset = false): KernelTime[] {
    const t = this.profiler?.times() ?? [];
    if (reset) this.profiler?.reset();
    return t;
  }

  /**
   * Runs `tokens` at positions pos0.. through the model, updating the KV cache. Prompts longer than maxBatch go in
   * several submissions (queued back to back, no waiting between them). Returns the token the head picks at the
   * last position (`head`: argmax, or the GPU sampler's draw; masked; its log-probs), and its logits when `wantLogits`.
   */
  async forward(tokens: readonly number[], pos0: number, wantLogits = false, head: HeadOptions = {}): Promise<{ token: number; logits?: Float32Array; logprob?: TokenLogprob }> {
    this.logitsHead.prepare(head);
    if (head.logprobs !== undefined) {
      // Token and record through the multi-step readback: one small read, no logits.
      await this.submit(tokens, pos0, { list: this.head(head), decode: this.head(head, true), copyOut: (enc) => this.readback.copyPick(enc, 0, true) });
      const picks = await this.readback.readPicks(1, head.logprobs, pos0 + tokens.length - 1);
      return { token: picks.tokens[0], logprob: picks.logprobs![0] };
    }
    await this.submit(tokens, pos0, {
      list: this.head(head),
      decode: this.head(head, true),
      copyOut: (enc) => this.readback.copyToken(enc, wantLogits),
    });
    return this.readback.readToken(wantLogits, pos0 + tokens.length - 1);
  }

  /**
   * `n` decode steps in one submission and one readback: step i < feed.length feeds feed[i] (given by the host: a
   * token just picked, then tokens a grammar forces), each later step feeds the token picked by the step before it
   * without leaving the GPU (copied from the pick's output into the ids buffer), so the host pays one submit and one
   * round trip for all of them. The head (`head`: argmax or draw, mask, log-probs) runs from the last fed step on.
   * Between steps, plain buffer copies set the step uniform and the fed ids from a table written once. Returns the
   * n - feed.length + 1 tokens picked; the K/V of positions pos0..pos0+n-1 are written (a caller that keeps fewer
   * tokens simply does not count the rest: attention reads kv_len rows only). The same decode kernels as `forward`
   * of one token, so the same logits bit for bit.
   */
  async decodeSteps(feed: readonly number[], pos0: number, n: number, head: HeadOptions = {}): Promise<Picks> {
    if (n < 1 || n > MAX_STEPS || feed.length < 1 || feed.length > n) {
      throw new InvalidRequestError(`decodeSteps runs 1..${MAX_STEPS} steps, at least as many as the ${feed.length} tokens fed; got ${n}.`);
    }
    if (head.mask && n !== feed.length) throw new InvalidRequestError('A masked head picks once per submission: the grammar must see each token.');
    if (pos0 + n > this.options.contextLength) {
      throw new InvalidRequestError(`Positions ${pos0}..${pos0 + n - 1} do not fit the context of ${this.options.contextLength} tokens.`);
    }
    const { device } = this.k;
    const table = new Uint32Array(MAX_STEPS * 4 + feed.length);
    for (let i = 0; i < n; i++) table.set([1, pos0 + i, pos0 + i + 1, 0], i * 4);
    table.set(feed, MAX_STEPS * 4);
    device.queue.writeBuffer(this.stepTable, 0, table);
    device.queue.writeBuffer(this.ids, 0, new Uint32Array([feed[0]]));
    this.logitsHead.prepare(head);
    const lp = head.logprobs !== undefined;
    const list = this.head(head, true);
    const firstPick = feed.length - 1;
    const enc = device.createCommandEncoder();
    for (let i = 0; i < n; i++) {
      enc.copyBufferToBuffer(this.stepTable, i * 16, this.k.stepBuffer, 0, 16);
      if (i > 0 && i < feed.length) enc.copyBufferToBuffer(this.stepTable, (MAX_STEPS * 4 + i) * 4, this.ids, 0, 4);
      else if (i > 0) enc.copyBufferToBuffer(this.tokenOut, 0, this.ids, 0, 4);
      const pass = enc.beginComputePass();
      for (const d of this.decodeList) encodeDispatch(pass, d, 1, pos0 + i + 1);
      if (i >= firstPick) for (const d of list) encodeDispatch(pass, d, 1, pos0 + i + 1);
      pass.end();
      if (i >= firstPick) this.readback.copyPick(enc, i - firstPick, lp);
    }
    device.queue.submit([enc.finish()]);
    return this.readback.readPicks(n - firstPick, head.logprobs, pos0 + firstPick);
  }

  /** Dispatches of one decoded token (body and argmax head; split-K merges and LoRA pre-dispatches not counted). */
  get decodeDispatches(): number {
    return this.decodeList.length + this.head({}, true).length;
  }

  /** Whether `decodeSteps` may run more than one step (the profiler times one step per submission). */
  get multiStep(): boolean {
    return !this.profiler;
  }

  /**
   * Only fills the KV cache for `tokens` at pos0.. (no logits head, no readback) and resolves when the GPU is done:
   * the prefill of a long prompt, chunk by chunk, with a chance to abort between chunks.
   */
  async fill(tokens: readonly number[], pos0: number): Promise<void> {
    await this.submit(tokens, pos0);
    await this.k.device.queue.onSubmittedWorkDone();
  }

  /**
   * Runs `tokens` from position 0 (overwriting the KV cache) and returns the last token's hidden state before the
   * output norm: a decoder embedding model's last-token pooling (EngineCore.embed normalises it on the CPU).
   */
  async lastHidden(tokens: readonly number[]): Promise<Float32Array> {
    const dim = this.config.dim;
    this.hiddenStaging ??= this.k.device.createBuffer({ label: 'hidden.read', size: dim * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const B = this.options.maxBatch;
    const lastRow = (tokens.length - 1) % B;
    await this.submit(tokens, 0, { list: [], copyOut: (enc) => enc.copyBufferToBuffer(this.x, lastRow * dim * 4, this.hiddenStaging, 0, dim * 4) });
    await this.hiddenStaging.mapAsync(GPUMapMode.READ);
    const h = new Float32Array(this.hiddenStaging.getMappedRange().slice(0));
    this.hiddenStaging.unmap();
    return h;
  }

  /** Most tokens one `forwardRows` call takes (the per-row head's logits buffer is bounded; see rows-head.ts). */
  async rowsCapacity(): Promise<number> {
    return (await this.rowsHeadReady()).rows;
  }

  /**
   * Like `forward`, but with a prediction at every position: the argmax after each of `tokens` (at most
   * `rowsCapacity()` of them), and their [n, vocab] logits when `wantLogits`. For perplexity and draft verification.
   */
  async forwardRows(tokens: readonly number[], pos0: number, wantLogits = false): Promise<{ tokens: Uint32Array; logits?: Float32Array }> {
    const head = await this.rowsHeadReady();
    if (tokens.length > head.rows) throw new InvalidRequestError(`forwardRows takes at most ${head.rows} tokens per call; got ${tokens.length}.`);
    await this.submit(tokens, pos0, { list: head.list, copyOut: (enc) => head.encodeCopies(enc, tokens.length, wantLogits) });
    const r = await head.read(tokens.length, wantLogits);
    checkFinite(r.tokens, this.config.vocabSize, pos0, r.logits);
    return r;
  }

  private rowsHeadReady(): Promise<RowsHead> {
    const build = this.rowsGraph;
    if (!build) throw new UnsupportedModelError(`The ${this.config.arch} graph has no per-row logits head, which evaluate() and speculative decoding need.`);
    this.rowsHead ??= RowsHead.create(this.k.device, { vocab: this.config.vocabSize, maxBatch: this.options.maxBatch, build });
    return this.rowsHead;
  }

  /** Encodes and submits `tokens` in maxBatch chunks; the logits head (when given) and its copies out after the last. */
  private async submit(
    tokens: readonly number[], pos0: number,
    /** `decode`: the head after a one-token chunk (the decode list), where it differs from `list`. */
    head?: { list: Dispatch[]; decode?: Dispatch[]; copyOut: (enc: GPUCommandEncoder) => void },
  ): Promise<void> {
    if (tokens.length === 0) throw new InvalidRequestError('The model needs at least one token to run.');
    if (pos0 + tokens.length > this.options.contextLength) {
      throw new InvalidRequestError(
        `Positions ${pos0}..${pos0 + tokens.length - 1} do not fit the context of ${this.options.contextLength} tokens; ` +
          'shorten the prompt or maxTokens, or load with a larger contextLength.',
      );
    }
    const { device } = this.k;
    const B = this.options.maxBatch;
    for (let s = 0; s < tokens.length; s += B) {
      const chunk = tokens.slice(s, s + B);
      const n = chunk.length;
      const isLast = head !== undefined && s + B >= tokens.length;
      device.queue.writeBuffer(this.ids, 0, new Uint32Array(chunk));
      device.queue.writeBuffer(this.k.stepBuffer, 0, new Uint32Array([n, pos0 + s, pos0 + s + n, 0]));
      const enc = device.createCommandEncoder();
      // Intermediate prefill chunks only fill the KV cache: the logits head runs after the last one.
      const body = n === 1 ? this.decodeList : this.prefillList;
      const headList = isLast ? (n === 1 && head.decode ? head.decode : head.list) : [];
      const kvLen = pos0 + s + n;
      if (this.profiler) this.profiler.encode(enc, [body, headList], n, kvLen);
      else {
        const pass = enc.beginComputePass();
        for (const d of body) encodeDispatch(pass, d, n, kvLen);
        for (const d of headList) encodeDispatch(pass, d, n, kvLen);
        pass.end();
      }
      if (isLast) head.copyOut(enc);
      device.queue.submit([enc.finish()]);
      if (this.profiler) await this.profiler.collect();
    }
  }

  destroy(): void {
    this.profiler?.destroy();
    void this.rowsHead?.then((h) => h.destroy(), () => {});
    this.buffers.destroy();
    this.hiddenStaging?.destroy();
  }
}
