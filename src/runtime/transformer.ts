/**
 * The llama-family forward pass (llama, qwen2: QKV bias, qwen3: q/k RMSNorm) as a fixed list of GPU dispatches.
 * Everything — buffers, bind groups, pipelines — is made in `create`; a step writes two small buffers (token ids,
 * step uniform), encodes the list into one command buffer and reads back one u32 (or the logits when asked).
 *
 * Dispatches of one token, in order (per layer i):
 *   embedding → [attn_norm → q, k→cache, v→cache (+bias) → (q_norm, k_norm) → rope q, rope k → attention →
 *   o (+= residual) → ffn_norm → gate, up → silu_mul → down (+= residual)] × L → final norm (last row) → logits → argmax
 */
import type { ModelConfig } from '../model/types.ts';
import { ropeInvFreq } from '../model/rope.ts';
import { encodeDispatch, pickLinear, type Dispatch, type Kernels, type LinearOp } from '../gpu/kernels.ts';
import { uploadF32, type WeightStore } from '../gpu/weights.ts';
import { InvalidRequestError } from '../errors.ts';

export interface TransformerOptions {
  /** KV cache length (tokens). */
  contextLength: number;
  /** Most tokens processed in one submission (prefill chunk). */
  maxBatch: number;
  /** Per-frequency RoPE divisors (llama3 / linear scaling); undefined when unscaled. */
  ropeFactors?: Float32Array;
}

type Step = (pass: GPUComputePassEncoder, n: number) => void;

