/**
 * Shared layer pieces that family graphs (runtime/graphs/*.ts) are built from, the way llama.cpp builds a family
 * from build_norm / build_attn / build_ffn. Each piece returns a `Stage`: the dispatches it adds to the decode list
 * (one token, small ops fused into matvec epilogues) and to the prefill list (n tokens, tiled matmul). Pieces only
 * request dispatches (promises); the Transformer awaits them all together, so pipeline variants compile concurrently.
 */
import type { ModelConfig } from '../model/types.ts';
import type { AttentionSplit, Dispatch, Kernels, KvFormat } from '../gpu/kernels.ts';
import type { LinearOptions } from '../gpu/linear-out.ts';
import type { WeightStore } from '../gpu/weights.ts';
import { fuseRows, fuseVectors, type Projection } from '../gpu/projection.ts';

/** Activation buffers every graph shares (sized for maxBatch tokens: runtime/forward-buffers.ts). */
export interface Activations {
  /** Token ids of the step. */
  ids: GPUBuffer;
  /** Residual stream [B, dim]. */
  x: GPUBuffer;
  /** Normalized residual [B, dim] (prefill only: decode fuses the norm into the projection). */
  xn: GPUBuffer;
  /** Queries [B, nHeads·headDim]. */
  q: GPUBuffer;
  /** Attention output [B, nHeads·headDim]. */
  att: GPUBuffer;
  /** FFN hidden [B, ffnDim]. */
  gate: GPUBuffer;
  /** Logits of the last row [vocab]. */
  logits: GPUBuffer;
  /** Argmax token id (one u32). */
  tokenOut: GPUBuffer;
  /** New K / V rows [B, nKvHeads·headDim] in f32, with a packed KV cache (kvFormat not f32): kv_store converts them. */
  kNew?: GPUBuffer;
  vNew?: GPUBuffer;
}

/** RoPE tables: the head size rotated, the pairing and the inverse frequencies on the GPU. */
export interface RopeTable {
  /** Dimensions turned per head: the head size, or fewer (partial rotary: the first `headDim` of each head). */
  headDim: number;
  neox: boolean;
  invFreq: GPUBuffer;
  /** Multiplier of the turned q/k values (LongRoPE's attention factor); absent: 1. */
  mscale?: number;
}

/** What a graph builder is given. */
export interface GraphContext {
  k: Kernels;
  c: ModelConfig;
  w: WeightStore;
  a: Activations;
  /** RoPE of full-attention layers (with the model's scaling). */
  rope: RopeTable;
  /** RoPE of sliding-window layers when their base differs (config.ropeThetaLocal); else `rope`. */
  ropeLocal: RopeTable;
  /** The K and V cache of layer i ([contextLength, nKvHeads·headDim] each, position-major), made on first use. */
  kv(i: number): { k: GPUBuffer; v: GPUBuffer };
  /**
   * Several sequences packed in one prefill step (decoder embeddings, runtime/decoder-embed.ts): token t is rotated at
   * `positions[t]` and attends to the K/V rows its `segments(window)` range gives (its own sequence, causally).
   */
  packed?: { positions: GPUBuffer; segments: (window: number) => GPUBuffer };
  /**
   * The caches' format (shaders/kv.wgsl; default f32): f32 caches are written by the projections, the others get
   * their new rows through a.kNew / a.vNew and kv_store (the layer kernel writes every format itself).
   */
  kvFormat?: KvFormat;
  /** Split-K decode attention's scratch and chunking (one for all layers: their dispatches run in order); absent: none. */
  attnSplit?: AttentionSplit;
}

/** Dispatches a piece adds to the decode list and to the prefill list. */
export interface Stage {
  decode: Promise<Dispatch>[];
  prefill: Promise<Dispatch>[];
  /**
   * A body only: what follows its decode list in place of the graph's head when its decode list already did part of
   * the head (the layer kernel's logits and argmax: []); absent: the head.
   */
  decodeHead?: Promise<Dispatch>[];
}

/** A family's forward pass: the body (embedding and layers) and the logits head (run only after the last chunk). */
export interface GraphLists {
  body: Stage;
  head: Promise<Dispatch>[];
  /**
   * The head over every row of the step, writing [n, vocab] logits and n argmax ids into `out` (evaluate and
   * speculative decoding; built on first use by rows-head.ts). A family without one cannot run those.
   */
  rows?: (out: RowsOut) => Promise<Dispatch>[];
}

/** Where the per-row head writes: logits [rows, vocab] and one u32 id per row. */
export interface RowsOut {
  logits: GPUBuffer;
  ids: GPUBuffer;
}

export type Graph = (g: GraphContext) => GraphLists;

export function stages(...parts: Stage[]): Stage {
  return { decode: parts.flatMap((p) => p.decode), prefill: parts.flatMap((p) => p.prefill) };
}

