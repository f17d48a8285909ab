/**
 * The llama-family forward pass (llama, qwen2: QKV bias, qwen3: q/k RMSNorm) as two fixed lists of GPU dispatches,
 * one for a single decoded token and one for a prefill chunk. Everything — buffers, bind groups, pipelines — is
 * made in `create`; a step writes two small buffers (token ids, step uniform), encodes one list into one command
 * buffer and reads back one u32 (or the logits when asked).
 *
 * Decode (one token), per layer i — 8 dispatches, the small ops fused into the projections (matvec.wgsl):
 *   [q (+attn_norm, +rope) → k→cache (+attn_norm, +rope) → v→cache (+attn_norm) → attention →
 *    o (+= residual) → gate (+ffn_norm) → up (+ffn_norm, gate = silu(gate)·up) → down (+= residual)] × L
 *   with embedding before and logits (+output_norm) → argmax after. qwen3 keeps q_norm/k_norm and rope apart
 *   (the per-head norm sits between projection and rotation).
 * Prefill (n tokens): embedding → [attn_norm → q, k→cache, v→cache (tiled matmul) → (q_norm, k_norm) → rope q,
 *   rope k → attention → o (+=) → ffn_norm → gate, up (gate = silu(gate)·up) → down (+=)] × L → logits (last row,
 *   +output_norm) → argmax.
 */
import type { ModelConfig } from '../model/types.ts';
import { ropeInvFreq } from '../model/rope.ts';
import { encodeDispatch, type Dispatch, type Kernels } from '../gpu/kernels.ts';
import { KernelProfiler, type KernelTime } from '../gpu/profiler.ts';
import { uploadF32, type WeightStore } from '../gpu/weights.ts';
import { InvalidRequestError } from '../errors.ts';

export interface TransformerOptions {
  /** KV cache length (tokens). */
  contextLength: number;
  /** Most tokens processed in one submission (prefill chunk). */
  maxBatch: number;
  /** Per-frequency RoPE divisors (llama3 / linear scaling); undefined when unscaled. */
  ropeFactors?: Float32Array;
  /**
   * Time every dispatch with `timestamp-query` (when the adapter has it; ignored otherwise): each dispatch then gets
   * its own compute pass, which is slower, so use it for profiling only. Read with `kernelTimes()`.
   */
  profile?: boolean;
}

export class Transformer {
  /** Dispatches of one decoded token and of one prefill chunk, without the logits head (run after the last chunk). */
  private decodeList: Dispatch[] = [];
  private prefillList: Dispatch[] = [];
  private headList: Dispatch[] = [];
  private profiler?: KernelProfiler;
  private readonly owned: GPUBuffer[] = [];
  private ids!: GPUBuffer;
  private logits!: GPUBuffer;
  private tokenOut!: GPUBuffer;
  private tokenStaging!: GPUBuffer;
  private logitsStaging!: GPUBuffer;
  /** Bytes of activations + KV cache this instance allocated. */
  allocatedBytes = 0;
  /** Per layer: the K and V cache buffers, `kvRowBytes` per position, position-major (for runtime/prefix-cache.ts). */
  readonly kvBuffers: { k: GPUBuffer; v: GPUBuffer }[] = [];
  kvRowBytes = 0;

  private constructor(
    private readonly k: Kernels,
    readonly config: ModelConfig,
    readonly options: TransformerOptions,
  ) {}

  static async create(k: Kernels, config: ModelConfig, w: WeightStore, options: TransformerOptions): Promise<Transformer> {
    const t = new Transformer(k, config, options);
    await t.build(w);
    return t;
  }

