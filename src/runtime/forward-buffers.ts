/**
 * The GPU memory of one model's forward pass, made once at load: the activations (sized for maxBatch tokens), the KV
 * cache (format and row size from kv-format.ts; one K and one V buffer per layer, made as the graph asks for them),
 * split-K attention's scratch and the RoPE tables, and the GraphContext that hands them to the family graph. It owns
 * every buffer it makes and the Transformer's own (`own`), so one `destroy` frees them all.
 */
import type { ModelConfig } from '../model/types.ts';
import { ropeFactorsFor, ropeInvFreq } from '../model/rope.ts';
import type { Kernels } from '../gpu/kernels.ts';
import { uploadF32, type WeightStore } from '../gpu/weights.ts';
import type { Activations, GraphContext, RopeTable } from './layers.ts';
import { kvRowBytes, resolveKvFormat, type KvFormat } from './kv-format.ts';

/** The sizes and formats the buffers are made for. */
export interface BufferOptions {
  /** KV cache length (tokens). */
  contextLength: number;
  /** Most tokens processed in one submission (prefill chunk). */
  maxBatch: number;
  /** Per-frequency RoPE divisors (llama3 / linear scaling); undefined when unscaled. */
  ropeFactors?: Float32Array;
  /** KV-cache format (runtime/kv-format.ts; default: f16 with `shader-f16`, else f32). */
  kvCache?: KvFormat;
}

/**
 * The f32 activations the layers pass along for `B` tokens (residual, its norm, queries, attention output, FFN hidden),
 * made by the owner's `make`; the owner adds ids, logits and the pick (decoder-embed.ts makes the same for its batches).
 */
export function layerActivations(
  c: ModelConfig, B: number, make: (label: string, bytes: number) => GPUBuffer,
): Pick<Activations, 'x' | 'xn' | 'q' | 'att' | 'gate'> {
  const qDim = c.nHeads * c.headDim;
  return {
    x: make('x', B * c.dim * 4),
    xn: make('xn', B * c.dim * 4),
    q: make('q', B * qDim * 4),
    att: make('att', B * qDim * 4),
    gate: make('gate', B * c.ffnDim * 4),
  };
}

export class ForwardBuffers {
  private readonly owned: GPUBuffer[] = [];
  /** Bytes of activations + KV cache made with `storage` (what `ModelInfo` reports as cache memory). */
  allocatedBytes = 0;
  /** Per layer: the K and V cache buffers, `kvRowBytes` per position, position-major (for runtime/prefix-cache.ts). */
  readonly kvBuffers: { k: GPUBuffer; v: GPUBuffer }[] = [];
  /** The KV cache's format (options.kvCache, resolved). */
  readonly kvFormat: KvFormat;
  readonly kvRowBytes: number;
  /** What the family graph is built from; `ctx.a` are the activations. */
  readonly ctx: GraphContext;
  private readonly device: GPUDevice;

  constructor(k: Kernels, c: ModelConfig, w: WeightStore, o: BufferOptions) {
    this.device = k.device;
    const B = o.maxBatch;
    const ctx = o.contextLength;
    const kvDim = c.nKvHeads * c.headDim;
    const f32 = 4;

    // Scaling: a GGUF's rope_freqs / LongRoPE tensors, else the config's (at this context length), else the loader's.
    const factors = ropeFactorsFor(c, ctx, (n) => w.vectors.get(n)?.values) ?? o.ropeFactors;
    const ropeDim = c.ropeDim ?? c.headDim;
    const mscale = c.ropeScaling?.type === 'longrope' ? c.ropeScaling.attnFactor : undefined;
    const ropeTable = (label: string, theta: number, f?: Float32Array): RopeTable => {
      const invFreq = this.own(uploadF32(k.device, label, ropeInvFreq(ropeDim, theta, f)));
      return { headDim: ropeDim, neox: c.ropeStyle === 'neox', invFreq, mscale };
    };
    const rope = ropeTable('rope.inv_freq', c.ropeTheta, factors);
    // Sliding layers with their own base (gemma3) run unscaled, as llama.cpp's rope_freq_scale_train_swa = 1.
    const ropeLocal = c.ropeThetaLocal === undefined ? rope : ropeTable('rope.inv_freq.local', c.ropeThetaLocal);
    this.kvFormat = resolveKvFormat(o.kvCache, k.gpu.caps, kvDim, c.headDim, 2 * c.nLayers * ctx * kvRowBytes('f32', kvDim));
    const rowBytes = (this.kvRowBytes = kvRowBytes(this.kvFormat, kvDim));
    const packedKv = this.kvFormat !== 'f32';
    const { attentionChunk: chunk, attentionMaxSplits: maxSplits } = k.tuning;
    this.ctx = {
      k, c, w,
      kvFormat: this.kvFormat,
      attnSplit: { part: this.storage('attn.part', c.nHeads * maxSplits * (c.headDim + 2) * f32), chunk, maxSplits },
      a: {
        ids: this.storage('ids', B * 4),
        logits: this.storage('logits', c.vocabSize * f32),
        tokenOut: this.storage('token', 4),
        ...layerActivations(c, B, (label, bytes) => this.storage(label, bytes)),
        ...(packedKv ? { kNew: this.storage('k.new', B * kvDim * f32), vNew: this.storage('v.new', B * kvDim * f32) } : {}),
      },
      rope,
      ropeLocal,
      kv: (i) => (this.kvBuffers[i] ??= {
        k: this.storage(`blk.${i}.k_cache`, ctx * rowBytes),
        v: this.storage(`blk.${i}.v_cache`, ctx * rowBytes),
      }),
    };
  }

  /** A storage buffer (also a copy source and destination) of at least `bytes`, counted in `allocatedBytes`. */
  storage(label: string, bytes: number): GPUBuffer {
    const b = this.device.createBuffer({
      label, size: Math.max(16, Math.ceil(bytes / 4) * 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
    this.allocatedBytes += b.size;
    return this.own(b);
  }

  /** Takes `b` into this owner's `destroy` (readbacks, the sampler's and log-probs' buffers; not counted as cache). */
  own(b: GPUBuffer): GPUBuffer {
    this.owned.push(b);
    return b;
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
  }
}