/** Token embedding into the residual stream, times config.embedScale (gemma). */
export function embed(g: GraphContext): Stage {
  const d = g.k.embedding({ label: 'embd', table: g.w.matrix('token_embd.weight'), ids: g.a.ids, out: g.a.x, scale: g.c.embedScale });
  return { decode: [d], prefill: [d] };
}

/** The attention window of layer i (0: sees every earlier position). */
export function layerWindow(c: ModelConfig, i: number): number {
  if (!c.slidingWindow) return 0;
  return !c.slidingLayers || c.slidingLayers[i] ? c.slidingWindow : 0;
}

export interface AttentionOptions {
  /** Q/K/V biases (qwen2). */
  bias?: boolean;
  /** Per-head RMSNorm of q and k before RoPE (qwen3, gemma3). */
  qkNorm?: boolean;
  /** RoPE of this layer (default: g.rope); null: none (NoPE layers). */
  rope?: RopeTable | null;
  /** Sliding window (0 / absent: full causal attention). */
  window?: number;
  /** Multiplier of q·k (default 1/√headDim). */
  scale?: number;
  /** Attention logit soft-capping (gemma2). */
  softcap?: number;
  /** Name (after `blk.N.`) of an RMSNorm applied to the block's output before the residual add (gemma). */
  postNorm?: string;
  /**
   * The q, k and v rows, in that order, as projections (gpu/projection.ts), for files that ship them fused (Phi-3
   * `attn_qkv`). Default: attn_q, attn_k, attn_v fused at load where their formats allow.
   */
  qkv?: Projection[];
}

/** Where each part of a fused projection writes. */
interface Dest {
  y: GPUBuffer;
  outAtPos?: boolean;
  /** Bias tensor of the part (when the layer has biases). */
  bias?: string;
  /** RoPE rotates this part (q, k). */
  rope?: boolean;
}

/**
 * One projection's outputs for the kernels (`split`): the first part writes `y`, the others their own buffers;
 * `ropeRows` counts the leading rotated rows. `dests` follow the parts of all projections in order.
 */
function projectionOutputs(g: GraphContext, p: Projection, dests: Dest[], first: number) {
  const ds = p.parts.map((_, j) => dests[first + j]);
  const biases = ds.map((d) => d.bias).filter((b): b is string => b !== undefined);
  if (biases.length && biases.length !== ds.length) throw new Error(`${p.w.name}: a bias for some parts only`);
  const ropeRows = p.parts.reduce((n, part, j) => n + (ds[j].rope ? part.rows : 0), 0);
  return {
    linear: {
      w: p.w, x: g.a.x, y: ds[0].y, outAtPos: ds[0].outAtPos,
      bias: biases.length ? fuseVectors(g.w, biases) : undefined,
      split: p.parts.slice(1).map((part, j) => ({ at: part.row0, y: ds[j + 1].y, outAtPos: ds[j + 1].outAtPos })),
    } satisfies Omit<LinearOptions, 'label'>,
    ropeRows,
  };
}

/**
 * x += norm(a.xn) when a post-norm is given (the projection wrote its output to a.xn, free by then), else nothing:
 * the projection accumulated into the residual itself.
 */
function postNormAdd(g: GraphContext, i: number, name: string | undefined): Promise<Dispatch>[] {
  if (!name) return [];
  const { k, c, w, a } = g;
  const p = `blk.${i}.`;
  return [k.rmsnorm({ label: `${p}${name}`, x: a.xn, out: a.x, weight: w.vector(`${p}${name}.weight`), dim: c.dim, eps: c.normEps, accumulate: true })];
}

/**
 * Pre-norm self-attention, residual added: x += o(attention(rope(q(norm(x))), rope(k(…)), v(…))). K and V go
 * straight into the layer's KV cache rows. Decode fuses the norm and RoPE into the q/k projections (with q/k norms,
 * RoPE runs apart, after the per-head norm).
 */