  private buffer(label: string, bytes: number, extra = 0): GPUBuffer {
    const b = this.k.device.createBuffer({
      label, size: Math.max(16, Math.ceil(bytes / 4) * 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC | extra,
    });
    this.owned.push(b);
    this.allocatedBytes += b.size;
    return b;
  }

  private async build(w: WeightStore): Promise<void> {
    const c = this.config;
    const k = this.k;
    const B = this.options.maxBatch;
    const ctx = this.options.contextLength;
    const qDim = c.nHeads * c.headDim;
    const kvDim = c.nKvHeads * c.headDim;
    const f32 = 4;

    this.ids = this.buffer('ids', B * 4);
    const x = this.buffer('x', B * c.dim * f32);
    const xn = this.buffer('xn', B * c.dim * f32);
    const q = this.buffer('q', B * qDim * f32);
    const att = this.buffer('att', B * qDim * f32);
    const gate = this.buffer('gate', B * c.ffnDim * f32);
    this.logits = this.buffer('logits', c.vocabSize * f32);
    this.tokenOut = this.buffer('token', 4);
    this.tokenStaging = k.device.createBuffer({ label: 'token.read', size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.logitsStaging = k.device.createBuffer({ label: 'logits.read', size: c.vocabSize * f32, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.owned.push(this.tokenStaging, this.logitsStaging);

    const factors = w.vectors.get('rope_freqs.weight')?.values ?? this.options.ropeFactors;
    const invFreq = uploadF32(k.device, 'rope.inv_freq', ropeInvFreq(c.headDim, c.ropeTheta, factors));
    this.owned.push(invFreq);
    const neox = c.ropeStyle === 'neox';
    const rope = { headDim: c.headDim, neox, invFreq };
    const eps = c.normEps;

    const emb = w.matrix('token_embd.weight');
    const embed = k.embedding({ label: 'embd', table: emb, ids: this.ids, out: x });

    const outW = c.tiedEmbeddings ? emb : w.matrix('output.weight');
    const head = Promise.all([
      k.matvec({ label: 'output', w: outW, x, y: this.logits, norm: { weight: w.vector('output_norm.weight'), eps } }),
      k.argmax({ label: 'argmax', logits: this.logits, result: this.tokenOut, n: c.vocabSize }),
    ]);
    // Build all layers concurrently: pipelines are shared, so this mostly overlaps compilation of the variants.
    const layers = await Promise.all(Array.from({ length: c.nLayers }, async (_, i) => {
      const p = `blk.${i}.`;
      const kCache = this.buffer(`${p}k_cache`, ctx * kvDim * f32);
      const vCache = this.buffer(`${p}v_cache`, ctx * kvDim * f32);
      this.kvBuffers[i] = { k: kCache, v: vCache };
      this.kvRowBytes = kvDim * f32;
      const bias = (n: string) => (c.qkvBias ? w.vector(`${p}${n}.bias`) : undefined);
      const wq = w.matrix(`${p}attn_q.weight`), wk = w.matrix(`${p}attn_k.weight`), wv = w.matrix(`${p}attn_v.weight`);
      const wo = w.matrix(`${p}attn_output.weight`);
      const wg = w.matrix(`${p}ffn_gate.weight`), wu = w.matrix(`${p}ffn_up.weight`), wd = w.matrix(`${p}ffn_down.weight`);
      const attnNorm = { weight: w.vector(`${p}attn_norm.weight`), eps };
      const ffnNorm = { weight: w.vector(`${p}ffn_norm.weight`), eps };
      const qkRope = c.qkNorm ? undefined : rope;
      // Every dispatch of the layer is requested before any is awaited, so the pipelines of all variants compile
      // concurrently instead of one after another.
      const qkNorm = c.qkNorm
        ? [
            k.rmsnorm({ label: `${p}q_norm`, x: q, weight: w.vector(`${p}attn_q_norm.weight`), dim: c.headDim, eps, rowsPerToken: c.nHeads }),
            k.rmsnorm({ label: `${p}k_norm`, x: kCache, weight: w.vector(`${p}attn_k_norm.weight`), dim: c.headDim, eps, rowsPerToken: c.nKvHeads, rowsAtPos: true }),
          ]
        : [];
      const ropes = [
        k.rope({ label: `${p}rope_q`, x: q, nHeads: c.nHeads, headDim: c.headDim, neox, invFreq }),
        k.rope({ label: `${p}rope_k`, x: kCache, nHeads: c.nKvHeads, headDim: c.headDim, neox, atPos: true, invFreq }),
      ];
      const attention = k.attention({ label: `${p}attn`, q, out: att, kCache, vCache, nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: c.headDim });
      const qo = { label: `${p}q`, w: wq, x, y: q, bias: bias('attn_q') };
      const ko = { label: `${p}k`, w: wk, x, y: kCache, bias: bias('attn_k'), outAtPos: true };
      const vo = { label: `${p}v`, w: wv, x, y: vCache, bias: bias('attn_v'), outAtPos: true };
      const oo = { label: `${p}o`, w: wo, x: att, y: x, accumulate: true };
      const go = { label: `${p}gate`, w: wg, x, y: gate };
      const uo = { label: `${p}up`, w: wu, x, y: gate, gateMul: true };
      const dn = { label: `${p}down`, w: wd, x: gate, y: x, accumulate: true };
      const decode = Promise.all([
        k.matvec({ ...qo, norm: attnNorm, rope: qkRope }),
        k.matvec({ ...ko, norm: attnNorm, rope: qkRope }),
        k.matvec({ ...vo, norm: attnNorm }),
        ...qkNorm,
        ...(qkRope ? [] : ropes),
        attention,
        k.matvec(oo),
        k.matvec({ ...go, norm: ffnNorm }),
        k.matvec({ ...uo, norm: ffnNorm }),
        k.matvec(dn),
      ]);
      const prefill = Promise.all([
        k.rmsnorm({ label: `${p}attn_norm`, x, out: xn, weight: attnNorm.weight, dim: c.dim, eps }),
        k.matmul({ ...qo, x: xn }),
        k.matmul({ ...ko, x: xn }),
        k.matmul({ ...vo, x: xn }),
        ...qkNorm,
        ...ropes,
        attention,
        k.matmul(oo),
        k.rmsnorm({ label: `${p}ffn_norm`, x, out: xn, weight: ffnNorm.weight, dim: c.dim, eps }),
        k.matmul({ ...go, x: xn }),
        k.matmul({ ...uo, x: xn }),
        k.matmul(dn),
      ]);
      return { decode: await decode, prefill: await prefill };
    }));

    this.headList = await head;
    this.decodeList = [await embed, ...layers.flatMap((l) => l.decode)];
    this.prefillList = [await embed, ...layers.flatMap((l) => l.prefill)];
    if (this.options.profile && k.gpu.caps.timestampQuery) {
      this.profiler = new KernelProfiler(k.device, Math.max(this.decodeList.length, this.prefillList.length) + this.headList.length);
    }
  }

  /** Summed GPU time per kernel since the last reset, when created with `profile` (empty otherwise). */
  kernelTimes(reset = false): KernelTime[] {
    const t = this.profiler?.times() ?? [];
    if (reset) this.profiler?.reset();
    return t;
  }

  /**
   * Runs `tokens` at positions pos0.. through the model, updating the KV cache. Prompts longer than maxBatch go in
   * several submissions (queued back to back, no waiting between them). Returns the argmax token of the last
   * position, and its logits when `wantLogits`.
   */
  async forward(tokens: readonly number[], pos0: number, wantLogits = false): Promise<{ token: number; logits?: Float32Array }> {
    await this.submit(tokens, pos0, true, wantLogits);
    const reads: Promise<void>[] = [this.tokenStaging.mapAsync(GPUMapMode.READ)];
    if (wantLogits) reads.push(this.logitsStaging.mapAsync(GPUMapMode.READ));
    await Promise.all(reads);
    const token = new Uint32Array(this.tokenStaging.getMappedRange())[0];
    this.tokenStaging.unmap();
    let logits: Float32Array | undefined;
    if (wantLogits) {
      logits = new Float32Array(this.logitsStaging.getMappedRange().slice(0));
      this.logitsStaging.unmap();
    }
    return { token, logits };
  }

  /**
   * Only fills the KV cache for `tokens` at pos0.. (no logits head, no readback) and resolves when the GPU is done:
   * the prefill of a long prompt, chunk by chunk, with a chance to abort between chunks.
   */
  async fill(tokens: readonly number[], pos0: number): Promise<void> {
    await this.submit(tokens, pos0, false, false);
    await this.k.device.queue.onSubmittedWorkDone();
  }

  /** Encodes and submits `tokens` in maxBatch chunks; the logits head (and its copies out) only after the last. */
  private async submit(tokens: readonly number[], pos0: number, withHead: boolean, wantLogits: boolean): Promise<void> {
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
      const isLast = withHead && s + B >= tokens.length;
      device.queue.writeBuffer(this.ids, 0, new Uint32Array(chunk));
      device.queue.writeBuffer(this.k.stepBuffer, 0, new Uint32Array([n, pos0 + s, pos0 + s + n, 0]));
      const enc = device.createCommandEncoder();
      // Intermediate prefill chunks only fill the KV cache: the logits head runs after the last one.
      const body = n === 1 ? this.decodeList : this.prefillList;
      const head = isLast ? this.headList : [];
      if (this.profiler) this.profiler.encode(enc, [body, head], n);
      else {
        const pass = enc.beginComputePass();
        for (const d of body) encodeDispatch(pass, d, n);
        for (const d of head) encodeDispatch(pass, d, n);
        pass.end();
      }
      if (isLast) {
        enc.copyBufferToBuffer(this.tokenOut, 0, this.tokenStaging, 0, 4);
        if (wantLogits) enc.copyBufferToBuffer(this.logits, 0, this.logitsStaging, 0, this.logitsStaging.size);
      }
      device.queue.submit([enc.finish()]);
      if (this.profiler) await this.profiler.collect();
    }
  }

  destroy(): void {
    this.profiler?.destroy();
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
  }
}
