/**
 * Decoder embedding models (Qwen3-Embedding: the qwen3 graph with last-token pooling) over packed batches: several
 * texts in one submission, sequences row after row as for encoders (runtime/encoder.ts). The family's own graph runs
 * with a packed GraphContext (runtime/layers.ts `packed`): each token is rotated at its position in its own sequence
 * and attends causally to its own sequence's rows only (attention SEGMENTS), and K/V go to a scratch of maxBatch rows
 * that every layer reuses. The chat KV cache, the prefix cache and the Transformer's activations are never touched,
 * so a conversation on the same engine keeps its cache. Everything is made on the first embed (buffers, bind groups;
 * pipelines are the Transformer's, shared through its Kernels); a call only writes ids, positions and ranges.
 */
import type { Dispatch } from '../gpu/kernels.ts';
import { encodeDispatch } from '../gpu/kernels.ts';
import { familyOf } from '../families/index.ts';
import { InvalidRequestError, UnsupportedModelError } from '../errors.ts';
import type { GraphContext } from './layers.ts';
import { layerActivations } from './forward-buffers.ts';

/** The parts of a decoder's graph context that do not depend on the step's buffers (Transformer.graphBase). */
export type GraphBase = Pick<GraphContext, 'k' | 'c' | 'w' | 'rope' | 'ropeLocal'>;

/** Most tokens per decoder-embedding submission (and the longest text packed): ~48 KiB per token for Qwen3-0.6B. */
export const DECODER_EMBED_BATCH = 1024;

export class DecoderEmbedder {
  private readonly owned: GPUBuffer[] = [];
  private list: Dispatch[] = [];
  private nSeqs = 0;
  /** One key-range buffer per attention window the graph uses (0: whole sequence), filled per batch. */
  private readonly segments = new Map<number, GPUBuffer>();
  private ids!: GPUBuffer;
  private positions!: GPUBuffer;
  private seqs!: GPUBuffer;
  private pooled!: GPUBuffer;
  private staging!: GPUBuffer;
  private norm!: Float32Array;
  /** Bytes this instance allocated. */
  allocatedBytes = 0;

  private constructor(
    private readonly base: GraphBase,
    /** Most tokens per submission, summed over the packed texts; also the longest text it takes. */
    readonly maxBatch: number,
  ) {}

  static async create(base: GraphBase, maxBatch: number): Promise<DecoderEmbedder> {
    const e = new DecoderEmbedder(base, maxBatch);
    await e.build();
    return e;
  }

  private buffer(label: string, bytes: number, usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC): GPUBuffer {
    const b = this.base.k.device.createBuffer({ label: `embed.${label}`, size: Math.max(16, Math.ceil(bytes / 4) * 4), usage });
    this.owned.push(b);
    this.allocatedBytes += b.size;
    return b;
  }