export function attention(g: GraphContext, i: number, o: AttentionOptions = {}): Stage {
  const { k, c, w, a } = g;
  const rope = o.rope === undefined ? g.rope : o.rope;
  const p = `blk.${i}.`;
  const eps = c.normEps;
  const cache = g.kv(i);
  const attnNorm = { weight: w.vector(`${p}attn_norm.weight`), eps };
  // q, k and v as few projections as their formats allow, each one dispatch writing q and the KV cache rows.
  const qkv = o.qkv ?? fuseRows(w, ['attn_q', 'attn_k', 'attn_v'].map((n) => `${p}${n}.weight`));
  // A packed cache (f16, q8_0) gets new rows in f32 first (k/v norms and RoPE run there), then kv_store.
  const kvFormat = g.kvFormat ?? 'f32';
  const packedKv = kvFormat !== 'f32';
  const kNew = packedKv ? { y: a.kNew!, outAtPos: false } : { y: cache.k, outAtPos: true };
  const vNew = packedKv ? { y: a.vNew!, outAtPos: false } : { y: cache.v, outAtPos: true };
  const dests: Dest[] = [
    { y: a.q, bias: o.bias ? `${p}attn_q.bias` : undefined, rope: true },
    { ...kNew, bias: o.bias ? `${p}attn_k.bias` : undefined, rope: true },
    { ...vNew, bias: o.bias ? `${p}attn_v.bias` : undefined },
  ];
  let first = 0;
  const projs = qkv.map((proj) => {
    const out = projectionOutputs(g, proj, dests, first);
    first += proj.parts.length;
    return { label: `${p}${proj.parts.length === 3 ? 'qkv' : proj.parts.map((q) => q.name.split('.').at(-2)).join('+')}`, ...out };
  });
  if (first !== 3) throw new Error(`blk.${i}: the q/k/v projections have ${first} parts, not 3`);
  const oo = o.postNorm
    ? { label: `${p}o`, w: w.matrix(`${p}attn_output.weight`), x: a.att, y: a.xn }
    : { label: `${p}o`, w: w.matrix(`${p}attn_output.weight`), x: a.att, y: a.x, accumulate: true };
  // Partial rotary turns part of each head in the rope kernel, which also applies LongRoPE's factor to those
  // dimensions; a whole-head rotation leaves the factor to the attention scale instead (q·k·m²), so RoPE stays fusable.
  const partial = !!rope && rope.headDim < c.headDim;
  const m = rope && !partial ? (rope.mscale ?? 1) : 1;
  const rot = { headDim: c.headDim, rotDim: rope?.headDim, mscale: partial ? rope?.mscale : undefined };
  // Packed steps start at row 0 (K rows are the tokens' own) and rotate each token at its position in its sequence.
  const positions = g.packed?.positions;
  // Per-head q/k norm and RoPE in one dispatch each (rmsnorm ROPE), unless packed rows carry their own positions.
  const normRope = o.qkNorm && rope && !positions ? { neox: rope.neox, invFreq: rope.invFreq, rotDim: rope.headDim, mscale: rot.mscale } : undefined;
  const qkNorm = o.qkNorm
    ? [
        k.rmsnorm({ label: `${p}q_norm`, x: a.q, weight: w.vector(`${p}attn_q_norm.weight`), dim: c.headDim, eps, rowsPerToken: c.nHeads, rope: normRope }),
        k.rmsnorm({
          label: `${p}k_norm`, x: kNew.y, weight: w.vector(`${p}attn_k_norm.weight`), dim: c.headDim, eps, rowsPerToken: c.nKvHeads, rowsAtPos: kNew.outAtPos, rope: normRope,
        }),
      ]
    : [];
  const ropes = rope && !normRope
    ? [
        k.rope({ label: `${p}rope_q`, x: a.q, nHeads: c.nHeads, ...rot, neox: rope.neox, invFreq: rope.invFreq, positions }),
        k.rope({ label: `${p}rope_k`, x: kNew.y, nHeads: c.nKvHeads, ...rot, neox: rope.neox, atPos: kNew.outAtPos && !positions, invFreq: rope.invFreq, positions }),
      ]
    : [];
  const scale = m === 1 ? o.scale : (o.scale ?? 1 / Math.sqrt(c.headDim)) * m * m;
  const store = packedKv
    ? [k.kvStore({ label: `${p}kv_store`, kNew: a.kNew!, vNew: a.vNew!, kCache: cache.k, vCache: cache.v, kvDim: c.nKvHeads * c.headDim, format: kvFormat as 'f16' | 'q8_0' })]
    : [];
  const attOpts = {
    label: `${p}attn`, q: a.q, out: a.att, kCache: cache.k, vCache: cache.v, nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: c.headDim,
    scale, window: o.window, softcap: o.softcap, kvFormat,
  };
  const att = k.attention({ ...attOpts, segments: g.packed?.segments(o.window ?? 0) });
  // Decode: split-K over long caches (its merge pass is skipped while the keys fit one chunk).
  const split = g.attnSplit;
  const attDecode = split
    ? [k.attention({ ...attOpts, split }), k.attentionMerge({ ...attOpts, label: `${p}attn_merge`, split })]
    : [att];
  // RoPE fused into the projection only when nothing sits between them and it turns whole heads.
  const fusedRope = o.qkNorm || !rope || partial ? undefined : rope;
  return {
    decode: [
      ...projs.map((pr) =>
        k.matvec({ label: pr.label, ...pr.linear, norm: attnNorm, ...(fusedRope && pr.ropeRows ? { rope: fusedRope, ropeRows: pr.ropeRows } : {}) })),
      ...qkNorm,
      ...(fusedRope ? [] : ropes),
      ...store,
      ...attDecode,
      k.matvec(oo),
      ...postNormAdd(g, i, o.postNorm),
    ],
    prefill: [
      k.rmsnorm({ label: `${p}attn_norm`, x: a.x, out: a.xn, weight: attnNorm.weight, dim: c.dim, eps }),
      ...projs.map((pr) => k.matmul({ label: pr.label, ...pr.linear, x: a.xn })),
      ...qkNorm,
      ...ropes,
      ...store,
      att,
      k.matmul(oo),
      ...postNormAdd(g, i, o.postNorm),
    ],
  };
}

