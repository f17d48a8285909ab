/**
 * An embedding model's forward pass over a packed batch: the family's encoder graph (families/<name>.ts names it,
 * runtime/graphs/*.ts builds it from runtime/encoder-layers.ts) as one fixed list of dispatches. Everything is made in
 * `create` for `maxBatch` tokens (and as many sequences): per batch only the token ids, positions, key ranges and
 * sequence offsets are written (queue.writeBuffer into the preallocated buffers), one command buffer is submitted and
 * the pooled vectors [n_seqs, dim] are read back. No GPU object is created per call.
 *
 * Packed, not padded: sequences sit row after row, so the projections (nearly all the work) run on real tokens only
 * (padding 256 sentences of 16–64 tokens to 64 would do up to 4× the work), and the per-token key ranges keep each
 * sequence's attention to itself, which makes a vector independent of its batch by construction.
 */
import type { ModelConfig, Pooling } from '../model/types.ts';
import { ropeInvFreq } from '../model/rope.ts';
import { encodeDispatch, type Dispatch, type Kernels } from '../gpu/kernels.ts';
import { uploadF32, type WeightStore } from '../gpu/weights.ts';
import { InvalidRequestError, UnsupportedModelError } from '../errors.ts';
import { familyOf } from '../families/index.ts';
import type { EncoderContext } from './encoder-layers.ts';

export interface EncoderOptions {
  /** Most tokens (summed over the batch's sequences) per submission; also the longest sequence. */
  maxBatch: number;
  pooling: Pooling;
}

export class Encoder {
  private list: Dispatch[] = [];
  private readonly owned: GPUBuffer[] = [];
  private nSeqs = 0;
  private a!: EncoderContext['a'];
  private staging!: GPUBuffer;
  /** Bytes of activations this instance allocated. */
  allocatedBytes = 0;

  private constructor(
    readonly k: Kernels,
    readonly config: ModelConfig,
    readonly options: EncoderOptions,
  ) {}

  static async create(k: Kernels, config: ModelConfig, w: WeightStore, options: EncoderOptions): Promise<Encoder> {
    const e = new Encoder(k, config, options);
    await e.build(w);
    return e;
  }

  private buffer(label: string, bytes: number): GPUBuffer {
    const b = this.k.device.createBuffer({
      label, size: Math.max(16, Math.ceil(bytes / 4) * 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
    this.owned.push(b);
    this.allocatedBytes += b.size;
    return b;
  }

  private async build(w: WeightStore): Promise<void> {
    const c = this.config;
    const graph = familyOf(c.arch).encoder;
    if (!graph) throw new UnsupportedModelError(`${c.arch} has no encoder graph.`);
    const B = this.options.maxBatch;
    const f32 = 4;
    const qDim = c.nHeads * c.headDim;
    this.a = {
      ids: this.buffer('ids', B * 4),
      positions: this.buffer('positions', B * 4),
      types: this.buffer('types', B * 4), // zeros: every token is segment A
      segments: this.buffer('segments', B * 8),
      seqs: this.buffer('seqs', (B + 2) * 4),
      x: this.buffer('x', B * c.dim * f32),
      q: this.buffer('q', B * qDim * f32),
      k: this.buffer('k', B * qDim * f32),
      v: this.buffer('v', B * qDim * f32),
      att: this.buffer('att', B * qDim * f32),
      ffn: this.buffer('ffn', B * c.ffnDim * f32),
      pooled: this.buffer('pooled', B * c.dim * f32),
    };
    this.staging = this.k.device.createBuffer({ label: 'pooled.read', size: B * c.dim * f32, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.owned.push(this.staging);
    this.allocatedBytes += this.staging.size;
    const invFreq = uploadF32(this.k.device, 'rope.inv_freq', ropeInvFreq(c.headDim, c.ropeTheta));
    this.owned.push(invFreq);
    const ctx: EncoderContext = {
      k: this.k, c, w, a: this.a, pooling: this.options.pooling, nSeqs: () => this.nSeqs,
      rope: { headDim: c.headDim, neox: c.ropeStyle === 'neox', invFreq },
    };
    this.list = await Promise.all(graph(ctx));
  }

  /**
   * The pooled hidden state of each sequence (token ids, each non-empty), all in one submission: their lengths must
   * sum to at most maxBatch. Vectors come back unnormalised.
   */
  async run(seqs: readonly (readonly number[])[]): Promise<Float32Array[]> {
    const T = seqs.reduce((n, s) => n + s.length, 0);
    if (seqs.length === 0 || seqs.some((s) => s.length === 0)) throw new InvalidRequestError('Every sequence to embed needs at least one token.');
    if (T > this.options.maxBatch) throw new InvalidRequestError(`A batch of ${T} tokens exceeds maxBatch ${this.options.maxBatch}.`);
    const ids = new Uint32Array(T);
    const positions = new Uint32Array(T);
    const segments = new Uint32Array(2 * T);
    const offsets = new Uint32Array(seqs.length + 2);
    offsets[0] = seqs.length;
    let t = 0;
    seqs.forEach((s, i) => {
      offsets[1 + i] = t;
      const end = t + s.length;
      s.forEach((id, p) => {
        ids[t + p] = id;
        positions[t + p] = p;
        segments[2 * (t + p)] = t;
        segments[2 * (t + p) + 1] = end;
      });
      t = end;
    });
    offsets[1 + seqs.length] = T;
    const { device } = this.k;
    const q = device.queue;
    q.writeBuffer(this.a.ids, 0, ids);
    q.writeBuffer(this.a.positions, 0, positions);
    q.writeBuffer(this.a.segments, 0, segments);
    q.writeBuffer(this.a.seqs, 0, offsets);
    q.writeBuffer(this.k.stepBuffer, 0, new Uint32Array([T, 0, T, 0]));
    this.nSeqs = seqs.length;
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (const d of this.list) encodeDispatch(pass, d, T);
    pass.end();
    const bytes = seqs.length * this.config.dim * 4;
    enc.copyBufferToBuffer(this.a.pooled, 0, this.staging, 0, bytes);
    q.submit([enc.finish()]);
    await this.staging.mapAsync(GPUMapMode.READ, 0, bytes);
    const all = new Float32Array(this.staging.getMappedRange(0, bytes).slice(0));
    this.staging.unmap();
    const dim = this.config.dim;
    return seqs.map((_, i) => all.slice(i * dim, (i + 1) * dim));
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
  }
}