export class Transformer {
  private readonly layerSteps: Step[] = [];
  private headSteps: Step[] = [];
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
    const up = this.buffer('up', B * c.ffnDim * f32);
    const last = this.buffer('last', c.dim * f32);
    this.logits = this.buffer('logits', c.vocabSize * f32);
    this.tokenOut = this.buffer('token', 4);
    this.tokenStaging = k.device.createBuffer({ label: 'token.read', size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.logitsStaging = k.device.createBuffer({ label: 'logits.read', size: c.vocabSize * f32, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.owned.push(this.tokenStaging, this.logitsStaging);

    const factors = w.vectors.get('rope_freqs.weight')?.values ?? this.options.ropeFactors;
    const invFreq = uploadF32(k.device, 'rope.inv_freq', ropeInvFreq(c.headDim, c.ropeTheta, factors));
    this.owned.push(invFreq);
    const neox = c.ropeStyle === 'neox';
    const lin = (op: LinearOp): Step => (pass, n) => encodeDispatch(pass, pickLinear(op, n), n);
    const one = (d: Dispatch): Step => (pass, n) => encodeDispatch(pass, d, n);

    const emb = w.matrix('token_embd.weight');
    this.layerSteps.push(one(await k.embedding({ label: 'embd', table: emb, ids: this.ids, out: x })));

    // Build all layers concurrently: pipelines are shared, so this mostly overlaps compilation of the variants.
    const layers = await Promise.all(Array.from({ length: c.nLayers }, async (_, i) => {
      const p = `blk.${i}.`;
      const kCache = this.buffer(`${p}k_cache`, ctx * kvDim * f32);
      const vCache = this.buffer(`${p}v_cache`, ctx * kvDim * f32);
      this.kvBuffers[i] = { k: kCache, v: vCache };
      this.kvRowBytes = kvDim * f32;
      const steps: Step[] = [];
      steps.push(one(await k.rmsnorm({ label: `${p}attn_norm`, x, out: xn, weight: w.vector(`${p}attn_norm.weight`), dim: c.dim, eps: c.normEps })));
      const bias = (n: string) => (c.qkvBias ? w.vector(`${p}${n}.bias`) : undefined);
      steps.push(lin(await k.linear({ label: `${p}q`, w: w.matrix(`${p}attn_q.weight`), x: xn, y: q, bias: bias('attn_q') })));
      steps.push(lin(await k.linear({ label: `${p}k`, w: w.matrix(`${p}attn_k.weight`), x: xn, y: kCache, bias: bias('attn_k'), outAtPos: true })));
      steps.push(lin(await k.linear({ label: `${p}v`, w: w.matrix(`${p}attn_v.weight`), x: xn, y: vCache, bias: bias('attn_v'), outAtPos: true })));
      if (c.qkNorm) {
        steps.push(one(await k.rmsnorm({ label: `${p}q_norm`, x: q, weight: w.vector(`${p}attn_q_norm.weight`), dim: c.headDim, eps: c.normEps, rowsPerToken: c.nHeads })));
        steps.push(one(await k.rmsnorm({ label: `${p}k_norm`, x: kCache, weight: w.vector(`${p}attn_k_norm.weight`), dim: c.headDim, eps: c.normEps, rowsPerToken: c.nKvHeads, rowsAtPos: true })));
      }
      steps.push(one(await k.rope({ label: `${p}rope_q`, x: q, nHeads: c.nHeads, headDim: c.headDim, neox, invFreq })));
      steps.push(one(await k.rope({ label: `${p}rope_k`, x: kCache, nHeads: c.nKvHeads, headDim: c.headDim, neox, atPos: true, invFreq })));
      steps.push(one(await k.attention({ label: `${p}attn`, q, out: att, kCache, vCache, nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: c.headDim })));
      steps.push(lin(await k.linear({ label: `${p}o`, w: w.matrix(`${p}attn_output.weight`), x: att, y: x, accumulate: true })));
      steps.push(one(await k.rmsnorm({ label: `${p}ffn_norm`, x, out: xn, weight: w.vector(`${p}ffn_norm.weight`), dim: c.dim, eps: c.normEps })));
      steps.push(lin(await k.linear({ label: `${p}gate`, w: w.matrix(`${p}ffn_gate.weight`), x: xn, y: gate })));
      steps.push(lin(await k.linear({ label: `${p}up`, w: w.matrix(`${p}ffn_up.weight`), x: xn, y: up })));
      steps.push(one(await k.siluMul({ label: `${p}silu_mul`, gate, up, n: c.ffnDim })));
      steps.push(lin(await k.linear({ label: `${p}down`, w: w.matrix(`${p}ffn_down.weight`), x: gate, y: x, accumulate: true })));
      return steps;
    }));
    for (const l of layers) this.layerSteps.push(...l);

    const outW = c.tiedEmbeddings ? emb : w.matrix('output.weight');
    this.headSteps = [
      one(await k.rmsnorm({ label: 'output_norm', x, out: last, weight: w.vector('output_norm.weight'), dim: c.dim, eps: c.normEps, lastRow: true })),
      one((await k.linear({ label: 'output', w: outW, x: last, y: this.logits, decodeOnly: true })).vec),
      one(await k.argmax({ label: 'argmax', logits: this.logits, result: this.tokenOut, n: c.vocabSize })),
    ];
  }

  /**
   * Runs `tokens` at positions pos0.. through the model, updating the KV cache. Prompts longer than maxBatch go in
   * several submissions (queued back to back, no waiting between them). Returns the argmax token of the last
   * position, and its logits when `wantLogits`.
   */
  async forward(tokens: readonly number[], pos0: number, wantLogits = false): Promise<{ token: number; logits?: Float32Array }> {
    if (tokens.length === 0) throw new InvalidRequestError('forward() needs at least one token.');
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
      const isLast = s + B >= tokens.length;
      device.queue.writeBuffer(this.ids, 0, new Uint32Array(chunk));
      device.queue.writeBuffer(this.k.stepBuffer, 0, new Uint32Array([n, pos0 + s, pos0 + s + n, 0]));
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      for (const st of this.layerSteps) st(pass, n);
      if (isLast) for (const st of this.headSteps) st(pass, n);
      pass.end();
      if (isLast) {
        enc.copyBufferToBuffer(this.tokenOut, 0, this.tokenStaging, 0, 4);
        if (wantLogits) enc.copyBufferToBuffer(this.logits, 0, this.logitsStaging, 0, this.logitsStaging.size);
      }
      device.queue.submit([enc.finish()]);
    }
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

  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
  }
}