export interface FfnOptions {
  /** Gate activation: silu (SwiGLU, default) or gelu (GEGLU, tanh approximation), fused into the up projection. */
  act?: 'silu' | 'gelu';
  /** Name (after `blk.N.`) of an RMSNorm applied to the FFN output before the residual add (gemma). */
  postNorm?: string;
  /**
   * The gate and up rows, in that order, as projections, for files that ship them fused (Phi-3 `ffn_up` =
   * [gate; up]). Default: ffn_gate, ffn_up fused at load where their formats allow.
   */
  gateUp?: Projection[];
}

/** Pre-norm gated FFN, residual added: x += down(act(gate(norm(x))) · up(norm(x))). */
export function ffn(g: GraphContext, i: number, o: FfnOptions = {}): Stage {
  const { k, c, w, a } = g;
  const p = `blk.${i}.`;
  const norm = { weight: w.vector(`${p}ffn_norm.weight`), eps: c.normEps };
  const gateUp = o.gateUp ?? fuseRows(w, [`${p}ffn_gate.weight`, `${p}ffn_up.weight`]);
  // One projection: act(gate)·up in its epilogue (GLU). Two: the up projection multiplies into the gate's output.
  const projs: LinearOptions[] = gateUp.length === 1
    ? [{ label: `${p}gate_up`, w: gateUp[0].w, x: a.x, y: a.gate, glu: o.act ?? 'silu' }]
    : [
        { label: `${p}gate`, w: gateUp[0].w, x: a.x, y: a.gate },
        { label: `${p}up`, w: gateUp[1].w, x: a.x, y: a.gate, gateMul: true, gateAct: o.act },
      ];
  const dn = o.postNorm
    ? { label: `${p}down`, w: w.matrix(`${p}ffn_down.weight`), x: a.gate, y: a.xn }
    : { label: `${p}down`, w: w.matrix(`${p}ffn_down.weight`), x: a.gate, y: a.x, accumulate: true };
  return {
    decode: [...projs.map((pr) => k.matvec({ ...pr, norm })), k.matvec(dn), ...postNormAdd(g, i, o.postNorm)],
    prefill: [
      k.rmsnorm({ label: `${p}ffn_norm`, x: a.x, out: a.xn, weight: norm.weight, dim: c.dim, eps: c.normEps }),
      ...projs.map((pr) => k.matmul({ ...pr, x: a.xn })),
      k.matmul(dn),
      ...postNormAdd(g, i, o.postNorm),
    ],
  };
}

/**
 * Logits of the last row (output_norm fused into the projection, and config.finalSoftcap into its epilogue; tied
 * heads read token_embd) and their argmax.
 */
export function head(g: GraphContext): Promise<Dispatch>[] {
  const { k, c, w, a } = g;
  const outW = c.tiedEmbeddings ? w.matrix('token_embd.weight') : w.matrix('output.weight');
  return [
    k.matvec({
      label: 'output', w: outW, x: a.x, y: a.logits, norm: { weight: w.vector('output_norm.weight'), eps: c.normEps }, softcap: c.finalSoftcap,
    }),
    k.argmax({ label: 'argmax', logits: a.logits, result: a.tokenOut, n: c.vocabSize }),
  ];
}

/**
 * The head over every row (see GraphLists.rows): output_norm of all rows into xn, the logits matmul (config.finalSoftcap
 * in its epilogue), an argmax per row.
 */
export function rowsHead(g: GraphContext, out: RowsOut): Promise<Dispatch>[] {
  const { k, c, w, a } = g;
  const outW = c.tiedEmbeddings ? w.matrix('token_embd.weight') : w.matrix('output.weight');
  return [
    k.rmsnorm({ label: 'output_norm.rows', x: a.x, out: a.xn, weight: w.vector('output_norm.weight'), dim: c.dim, eps: c.normEps }),
    k.matmul({ label: 'output.rows', w: outW, x: a.xn, y: out.logits, softcap: c.finalSoftcap }),
    k.argmax({ label: 'argmax.rows', logits: out.logits, result: out.ids, n: c.vocabSize, perToken: true }),
  ];
}