  private async build(): Promise<void> {
    const { c, w } = this.base;
    const graph = familyOf(c.arch).graph;
    if (!graph) throw new UnsupportedModelError(`${c.arch} has no decoder graph.`);
    const norm = w.vectors.get('output_norm.weight')?.values;
    if (!norm) throw new UnsupportedModelError(`${c.arch} has no output_norm.weight to pool with.`);
    this.norm = norm;
    const B = this.maxBatch;
    const f32 = 4;
    const kvDim = c.nKvHeads * c.headDim;
    this.ids = this.buffer('ids', B * 4);
    this.positions = this.buffer('positions', B * 4);
    this.seqs = this.buffer('seqs', (B + 2) * 4);
    this.pooled = this.buffer('pooled', B * c.dim * f32);
    this.staging = this.buffer('pooled.read', B * c.dim * f32, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    // One scratch K/V for all layers: layer i's keys are used up before layer i + 1 writes its own.
    const kv = { k: this.buffer('k', B * kvDim * f32), v: this.buffer('v', B * kvDim * f32) };
    const g: GraphContext = {
      ...this.base,
      a: {
        ids: this.ids,
        ...layerActivations(c, B, (label, bytes) => this.buffer(label, bytes)),
        // The graph's logits head is built but never run here.
        logits: this.buffer('logits', 16),
        tokenOut: this.buffer('token', 16),
      },
      kv: () => kv,
      packed: {
        positions: this.positions,
        segments: (window) => {
          let b = this.segments.get(window);
          if (!b) this.segments.set(window, (b = this.buffer(`segments.${window}`, B * 8)));
          return b;
        },
      },
    };
    const lists = graph(g);
    const pool = this.base.k.pool({ label: 'embed.pool_last', x: g.a.x, out: this.pooled, seqs: this.seqs, dim: c.dim, mode: 'last', maxSeqs: () => this.nSeqs });
    this.list = await Promise.all([...lists.body.prefill, pool]);
    // Settle the unused decode list and head too (their pipelines are the Transformer's, already compiled).
    await Promise.all([...lists.body.decode, ...lists.head]);
  }

  /**
   * The last token's hidden state of each sequence, through the output RMSNorm (as Qwen3-Embedding pools), all in one
   * submission: lengths must sum to at most maxBatch. Unnormalised (the caller cuts `dimensions` and L2-normalises).
   */
  async run(seqs: readonly (readonly number[])[]): Promise<Float32Array[]> {
    const T = seqs.reduce((n, s) => n + s.length, 0);
    if (seqs.length === 0 || seqs.some((s) => s.length === 0)) throw new InvalidRequestError('Every sequence to embed needs at least one token.');
    if (T > this.maxBatch) throw new InvalidRequestError(`A batch of ${T} tokens exceeds the embedding batch of ${this.maxBatch}.`);
    const { k, c } = this.base;
    const ids = new Uint32Array(T);
    const positions = new Uint32Array(T);
    const offsets = new Uint32Array(seqs.length + 2);
    const ranges = new Map([...this.segments.keys()].map((win) => [win, new Uint32Array(2 * T)]));
    offsets[0] = seqs.length;
    let t = 0;
    seqs.forEach((s, i) => {
      offsets[1 + i] = t;
      s.forEach((id, p) => {
        ids[t + p] = id;
        positions[t + p] = p;
        // Causal within its own sequence: rows start .. own row (a window keeps only the last `win` of them).
        for (const [win, r] of ranges) {
          r[2 * (t + p)] = t + (win > 0 ? Math.max(0, p + 1 - win) : 0);
          r[2 * (t + p) + 1] = t + p + 1;
        }
      });
      t += s.length;
    });
    offsets[1 + seqs.length] = T;
    const q = k.device.queue;
    q.writeBuffer(this.ids, 0, ids);
    q.writeBuffer(this.positions, 0, positions);
    q.writeBuffer(this.seqs, 0, offsets);
    for (const [win, r] of ranges) q.writeBuffer(this.segments.get(win)!, 0, r);
    q.writeBuffer(k.stepBuffer, 0, new Uint32Array([T, 0, T, 0]));
    this.nSeqs = seqs.length;
    const enc = k.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (const d of this.list) encodeDispatch(pass, d, T);
    pass.end();
    const bytes = seqs.length * c.dim * 4;
    enc.copyBufferToBuffer(this.pooled, 0, this.staging, 0, bytes);
    q.submit([enc.finish()]);
    await this.staging.mapAsync(GPUMapMode.READ, 0, bytes);
    const all = new Float32Array(this.staging.getMappedRange(0, bytes).slice(0));
    this.staging.unmap();
    return seqs.map((_, i) => this.outputNorm(all.subarray(i * c.dim, (i + 1) * c.dim)));
  }

  /** The model's output RMSNorm of one hidden state (what the logits head would read). */
  outputNorm(h: Float32Array): Float32Array {
    let ss = 0;
    for (const v of h) ss += v * v;
    const inv = 1 / Math.sqrt(ss / h.length + this.base.c.normEps);
    return h.map((v, j) => v * inv * this.norm[j]);
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
  }
}
